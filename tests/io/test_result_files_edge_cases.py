"""Edge cases of the result-file modules: `discmot.io.fastfloat` (the vectorised number parser behind
`discmot.io.mot`) against Python's ``float()``, which TrackEval applies to every field (spec eval.md §1.4),
`discmot.io.mot_results` (rows written, sorted and read back) and `discmot.io.official_format`.

Expected numbers come from ``float(token)`` (the reference the parser promises to match bit for bit) or
are written out by hand below.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import random
import re

import numpy as np
import pytest

from discmot.io.fastfloat import parse_decimal_tokens
from discmot.io.mot_results import format_mot_rows, read_results_by_frame, sorted_mot_rows, write_mot_results


def _tokens(text: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``text``'s space-separated tokens as the parser's ``(buffer, starts, ends)``, as `discmot.io.mot`
    hands them over (every token followed by a separator)."""
    data = text + b"\n"
    spans = [m.span() for m in re.finditer(rb"[^ \n]+", data)]
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    ends = np.array([e for _, e in spans], dtype=np.int64)
    return np.frombuffer(data, dtype=np.uint8), starts, ends


def _parse(text: bytes, has_exponent_letters: bool = True) -> np.ndarray | None:
    return parse_decimal_tokens(*_tokens(text), has_exponent_letters=has_exponent_letters)


def _assert_bit_identical_to_float(text: bytes, has_exponent_letters: bool = True) -> None:
    values = _parse(text, has_exponent_letters)
    assert values is not None, f"valid numbers refused: {text!r}"
    expected = np.array([float(token) for token in text.split()], dtype=np.float64)
    assert values.dtype == np.float64 and values.shape == expected.shape
    wrong = [
        (t, v, e) for t, v, e in zip(text.split(), values.tolist(), expected.tolist(), strict=True) if v != e
    ]
    assert not wrong, f"(token, parsed, float) {wrong[:5]}"
    assert values.tobytes() == expected.tobytes()  # -0.0 keeps its sign


def test_every_plain_decimal_shape_parses_exactly_as_float_does():
    """Integers, fractions, signs, a bare leading or trailing dot, -0.0: each the double ``float`` gives,
    in one call mixing many shapes (each shape is a group of its own)."""
    _assert_bit_identical_to_float(
        b"1 7 42 0.5 10.25 100.125 -3 +4 -0.0 +0 5. .5 -.5 +2.75 0.1 0.3333333333333333 -30.5 "
        b"885.9840087890625",
        has_exponent_letters=False,
    )


def test_one_number_alone_parses():
    """A single token (no second group, one dot in all): the value, not a refusal."""
    _assert_bit_identical_to_float(b"2.5", has_exponent_letters=False)
    _assert_bit_identical_to_float(b"-7")


def test_tokens_with_exponents_go_to_float_wherever_they_stand():
    """``e``/``E`` tokens are parsed by ``float`` (first, middle, last, one alone, several), the tokens
    around them by the fast path; the result is still ``float``'s for each."""
    _assert_bit_identical_to_float(b"1e2")
    _assert_bit_identical_to_float(b"3 2e3 4.5 -1E-2 7")
    _assert_bit_identical_to_float(b"4.5E-1 1 2 3 1e+3")


def test_exponents_are_looked_for_unless_the_caller_says_there_are_none():
    """``has_exponent_letters`` defaults to True: a caller that does not say gets exponents parsed."""
    buffer, starts, ends = _tokens(b"1e2 -2.5E-1 3")
    assert parse_decimal_tokens(buffer, starts, ends).tolist() == [100.0, -0.25, 3.0]


def test_long_tokens_go_to_float():
    """Tokens longer than sign + 16 digits + dot (and those with over 15 digits) are ``float``'s."""
    _assert_bit_identical_to_float(
        b"0.1000000000000000055511151231257827 99999999999999999999 1 123456.78901234567 0.5",
        has_exponent_letters=False,
    )


@pytest.mark.parametrize(
    "token",
    [
        b"900810497585095.7",  # 16 digits, mantissa in [2**53, 2**54): M / 10 would round twice
        b"94141555229389.17",
        b"-94641522576.96733",
        b"38041513191477711",  # 17 digits, no dot: above 2**54
        b"3373790036909458.7",
        b"9007199254740993",  # 2**53 + 1: float rounds to even, 2**53
        b"90071992547409.93",  # mantissa 2**53 + 1 sums to exactly 2**53: itself not exact any more
    ],
)
def test_mantissas_beyond_2_to_the_53_are_rounded_once_as_float_does(token):
    """Clinger's fast path is exact only for mantissas below 2**53 (module docstring): a longer one
    whose digits would be rounded before the division must still give ``float``'s double, alone and
    beside short tokens of the same column."""
    _assert_bit_identical_to_float(token, has_exponent_letters=False)
    _assert_bit_identical_to_float(b"1.5 " + token + b" 2 " + token, has_exponent_letters=False)


def test_random_decimals_of_every_length_match_float():
    """A seeded sweep: 1 to 18 digits, the dot anywhere or nowhere, with or without a sign."""
    rng = random.Random(7)
    tokens = []
    for _ in range(600):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
        dot = rng.randint(0, len(digits))
        body = digits if rng.random() < 0.3 else f"{digits[:dot]}.{digits[dot:]}"
        tokens.append(rng.choice(["", "-", "+"]) + body)
    _assert_bit_identical_to_float(" ".join(tokens).encode(), has_exponent_letters=False)


@pytest.mark.parametrize(
    "text", [b".", b"-", b"+", b"-.", b"1 . 2", b"1.2.3", b"1..", b"--1", b"1-2", b"+-3", b"2 3e 4", b"1 e5"]
)
def test_text_that_is_no_number_is_refused_with_none(text):
    """A token ``float`` rejects makes the whole call return ``None`` (the caller's `csv` path then names
    the line), never a wrong number or an exception."""
    assert _parse(text) is None


# --------------------------------------------------------------------------------------------------
# discmot.io.mot_results


def test_results_written_without_scores_have_confidence_1_on_every_row(tmp_path):
    """``scores`` omitted: no length check on it, and the confidence column reads ``1`` (``f"{1.0:.4g}"``)."""
    path = tmp_path / "r.txt"
    write_mot_results(path, [1, 2], [3, 4], [[0, 0, 1, 1], [1, 2, 3, 4]])
    assert path.read_text().splitlines() == [
        "1,3,0.00,0.00,1.00,1.00,1,-1,-1,-1",
        "2,4,1.00,2.00,3.00,4.00,1,-1,-1,-1",
    ]


def test_sorted_rows_default_to_discmots_format_sorted_by_frame_then_id():
    """`sorted_mot_rows` without ``original_format``: frame then id order, 2-decimal boxes, 4-digit scores."""
    text = sorted_mot_rows(
        [2, 1, 2], [9, 5, 1], [[1.005, 0, 1, 1], [2, 0, 1, 1], [3, 0, 1, 1]], [0.5, 1, 0.123456]
    )
    assert text.splitlines() == [
        "1,5,2.00,0.00,1.00,1.00,1,-1,-1,-1",
        "2,1,3.00,0.00,1.00,1.00,0.1235,-1,-1,-1",
        "2,9,1.00,0.00,1.00,1.00,0.5,-1,-1,-1",  # 1.005 is 1.00499999999999989... in binary
    ]


def test_rows_are_not_dropped_when_the_columns_differ_in_length():
    """`format_mot_rows` refuses columns of different lengths rather than writing the shorter count."""
    with pytest.raises(ValueError):
        format_mot_rows([1, 2], [1], [[0, 0, 1, 1], [0, 0, 1, 1]])
    with pytest.raises(ValueError):
        format_mot_rows([1, 2], [1, 2], [[0, 0, 1, 1]], original_format=True)


@pytest.mark.parametrize(
    "text, scores",
    [
        ("1,4,1,2,3,4\n1,5,5,6,7,8\n", [1.0, 1.0]),  # no 7th column: score 1
        ("1,4,1,2,3,4,0.5\n1,5,5,6,7,8,0.25\n", [0.5, 0.25]),  # exactly 7 columns: the 7th
        ("1,4,1,2,3,4,0.5,-1,-1,-1\n1,5,5,6,7,8,0.25,-1,-1,-1\n", [0.5, 0.25]),  # as written: the 7th
    ],
)
def test_result_scores_are_the_seventh_column_or_1_without_one(tmp_path, text, scores):
    """`read_results_by_frame`: ids (column 2), tlwh boxes (columns 3-6), scores (column 7, spec eval.md
    §1.4 "6 conf"; 1 when a file has only 6 columns)."""
    path = tmp_path / "r.txt"
    path.write_text(text)
    ((frame, (ids, boxes, got)),) = read_results_by_frame(path).items()
    assert frame == 1 and ids.tolist() == [4, 5] and boxes.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert got.tolist() == scores


# --------------------------------------------------------------------------------------------------
# discmot.io.official_format


@dataclasses.dataclass
class _TinyConfig:
    width: int = 2
    name: str = "tiny"


def _official_content(tmp_path, **kwargs) -> dict:
    import torch

    from discmot.io.official_format import write_official

    path = tmp_path / "model.pth"
    write_official(path, torch.nn.Linear(2, 1), **kwargs)
    return torch.load(path, weights_only=True)


def test_an_official_file_holds_only_the_model_unless_given_a_config_or_metadata(tmp_path):
    """``{"model": state_dict}`` alone (what the original code reads, spec fdta.md §7.1) when neither a
    config nor metadata is given; an empty metadata mapping adds no entry either."""
    assert set(_official_content(tmp_path)) == {"model"}
    assert set(_official_content(tmp_path, metadata={})) == {"model"}
    assert set(_official_content(tmp_path)["model"]) == {"weight", "bias"}


def test_an_official_file_keeps_the_config_as_json_and_the_metadata_as_strings(tmp_path):
    """The config dataclass as a JSON string under ``discmot_config``, the metadata as a dict of strings
    under ``discmot_metadata`` (keys and values converted with ``str``)."""
    content = _official_content(tmp_path, config=_TinyConfig(), metadata={"global_step": 7, 3: "x"})
    assert json.loads(content["discmot_config"]) == {"width": 2, "name": "tiny"}
    assert content["discmot_metadata"] == {"global_step": "7", "3": "x"}


def test_the_config_of_an_official_file_is_read_back_or_none(caplog):
    """`official_config`: the stored JSON as a dict; None for content that is no mapping or whose entry is
    no string; a preset asked for beside a stored config is said not to be used, and only then."""
    from discmot.io.official_format import official_config

    assert official_config(["model"], "a.pth") is None
    assert official_config({"model": {}}, "a.pth", "tiny") is None
    assert official_config({"discmot_config": {"width": 2}}, "a.pth") is None
    with caplog.at_level(logging.WARNING, logger="discmot.io.checkpoints"):
        assert official_config({"discmot_config": '{"width": 2}'}, "a.pth") == {"width": 2}
        assert not caplog.records
        assert official_config({"discmot_config": '{"width": 3}'}, "b.pth", "tiny") == {"width": 3}
    assert [r.getMessage() for r in caplog.records] == [
        "b.pth: the file holds its config; --preset tiny is not used"
    ]


def _raise_runtime_error_during(error: BaseException | None):
    """A stand-in for ``torch.save`` failing as its zip writer does: a `RuntimeError` raised while
    handling ``error`` (so ``error`` is only its ``__context__``)."""

    def save(content, handle):
        if error is None:
            raise RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 64 vs 0")
        try:
            raise error
        except BaseException:
            raise RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 64 vs 0")  # noqa: B904

    return save


def test_a_full_disk_under_torch_save_is_raised_as_the_oserror_naming_the_file(monkeypatch):
    """`save_torch`: torch's RuntimeError names no file; the `OSError` behind it (its context) is raised
    instead, naming the path written."""
    import torch

    from discmot.io.official_format import save_torch

    monkeypatch.setattr(torch, "save", _raise_runtime_error_during(OSError(errno.ENOSPC, "No space left")))
    with pytest.raises(OSError) as raised:
        save_torch({}, None, "out/model.pth")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == "out/model.pth"


@pytest.mark.parametrize("context", [None, ValueError("bad")])
def test_a_torch_save_error_not_caused_by_an_oserror_is_raised_as_it_is(monkeypatch, context):
    import torch

    from discmot.io.official_format import save_torch

    monkeypatch.setattr(torch, "save", _raise_runtime_error_during(context))
    with pytest.raises(RuntimeError, match="unexpected pos"):
        save_torch({}, None, "out/model.pth")
