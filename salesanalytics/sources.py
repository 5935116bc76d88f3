"""Lead-source quality and an honest comparison of sources.

:func:`source_quality` tabulates each lead source (optionally × one more breakdown or ×
calendar period): lead→deal, deal→won and lead→won rates with n and intervals, revenue per
lead, average won amount, the Kaplan–Meier median cycle (open deals censored at the as-of
moment), the share still open and, with a ``spend`` table, cost per lead / deal / won deal and
ROI. Lead-based columns come from the ``leads`` table (each lead joined to its deal by
``deal_id``); deal-based columns from the ``deals`` table (the source on the deal), so deals
without a lead (``existing_customer``) have deal columns only. Rates are cohort rates: open
deals count as not (yet) won, and the share still open is reported beside them.

:func:`compare_sources` tests whether sources differ (chi-square, Monte-Carlo exact when
expected counts are small), compares every pair (Fisher exact, Benjamini–Hochberg FDR) and
ranks sources by empirical-Bayes beta-binomial shrinkage; sources below ``min_n`` are flagged
and never ranked (the statistics live in :mod:`.comparison`). See ``docs/metrics-sources.md``.

Speed: rows are reduced to one integer group code each (:func:`.segments.dense`), counts
are ``bincount``s, the lead → deal join is one ``factorize`` of both id columns, and the median
cycles of all groups come from one sort (2 million deals and 6 million leads take about a
second or two; ``bench/bench_sources.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .comparison import ComparisonResult, benjamini_hochberg, compare_rates, fit_beta_binomial
from .dataset import Dataset
from .segments import (
    MISSING,
    PERIODS,
    Method,
    Shown,
    _column,
    check_interval,
    dense,
    micros,
    micros_at,
    rates,
)

__all__ = [
    "ComparisonResult",
    "Rate",
    "SourceQuality",
    "benjamini_hochberg",
    "compare_sources",
    "fit_beta_binomial",
    "source_quality",
]

Rate = Literal["lead_to_deal", "deal_to_won", "lead_to_won"]
RATES: dict[str, tuple[str, str]] = {  # rate -> (successes column, trials column)
    "lead_to_deal": ("converted", "leads"),
    "deal_to_won": ("won", "deals"),
    "lead_to_won": ("lead_won", "leads"),
}
SOURCE = "lead_source"
DAY_US = 86_400e6
NAT = np.iinfo(np.int64).min  # a missing timestamp as an integer
LEVEL = 1.0 - 0.5 + 1e-12  # the KM median is the first time with S(t) <= LEVEL (.survival)


@dataclass(frozen=True, eq=False)
class SourceQuality(Shown):
    """Quality per lead source (and breakdown).

    Attributes
    ----------
    table
        Indexed by ``lead_source`` (then the breakdown). Counts ``leads``, ``converted``
        (leads with a deal), ``lead_won`` (leads whose deal is won), ``deals``, ``won``,
        ``open``; for each rate ``r`` in ``lead_to_deal``, ``deal_to_won``, ``lead_to_won``:
        ``r``, ``r_n``, ``r_low``, ``r_high``; ``won_revenue``, ``revenue_per_lead``,
        ``avg_won_amount``, ``median_cycle_days``, ``share_open``; with spend ``cost``,
        ``cost_per_lead``, ``cost_per_deal``, ``cost_per_won``, ``roi``; ``small_n``.
    by
        The breakdown (``()``, a column, or ``created_<period>``).
    notes
        What could not be computed and why.
    """

    table: pd.DataFrame
    by: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    method: Method = "wilson"
    confidence: float = 0.95
    min_n: int = 30
    view: str = "cohort"

    @property
    def caption(self) -> str:
        """What the table shows."""
        by = f" by {', '.join(self.by)}" if self.by else ""
        notes = f" ({'; '.join(self.notes)})" if self.notes else ""
        return (
            f"Lead-source quality ({self.view} view){by}: {self.confidence:.0%} "
            f"{self.method.capitalize()} intervals{notes}"
        )


def _keys(ds: Dataset, frame: pd.DataFrame, names: tuple[str, ...]) -> dict[str, pd.Categorical]:
    """A categorical per breakdown name (missing values labelled ``MISSING``)."""
    out = {}
    for name in names:
        codes, labels = _column(ds, frame, name)
        out[name] = pd.Categorical.from_codes(
            np.where(codes < 0, len(labels), codes).astype(np.int64),
            pd.Index([*labels, MISSING], dtype="str"),
        )
    return out


def _totals(
    ds: Dataset,
    frame: pd.DataFrame,
    names: tuple[str, ...],
    columns: dict[str, NDArray[np.bool_] | NDArray[np.float64]],
) -> tuple[pd.DataFrame, NDArray[np.int64]]:
    """Per-group sums of ``columns`` (booleans count, floats add) with the group of each row.

    Equal to ``pd.DataFrame({**_keys(ds, frame, names), **columns}).groupby(names,
    observed=True).sum()`` (booleans summed as int64) and its ``ngroup()``, but the rows are
    reduced to one integer code each and counted with ``bincount``; floats are summed by a
    pandas groupby on that code, so they keep its compensated summation bit for bit. The
    index comes from the same groupby run on one row per group.
    """
    combined = np.zeros(len(frame), dtype=np.int64)
    levels = []
    for name in names:
        codes, labels = _column(ds, frame, name)
        combined = combined * (len(labels) + 1) + np.where(codes < 0, len(labels), codes)
        levels.append(pd.Index([*labels, MISSING], dtype="str"))
    present, ids = dense(combined)
    groups = len(present)
    sums: dict[str, object] = {}
    for name, level in zip(reversed(names), reversed(levels), strict=True):
        sums[name] = pd.Categorical.from_codes(present % len(level), level)
        present = present // len(level)
    sums = {name: sums[name] for name in names}
    floats = {c: v for c, v in columns.items() if v.dtype != bool}
    key = pd.CategoricalIndex(pd.Categorical.from_codes(ids, pd.RangeIndex(groups)))  # no hashing
    added = pd.DataFrame(floats, index=pd.RangeIndex(len(ids))).groupby(key, observed=True).sum()
    for c, v in columns.items():
        if v.dtype == bool:
            sums[c] = np.bincount(ids[v], minlength=groups).astype(np.int64)
        else:
            sums[c] = added[c].to_numpy()
    return pd.DataFrame(sums).groupby(list(names), observed=True).sum(), ids


def _link(deal_ids: pd.Series, lead_deal_ids: pd.Series) -> NDArray[np.intp]:
    """Row in ``deal_ids`` of each lead's deal (-1 if none): ``Index(deal_ids).get_indexer``.

    For Arrow strings, one ``factorize`` of both columns together (an Arrow dictionary
    encoding: one hash table, so equal ids get equal codes) replaces ``get_indexer``, which
    hashes them as Python strings. Other dtypes, and duplicate or missing deal ids (pandas
    raises, or matches missing to missing), go to pandas.
    """
    arrow = pd.arrays.ArrowStringArray
    fast = isinstance(deal_ids.array, arrow) and isinstance(lead_deal_ids.array, arrow)
    if fast and not deal_ids.hasnans:
        valid = lead_deal_ids.notna().to_numpy()
        both = pd.concat([deal_ids, lead_deal_ids[valid]], ignore_index=True)
        codes, uniques = pd.factorize(both)
        d_codes, l_codes = codes[: len(deal_ids)], codes[len(deal_ids) :]
        if np.bincount(d_codes, minlength=len(uniques)).max() <= 1:
            row = np.full(len(uniques), -1, dtype=np.intp)
            row[d_codes] = np.arange(len(d_codes))
            out = np.full(len(valid), -1, dtype=np.intp)
            out[valid] = row[l_codes]
            return out
    return pd.Index(deal_ids).get_indexer(lead_deal_ids)


def _median_cycles(
    ds: Dataset, deals: pd.DataFrame, ids: NDArray[np.int64], groups: int
) -> NDArray[np.float64]:
    """Kaplan–Meier median days from creation to close per group; open deals censored at as-of.

    Equal to ``kaplan_meier(days[rows], event[rows]).median()[0]`` per group (the same
    distinct times, numbers at risk and product, in the same order), from one sort of
    group and one sort of (duration, event) packed into one integer within each group.
    """
    created, end = micros(deals["created_at"]), micros(deals["closed_at"])
    event = deals["outcome"].isin(["won", "lost"]).to_numpy(dtype=bool) & (end != NAT)
    cut = micros_at(ds.as_of) if ds.as_of is not None else end.max()
    days = (np.where(event, end, cut) - created) / DAY_US + 0.0  # + 0.0: no -0.0
    ok = (days >= 0) & (created != NAT)
    out = np.full(groups, np.nan)
    if not ok.any():
        return out
    # non-negative doubles sort like their bits: (time, event) packed as in .survival._table
    key = (days[ok].view(np.uint64) << np.uint64(1)) | event[ok].astype(np.uint64)
    g = ids[ok].astype(np.int16 if groups < 2**15 else np.int64)  # int16: radix sort
    order = np.argsort(g, kind="stable")
    g, key = g[order].astype(np.int64), key[order]
    edges = np.searchsorted(g, np.arange(groups + 1))
    for a, b in pairwise(edges):
        key[a:b].sort()
    e = (key & np.uint64(1)).astype(np.int64)
    days = (key >> np.uint64(1)).view(np.float64)
    starts = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (days[1:] != days[:-1])])
    removed = np.diff(np.r_[starts, len(days)])
    d = np.add.reduceat(e, starts).astype(np.float64)
    first = np.flatnonzero(np.r_[True, g[starts][1:] != g[starts][:-1]])
    before = np.cumsum(removed) - removed
    size = np.add.reduceat(removed, first)
    which = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(starts)]))
    at_risk = (size[which] - (before - before[first][which])).astype(np.float64)
    factor = 1.0 - d / at_risk
    bounds = np.r_[first, len(starts)]
    for i, group in enumerate(g[starts][first]):
        s = np.cumprod(factor[bounds[i] : bounds[i + 1]])
        hit = np.flatnonzero(s <= LEVEL)
        if len(hit):
            out[group] = days[starts[bounds[i] + hit[0]]]
    return out


def source_quality(
    ds: Dataset,
    *,
    by: str | None = None,
    period: str | None = None,
    min_n: int = 30,
    method: Method = "wilson",
    confidence: float = 0.95,
) -> SourceQuality:
    """Quality per lead source, optionally × one breakdown column or × calendar period.

    Parameters
    ----------
    ds
        The data: ``leads`` (lead-based columns) and/or ``deals`` (deal-based columns);
        ``spend`` adds cost columns.
    by
        A column of leads and deals (``region``, ``team``, ...), as in :mod:`.segments`.
    period
        ``"month"``, ``"quarter"`` or ``"year"`` of creation (leads by lead creation, deals
        by deal creation), for trends; spend is matched by ``period_start``.
    min_n
        Rows whose leads (or deals, without leads) are fewer are flagged in ``small_n``.
    method, confidence
        Interval method (``"wilson"`` or ``"jeffreys"``) and coverage.

    Returns
    -------
    SourceQuality

    Examples
    --------
    >>> from salesanalytics import sample
    >>> q = source_quality(sample.generate(800, seed=0))
    >>> q.table.loc["existing_customer", "leads"], bool(q.table["roi"].notna().any())
    (np.int64(0), True)
    >>> q.table.loc["referral", "lead_to_deal"] > q.table.loc["purchased_list", "lead_to_deal"]
    np.True_
    """
    check_interval(method, confidence)
    if by is not None and period is not None:
        raise ValueError("give by or period, not both")
    if period is not None and period not in PERIODS:
        raise ValueError(f"period must be one of {list(PERIODS)}, got {period!r}")
    dim = (by,) if by is not None else (f"created_{period}",) if period is not None else ()
    names = (SOURCE, *dim)
    notes: list[str] = []
    deals = ds.deals
    has_deals = len(deals) > 0
    has_leads = ds.has("leads") and len(ds.leads) > 0
    parts = []
    if has_deals:
        won_d = deals["outcome"].eq("won").to_numpy(dtype=bool, na_value=False)
        amount = deals["amount"].fillna(0.0).to_numpy(dtype=float)
    if has_leads:
        leads = ds.leads
        converted = leads["deal_id"].notna().to_numpy()
        if "converted_at" in leads.columns:
            converted = converted | leads["converted_at"].notna().to_numpy()
        columns: dict[str, NDArray[np.bool_] | NDArray[np.float64]] = {
            "leads": np.ones(len(leads), dtype=bool),
            "converted": converted,
        }
        if has_deals:
            link = _link(deals["deal_id"], leads["deal_id"])
            won = np.r_[won_d, False][link]
            columns["lead_won"] = won
            columns["lead_revenue"] = np.where(won, np.r_[amount, 0.0][link], 0.0)
        else:
            notes.append("no deals: lead→deal only")
        parts.append(_totals(ds, leads, names, columns)[0])
    else:
        notes.append("no leads table: lead-based columns are NaN")
    cycles = None
    if has_deals:
        outcome = deals["outcome"]
        columns = {
            "deals": np.ones(len(deals), dtype=bool),
            "won": won_d,
            "open": outcome.eq("open").to_numpy(dtype=bool, na_value=False),
            "won_revenue": np.where(won_d, amount, 0.0),
        }
        agg, ids = _totals(ds, deals, names, columns)
        cycles = pd.Series(_median_cycles(ds, deals, ids, len(agg)), index=agg.index)
        parts.append(agg)
    costed_table = ds.has("spend") and len(ds.spend) > 0 and by is None
    if costed_table:  # spend rows join as their own part: periods with cost and no leads
        spend = ds.spend.rename(columns={"period_start": "period_at"})
        cost_keys = (SOURCE, f"period_{period}") if period else (SOURCE,)
        frame = pd.DataFrame(_keys(ds, spend, cost_keys))
        frame.columns = list(names)
        frame["spend_cost"] = spend["cost"].to_numpy(dtype=float)
        parts.append(frame.groupby(list(names), observed=True).sum())
    table = pd.concat(parts, axis=1).sort_index() if parts else pd.DataFrame()
    for side, cols in ((has_leads, ("leads", "converted")), (has_deals, ("deals", "won", "open"))):
        for c in cols:
            table[c] = table[c].fillna(0).astype(np.int64) if side else np.nan
    for c in ("lead_won", "lead_revenue", "won_revenue"):
        table[c] = table[c].fillna(0) if c in table.columns else np.nan
    if has_leads and has_deals:
        table["lead_won"] = table["lead_won"].astype(np.int64)
    for rate, (k, n) in RATES.items():  # NaN counts (a missing table) give NaN rates
        value, low, high = rates(
            table[k].to_numpy(float), table[n].to_numpy(float), method, confidence
        )
        table[rate], table[f"{rate}_n"] = value, table[n].astype(float)
        table[f"{rate}_low"], table[f"{rate}_high"] = low, high
    with np.errstate(divide="ignore", invalid="ignore"):
        leads_n = table["leads"].where(table["leads"] > 0)
        table["revenue_per_lead"] = table["lead_revenue"] / leads_n
        table["avg_won_amount"] = table["won_revenue"] / table["won"].where(table["won"] > 0)
        table["median_cycle_days"] = cycles.reindex(table.index) if cycles is not None else np.nan
        table["share_open"] = table["open"] / table["deals"].where(table["deals"] > 0)
    table = table.drop(columns="lead_revenue")
    if costed_table:
        table["cost"] = table.pop("spend_cost")
        costed = table["cost"].where(table["cost"] > 0)
        table["cost_per_lead"] = costed / table["leads"].where(table["leads"] > 0)
        table["cost_per_deal"] = costed / table["deals"].where(table["deals"] > 0)
        table["cost_per_won"] = costed / table["won"].where(table["won"] > 0)
        table["roi"] = (table["won_revenue"] - costed) / costed
    elif ds.has("spend") and by is not None:
        notes.append(f"spend is per source and period: no cost by {by}")
    base = table["leads"] if has_leads else table["deals"]
    if has_leads and has_deals:  # sources without leads (existing customers): their deals
        base = base.where(table["leads"] > 0, table["deals"])
    table["small_n"] = base.fillna(0).to_numpy() < min_n
    return SourceQuality(table, dim, tuple(notes), method, confidence, min_n)


def compare_sources(
    ds: Dataset,
    *,
    rate: Rate = "lead_to_deal",
    min_n: int = 30,
    seed: int | np.random.Generator | None = None,
    draws: int = 9999,
    confidence: float = 0.95,
) -> ComparisonResult:
    """Test, pairwise-compare and rank lead sources on one rate.

    Parameters
    ----------
    ds
        The data (see :func:`source_quality`).
    rate
        ``"lead_to_deal"``, ``"deal_to_won"`` or ``"lead_to_won"``.
    min_n
        Sources with fewer trials are flagged (``eligible`` False) and not ranked.
    seed, draws
        Random state and number of tables for the Monte-Carlo exact test, used when an
        expected count is below 5.
    confidence
        Coverage of the equal-tailed credible intervals.

    Returns
    -------
    ComparisonResult

    Examples
    --------
    >>> from salesanalytics import sample
    >>> c = compare_sources(sample.generate(800, seed=0), seed=0)
    >>> c.test, bool(c.p_value < 0.05), c.table.index[-1]
    ('chi-square', True, 'purchased_list')
    """
    if rate not in RATES:
        raise ValueError(f"rate must be one of {list(RATES)}, got {rate!r}")
    k_col, n_col = RATES[rate]
    quality = source_quality(ds).table
    if quality[n_col].isna().all() or quality[k_col].isna().all():
        raise ValueError(f"{rate} needs the {n_col} table and its outcomes")
    counts = quality.loc[quality[n_col].fillna(0) > 0, [k_col, n_col]].astype(np.int64)
    counts.columns = pd.Index(["k", "n"])
    return compare_rates(counts, rate, min_n=min_n, seed=seed, draws=draws, confidence=confidence)
