"""Parse text columns into timestamps, amounts, plain numbers and booleans.

Pure functions of a pandas Series of text (missing = NA): nothing here touches files or
global state, and the input is never modified. Parsing is vectorised with pyarrow compute
kernels (RE2 regular expressions, casts) and numpy; the only Python loops run once per
*format family*, never per cell.

Decisions are made **per column**, never per cell: the day/month order of ``03/04/2024``,
the decimal separator of ``1,234``. Every function returns the parsed values, a ``bad``
mask (True where a non-missing input could not be read; never True for missing input) and
a note explaining any assumption, so the loader can report it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ParsedAmounts",
    "ParsedDatetimes",
    "ParsedNumbers",
    "amount_unit_from_header",
    "parse_amounts",
    "parse_booleans",
    "parse_datetimes",
    "parse_numbers",
]

_NAT = np.iinfo(np.int64).min
_US_PER_DAY = 86_400_000_000
_DIM = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


# --------------------------------------------------------------------------- helpers


def _prepare(values: pd.Series) -> tuple[pa.Array, np.ndarray]:
    """Values as a pyarrow string array (stripped, NFKC-normalised) and a missing mask."""
    s = values if values.dtype == "str" else values.astype("str")
    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    if pc.all(pc.string_is_ascii(arr)).as_py() is False:
        # full-width digits and punctuation (１２，０００ ￥ （）) become ASCII
        arr = pc.utf8_trim_whitespace(pc.utf8_normalize(arr, "NFKC"))
    missing = _np(pc.fill_null(pc.equal(pc.binary_length(arr), 0), True))
    return arr, missing


def _np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def _matched(st: pa.StructArray) -> np.ndarray:
    return _np(st.is_valid())


def _str(st: pa.StructArray, name: str) -> pa.Array:
    return st.field(name)


def _int(field: pa.Array, default: int = -1) -> np.ndarray:
    """Digit strings -> int64 (``default`` where empty). Callers bound the digit count."""
    nonempty = pc.not_equal(field, "")
    ints = pc.cast(pc.if_else(nonempty, field, pa.scalar(None, pa.string())), pa.int64())
    return _np(pc.fill_null(ints, default)).astype(np.int64)


def _is(field: pa.Array, options: list[str]) -> np.ndarray:
    return _np(pc.fill_null(pc.is_in(field, value_set=pa.array(options, pa.string())), False))


def _mode(codes: np.ndarray) -> int:
    return int(np.bincount(codes).argmax()) if codes.size else 0


# --------------------------------------------------------------------------- datetimes


@dataclass(frozen=True)
class ParsedDatetimes:
    """Result of :func:`parse_datetimes`.

    Attributes
    ----------
    values : Series
        ``datetime64[us, UTC]``, NaT where missing or bad; the input's index.
    bad : ndarray of bool
        True where a non-missing value could not be parsed.
    format : str
        The format(s) found, most frequent first, e.g. ``"MM/DD/YY hh:MM AM/PM"``,
        ``"ISO 8601 + DD.MM.YYYY"``; ``"empty"`` if nothing to parse.
    dayfirst : bool or None
        The day/month order used for ``NN/NN/YYYY``-style values (None if there were none).
    note : str or None
        Assumptions the caller should report (ambiguous or inconsistent day/month order).
    """

    values: pd.Series
    bad: np.ndarray
    format: str
    dayfirst: bool | None
    note: str | None


_CLOCK = (
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"\s*(?P<ap>[AaPp]\.?[Mm]\.?)?"
)
_TIME = r"(?:(?:T|\s+)" + _CLOCK + r")?"
_TIME_CN = r"(?:(?:T|\s*)" + _CLOCK + r")?"
_TZ = r"\s*(?P<tz>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
_FAMILIES = {
    "iso": r"^(?P<pre>UTC\s+)?(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + _TZ,
    "ymd": r"^(?P<y>\d{4})(?P<s1>[/.])(?P<m>\d{1,2})(?P<s2>[/.])(?P<d>\d{1,2})" + _TIME + _TZ,
    "cn": r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?" + _TIME_CN + _TZ,
    "dm": r"^(?P<a>\d{1,2})(?P<s1>[/.-])(?P<b>\d{1,2})(?P<s2>[/.-])(?P<y>\d{4}|\d{2})"
    + _TIME
    + _TZ,
    "named": r"^(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?[ -]?(?P<mon1>[A-Za-z]{3,9})\.?,?[ -]?"
    r"(?P<y1>\d{4}|\d{2})|(?P<mon2>[A-Za-z]{3,9})\.?[ -](?P<d2>\d{1,2})(?:st|nd|rd|th)?,?[ -]"
    r"(?P<y2>\d{4}))" + _TIME + _TZ,
    "num": r"^(?P<i>\d+)(?:\.(?P<fr>\d+))?$",
}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_EXCEL_EPOCH_DAYS = -25569  # 1899-12-30 (1900 date system, serials > 60)


def _days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of civil dates (proleptic Gregorian) and a validity mask."""
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    mi = np.clip(m, 1, 12) - 1
    ok = (y >= 1) & (y <= 9999) & (m >= 1) & (m <= 12) & (d >= 1)
    ok &= d <= _DIM[mi] + (leap & (m == 2))
    y, m, d = np.where(ok, y, 1970), np.where(ok, m, 1), np.where(ok, d, 1)
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468, ok


def _year(field: pa.Array) -> np.ndarray:
    """Years; two digits: 00-68 -> 2000s, 69-99 -> 1900s (the POSIX ``%y`` rule)."""
    y = _int(field)
    short = _np(pc.equal(pc.utf8_length(field), 2))
    return np.where(short, np.where(y <= 68, 2000 + y, 1900 + y), y)


def _clock(st: pa.StructArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(microseconds of the day, valid, style code: 1 time, 2 seconds, 4 AM/PM)."""
    h, mi, s = _int(_str(st, "H")), _int(_str(st, "M"), 0), _int(_str(st, "S"), 0)
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(_str(st, "f"), 9, "0"), 0, 6)
    micro = _int(frac, 0)
    ap = pc.utf8_lower(pc.utf8_slice_codeunits(_str(st, "ap"), 0, 1))
    am, pm = _is(ap, ["a"]), _is(ap, ["p"])
    timed = h >= 0
    ok = np.where(am | pm, (h >= 1) & (h <= 12), h <= 23) & (mi <= 59) & (s <= 59)
    h = np.where(am | pm, h % 12 + 12 * pm, h)
    us = np.where(timed, ((h * 60 + mi) * 60 + s) * 1_000_000 + micro, 0)
    has_s = _np(pc.not_equal(_str(st, "S"), ""))
    style = timed * 1 + (has_s & timed) * 2 + ((am | pm) & timed) * 4
    return us, ok | ~timed, style.astype(np.int64)


def _offset(st: pa.StructArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offset in microseconds, has an offset, valid) from the ``tz`` (and ``pre``) groups."""
    tz = _str(st, "tz")
    zulu = _is(tz, ["Z", "z", "UTC", "GMT"])
    if "pre" in [st.type.field(i).name for i in range(st.type.num_fields)]:
        zulu |= _np(pc.not_equal(_str(st, "pre"), ""))
    signed = pc.match_substring_regex(tz, r"^[+-]")
    digits = pc.if_else(signed, pc.replace_substring(tz, ":", ""), "")
    numeric = _np(signed)
    hh = _int(pc.utf8_slice_codeunits(digits, 1, 3), 0)
    mm = _int(pc.utf8_slice_codeunits(digits, 3, 5), 0)
    sign = np.where(_np(pc.starts_with(tz, "-")), -1, 1)
    ok = (hh <= 23) & (mm <= 59)
    return sign * (hh * 60 + mm) * 60_000_000, zulu | numeric, ok


@dataclass
class _Part:
    """What one family produced for the cells it matched."""

    idx: np.ndarray
    us: np.ndarray  # wall time (naive) or UTC instant, microseconds since the epoch
    ok: np.ndarray
    absolute: np.ndarray  # True: ``us`` is already UTC
    labels: dict[str, int]


def _time_label(style: np.ndarray) -> str:
    """Time suffix of a format label, from the most common style among timed values."""
    code = _mode(style[style > 0])
    if not code & 1:
        return ""
    hh = " hh" if code & 4 else " HH"
    return hh + (":MM:SS" if code & 2 else ":MM") + (" AM/PM" if code & 4 else "")


def _ymd_part(st: pa.StructArray, y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple:
    days, ok = _days(y, m, d)
    clock, cok, style = _clock(st)
    off, has_off, ook = _offset(st)
    us = days * _US_PER_DAY + clock - np.where(has_off, off, 0)
    return us, ok & cok & ook, has_off, style


def _family_dm(
    st: pa.StructArray, values: pa.Array, dayfirst: bool | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int], bool]:
    a, b, y = _int(_str(st, "a")), _int(_str(st, "b")), _year(_str(st, "y"))
    seps = _str(st, "s1")
    same_sep = _np(pc.equal(seps, _str(st, "s2")))
    dots = _np(pc.equal(seps, "."))
    day_ev, mon_ev = (a > 12) & (a <= 31), (b > 12) & (b <= 31)
    nd, nm = int(day_ev.sum()), int(mon_ev.sum())

    def example(mask: np.ndarray) -> str:
        return repr(values[int(np.flatnonzero(mask)[0])].as_py())

    default = dayfirst if dayfirst is not None else bool(dots.mean() > 0.5)
    if nd and nm:
        first = nd > nm if nd != nm else default
        minority = nm if first else nd
        notes.append(
            f"inconsistent day/month order: {nd} value(s) such as {example(day_ev)} are "
            f"day-first, {nm} such as {example(mon_ev)} month-first; used "
            f"{'day' if first else 'month'}-first and marked the {minority} other(s) bad"
        )
    elif nd or nm:
        first = bool(nd)
        if dayfirst is not None and dayfirst != first:
            ev = example(day_ev if nd else mon_ev)
            notes.append(
                f"dayfirst={dayfirst} ignored: values such as {ev} can only be "
                f"{'day' if first else 'month'}-first"
            )
    else:
        first = default
        if dayfirst is None:
            order = "day-first (DD.MM, dotted dates)" if first else "month-first (MM/DD, US)"
            notes.append(
                "day/month order is ambiguous (no day or month above 12 in the column); "
                f"assumed {order}; pass dayfirst to choose"
            )
    day, month = (a, b) if first else (b, a)
    us, ok, has_off, style = _ymd_part(st, y, month, day)
    ok &= same_sep
    sep = ["/", ".", "-"][_mode(_np(pc.index_in(seps, value_set=pa.array(["/", ".", "-"]))))]
    yy = "YY" if _mode(_np(pc.utf8_length(_str(st, "y")))) == 2 else "YYYY"
    dd_mm = ("DD", "MM") if first else ("MM", "DD")
    label = f"{dd_mm[0]}{sep}{dd_mm[1]}{sep}{yy}" + _time_label(style)
    return us, ok, has_off, {label: len(ok)}, first


def _family_num(st: pa.StructArray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    i_str, fr = _str(st, "i"), _str(st, "fr")
    ilen = _np(pc.utf8_length(i_str))
    has_fr = _np(pc.not_equal(fr, ""))
    safe = pc.if_else(pa.array(ilen <= 13), i_str, "0")
    ival = _int(safe, 0)
    compact = (ilen == 8) & ~has_fr & (ival // 10000 >= 1900) & (ival // 10000 <= 2100)
    excel = (ilen == 5) & (ival >= 20000) & (ival < 80000)
    secs = (ilen == 9) | (ilen == 10)
    millis = (ilen == 12) | (ilen == 13)
    n = ilen.size
    us = np.zeros(n, dtype=np.int64)
    ok = compact | excel | secs | millis
    # YYYYMMDD
    days, dok = _days(ival // 10000, ival // 100 % 100, ival % 100)
    us = np.where(compact, days * _US_PER_DAY, us)
    ok &= ~compact | dok
    # Excel serial: fraction of a day, rounded to the millisecond (Excel's resolution)
    frac = _np(
        pc.cast(pc.binary_join_element_wise("0.", pc.if_else(has_fr, fr, "0"), ""), pa.float64())
    )
    ms = np.rint(frac * 86_400_000).astype(np.int64)
    us = np.where(excel, (ival + _EXCEL_EPOCH_DAYS) * _US_PER_DAY + ms * 1000, us)
    # epoch seconds / milliseconds (fractions truncated to the microsecond)
    sub6 = _int(pc.utf8_slice_codeunits(pc.utf8_rpad(fr, 6, "0"), 0, 6), 0)
    sub3 = _int(pc.utf8_slice_codeunits(pc.utf8_rpad(fr, 3, "0"), 0, 3), 0)
    us = np.where(secs, ival * 1_000_000 + sub6, us)
    us = np.where(millis, ival * 1000 + sub3, us)
    labels = {
        "YYYYMMDD": int(compact.sum()),
        "Excel serial": int(excel.sum()),
        "epoch seconds": int(secs.sum()),
        "epoch milliseconds": int(millis.sum()),
    }
    return us, ok, secs | millis, {k: v for k, v in labels.items() if v}


def _family(
    name: str, st: pa.StructArray, values: pa.Array, dayfirst: bool | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int], bool | None]:
    if name == "dm":
        return _family_dm(st, values, dayfirst, notes)
    if name == "num":
        return (*_family_num(st), None)
    if name == "named":
        mon = pc.utf8_lower(
            pc.utf8_slice_codeunits(
                pc.binary_join_element_wise(_str(st, "mon1"), _str(st, "mon2"), ""), 0, 3
            )
        )
        m = _np(pc.fill_null(pc.index_in(mon, value_set=pa.array(list(_MONTHS))), -1)) + 1
        full = pc.binary_join_element_wise(_str(st, "mon1"), _str(st, "mon2"), "")
        known = _np(
            pc.match_substring_regex(
                pc.utf8_lower(full),
                r"^(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?"
                r"|sept?(ember)?|oct(ober)?|nov(ember)?|dec(ember)?)$",
            )
        )
        d = _int(pc.binary_join_element_wise(_str(st, "d1"), _str(st, "d2"), ""))
        y = _year(pc.binary_join_element_wise(_str(st, "y1"), _str(st, "y2"), ""))
        us, ok, has_off, style = _ymd_part(st, y, m, d)
        first = _np(pc.not_equal(_str(st, "d1"), "")).mean() >= 0.5
        label = ("D Mon YYYY" if first else "Mon D, YYYY") + _time_label(style)
        return us, ok & known & (m > 0), has_off, {label: len(ok)}, None
    y, m, d = _int(_str(st, "y")), _int(_str(st, "m")), _int(_str(st, "d"))
    us, ok, has_off, style = _ymd_part(st, y, m, d)
    if name == "iso":
        label = "ISO 8601"
    elif name == "cn":
        label = "YYYY年M月D日" + _time_label(style)
    else:
        ok &= _np(pc.equal(_str(st, "s1"), _str(st, "s2")))
        sep = "." if _np(pc.equal(_str(st, "s1"), ".")).mean() > 0.5 else "/"
        label = f"YYYY{sep}MM{sep}DD" + _time_label(style)
    return us, ok, has_off, {label: len(ok)}, None


def _family_order(text: pa.Array, todo: np.ndarray) -> list[str]:
    """Families ordered by how many of (up to) 2000 sampled values each matches."""
    sample = text.take(pa.array(np.flatnonzero(todo)[:2000]))
    hits = {
        name: pc.sum(pc.match_substring_regex(sample, pat)).as_py() or 0
        for name, pat in _FAMILIES.items()
    }
    return sorted(_FAMILIES, key=lambda k: -hits[k])


def _localize(us: np.ndarray, tz: str) -> np.ndarray:
    """Naive wall times in ``tz`` -> UTC microseconds (DST gap: shift forward; overlap:
    first occurrence)."""
    if tz.upper() == "UTC" or us.size == 0:
        return us
    wall = pd.DatetimeIndex(us.view("M8[us]"))
    local = wall.tz_localize(
        tz, ambiguous=np.ones(us.size, dtype=bool), nonexistent="shift_forward"
    )
    return np.asarray(local.as_unit("us").asi8, dtype=np.int64)


def parse_datetimes(
    values: pd.Series, *, tz: str = "UTC", dayfirst: bool | None = None
) -> ParsedDatetimes:
    """Parse a column of timestamps written in any supported format into UTC.

    Supported, mixed freely within one column (each value in its own format):

    - ISO 8601 dates and date-times (``T`` or space, optional seconds and fraction), with
      ``Z``/``UTC``/``±HH:MM``/``±HHMM`` offsets or naive; Pipedrive ``UTC 2024-03-05 10:00``;
    - ``MM/DD/YYYY``, ``MM/DD/YY``, ``DD/MM/YYYY``, ``DD.MM.YYYY``, ``DD-MM-YYYY`` (also
      one-digit fields), optionally with ``20:55``, ``20:55:10`` or ``08:55 PM``;
    - ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``2024/3/5``, Chinese ``2024年3月5日`` (with times);
    - month names: ``05-Mar-2024``, ``5 March 2024``, ``Mar 5, 2024 10:00 AM``;
    - numbers: Excel serials (1900 date system, 20000-79999, fraction = time of day, rounded
      to the millisecond), epoch seconds (9-10 digits) and milliseconds (12-13 digits,
      HubSpot), ``YYYYMMDD``.

    **Day/month order is decided per column** from the ``NN/NN/NNNN`` values only: a first
    field > 12 somewhere means day-first, a second field > 12 means month-first. If both
    occur, the majority wins and the contradicting values are marked bad (``note`` says so).
    If nothing decides, ``dayfirst`` is used; if that is None, month-first (US) is assumed,
    except when most such values use dots (``05.03.2024``, a day-first convention), and
    ``note`` says which order was assumed. Evidence overrides ``dayfirst``.

    Two-digit years: 00-68 -> 2000-2068, 69-99 -> 1969-1999 (POSIX ``%y``). Fractions of
    a second beyond microseconds are truncated. Values with an offset and epochs are
    absolute; naive values and Excel serials are wall times in ``tz``: a time in the
    spring-forward gap is shifted forward to the first valid instant, an ambiguous
    fall-back time is taken as its first (daylight-time) occurrence.

    Parameters
    ----------
    values : Series
        Text (missing = NA); other dtypes are converted with ``astype("str")``.
    tz : str, default "UTC"
        IANA time zone of naive values.
    dayfirst : bool, optional
        Day/month order when the column does not decide it.

    Returns
    -------
    ParsedDatetimes
        ``values`` (``datetime64[us, UTC]``), ``bad``, ``format``, ``dayfirst``, ``note``.

    Examples
    --------
    >>> s = pd.Series(["02/23/26 08:55 PM", "2024-03-05T10:00:00+01:00", None, "soon"])
    >>> res = parse_datetimes(s)
    >>> res.values.dt.strftime("%Y-%m-%d %H:%M").tolist()
    ['2026-02-23 20:55', '2024-03-05 09:00', nan, nan]
    >>> res.bad.tolist(), res.format
    ([False, False, False, True], 'ISO 8601 + MM/DD/YY hh:MM AM/PM')
    >>> parse_datetimes(pd.Series(["05.03.2024", "2024年3月5日"]), tz="Asia/Shanghai").values[0]
    Timestamp('2024-03-04 16:00:00+0000', tz='UTC')
    >>> epochs = parse_datetimes(pd.Series(["1709632800000", "45356.5"]))
    >>> epochs.values.dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
    ['2024-03-05 10:00:00', '2024-03-05 12:00:00']
    """
    try:
        pd.Timestamp(0).tz_localize(tz)
    except Exception as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc
    text, missing = _prepare(values)
    n = len(text)
    us = np.full(n, _NAT, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    absolute = np.zeros(n, dtype=bool)
    todo = ~missing
    labels: dict[str, int] = {}
    notes: list[str] = []
    used_dayfirst: bool | None = None
    for name in _family_order(text, todo) if todo.any() else []:
        idx = np.flatnonzero(todo)
        if not idx.size:
            break
        sub = text.take(pa.array(idx))
        st = pc.extract_regex(sub, _FAMILIES[name])
        hit = _matched(st)
        if not hit.any():
            continue
        idx, st = idx[hit], st.filter(pa.array(hit))
        f_us, f_ok, f_abs, f_labels, f_first = _family(
            name, st, sub.filter(pa.array(hit)), dayfirst, notes
        )
        us[idx] = np.where(f_ok, f_us, _NAT)
        ok[idx], absolute[idx] = f_ok, f_abs
        todo[idx] = False
        for k, v in f_labels.items():
            labels[k] = labels.get(k, 0) + v
        if name == "dm":
            used_dayfirst = f_first
    naive = ok & ~absolute
    us[naive] = _localize(us[naive], tz)
    out = pd.Series(us.view("M8[us]"), index=values.index, name=values.name)
    out = out.dt.tz_localize("UTC")
    if not (~missing).any():
        fmt = "empty"
    elif not labels:
        fmt = "unrecognised"
    else:
        fmt = " + ".join(k for k, _ in sorted(labels.items(), key=lambda kv: (-kv[1], kv[0])))
    return ParsedDatetimes(out, ~missing & ~ok, fmt, used_dayfirst, "; ".join(notes) or None)


# --------------------------------------------------------------------------- numbers


_NUM = r"(?P<num>[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+|[0-9.,' ’_]*[0-9][0-9.,' ’_]*|[.,][0-9]+)"
_MINUS = r"[-\x{2212}]"
_SIGN = r"[-+\x{2212}]"
_CUR_PRE = r"(?:US|HK|NT|[ACSR])\$|RMB|[A-Z]{3}|[$€£¥₹₩元]"
_CUR_POST = r"RMB|[A-Z]{3}|[$€£¥元]"
_AMOUNT = (
    rf"^(?P<s1>{_SIGN})?\s*(?P<p1>\()?\s*(?P<s2>{_SIGN})?\s*(?P<c1>{_CUR_PRE})?\s*"
    rf"(?P<s3>{_SIGN})?\s*{_NUM}\s*(?P<u>万|亿)?\s*(?P<c2>{_CUR_POST})?\s*(?P<p2>\))?\s*"
    rf"(?P<s4>{_MINUS})?$"
)
_PLAIN = rf"^(?P<s1>{_SIGN})?\s*{_NUM}\s*(?P<pct>%)?$"
_VALID_DOT = r"^(?:\d{1,3}(?:[,_]\d{3})+|\d+)(?:\.\d*)?$|^\.\d+$|^\d+(?:\.\d*)?[eE][-+]?\d+$"
_VALID_COMMA = r"^(?:\d{1,3}(?:[._]\d{3})+|\d+)(?:,\d*)?$|^,\d+$"
_SYMBOLS = {
    "$": "USD", "US$": "USD", "HK$": "HKD", "NT$": "TWD", "A$": "AUD", "C$": "CAD",
    "S$": "SGD", "R$": "BRL", "€": "EUR", "£": "GBP", "¥": "CNY", "元": "CNY", "RMB": "CNY",
    "₹": "INR", "₩": "KRW",
}  # fmt: skip


def _decimal_numbers(
    body: pa.Array, ok: np.ndarray, decimal: str | None
) -> tuple[np.ndarray, np.ndarray, str, str | None]:
    """Number bodies (grouping spaces/apostrophes already ``_``) -> floats, per column.

    Returns (values, ok, decimal separator used, note).
    """
    if decimal not in (None, ".", ","):
        raise ValueError(f"decimal must be '.', ',' or None, not {decimal!r}")
    dot = _np(pc.fill_null(pc.match_substring_regex(body, _VALID_DOT), False)) & ok
    comma = _np(pc.fill_null(pc.match_substring_regex(body, _VALID_COMMA), False)) & ok
    note = None
    if decimal is None:
        n_dot, n_comma = int((dot & ~comma).sum()), int((comma & ~dot).sum())
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
            seps = _np(pc.fill_null(pc.match_substring_regex(body, r"^\d{1,3}[.,]\d{3}$"), False))
            if (seps & ok).any() and not n_dot:
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
    nums = _np(pc.fill_null(pc.cast(plain, pa.float64()), np.nan)).astype(np.float64)
    return nums, ok & valid, decimal, note


def _body(st: pa.StructArray) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_trim_whitespace(_str(st, "num")), r"[ '’]", "_")


def _signs(st: pa.StructArray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    neg = np.zeros(len(st), dtype=np.int64)
    pos = np.zeros(len(st), dtype=np.int64)
    for name in names:
        f = _str(st, name)
        neg += _is(f, ["-", "\u2212"])
        pos += _is(f, ["+"])
    return neg, pos


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
    text, missing = _prepare(values)
    st = pc.extract_regex(text, _AMOUNT)
    ok = _matched(st) & ~missing
    neg, pos = _signs(st, ["s1", "s2", "s3", "s4"])
    p1, p2 = _np(pc.not_equal(_str(st, "p1"), "")), _np(pc.not_equal(_str(st, "p2"), ""))
    ok &= (p1 == p2) & (neg + pos + p1 <= 1)
    c1, c2 = _str(st, "c1"), _str(st, "c2")
    cur1, cur2 = _currency(c1), _currency(c2)
    both = _np(pc.and_(pc.not_equal(c1, ""), pc.not_equal(c2, "")))
    ok &= ~both | _np(pc.fill_null(pc.equal(cur1, cur2), False))
    nums, ok, used, note = _decimal_numbers(_body(st), ok, decimal)
    unit = _np(pc.fill_null(pc.index_in(_str(st, "u"), value_set=pa.array(["万", "亿"])), -1))
    factor = np.choose(unit + 1, [1.0, 1e4, 1e8])
    sign = np.where((neg > 0) | p1, -1.0, 1.0)
    out = np.where(ok, nums * factor * sign, np.nan)
    cur = pc.if_else(pc.not_equal(c1, ""), cur1, cur2)
    cur = pc.if_else(pa.array(ok), cur, pa.scalar(None, pa.string()))
    currency = None
    if pc.any(pc.is_valid(cur)).as_py():
        currency = pd.Series(pd.array(cur, dtype="str"), index=values.index, name=values.name)
    series = pd.Series(out, index=values.index, name=values.name, dtype="float64")
    return ParsedAmounts(series, ~missing & ~ok, currency, note, used)


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
    text, missing = _prepare(values)
    st = pc.extract_regex(text, _PLAIN)
    ok = _matched(st) & ~missing
    neg, _pos = _signs(st, ["s1"])
    nums, ok, used, note = _decimal_numbers(_body(st), ok, decimal)
    out = np.where(ok, np.where(neg > 0, -nums, nums), np.nan)
    percent = _np(pc.not_equal(_str(st, "pct"), "")) & ok
    series = pd.Series(out, index=values.index, name=values.name, dtype="float64")
    return ParsedNumbers(series, ~missing & ~ok, percent, note, used)


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
    text, missing = _prepare(values)
    low = pc.utf8_lower(text)
    yes, no = _is(low, _TRUE), _is(low, _FALSE)
    arr = pd.arrays.BooleanArray(yes, ~(yes | no))
    out = pd.Series(arr, index=values.index, name=values.name)
    return out, ~missing & ~(yes | no)
