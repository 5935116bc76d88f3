"""The general datetime reader: one RE2 regular expression per *format family*.

Every family (ISO 8601, ``YYYY/MM/DD``, Chinese, ``NN/NN/YYYY``, month names, numbers)
is matched against the cells not yet read, most common family first, and its groups are
turned into microseconds with numpy; the only Python loop runs once per family. Results
accumulate in a :class:`Reading`, which :mod:`.dates` creates and finishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._arrow import group, ints, is_in, matched, mode, to_numpy

__all__ = ["NAT", "US_PER_DAY", "Reading", "civil_days", "family_order", "read_families"]

NAT = np.iinfo(np.int64).min
US_PER_DAY = 86_400_000_000
_DIM = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


@dataclass
class Reading:
    """What has been read of a column so far (every array has one entry per cell)."""

    us: np.ndarray  # int64: UTC instant where ``absolute``, else wall time; NAT unless ok
    ok: np.ndarray  # bool: read successfully
    absolute: np.ndarray  # bool: ``us`` is already UTC (an offset, ``Z`` or an epoch)
    todo: np.ndarray  # bool: not missing and not yet claimed by any format
    labels: dict[str, int] = field(default_factory=dict)  # format label -> cells claimed
    notes: list[str] = field(default_factory=list)
    dayfirst: bool | None = None  # the order used for ``NN/NN/YYYY`` values, if any

    @classmethod
    def start(cls, missing: np.ndarray) -> Reading:
        """Nothing read yet; every cell that is not missing is to do."""
        n = missing.size
        return cls(np.full(n, NAT, dtype=np.int64), np.zeros(n, bool), np.zeros(n, bool), ~missing)

    def claim(self, idx: np.ndarray, us: np.ndarray, ok: np.ndarray, absolute: np.ndarray) -> None:
        """Record the result of one format for the cells ``idx`` (bad ones too)."""
        self.us[idx] = np.where(ok, us, NAT)
        self.ok[idx], self.absolute[idx] = ok, absolute
        self.todo[idx] = False

    def count(self, labels: dict[str, int]) -> None:
        """Add the cells claimed under each format label."""
        for k, v in labels.items():
            self.labels[k] = self.labels.get(k, 0) + v


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


def civil_days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    y = ints(field)
    short = to_numpy(pc.equal(pc.utf8_length(field), 2))
    return np.where(short, np.where(y <= 68, 2000 + y, 1900 + y), y)


def _clock(st: pa.StructArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(microseconds of the day, valid, style code: 1 time, 2 seconds, 4 AM/PM)."""
    h, mi, s = ints(group(st, "H")), ints(group(st, "M"), 0), ints(group(st, "S"), 0)
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(group(st, "f"), 9, "0"), 0, 6)
    micro = ints(frac, 0)
    ap = pc.utf8_lower(pc.utf8_slice_codeunits(group(st, "ap"), 0, 1))
    am, pm = is_in(ap, ["a"]), is_in(ap, ["p"])
    timed = h >= 0
    ok = np.where(am | pm, (h >= 1) & (h <= 12), h <= 23) & (mi <= 59) & (s <= 59)
    h = np.where(am | pm, h % 12 + 12 * pm, h)
    us = np.where(timed, ((h * 60 + mi) * 60 + s) * 1_000_000 + micro, 0)
    has_s = to_numpy(pc.not_equal(group(st, "S"), ""))
    style = timed * 1 + (has_s & timed) * 2 + ((am | pm) & timed) * 4
    return us, ok | ~timed, style.astype(np.int64)


def _offset(st: pa.StructArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offset in microseconds, has an offset, valid) from the ``tz`` (and ``pre``) groups."""
    tz = group(st, "tz")
    zulu = is_in(tz, ["Z", "z", "UTC", "GMT"])
    if "pre" in [st.type.field(i).name for i in range(st.type.num_fields)]:
        zulu |= to_numpy(pc.not_equal(group(st, "pre"), ""))
    signed = pc.match_substring_regex(tz, r"^[+-]")
    digits = pc.if_else(signed, pc.replace_substring(tz, ":", ""), "")
    numeric = to_numpy(signed)
    hh = ints(pc.utf8_slice_codeunits(digits, 1, 3), 0)
    mm = ints(pc.utf8_slice_codeunits(digits, 3, 5), 0)
    sign = np.where(to_numpy(pc.starts_with(tz, "-")), -1, 1)
    ok = (hh <= 23) & (mm <= 59)
    return sign * (hh * 60 + mm) * 60_000_000, zulu | numeric, ok


def _time_label(style: np.ndarray) -> str:
    """Time suffix of a format label, from the most common style among timed values."""
    code = mode(style[style > 0])
    if not code & 1:
        return ""
    hh = " hh" if code & 4 else " HH"
    return hh + (":MM:SS" if code & 2 else ":MM") + (" AM/PM" if code & 4 else "")


def _ymd_part(st: pa.StructArray, y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple:
    days, ok = civil_days(y, m, d)
    clock, cok, style = _clock(st)
    off, has_off, ook = _offset(st)
    us = days * US_PER_DAY + clock - np.where(has_off, off, 0)
    return us, ok & cok & ook, has_off, style


def _family_dm(
    st: pa.StructArray, values: pa.Array, dayfirst: bool | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int], bool]:
    a, b, y = ints(group(st, "a")), ints(group(st, "b")), _year(group(st, "y"))
    seps = group(st, "s1")
    same_sep = to_numpy(pc.equal(seps, group(st, "s2")))
    dots = to_numpy(pc.equal(seps, "."))
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
    sep = ["/", ".", "-"][mode(to_numpy(pc.index_in(seps, value_set=pa.array(["/", ".", "-"]))))]
    yy = "YY" if mode(to_numpy(pc.utf8_length(group(st, "y")))) == 2 else "YYYY"
    dd_mm = ("DD", "MM") if first else ("MM", "DD")
    label = f"{dd_mm[0]}{sep}{dd_mm[1]}{sep}{yy}" + _time_label(style)
    return us, ok, has_off, {label: len(ok)}, first


def _family_num(st: pa.StructArray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    i_str, fr = group(st, "i"), group(st, "fr")
    ilen = to_numpy(pc.utf8_length(i_str))
    has_fr = to_numpy(pc.not_equal(fr, ""))
    safe = pc.if_else(pa.array(ilen <= 13), i_str, "0")
    ival = ints(safe, 0)
    compact = (ilen == 8) & ~has_fr & (ival // 10000 >= 1900) & (ival // 10000 <= 2100)
    excel = (ilen == 5) & (ival >= 20000) & (ival < 80000)
    secs = (ilen == 9) | (ilen == 10)
    millis = (ilen == 12) | (ilen == 13)
    n = ilen.size
    us = np.zeros(n, dtype=np.int64)
    ok = compact | excel | secs | millis
    # YYYYMMDD
    days, dok = civil_days(ival // 10000, ival // 100 % 100, ival % 100)
    us = np.where(compact, days * US_PER_DAY, us)
    ok &= ~compact | dok
    # Excel serial: fraction of a day, rounded to the millisecond (Excel's resolution)
    frac = to_numpy(
        pc.cast(pc.binary_join_element_wise("0.", pc.if_else(has_fr, fr, "0"), ""), pa.float64())
    )
    ms = np.rint(frac * 86_400_000).astype(np.int64)
    us = np.where(excel, (ival + _EXCEL_EPOCH_DAYS) * US_PER_DAY + ms * 1000, us)
    # epoch seconds / milliseconds (fractions truncated to the microsecond)
    sub6 = ints(pc.utf8_slice_codeunits(pc.utf8_rpad(fr, 6, "0"), 0, 6), 0)
    sub3 = ints(pc.utf8_slice_codeunits(pc.utf8_rpad(fr, 3, "0"), 0, 3), 0)
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
                pc.binary_join_element_wise(group(st, "mon1"), group(st, "mon2"), ""), 0, 3
            )
        )
        m = to_numpy(pc.fill_null(pc.index_in(mon, value_set=pa.array(list(_MONTHS))), -1)) + 1
        full = pc.binary_join_element_wise(group(st, "mon1"), group(st, "mon2"), "")
        known = to_numpy(
            pc.match_substring_regex(
                pc.utf8_lower(full),
                r"^(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?"
                r"|sept?(ember)?|oct(ober)?|nov(ember)?|dec(ember)?)$",
            )
        )
        d = ints(pc.binary_join_element_wise(group(st, "d1"), group(st, "d2"), ""))
        y = _year(pc.binary_join_element_wise(group(st, "y1"), group(st, "y2"), ""))
        us, ok, has_off, style = _ymd_part(st, y, m, d)
        first = to_numpy(pc.not_equal(group(st, "d1"), "")).mean() >= 0.5
        label = ("D Mon YYYY" if first else "Mon D, YYYY") + _time_label(style)
        return us, ok & known & (m > 0), has_off, {label: len(ok)}, None
    y, m, d = ints(group(st, "y")), ints(group(st, "m")), ints(group(st, "d"))
    us, ok, has_off, style = _ymd_part(st, y, m, d)
    if name == "iso":
        label = "ISO 8601"
    elif name == "cn":
        label = "YYYY年M月D日" + _time_label(style)
    else:
        ok &= to_numpy(pc.equal(group(st, "s1"), group(st, "s2")))
        sep = "." if to_numpy(pc.equal(group(st, "s1"), ".")).mean() > 0.5 else "/"
        label = f"YYYY{sep}MM{sep}DD" + _time_label(style)
    return us, ok, has_off, {label: len(ok)}, None


def family_order(text: pa.Array, todo: np.ndarray) -> list[str]:
    """Families ordered by how many of (up to) 2000 sampled values each matches."""
    sample = text.take(pa.array(np.flatnonzero(todo)[:2000]))
    hits = {
        name: pc.sum(pc.match_substring_regex(sample, pat)).as_py() or 0
        for name, pat in _FAMILIES.items()
    }
    return sorted(_FAMILIES, key=lambda k: -hits[k])


def read_families(
    text: pa.Array, reading: Reading, order: list[str], dayfirst: bool | None
) -> None:
    """Read the cells still to do, one family at a time in ``order``, into ``reading``."""
    for name in order:
        idx = np.flatnonzero(reading.todo)
        if not idx.size:
            break
        sub = text.take(pa.array(idx))
        st = pc.extract_regex(sub, _FAMILIES[name])
        hit = matched(st)
        if not hit.any():
            continue
        idx, st = idx[hit], st.filter(pa.array(hit))
        f_us, f_ok, f_abs, f_labels, f_first = _family(
            name, st, sub.filter(pa.array(hit)), dayfirst, reading.notes
        )
        reading.claim(idx, f_us, f_ok, f_abs)
        reading.count(f_labels)
        if name == "dm":
            reading.dayfirst = f_first
