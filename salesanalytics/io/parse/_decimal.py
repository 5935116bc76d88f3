"""Number bodies -> floats with a decimal separator decided per column.

Shared by :func:`~.numbers.parse_amounts` and :func:`~.numbers.parse_numbers`: the number
pattern both regular expressions embed, the per-column choice between a decimal point and
a decimal comma, and the fast path for columns of plain numbers (``124545``, ``0.793``,
``-3``, ``1e-07``, as CSV writers emit them), which reads them with one cast and tells the
general path how they weigh in the decimal-separator decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import contains_any, group, is_in, to_numpy

__all__ = ["NUM", "Evidence", "Plain", "body", "check_decimal", "decimal_numbers", "read_plain"]

NUM = r"(?P<num>[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+|[0-9.,' ’_]*[0-9][0-9.,' ’_]*|[.,][0-9]+)"
_VALID_DOT = r"^(?:\d{1,3}(?:[,_]\d{3})+|\d+)(?:\.\d*)?$|^\.\d+$|^\d+(?:\.\d*)?[eE][-+]?\d+$"
_VALID_COMMA = r"^(?:\d{1,3}(?:[._]\d{3})+|\d+)(?:,\d*)?$|^,\d+$"
_AMBIGUOUS = r"^\d{1,3}[.,]\d{3}$"
# plain numbers: each is valid with a decimal point, and with a comma only if it is an
# integer (no ".", "e" or "E") or matches _AMBIGUOUS (``0.793``: 793 with a decimal comma)
_PLAIN = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$"
_PLAIN_AMBIGUOUS = r"^-?[0-9]{1,3}\.[0-9]{3}$"


def check_decimal(decimal: str | None) -> None:
    if decimal not in (None, ".", ","):
        raise ValueError(f"decimal must be '.', ',' or None, not {decimal!r}")


@dataclass(frozen=True)
class Evidence:
    """How values read outside :func:`decimal_numbers` weigh in its decision."""

    dot_only: int = 0  # values that can only be read with a decimal point
    ambiguous: bool = False  # some value looks like ``1,234`` or ``1.234``


def decimal_numbers(
    body: pa.Array, ok: np.ndarray, decimal: str | None, prior: Evidence
) -> tuple[np.ndarray, np.ndarray, str, str | None]:
    """Number bodies (grouping spaces/apostrophes already ``_``) -> floats, per column.

    ``prior`` adds the evidence of values of the same column read elsewhere. Returns
    (values, ok, decimal separator used, note).
    """
    check_decimal(decimal)
    dot = to_numpy(pc.fill_null(pc.match_substring_regex(body, _VALID_DOT), False)) & ok
    comma = to_numpy(pc.fill_null(pc.match_substring_regex(body, _VALID_COMMA), False)) & ok
    note = None
    if decimal is None:
        n_dot = int((dot & ~comma).sum()) + prior.dot_only
        n_comma = int((comma & ~dot).sum())
        if n_comma and n_dot:
            decimal = "," if n_comma > n_dot else "."
            note = (
                f"mixed decimal separators: {n_comma} value(s) read only with a decimal "
                f"comma, {n_dot} only with a decimal point; used {decimal!r}, the others "
                "are bad"
            )
        elif n_comma:
            decimal = ","
        else:
            decimal = "."
            seps = to_numpy(pc.fill_null(pc.match_substring_regex(body, _AMBIGUOUS), False))
            if ((seps & ok).any() or prior.ambiguous) and not n_dot:
                note = (
                    "separators are ambiguous (values such as '1,234' only): read ',' as "
                    "thousands separator and '.' as decimal point"
                )
    valid = dot if decimal == "." else comma
    if decimal == ".":
        plain = pc.replace_substring_regex(body, r"[,_]", "")
    else:
        plain = pc.replace_substring(pc.replace_substring_regex(body, r"[._]", ""), ",", ".")
    plain = pc.if_else(pa.array(valid), plain, pa.scalar(None, pa.string()))
    nums = to_numpy(pc.fill_null(pc.cast(plain, pa.float64()), np.nan)).astype(np.float64)
    return nums, ok & valid, decimal, note


def body(st: pa.StructArray) -> pa.Array:
    """The ``num`` group of a match, grouping spaces and apostrophes replaced by ``_``."""
    return pc.replace_substring_regex(pc.utf8_trim_whitespace(group(st, "num")), r"[ '’]", "_")


def signs(st: pa.StructArray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(minus signs, plus signs) per cell among the groups ``names``."""
    neg = np.zeros(len(st), dtype=np.int64)
    pos = np.zeros(len(st), dtype=np.int64)
    for name in names:
        f = group(st, name)
        neg += is_in(f, ["-", "\u2212"])
        pos += is_in(f, ["+"])
    return neg, pos


@dataclass(frozen=True)
class Plain:
    """Cells read by :func:`read_plain`."""

    rows: np.ndarray  # bool, one per cell: read here
    values: np.ndarray  # float64, one per read cell
    evidence: Evidence  # for the decision over the other cells


def read_plain(text: pa.Array, missing: np.ndarray, decimal: str | None) -> Plain | None:
    """Read the plain numbers (``-?\\d+(\\.\\d+)?`` with an optional exponent) of a column.

    Their value is the same with a decimal point as the general path gives, so this is
    exact unless the column turns out to use a decimal comma (the caller checks the
    decision and, in that rare case, reads everything with the general path). None if
    ``decimal`` is ``","`` or no value is plain.
    """
    check_decimal(decimal)
    if decimal == ",":
        return None
    rows = to_numpy(pc.fill_null(pc.match_substring_regex(text, _PLAIN), False)) & ~missing
    if not rows.any():
        return None
    sub = text.filter(pa.array(rows))
    values = to_numpy(pc.cast(sub, pa.float64())).astype(np.float64)
    evidence = Evidence()
    if decimal is None:
        fractional = sub.filter(pa.array(contains_any(sub, b".eE")))
        ambiguous = to_numpy(pc.match_substring_regex(fractional, _PLAIN_AMBIGUOUS))
        evidence = Evidence(int((~ambiguous).sum()), bool(ambiguous.any()))
    return Plain(rows, values, evidence)
