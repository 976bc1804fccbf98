"""Exact, vectorised parsing of plain decimal numbers in a byte buffer.

MOTChallenge files hold millions of numbers; `float()` (like `np.fromstring` and `np.loadtxt`) spends
about 200 ns on each. Here tokens ``[+-]digits[.digits]`` are grouped by shape (length, position of the
dot, leading sign), each group becomes a small ``(tokens, length)`` byte matrix, and its integer
mantissas ``M`` come from one matrix-vector product with powers of ten. With ``k`` fraction digits the
value is ``M / 10**k``. When ``M < 2**53`` every partial sum of that product is an exact integer and
``10**k`` (``k <= 22``) is an exact double, so the single IEEE division is correctly rounded: the result
is bit-identical to Python's ``float(token)`` (Clinger's fast path). Tokens outside that range (more
than 16 digits, exponents) are handed to ``float()`` one by one.
"""

from __future__ import annotations

import numpy as np

_MAX_FAST_LENGTH = 18  # sign + 16 digits + dot
_EXACT_LIMIT = float(2**53)
_POW10 = np.array([float(10**i) for i in range(23)])  # exact doubles

_DOT, _MINUS, _PLUS, _ZERO = ord("."), ord("-"), ord("+"), ord("0")


def parse_decimal_tokens(
    buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray, has_exponent_letters: bool = True
) -> np.ndarray | None:
    """Parses the tokens ``buffer[starts[i]:ends[i]]`` into float64, exactly as ``float()`` would.

    Args:
        buffer: ``(bytes,)`` uint8 text whose tokens contain only digits, ``.``, ``+``, ``-``, ``e``, ``E``.
        starts, ends: ``(tokens,)`` int64 half-open token bounds, ascending and non-overlapping.
        has_exponent_letters: False when the caller knows the text has no ``e``/``E`` (skips a scan).

    Returns:
        ``(tokens,)`` float64 values, or ``None`` if some token is not a valid number (the caller's
        slow path then reports which one and where).
    """
    lengths = ends - starts
    dot_offsets = _dot_offsets(buffer, starts, ends)
    if dot_offsets is None:
        return None
    first = buffer[starts]
    signed = (first == _MINUS) | (first == _PLUS)
    slow = lengths > _MAX_FAST_LENGTH
    if has_exponent_letters:
        slow |= _has_exponent(buffer, starts)
    values = np.empty(starts.size, dtype=np.float64)
    key = np.where(slow, 0, (lengths * 32 + dot_offsets) * 2 + signed).astype(np.int16)
    order = np.argsort(key, kind="stable")  # radix sort for int16
    sorted_keys = key[order]
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(sorted_keys)) + 1, [key.size]))
    # Every token's bytes as a row of a strided view: a group's tokens are then one fancy-indexed copy.
    padded = np.concatenate((buffer, np.zeros(_MAX_FAST_LENGTH, np.uint8)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, _MAX_FAST_LENGTH)
    for begin, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        group = order[begin:end]
        shape_key = int(sorted_keys[begin])
        if shape_key == 0:
            continue
        parsed = _parse_group(windows, starts[group], shape_key)
        if parsed is None:
            return None
        values[group], too_large = parsed
        if too_large:
            slow[group] |= np.isnan(parsed[0])  # NaN marks "needs float()" (mantissa too large)
    return _fill_with_python_float(values, buffer, starts, ends, slow)


def _dot_offsets(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """Distance of each token's dot from its end (1 = last byte), 0 without dot; ``None`` for two dots."""
    dots = np.flatnonzero(buffer == _DOT)
    token_of_dot = np.searchsorted(starts, dots, side="right") - 1
    if token_of_dot.size > 1 and (np.diff(token_of_dot) == 0).any():
        return None
    offsets = np.zeros(starts.size, dtype=np.int64)
    offsets[token_of_dot] = ends[token_of_dot] - dots
    return offsets


def _has_exponent(buffer: np.ndarray, starts: np.ndarray) -> np.ndarray:
    marks = np.zeros(starts.size, dtype=bool)
    exponents = np.flatnonzero((buffer | 32) == ord("e"))
    marks[np.searchsorted(starts, exponents, side="right") - 1] = True
    return marks


def _parse_group(windows: np.ndarray, starts: np.ndarray, shape_key: int) -> tuple[np.ndarray, bool] | None:
    """Values of tokens sharing one shape, and whether some are NaN because their mantissa is too
    large for the exact path (those go to ``float()``); ``None`` if a token is malformed."""
    signed, rest = shape_key & 1, shape_key >> 1
    length, dot_offset = rest // 32, rest % 32
    matrix = windows[starts, :length]
    digit_columns = [c for c in range(signed, length) if dot_offset == 0 or c != length - dot_offset]
    if not digit_columns:
        return None
    digits = matrix[:, digit_columns] - np.uint8(_ZERO)  # non-digits wrap around to >= 208
    if digits.max() > 9:
        return None
    values = digits @ _POW10[len(digit_columns) - 1 :: -1]  # 10**(n-1) ... 10**0: the mantissa
    too_large = len(digit_columns) > 15  # 15 digits are always below 2**53
    if too_large:
        values[values >= _EXACT_LIMIT] = np.nan
    if dot_offset > 1:
        values /= _POW10[dot_offset - 1]
    if signed:
        sign_bytes = matrix[:, 0]
        if not np.isin(sign_bytes, (_MINUS, _PLUS)).all():
            return None
        np.negative(values, out=values, where=sign_bytes == _MINUS)
    return values, too_large


def _fill_with_python_float(values, buffer, starts, ends, todo) -> np.ndarray | None:
    indices = np.flatnonzero(todo)
    if indices.size == 0:
        return values
    data = buffer.tobytes()
    try:
        values[indices] = [
            float(data[s:e]) for s, e in zip(starts[indices].tolist(), ends[indices].tolist(), strict=True)
        ]
    except ValueError:
        return None
    return values
