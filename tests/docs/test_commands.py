"""Every ``discmot`` command shown to users parses: the commands in the README's and docs' code blocks
and the examples of each verb's ``--help``. The flags, choices and value formats are checked by the real
parser (nothing is run), so a renamed or removed option cannot leave a stale example behind."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from discmot.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
CODE_BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
SHELL_SEPARATORS = {"|", "||", "&&", ";", "&"}


def shell_commands(text: str) -> list[tuple[int, str]]:
    """``(line number, command)`` of each shell line of ``text`` (1-based within ``text``), with its
    backslash-continued lines joined."""
    commands, pending, start = [], "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        commands.append((start, pending + line))
        pending = ""
    return commands


def discmot_arguments(command: str) -> list[list[str]]:
    """The argument lists of the ``discmot`` invocations in one shell command (pipes and ``&&`` split;
    leading ``VAR=value`` assignments, comments and a usage synopsis's ``[--optional ...]`` parts
    dropped)."""
    command = re.sub(r"\[--[^\]]*\]", "", command)
    try:
        tokens = shlex.split(command, comments=True)
    except ValueError:  # not shell (a Python line in a mixed block)
        return []
    invocations, segment = [], []
    for token in [*tokens, ";"]:
        if token not in SHELL_SEPARATORS:
            segment.append(token)
            continue
        while segment and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", segment[0]):
            segment.pop(0)
        if segment and Path(segment[0]).name == "discmot":
            invocations.append(segment[1:])
        segment = []
    return invocations


def parse_error(arguments: list[str]) -> str | None:
    """The parser's complaint about ``discmot ARGUMENTS``, or None when they parse."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(arguments)
    except SystemExit as exit_:
        return None if exit_.code == 0 else stderr.getvalue().strip().splitlines()[-1]
    return None


def page_examples(page: Path) -> list[tuple[str, list[str]]]:
    text = page.read_text(encoding="utf-8")
    examples = []
    for block in CODE_BLOCK.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for number, command in shell_commands(block.group(1)):
            for arguments in discmot_arguments(command):
                examples.append((f"{page.relative_to(ROOT)}:{first_line + number - 1}", arguments))
    return examples


def verb_parsers() -> dict[str, argparse.ArgumentParser]:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(subparsers.choices)


def help_examples(verb: str, parser: argparse.ArgumentParser) -> list[tuple[str, list[str]]]:
    epilog = parser.epilog or ""
    examples = []
    for number, command in shell_commands(epilog):
        if command.strip().startswith("discmot "):
            examples += [
                (f"discmot {verb} --help, epilog line {number}", a) for a in discmot_arguments(command)
            ]
    return examples


def test_the_extraction_finds_continued_and_piped_commands():
    text = (
        "FOO=1 discmot track a.mp4 \\\n    --save-txt o.txt  # a comment\n"
        "cat x | discmot eval --json r.json [--workers N]\n"
    )
    found = [arguments for _, command in shell_commands(text) for arguments in discmot_arguments(command)]
    assert found == [["track", "a.mp4", "--save-txt", "o.txt"], ["eval", "--json", "r.json"]]
    assert parse_error(["track", "a.mp4", "--no-such-flag"]) is not None
    assert parse_error(["track", "a.mp4", "--dtype", "fp8"]) is not None
    assert parse_error(["track", "a.mp4", "--dtype", "bf16"]) is None


def test_the_pages_show_commands():
    assert sum(len(page_examples(page)) for page in PAGES) >= 20


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_in_the_docs_parses(page):
    failures = [
        f"{where}: discmot {shlex.join(a)}: {parse_error(a)}"
        for where, a in page_examples(page)
        if parse_error(a)
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("verb", sorted(verb_parsers()))
def test_every_example_in_a_verbs_help_parses(verb):
    parser = verb_parsers()[verb]
    failures = [f"{where}: {parse_error(a)}" for where, a in help_examples(verb, parser) if parse_error(a)]
    assert not failures, "\n".join(failures)
    # a line continuation must survive into the help text (a lone backslash in a Python string joins lines)
    for line in (parser.epilog or "").splitlines():
        assert not re.search(r"\S {4,}--", line), f"discmot {verb} --help: lines run together: {line.strip()}"
