"""``python -m discmot`` runs the command line."""

import sys

from discmot.cli import main

sys.exit(main())
