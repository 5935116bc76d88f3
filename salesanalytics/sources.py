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
and never ranked. See ``docs/metrics-sources.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

from .dataset import Dataset
from .segments import MISSING, PERIODS, Method, Shown, _column, check_interval, rates
from .survival import kaplan_meier

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


def _median_cycles(
    ds: Dataset, deals: pd.DataFrame, ids: NDArray[np.int64], groups: int
) -> NDArray[np.float64]:
    """Kaplan–Meier median days from creation to close per group; open deals censored at as-of."""
    created = deals["created_at"].dt.as_unit("us").array.asi8
    end = deals["closed_at"].dt.as_unit("us").array.asi8
    event = deals["outcome"].isin(["won", "lost"]).to_numpy(dtype=bool) & (end != NAT)
    cut = pd.Timestamp(ds.as_of).as_unit("us").value if ds.as_of is not None else end.max()
    days = (np.where(event, end, cut) - created) / DAY_US
    ok = (days >= 0) & (created != NAT)
    out = np.full(groups, np.nan)
    order = np.argsort(ids, kind="stable")
    bounds = np.searchsorted(ids[order], np.arange(groups + 1))
    for g in range(groups):
        rows = order[bounds[g] : bounds[g + 1]]
        rows = rows[ok[rows]]
        if len(rows):
            out[g] = kaplan_meier(days[rows], event[rows]).median()[0]
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
    if has_leads:
        leads = ds.leads
        link = pd.Index(deals["deal_id"]).get_indexer(leads["deal_id"]) if has_deals else None
        converted = leads["deal_id"].notna().to_numpy()
        if "converted_at" in leads.columns:
            converted = converted | leads["converted_at"].notna().to_numpy()
        frame = pd.DataFrame(_keys(ds, leads, names))
        frame["leads"], frame["converted"] = 1, converted.astype(np.int64)
        if link is not None:
            won = np.r_[deals["outcome"].eq("won").to_numpy(dtype=bool, na_value=False), False]
            amount = np.r_[deals["amount"].fillna(0.0).to_numpy(dtype=float), 0.0]
            frame["lead_won"] = won[link].astype(np.int64)
            frame["lead_revenue"] = np.where(won[link], amount[link], 0.0)
        else:
            notes.append("no deals: lead→deal only")
        parts.append(frame.groupby(list(names), observed=True).sum())
    else:
        notes.append("no leads table: lead-based columns are NaN")
    cycles = None
    if has_deals:
        outcome = deals["outcome"]
        won_d = outcome.eq("won").to_numpy(dtype=bool, na_value=False)
        frame = pd.DataFrame(_keys(ds, deals, names))
        frame["deals"], frame["won"] = 1, won_d.astype(np.int64)
        frame["open"] = outcome.eq("open").to_numpy(dtype=bool, na_value=False).astype(np.int64)
        frame["won_revenue"] = np.where(
            won_d, deals["amount"].fillna(0.0).to_numpy(dtype=float), 0.0
        )
        grouped = frame.groupby(list(names), observed=True)
        agg = grouped.sum()
        ids = np.asarray(grouped.ngroup(), dtype=np.int64)
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


# ------------------------------------------------------------------ comparison
def benjamini_hochberg(p: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (FDR q-values).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = q
    return out


def fit_beta_binomial(k: ArrayLike, n: ArrayLike) -> tuple[float, float]:
    """Maximum-likelihood Beta(α, β) prior of a beta-binomial fitted to counts ``k`` of ``n``.

    Optimised on log-parameters from a method-of-moments start; with no overdispersion the
    prior strength α + β grows to the bound (1e7): full pooling.

    Examples
    --------
    >>> a, b = fit_beta_binomial([10, 20, 30, 15], [100, 100, 100, 100])
    >>> round(a / (a + b), 2)
    0.19
    """
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    keep = n > 0
    k, n = k[keep], n[keep]
    if not len(n):
        raise ValueError("need at least one source with n > 0")
    p = np.clip(k.sum() / n.sum(), 1e-3, 1 - 1e-3)
    var = np.var(k / n) if len(n) > 1 else 0.0
    strength = np.clip(p * (1 - p) / var - 1, 1.0, 1e6) if var > 0 else 1e3
    x0 = np.log([p * strength, (1 - p) * strength])

    def nll(x: NDArray[np.float64]) -> float:
        return -float(stats.betabinom.logpmf(k, n, np.exp(x[0]), np.exp(x[1])).sum())

    bounds = [(-10.0, np.log(1e7))] * 2
    fit = optimize.minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
    return float(np.exp(fit.x[0])), float(np.exp(fit.x[1]))


def _chi2(table: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pearson chi-square of k×2 tables stacked on the first axis (rows = sources)."""
    rows, cols = table.sum(axis=-1, keepdims=True), table.sum(axis=-2, keepdims=True)
    expected = rows * cols / table.sum(axis=(-2, -1), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nansum((table - expected) ** 2 / expected, axis=(-2, -1))


@dataclass(frozen=True, eq=False)
class ComparisonResult(Shown):
    """Comparison of sources on one rate.

    Attributes
    ----------
    table
        Per source: ``k``, ``n``, ``rate``, ``posterior_mean``, ``credible_low``,
        ``credible_high``, ``eligible`` (n ≥ ``min_n``) and ``rank`` (1 = best, NaN if not
        eligible), sorted by rank.
    pairs
        Per pair: ``source_a``, ``source_b``, ``rate_a``, ``rate_b``, ``difference``,
        ``p_value`` (Fisher exact), ``q_value`` (Benjamini–Hochberg).
    statistic, p_value, test
        Overall chi-square statistic and p-value; ``test`` says whether the p-value is
        asymptotic or Monte-Carlo exact.
    prior
        Fitted Beta(α, β).
    """

    table: pd.DataFrame
    pairs: pd.DataFrame
    rate: str
    statistic: float
    p_value: float
    test: str
    prior: tuple[float, float]
    min_n: int = 30
    confidence: float = 0.95
    view: str = "shrinkage"

    @property
    def caption(self) -> str:
        """What the table shows."""
        a, b = self.prior
        return (
            f"Sources compared on {self.rate}: {self.test} p = {self.p_value:.3g}; "
            f"Beta({a:.3g}, {b:.3g}) prior, {self.confidence:.0%} credible intervals"
        )


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
    k, n = counts[k_col].to_numpy(), counts[n_col].to_numpy()
    observed = np.c_[k, n - k].astype(float)
    statistic = float(_chi2(observed))
    expected = n[:, None] * np.array([k.sum(), (n - k).sum()]) / n.sum()
    if len(n) < 2 or k.sum() in (0, n.sum()):
        p_value, test = 1.0, "degenerate"
    elif (expected < 5).any():
        rng = np.random.default_rng(seed)
        sims = rng.multivariate_hypergeometric(n, int(k.sum()), size=draws).astype(float)
        stat = _chi2(np.stack([sims, n - sims], axis=-1))
        p_value = float((1 + (stat >= statistic - 1e-9).sum()) / (draws + 1))
        test = "Monte-Carlo exact chi-square"
    else:
        p_value = float(stats.chi2.sf(statistic, len(n) - 1))
        test = "chi-square"
    alpha, beta = fit_beta_binomial(k, n)
    tail = (1 - confidence) / 2
    table = pd.DataFrame({"k": k, "n": n, "rate": k / n}, index=counts.index)
    table["posterior_mean"] = (k + alpha) / (n + alpha + beta)
    table["credible_low"] = stats.beta.ppf(tail, k + alpha, n - k + beta)
    table["credible_high"] = stats.beta.ppf(1 - tail, k + alpha, n - k + beta)
    table["eligible"] = n >= min_n
    score = table["posterior_mean"].where(table["eligible"])
    table["rank"] = score.rank(ascending=False, method="min")
    table = table.sort_values(
        ["rank", "posterior_mean"], ascending=[True, False], na_position="last"
    )
    pairs: list[dict[str, Any]] = []
    for i, j in combinations(range(len(n)), 2):
        p = stats.fisher_exact([[k[i], n[i] - k[i]], [k[j], n[j] - k[j]]]).pvalue
        a, b = counts.index[i], counts.index[j]
        pairs.append(
            {
                "source_a": a,
                "source_b": b,
                "rate_a": k[i] / n[i],
                "rate_b": k[j] / n[j],
                "p_value": p,
            }
        )
    frame = pd.DataFrame(pairs, columns=["source_a", "source_b", "rate_a", "rate_b", "p_value"])
    frame.insert(4, "difference", frame["rate_a"] - frame["rate_b"])
    frame["q_value"] = benjamini_hochberg(frame["p_value"].to_numpy()) if len(frame) else []
    return ComparisonResult(
        table, frame, rate, statistic, p_value, test, (alpha, beta), min_n, confidence
    )
