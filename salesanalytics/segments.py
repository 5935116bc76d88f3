"""Breakdowns of deals into segments, calendar periods and the display shared by results.

A breakdown (``by``) names deals columns, ``team`` (owner → ``reps.team``) or a calendar
period of a deals timestamp, ``<name>_<month|quarter|year>`` for the column ``<name>_at``
(``created_quarter``, ``closed_month``), in the dataset's time zone. Missing values form the
segment ``"(missing)"``. Each deal gets one integer segment code, so counting per segment
is one ``bincount``.

Used by :mod:`.funnel`, :mod:`.winrate` and :mod:`.cohorts`. Sections: result display;
segments; rates and tidy tables.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .dataset import Dataset
from .stats import rate_interval

__all__ = [
    "MISSING",
    "PERIODS",
    "Method",
    "Segments",
    "Shown",
    "by_names",
    "check_interval",
    "dense",
    "long_table",
    "micros",
    "period_codes",
    "rates",
    "segment",
]

Method = Literal["wilson", "jeffreys"]
PERIODS = {"month": 1, "quarter": 3, "year": 12}
MISSING = "(missing)"
"""Label of the segment of deals whose breakdown value is missing."""
NAT = np.iinfo(np.int64).min  # a missing timestamp as an integer

IntArray = NDArray[np.int64]


# ------------------------------------------------------------------ result display
class Shown:
    """Display shared by the result objects: they all say which view they show."""

    table: pd.DataFrame
    view: str

    @property
    def caption(self) -> str:
        """One line saying what the table shows, starting with its view."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        """Short title: the view and its main option."""
        return f"{self.view} view"

    def summary(self) -> pd.DataFrame:
        """The table rounded for display; the column axis is named after the view
        (``label``) and ``attrs["caption"]`` holds the full caption."""
        floats = self.table.select_dtypes("float").columns
        out = self.table.round(dict.fromkeys(floats, 4)).rename_axis(columns=self.label)
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        rows = pd.get_option("display.max_rows")
        body = self.summary().to_html(escape=True, max_rows=rows)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


# ------------------------------------------------------------------ segments
def dense(values: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted distinct values and the index of each value among them (``np.unique`` with
    ``return_inverse``, in linear time when the values span a small range)."""
    if len(values) and values.min() >= 0 and values.max() < 4 * len(values) + 1024:
        present = np.bincount(values) > 0
        return np.flatnonzero(present).astype(np.int64), (np.cumsum(present) - 1)[values]
    uniques, inverse = np.unique(values, return_inverse=True)
    return uniques.astype(np.int64), inverse.astype(np.int64)


@dataclass(frozen=True)
class Segments:
    """Segment of each deal: ``codes`` (row of ``labels``) and one label row per segment."""

    codes: IntArray
    labels: pd.DataFrame


def by_names(by: str | Sequence[str] | None, limit: int = 2) -> tuple[str, ...]:
    """Normalise ``by`` to a tuple of at most ``limit`` distinct names."""
    names = (by,) if isinstance(by, str) else tuple(by or ())
    if len(names) > limit or len(set(names)) != len(names):
        raise ValueError(f"by takes one or {limit} distinct column names, got {names}")
    return names


def micros(times: pd.Series) -> IntArray:
    """Timestamps as UTC microseconds (``NAT`` where missing)."""
    return np.asarray(times.dt.as_unit("us").array.asi8, dtype=np.int64)


def micros_at(moment: object) -> int:
    """One timestamp as UTC microseconds (``Timestamp.value`` is in nanoseconds whatever the
    unit, so it cannot be used directly).

    Examples
    --------
    >>> micros_at(pd.Timestamp("1970-01-01 00:00:01", tz="UTC").as_unit("us"))
    1000000
    """
    return int(pd.Timestamp(moment).value) // 1000  # type: ignore[arg-type]


def period_codes(
    at: IntArray, period: str, tz: str
) -> tuple[IntArray, list[str], pd.DatetimeIndex]:
    """Calendar period in zone ``tz`` of each time ``at`` (UTC microseconds, ``NAT`` if
    missing): codes (-1 if missing) into the periods present, their labels (``2024-01``,
    ``2024-Q1``, ``2024``) and their starts (local midnight, tz-aware).

    Period starts are found once, as local midnights (daylight-saving aware), and each
    time is placed among them by binary search.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {list(PERIODS)}, got {period!r}")
    codes = np.full(len(at), -1, dtype=np.int64)
    valid = at != NAT
    t = at[valid]
    if not len(t):
        return codes, [], pd.DatetimeIndex([], tz=tz).as_unit("us")
    lo, hi = (pd.Timestamp(int(x), unit="us", tz="UTC").tz_convert(tz) for x in (t.min(), t.max()))
    step = PERIODS[period]
    first = pd.Timestamp(lo.year, (lo.month - 1) // step * step + 1, 1)
    naive = pd.date_range(first, hi.tz_localize(None), freq=f"{step}MS")
    bounds = naive.tz_localize(
        tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    ).as_unit("us")
    present, codes[valid] = dense(np.searchsorted(bounds.asi8, t, side="right") - 1)
    naive = naive[present]
    labels = {
        "month": [f"{d.year}-{d.month:02d}" for d in naive],
        "quarter": [f"{d.year}-Q{(d.month - 1) // 3 + 1}" for d in naive],
        "year": [str(d.year) for d in naive],
    }[period]
    return codes, labels, bounds[present]


def _column(dataset: Dataset, deals: pd.DataFrame, name: str) -> tuple[IntArray, list[str]]:
    """Codes and labels of one breakdown column (missing values coded -1)."""
    base, _, period = name.rpartition("_")
    column = f"{base}_at"
    if (
        period in PERIODS
        and column in deals.columns
        and pd.api.types.is_datetime64_any_dtype(deals[column])
    ):
        tz = dataset.provenance.timezone
        codes, labels, _ = period_codes(micros(deals[column]), period, tz)
        return codes, labels
    if name in deals.columns:
        if pd.api.types.is_datetime64_any_dtype(deals[name]):
            raise ValueError(
                f"{name!r} is a timestamp: break down by a period such as "
                f"{name.removesuffix('_at')}_month"
            )
        codes, uniques = pd.factorize(deals[name], sort=True)
        return codes.astype(np.int64), [str(u) for u in uniques]
    if name == "team":
        if not dataset.has("reps") or "team" not in dataset.reps.columns:
            raise ValueError("by='team' needs a reps table with rep_id and team columns")
        reps = dataset.reps
        team_of = dict(zip(reps["rep_id"], reps["team"], strict=True))
        owner, owners = pd.factorize(deals["owner_id"])
        team, teams = pd.factorize(pd.Series([team_of.get(o) for o in owners]), sort=True)
        codes = np.where(owner >= 0, np.r_[team, -1][owner], -1)
        return codes.astype(np.int64), [str(t) for t in teams]
    raise KeyError(
        f"cannot break down by {name!r}: use a deals column ({', '.join(deals.columns)}), "
        "'team', or a period of a timestamp such as 'created_month', 'created_quarter', "
        "'closed_year'"
    )


def segment(dataset: Dataset, by: Sequence[str]) -> Segments:
    """Segments of the deals for the breakdown ``by`` (segments present in the data only,
    ordered by value with ``"(missing)"`` last)."""
    deals = dataset.deals
    combined = np.zeros(len(deals), dtype=np.int64)
    levels: list[list[str]] = []
    for name in by:
        codes, labels = _column(dataset, deals, name)
        if (codes < 0).any():
            codes = np.where(codes < 0, len(labels), codes)
            labels = [*labels, MISSING]
        combined = combined * max(len(labels), 1) + codes
        levels.append(labels)
    present, codes = dense(combined)
    frame = {}
    for name, labels in zip(reversed(by), reversed(levels), strict=True):
        frame[name] = pd.array(np.asarray(labels, dtype=object)[present % len(labels)], "str")
        present = present // len(labels)
    labels_frame = pd.DataFrame({n: frame[n] for n in by}, index=range(len(present)))
    if not by:
        labels_frame = pd.DataFrame(index=range(1))
        codes = np.zeros(len(deals), dtype=np.int64)
    return Segments(codes.astype(np.int64), labels_frame)


# ------------------------------------------------------------------ rates and tables
def rates(
    k: NDArray[Any], n: NDArray[Any], method: Method, confidence: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Rate k/n (NaN where n = 0) with its interval."""
    low, high = rate_interval(k, n, method=method, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, np.asarray(k, dtype=float) / n, np.nan)
    return rate, low, high


def long_table(
    labels: pd.DataFrame, stages: Sequence[str], columns: dict[str, np.ndarray | pd.Index]
) -> pd.DataFrame:
    """Tidy frame: one row per segment × stage, indexed by the segment columns and stage.

    ``columns`` holds arrays shaped (segments, stages), or (segments,) repeated per stage.
    """
    g, s = len(labels), len(stages)
    keys, codes = [], []
    for c in labels.columns:  # levels in order of appearance: segments stay sorted
        code, level = pd.factorize(labels[c])
        keys.append(pd.Index(level, name=c))
        codes.append(np.repeat(code, s))
    keys.append(pd.Index(list(stages), dtype="str", name="stage"))
    codes.append(np.tile(np.arange(s), g))
    index = pd.MultiIndex(
        levels=keys,
        codes=cast(Any, codes),  # arrays are fine; the stubs ask for sequences
        names=[*labels.columns, "stage"],
        verify_integrity=False,
    )
    frame: dict[str, object] = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray):
            frame[name] = values.ravel() if values.ndim == 2 else np.repeat(values, s)
        else:  # a pandas array or index, such as tz-aware period starts
            frame[name] = values.repeat(s)
    return pd.DataFrame(frame, index=index if len(keys) > 1 else keys[0][codes[0]])


def check_interval(method: str, confidence: float) -> None:
    """Reject an unknown interval method or a confidence outside (0, 1) early."""
    if method not in ("wilson", "jeffreys"):
        raise ValueError(f"method must be 'wilson' or 'jeffreys', got {method!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
