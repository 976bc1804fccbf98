"""``python -m discmot`` runs the command line."""

from discmot.cli import console_main

console_main()
