"""Parse a column of timestamps written in any supported format into UTC instants.

Two readers share the work: machine-written ISO 8601 in one fixed layout is read first
from the raw bytes (:mod:`._fixed_iso`), and whatever is left goes through the general
regex reader of every supported format family (:mod:`._date_formats`). Both give the same
result for the values the fast one reads; it only makes the common case fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._arrow import prepare
from ._date_formats import Reading, family_order, read_families
from ._fixed_iso import read_fixed_iso

__all__ = ["ParsedDatetimes", "parse_datetimes"]


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
    text, missing = prepare(values)
    reading = Reading.start(missing)
    if reading.todo.any():
        read_fixed_iso(text, reading)
    if reading.todo.any():
        order = family_order(text, ~missing)
        read_families(text, reading, order, dayfirst)
    us, ok = reading.us, reading.ok
    naive = ok & ~reading.absolute
    us[naive] = _localize(us[naive], tz)
    out = pd.Series(us.view("M8[us]"), index=values.index, name=values.name)
    out = out.dt.tz_localize("UTC")
    labels = reading.labels
    if not (~missing).any():
        fmt = "empty"
    elif not labels:
        fmt = "unrecognised"
    else:
        fmt = " + ".join(k for k, _ in sorted(labels.items(), key=lambda kv: (-kv[1], kv[0])))
    note = "; ".join(reading.notes) or None
    return ParsedDatetimes(out, ~missing & ~ok, fmt, reading.dayfirst, note)
