"""Fast path for machine-written timestamps: ISO 8601 in one fixed layout.

Exports and databases write every timestamp of a column the same way
(``2024-03-05T14:30:00Z``, ``2024-03-05 14:30:00.123456+08:00``, ``2024-03-05``). Such
values all have the same length and a digit or the same punctuation at each position, so
they can be read from a byte matrix with numpy arithmetic instead of a regular expression.

For each of the column's most common lengths (up to three), the layout is taken from a
value of that length, and only the cells that follow it exactly *and* hold a valid date,
time and offset are read here. Everything else is left to the general reader of
:mod:`._date_formats`, so the result is the same as if the general reader had read every
cell: the layouts accepted are a subset of its ISO 8601 family (which no other family
matches), and the arithmetic is the same.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import fixed_width, to_numpy
from ._date_formats import US_PER_DAY, Reading, civil_days

__all__ = ["LABEL", "read_fixed_iso"]

LABEL = "ISO 8601"  # the label of the general reader's ISO 8601 family
_LAYOUT = re.compile(
    r"(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:[T ](?P<H>[0-9]{2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:[.,](?P<f>[0-9]{1,9}))?)?)?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<oh>[0-9]{2})(?::?(?P<om>[0-9]{2}))?)?"
)
_DIGITS = ("y", "m", "d", "H", "M", "S", "f", "oh", "om")
_MIN_LEN, _MAX_LEN = 10, 35  # "YYYY-MM-DD" .. "YYYY-MM-DDTHH:MM:SS.fffffffff+HH:MM"
_ROUNDS = 3  # lengths tried per column, most common first (e.g. with/without fractions)
_SAMPLES = 20  # values of the chosen length tried as the layout's example
_BLOCK = 1 << 15  # rows read at a time


def read_fixed_iso(text: pa.Array, reading: Reading) -> None:
    """Read the cells of ``text`` still to do that are ISO 8601 in a fixed layout."""
    lengths = to_numpy(pc.fill_null(pc.binary_length(text), 0)).astype(np.int64)
    untried = (lengths >= _MIN_LEN) & (lengths <= _MAX_LEN)
    for _ in range(_ROUNDS):
        fits = reading.todo & untried
        if not fits.any():
            return
        width = int(np.bincount(lengths[fits]).argmax())
        untried &= lengths != width
        rows = np.flatnonzero(fits & (lengths == width))
        layout = _example(text, rows)
        if layout is None:
            continue
        b = fixed_width(text, rows, width)
        parts = [layout.read(b[lo : lo + _BLOCK]) for lo in range(0, len(rows), _BLOCK)]
        ok = np.concatenate([p[0] for p in parts])
        if ok.any():
            us = np.concatenate([p[1] for p in parts])[ok]
            reading.claim(rows[ok], us, np.ones(us.size, bool), np.full(us.size, layout.zoned))
            reading.count({LABEL: us.size})


def _example(text: pa.Array, rows: np.ndarray) -> _Layout | None:
    """The layout of the first of a few values that is ISO 8601 in a supported layout."""
    for i in rows[:_SAMPLES].tolist():
        match = _LAYOUT.fullmatch(text[i].as_py())
        if match:
            return _Layout(match)
    return None


class _Layout:
    """Where the digits, the punctuation and the offset sign of a layout are."""

    def __init__(self, example: re.Match[str]) -> None:
        text = example.group()
        self.spans = {k: example.span(k) for k in _DIGITS if example.group(k) is not None}
        self.digit = [False] * len(text)
        for lo, hi in self.spans.values():
            self.digit[lo:hi] = [True] * (hi - lo)
        self.sign = example.start("sign")  # -1 if none
        self.literal = text.encode("ascii")
        self.zoned = self.sign >= 0 or text.endswith(("Z", "z"))  # instants, not wall times

    def read(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(valid, microseconds) of the rows of byte matrix ``b`` (a block of rows, so that
        its columns stay in the CPU cache)."""
        ok = np.ones(len(b), dtype=bool)
        for j, is_digit in enumerate(self.digit):
            if is_digit:
                ok &= b[:, j] - np.uint8(48) <= 9  # bytes below "0" wrap around to > 9
            elif j == self.sign:
                ok &= (b[:, j] == ord("+")) | (b[:, j] == ord("-"))
            else:
                ok &= b[:, j] == self.literal[j]
        days, valid = civil_days(self._number(b, "y"), self._number(b, "m"), self._number(b, "d"))
        hour, minute, second = self._number(b, "H"), self._number(b, "M"), self._number(b, "S")
        micro = self._number(b, "f")
        if "f" in self.spans:  # fractions beyond the microsecond are truncated
            lo, hi = self.spans["f"]
            micro = micro // 10 ** max(hi - lo - 6, 0) * 10 ** max(6 - (hi - lo), 0)
        oh, om = self._number(b, "oh"), self._number(b, "om")
        ok &= valid & (hour <= 23) & (minute <= 59) & (second <= 59) & (oh <= 23) & (om <= 59)
        clock = ((hour * 60 + minute) * 60 + second) * 1_000_000 + micro
        offset = (oh * 60 + om) * 60_000_000
        if self.sign >= 0:
            offset = np.where(b[:, self.sign] == ord("-"), -offset, offset)
        return ok, days * US_PER_DAY + clock - offset

    def _number(self, b: np.ndarray, name: str) -> np.ndarray:
        """The value of one field (0 where the layout lacks it)."""
        if name not in self.spans:
            return np.zeros(len(b), dtype=np.int64)
        lo, hi = self.spans[name]
        value = b[:, lo].astype(np.int32) - 48
        for j in range(lo + 1, hi):  # at most 9 digits: fits in int32
            value = value * 10 + (b[:, j].astype(np.int32) - 48)
        return value.astype(np.int64)
