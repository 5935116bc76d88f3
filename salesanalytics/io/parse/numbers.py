"""Parse money amounts, plain numbers and booleans; read amount units from headers.

The decimal separator is decided per column (:mod:`._decimal`). Columns of plain numbers
as CSV writers emit them (``124545``, ``0.793``, ``1e-07``) are read by a single cast, the
other values by the general regular expressions; the result is the same either way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import group, is_in, matched, prepare, to_numpy
from ._decimal import NUM, Evidence, body, decimal_numbers, read_plain, signs

__all__ = [
    "ParsedAmounts",
    "ParsedNumbers",
    "amount_unit_from_header",
    "parse_amounts",
    "parse_booleans",
    "parse_numbers",
]

_MINUS = r"[-\x{2212}]"
_SIGN = r"[-+\x{2212}]"
_CUR_PRE = r"(?:US|HK|NT|[ACSR])\$|RMB|[A-Z]{3}|[$€£¥₹₩元]"
_CUR_POST = r"RMB|[A-Z]{3}|[$€£¥元]"
_AMOUNT = (
    rf"^(?P<s1>{_SIGN})?\s*(?P<p1>\()?\s*(?P<s2>{_SIGN})?\s*(?P<c1>{_CUR_PRE})?\s*"
    rf"(?P<s3>{_SIGN})?\s*{NUM}\s*(?P<u>万|亿)?\s*(?P<c2>{_CUR_POST})?\s*(?P<p2>\))?\s*"
    rf"(?P<s4>{_MINUS})?$"
)
_PLAIN = rf"^(?P<s1>{_SIGN})?\s*{NUM}\s*(?P<pct>%)?$"
_SYMBOLS = {
    "$": "USD", "US$": "USD", "HK$": "HKD", "NT$": "TWD", "A$": "AUD", "C$": "CAD",
    "S$": "SGD", "R$": "BRL", "€": "EUR", "£": "GBP", "¥": "CNY", "元": "CNY", "RMB": "CNY",
    "₹": "INR", "₩": "KRW",
}  # fmt: skip


# (values, ok, per-cell extra, note, decimal used) of the general reader of a column
_Read = tuple[np.ndarray, np.ndarray, pa.Array, str | None, str]


def _read_all(
    text: pa.Array,
    missing: np.ndarray,
    decimal: str | None,
    general: Callable[[pa.Array, np.ndarray, str | None, Evidence], _Read],
) -> _Read:
    """Read a column: plain numbers with one cast, the other values with ``general``.

    The plain numbers weigh in the decimal-separator decision as the general reader would
    weigh them. Should it choose a decimal comma (under which they mean something else),
    the whole column is read by ``general`` instead. For plain numbers ``general`` gives
    no extra (null).
    """
    plain = read_plain(text, missing, decimal)
    if plain is None:
        return general(text, missing, decimal, Evidence())
    rest = ~missing & ~plain.rows
    r_out, r_ok, r_extra, note, used = general(
        text.filter(pa.array(rest)), np.zeros(int(rest.sum()), bool), decimal, plain.evidence
    )
    if used != ".":
        return general(text, missing, decimal, Evidence())
    out = np.full(len(text), np.nan)
    out[rest], out[plain.rows] = r_out, plain.values
    ok = plain.rows.copy()
    ok[rest] = r_ok
    where = np.full(len(text), -1, dtype=np.int64)
    where[rest] = np.arange(int(rest.sum()))
    extra = r_extra.take(pa.array(where, mask=where < 0))
    return out, ok, extra, note, used


@dataclass(frozen=True)
class ParsedAmounts:
    """Result of :func:`parse_amounts`.

    Attributes
    ----------
    values : Series
        float64, NaN where missing or bad; the input's index.
    bad : ndarray of bool
        True where a non-missing value could not be read.
    currency : Series or None
        ISO 4217 code per cell from a symbol or code in the value (NA where none); None
        when no value carries one.
    note : str or None
        How an ambiguous or mixed decimal separator was resolved.
    decimal : str
        The decimal separator used for the column.
    """

    values: pd.Series
    bad: np.ndarray
    currency: pd.Series | None
    note: str | None
    decimal: str = "."


def parse_amounts(values: pd.Series, *, decimal: str | None = None) -> ParsedAmounts:
    """Parse money amounts written with any common convention.

    Read: thousands separators ``,`` ``.`` space, non-breaking space and ``'``; a decimal
    point or comma; currency symbols or ISO codes before or after (``$1,200``, ``USD 1,200``,
    ``1200 EUR``, ``€1.234,56``, ``￥12,000``, ``12,000元``, ``RMB 500``; ``¥``, ``￥``,
    ``元`` and ``RMB`` mean CNY); negatives as ``-1200``, ``(1,200.00)``, ``1200-``; the
    Chinese units ``万`` (x 10,000) and ``亿`` (x 100,000,000) after the number
    (``12.5万``, ``12.5万元``). Full-width characters are normalised first. Empty values are
    missing, not bad; percentages and anything else are bad.

    The **decimal separator is decided per column** when ``decimal`` is None: a value that
    can only be read with a decimal comma (``1.234,56``, ``12,5``, ``1 234,5``) is evidence
    for ``,``; one that can only be read with a decimal point (``1,234.56``, ``1,234,567``,
    ``12.5``) for ``.``. Evidence for ``,`` only -> decimal comma; otherwise decimal point
    (so ``1,234`` alone is 1234). With evidence both ways the majority wins, the others are
    bad and ``note`` says so.

    Parameters
    ----------
    values : Series
        Text (missing = NA).
    decimal : {".", ","}, optional
        Force the decimal separator.

    Returns
    -------
    ParsedAmounts
        ``values`` (float64), ``bad``, ``currency``, ``note``, ``decimal``.

    Examples
    --------
    >>> res = parse_amounts(pd.Series(["$1,234.50", "(200)", "12.5万元", "EUR 99", None, "5%"]))
    >>> res.values.tolist()
    [1234.5, -200.0, 125000.0, 99.0, nan, nan]
    >>> res.bad.tolist()
    [False, False, False, False, False, True]
    >>> res.currency.tolist()
    ['USD', nan, 'CNY', 'EUR', nan, nan]
    >>> parse_amounts(pd.Series(["1.234,56 €", "12,5"])).values.tolist()
    [1234.56, 12.5]
    """
    text, missing = prepare(values)
    out, ok, cur, note, used = _read_all(text, missing, decimal, _amounts)
    currency = None
    if pc.any(pc.is_valid(cur)).as_py():
        currency = pd.Series(pd.array(cur, dtype="str"), index=values.index, name=values.name)
    series = pd.Series(out, index=values.index, name=values.name, dtype="float64")
    return ParsedAmounts(series, ~missing & ~ok, currency, note, used)


def _amounts(text: pa.Array, missing: np.ndarray, decimal: str | None, prior: Evidence) -> _Read:
    """The general reader of amounts; the extra is the currency code (null where none)."""
    st = pc.extract_regex(text, _AMOUNT)
    ok = matched(st) & ~missing
    neg, pos = signs(st, ["s1", "s2", "s3", "s4"])
    p1, p2 = (
        to_numpy(pc.not_equal(group(st, "p1"), "")),
        to_numpy(pc.not_equal(group(st, "p2"), "")),
    )
    ok &= (p1 == p2) & (neg + pos + p1 <= 1)
    c1, c2 = group(st, "c1"), group(st, "c2")
    cur1, cur2 = _currency(c1), _currency(c2)
    both = to_numpy(pc.and_(pc.not_equal(c1, ""), pc.not_equal(c2, "")))
    ok &= ~both | to_numpy(pc.fill_null(pc.equal(cur1, cur2), False))
    nums, ok, used, note = decimal_numbers(body(st), ok, decimal, prior)
    unit = to_numpy(pc.fill_null(pc.index_in(group(st, "u"), value_set=pa.array(["万", "亿"])), -1))
    factor = np.choose(unit + 1, [1.0, 1e4, 1e8])
    sign = np.where((neg > 0) | p1, -1.0, 1.0)
    out = np.where(ok, nums * factor * sign, np.nan)
    cur = pc.if_else(pc.not_equal(c1, ""), cur1, cur2)
    cur = pc.if_else(pa.array(ok), cur, pa.scalar(None, pa.string()))
    return out, ok, cur, note, used


def _currency(field: pa.Array) -> pa.Array:
    """Symbols/codes -> ISO codes (empty -> null)."""
    uniq = pc.unique(field)
    mapped = pa.array(
        [None if not c else _SYMBOLS.get(c, c) for c in uniq.to_pylist()], type=pa.string()
    )
    return mapped.take(pc.index_in(field, value_set=uniq))


def amount_unit_from_header(header: str) -> float:
    """The multiplier a column header declares for its amounts (1.0 when none).

    ``万``/``万元`` -> 1e4, ``亿`` -> 1e8, ``千``/``千元`` -> 1e3 (in brackets, before ``元``
    or at the end); ``(k)``, ``(000s)``, ``('000)``, ``in thousands`` -> 1e3; ``(M)``,
    ``(MM)``, ``(mn)``, ``in millions`` -> 1e6; ``(bn)``, ``in billions`` -> 1e9.

    Parameters
    ----------
    header : str
        The column header as written.

    Returns
    -------
    float
        The factor to multiply parsed amounts by.

    Examples
    --------
    >>> amount_unit_from_header("金额（万元）"), amount_unit_from_header("Amount (k)")
    (10000.0, 1000.0)
    >>> amount_unit_from_header("Revenue in millions"), amount_unit_from_header("Amount")
    (1000000.0, 1.0)
    """
    h = unicodedata.normalize("NFKC", str(header)).strip()
    cn = re.search(r"[(\[【]\s*(千|万|亿)|(千|万|亿)(?:元|美元|人民币)|(千|万|亿)$", h)
    if cn:
        unit = next(g for g in cn.groups() if g)
        return {"千": 1e3, "万": 1e4, "亿": 1e8}[unit]
    low = h.lower()
    if re.search(r"[(\[]\s*(?:k|000s?|'000|thousands?)\s*[)\]]|\bin thousands\b", low):
        return 1e3
    if re.search(r"[(\[]\s*(?:m|mm|mn|mio|millions?)\s*[)\]]|\bin millions\b", low):
        return 1e6
    if re.search(r"[(\[]\s*(?:bn|b|billions?)\s*[)\]]|\bin billions\b", low):
        return 1e9
    return 1.0


@dataclass(frozen=True)
class ParsedNumbers:
    """Result of :func:`parse_numbers`.

    Attributes
    ----------
    values : Series
        float64 as written (``"90%"`` -> 90.0), NaN where missing or bad.
    bad : ndarray of bool
        True where a non-missing value could not be read.
    percent : ndarray of bool
        True where the value carried a ``%`` sign.
    note : str or None
        How an ambiguous or mixed decimal separator was resolved.
    decimal : str
        The decimal separator used for the column.
    """

    values: pd.Series
    bad: np.ndarray
    percent: np.ndarray
    note: str | None
    decimal: str = "."


def parse_numbers(values: pd.Series, *, decimal: str | None = None) -> ParsedNumbers:
    """Parse plain numbers such as a probability ``90``, ``90%``, ``0.9`` or ``1,5``.

    The number is returned **as written**: ``"90%"`` gives 90.0 with ``percent`` True,
    leaving the caller (who knows whether the column is a fraction) to divide by 100.
    Signs, thousands separators, exponents and a per-column decimal separator (the rule of
    :func:`parse_amounts`) are accepted; currency symbols are not.

    Parameters
    ----------
    values : Series
        Text (missing = NA).
    decimal : {".", ","}, optional
        Force the decimal separator.

    Returns
    -------
    ParsedNumbers
        ``values`` (float64), ``bad``, ``percent``, ``note``, ``decimal``.

    Examples
    --------
    >>> res = parse_numbers(pd.Series(["90", "12.5 %", "-3", "", "n/a"]))
    >>> res.values.tolist(), res.percent.tolist()
    ([90.0, 12.5, -3.0, nan, nan], [False, True, False, False, False])
    >>> res.bad.tolist()
    [False, False, False, False, True]
    """
    text, missing = prepare(values)
    out, ok, pct, note, used = _read_all(text, missing, decimal, _numbers)
    percent = to_numpy(pc.fill_null(pct, False)).astype(bool)
    series = pd.Series(out, index=values.index, name=values.name, dtype="float64")
    return ParsedNumbers(series, ~missing & ~ok, percent, note, used)


def _numbers(text: pa.Array, missing: np.ndarray, decimal: str | None, prior: Evidence) -> _Read:
    """The general reader of plain numbers; the extra is the percent flag."""
    st = pc.extract_regex(text, _PLAIN)
    ok = matched(st) & ~missing
    neg, _pos = signs(st, ["s1"])
    nums, ok, used, note = decimal_numbers(body(st), ok, decimal, prior)
    out = np.where(ok, np.where(neg > 0, -nums, nums), np.nan)
    percent = to_numpy(pc.not_equal(group(st, "pct"), "")) & ok
    return out, ok, pa.array(percent), note, used


_TRUE = ["true", "t", "yes", "y", "1", "1.0", "on", "是", "真", "对"]
_FALSE = ["false", "f", "no", "n", "0", "0.0", "off", "否", "假", "错"]


def parse_booleans(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse flags: TRUE/FALSE, true/false, T/F, yes/no, Y/N, 1/0, on/off, 是/否, 真/假, 对/错.

    Case is ignored. Returns the pandas nullable ``boolean`` Series (NA where missing or
    bad) and the ``bad`` mask.

    Parameters
    ----------
    values : Series
        Text (missing = NA).

    Returns
    -------
    values : Series
        ``boolean`` dtype, the input's index.
    bad : ndarray of bool
        True where a non-missing value is not a recognised flag.

    Examples
    --------
    >>> flags, bad = parse_booleans(pd.Series(["TRUE", "no", "是", None, "maybe"]))
    >>> flags.tolist(), bad.tolist()
    ([True, False, True, <NA>, <NA>], [False, False, False, False, True])
    """
    text, missing = prepare(values)
    low = pc.utf8_lower(text)
    yes, no = is_in(low, _TRUE), is_in(low, _FALSE)
    arr = pd.arrays.BooleanArray(yes, ~(yes | no))
    out = pd.Series(arr, index=values.index, name=values.name)
    return out, ~missing & ~(yes | no)
