"""Every long option a verb's ``--help`` lists is named in some docs page (README, docs/, benchmarks/),
so that an option is never only discoverable by reading ``--help``. The options come from the real
parser; the pages are the ones ``test_commands`` reads."""

from __future__ import annotations

import re

from test_commands import PAGES, verb_parsers

# -v/--verbose and -q/--quiet are common to every verb; the pages name them by their short forms.
COMMON = {"--help", "--verbose", "--quiet"}


def long_options() -> list[tuple[str, str]]:
    """``(verb, --option)`` of every long option of every ``discmot`` verb."""
    return [
        (verb, option)
        for verb, parser in verb_parsers().items()
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option not in COMMON
    ]


def named_in(option: str, text: str) -> bool:
    """``option`` appears as a whole option in ``text`` (``--frames`` is not found in ``--frames-x``
    nor in ``<tracker-name>``)."""
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_the_option_match_is_whole_words():
    assert named_in("--tracker-name", "`--tracker-name NAME` names")
    assert not named_in("--tracker-name", "<split-out>/<tracker-name>/data")
    assert not named_in("--frames", "`--frames-x 3`")
    assert len(long_options()) > 50


def test_every_long_option_is_named_in_a_docs_page():
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    missing = [f"discmot {verb} {option}" for verb, option in long_options() if not named_in(option, text)]
    assert not missing, "options in --help but in no docs page:\n" + "\n".join(missing)
