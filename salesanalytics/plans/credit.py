"""Crediting: who is paid for which won deal, in which plan period, on how much measure.

:func:`plan_calendar` lays the plan periods over a window; :func:`roster` finds the reps the
plan covers with their employed share of each period; :func:`credit_deals` turns won deals
into one credit row per deal and credited rep; :func:`quota_matrix` builds the quota per rep
and period. The backtest aggregates these rows into the kernel's arrays. All pure: tables in,
tables out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..dataset import Dataset
from ..segments import micros
from .spec import Plan, PlanError, RateCard, Spiff

__all__ = ["Calendar", "Roster", "credit_deals", "plan_calendar", "quota_matrix", "roster"]

DAY = pd.Timedelta(days=1)
SPLIT_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class Calendar:
    """Plan periods: ``bounds`` (P + 1 UTC timestamps), the plan year of each period and labels."""

    bounds: pd.DatetimeIndex
    year: NDArray[np.int64]
    labels: tuple[str, ...]

    @property
    def starts(self) -> pd.DatetimeIndex:
        """Start of each period."""
        return self.bounds[:-1]

    def index_of(self, times: pd.Series) -> NDArray[np.int64]:
        """Period of each timestamp (``-1`` outside the window or missing)."""
        t = micros(times)
        edges = self.bounds.as_unit("us").asi8
        i = np.searchsorted(edges, t, side="right") - 1
        ok = (i >= 0) & (i < len(edges) - 1) & times.notna().to_numpy()
        return np.where(ok, i, -1).astype(np.int64)


def _label(start: pd.Timestamp, plan: Plan, year: int) -> str:
    """``2024-03`` for months; ``2024-Q1`` / ``2024`` for calendar plan years, and
    ``FY2024-Q1`` / ``FY2024`` (the year the plan year starts in) otherwise."""
    if plan.period == "month":
        return f"{start:%Y-%m}"
    fiscal = "" if plan.year_start_month == 1 else "FY"
    if plan.period == "quarter":
        quarter = ((start.month - plan.year_start_month) % 12) // 3 + 1
        return f"{fiscal}{year}-Q{quarter}"
    return f"{fiscal}{year}"


def plan_calendar(plan: Plan, start: pd.Timestamp, end: pd.Timestamp) -> Calendar:
    """Plan periods covering ``[start, end)``, aligned to the plan year.

    Examples
    --------
    >>> from salesanalytics.plans import Plan
    >>> utc = lambda s: pd.Timestamp(s, tz="UTC")
    >>> cal = plan_calendar(Plan("p", period="quarter", year_start_month=4),
    ...                     utc("2024-05-10"), utc("2024-12-01"))
    >>> [str(b.date()) for b in cal.bounds], cal.year.tolist()
    (['2024-04-01', '2024-07-01', '2024-10-01', '2025-01-01'], [2024, 2024, 2024])
    >>> cal.labels
    ('FY2024-Q1', 'FY2024-Q2', 'FY2024-Q3')
    """
    step = 12 // plan.periods_per_year
    s, e = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    if e <= s:
        raise ValueError(f"the window is empty: start {s} is not before end {e}")
    year0 = s.year if s.month >= plan.year_start_month else s.year - 1
    first = pd.Timestamp(year=year0, month=plan.year_start_month, day=1, tz="UTC")
    bounds = [first]
    while bounds[-1] < e:
        bounds.append(bounds[-1] + pd.DateOffset(months=step))
    while len(bounds) > 1 and bounds[1] <= s:
        bounds.pop(0)
    index = pd.DatetimeIndex(bounds).as_unit("us")
    months = (index[:-1].year - first.year) * 12 + index[:-1].month - plan.year_start_month
    year = (first.year + np.asarray(months) // 12).astype(np.int64)
    labels = tuple(_label(b, plan, int(y)) for b, y in zip(index[:-1], year, strict=True))
    return Calendar(index, year, labels)


# ------------------------------------------------------------------ reps
@dataclass(frozen=True, eq=False)
class Roster:
    """Reps on the plan (``reps`` rows, index = rep position) and their employment."""

    reps: pd.DataFrame
    employed: NDArray[np.float64]
    exits: NDArray[np.bool_]
    first_period: NDArray[np.int64]

    @property
    def ids(self) -> pd.Index:
        """Rep ids in kernel order."""
        return pd.Index(self.reps["rep_id"], dtype="str")


def eligible(plan: Plan, reps: pd.DataFrame) -> NDArray[np.bool_]:
    """Which rows of ``reps`` the plan covers: all that match every non-empty rule."""
    keep = np.ones(len(reps), dtype=bool)
    rules = plan.eligibility
    for column, allowed in (
        ("role", rules.roles),
        ("team", rules.teams),
        ("rep_id", rules.rep_ids),
    ):
        if allowed:
            if column not in reps.columns:
                raise PlanError(
                    "eligibility",
                    column,
                    f"the reps have no {column!r} column",
                    f"add {column} to the reps table or drop the rule",
                )
            values = reps[column].astype("str")
            keep &= values.isin([str(v) for v in allowed]).to_numpy(dtype=bool, na_value=False)
    return keep


def roster(plan: Plan, ds: Dataset, calendar: Calendar) -> Roster:
    """The reps ``plan`` covers who were employed in the window, with their employed share
    of each period (days employed ÷ days in the period; ``end_date`` is the last day)."""
    if not ds.has("reps") or not len(ds.reps):
        raise PlanError(
            "eligibility",
            "reps",
            "the data has no reps table",
            "load a reps table (rep_id, role, team, hire_date, end_date, base_salary, "
            "target_incentive)",
        )
    reps = ds.reps
    keep = eligible(plan, reps)
    reps = reps[keep]
    edges = calendar.bounds.as_unit("us").asi8
    lo, hi = edges[:-1][None, :], edges[1:][None, :]
    never = np.iinfo(np.int64)
    hire = micros(reps["hire_date"])[:, None]
    last = reps["end_date"] + DAY
    stop = np.where(reps["end_date"].isna().to_numpy(), never.max, micros(last))[:, None]
    overlap = np.clip(np.minimum(stop, hi) - np.maximum(hire, lo), 0, None)
    employed = overlap / (hi - lo)
    active = employed.sum(axis=1) > 0
    reps, employed, stop = reps[active].reset_index(drop=True), employed[active], stop[active]
    exits = (stop > lo) & (stop <= hi)
    first = np.argmax(employed > 0, axis=1).astype(np.int64)
    return Roster(reps, employed, exits, first)


def quota_matrix(plan: Plan, ds: Dataset, calendar: Calendar, staff: Roster) -> NDArray[np.float64]:
    """Quota per rep and period: the ``quotas`` rows starting in each period summed, or the
    plan's annual quota spread evenly; prorated by employment when the plan says so.

    Raises :class:`PlanError` naming the reps and periods without a quota where they were
    employed (only if the plan's pay depends on attainment)."""
    reps, periods = staff.employed.shape
    if plan.quota.source == "annual":
        quota = np.full((reps, periods), plan.quota.annual / plan.periods_per_year)
        return quota * staff.employed
    quota = np.zeros((reps, periods))
    seen = np.zeros((reps, periods), dtype=bool)
    if ds.has("quotas") and len(ds.quotas):
        q = ds.quotas
        r = staff.ids.get_indexer(pd.Index(q["rep_id"]))
        p = calendar.index_of(q["period_start"])
        ok = (r >= 0) & (p >= 0)
        np.add.at(quota, (r[ok], p[ok]), q["quota"].to_numpy(dtype=float)[ok])
        seen[r[ok], p[ok]] = True
    if plan.quota.prorate:
        quota = quota * staff.employed
    missing = (staff.employed > 0) & ~seen
    if missing.any() and _needs_quota(plan):
        r, p = np.nonzero(missing)
        where = [f"{staff.ids[i]} {calendar.labels[j]}" for i, j in zip(r[:5], p[:5], strict=True)]
        more = f" and {len(r) - 5} more" if len(r) > 5 else ""
        raise PlanError(
            "quota",
            "source",
            f"no quota for {len(r)} rep-period(s) where the rep was employed: "
            f"{', '.join(where)}{more}",
            "add rows to the quotas table for those reps and periods, or set "
            "[quota] source = 'annual' with an annual amount",
        )
    return quota


def _needs_quota(plan: Plan) -> bool:
    c = plan.commission
    tiered = c is not None and (
        len(c.tiers) > 1
        or c.gate > 0
        or np.isfinite(c.cap_attainment)
        or c.rate_of == "target_incentive"
    )
    return tiered or bool(plan.bonuses) or any(p.gate > 0 for p in plan.team_pools)


# ------------------------------------------------------------------ credit
def _link_lead_owner(ds: Dataset, deals: pd.DataFrame) -> pd.Series:
    if not ds.has("leads") or not len(ds.leads):
        raise PlanError(
            "crediting",
            "rules",
            "'lead_owner' credit needs a leads table",
            "load leads with owner_id and deal_id, or credit the deal 'owner'",
        )
    leads = ds.leads
    by_lead = pd.Series(leads["owner_id"].to_numpy(), index=leads["lead_id"].to_numpy())
    owner = deals["lead_id"].map(by_lead) if "lead_id" in deals else None
    linked = leads.dropna(subset=["deal_id"]).drop_duplicates("deal_id")
    by_deal = pd.Series(linked["owner_id"].to_numpy(), index=linked["deal_id"].to_numpy())
    fallback = deals["deal_id"].map(by_deal)
    return fallback if owner is None else owner.fillna(fallback)


def _splits(splits: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    need = {"deal_id", "rep_id", "share"}
    if not need <= set(splits.columns):
        raise PlanError(
            "crediting",
            "splits",
            f"the splits table lacks {sorted(need - set(splits.columns))}",
            "give splits with deal_id, rep_id, share (0-1) and optionally role split/overlay",
        )
    s = splits.assign(role=splits.get("role", "split"))
    s = s[s["deal_id"].isin(deals["deal_id"])]
    share = s["share"].astype(float)
    if (share < 0).any() or share.isna().any():
        raise PlanError(
            "crediting",
            "splits.share",
            "negative or missing shares",
            "give each split share as a fraction in [0, 1]",
        )
    totals = share[s["role"].eq("split")].groupby(s.loc[s["role"].eq("split"), "deal_id"]).sum()
    bad = totals[(totals - 1).abs() > SPLIT_TOLERANCE]
    if len(bad):
        shown = ", ".join(f"{d} ({v:.0%})" for d, v in bad.head(5).items())
        raise PlanError(
            "crediting",
            "splits.share",
            f"split shares of {len(bad)} deal(s) do not sum to 100%: {shown}",
            "make the split rows of each deal sum to 1 (overlay credit goes in role = 'overlay')",
        )
    return s


def credit_deals(
    plan: Plan,
    ds: Dataset,
    staff: Roster,
    calendar: Calendar,
    splits: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per won deal closed in the window and each rep on the plan credited with it.

    Columns: ``deal_id``, ``rep``/``rep_id`` (kernel position and id), ``period``, ``rule``
    (``owner``, ``split``, ``overlay``, ``lead_owner``, ``manager``), ``share``, ``amount``,
    ``measure`` (credit in the plan's measure), ``multiplier`` (rate cards) and ``base``
    (measure × multiplier), ``closed_at``.
    """
    deals = ds.deals
    won = deals[deals["outcome"].eq("won").to_numpy(dtype=bool, na_value=False)]
    won = won.assign(period=calendar.index_of(won["closed_at"]))
    won = won[won["period"] >= 0]
    parts = []
    rules = plan.crediting.rules
    if "owner" in rules or "splits" in rules:
        owned = won
        if "splits" in rules and splits is not None and len(splits):
            s = _splits(splits, won)
            split_ids = s.loc[s["role"].eq("split"), "deal_id"].unique()
            owned = won[~won["deal_id"].isin(split_ids)]
            rows = won.merge(s[["deal_id", "rep_id", "share", "role"]], on="deal_id")
            rows["share"] = rows["share"].astype(float) * np.where(
                rows["role"].eq("overlay"), plan.crediting.overlay_share, 1.0
            )
            parts.append(rows.rename(columns={"role": "rule"}))
        parts.append(owned.assign(rep_id=owned["owner_id"], share=1.0, rule="owner"))
    if "lead_owner" in rules:
        parts.append(won.assign(rep_id=_link_lead_owner(ds, won), share=1.0, rule="lead_owner"))
    if "manager" in rules:
        reps = ds.reps
        manager = pd.Series(reps["manager_id"].to_numpy(), index=reps["rep_id"].to_numpy())
        parts.append(
            won.assign(
                rep_id=won["owner_id"].map(manager),
                share=plan.crediting.overlay_share,
                rule="manager",
            )
        )
    columns = [*won.columns, "rep_id", "share", "rule"]
    rows = pd.concat([p[columns] for p in parts], ignore_index=True) if parts else won
    rows["rep"] = staff.ids.get_indexer(pd.Index(rows["rep_id"].astype("str")))
    rows = rows[rows["rep"] >= 0].reset_index(drop=True)
    amount = rows["amount"].fillna(0.0).to_numpy(dtype=float)
    share = rows["share"].to_numpy(dtype=float)
    if plan.measure == "bookings":
        measure = amount * share
    elif plan.measure == "margin":
        margin = (
            rows["margin"].to_numpy(dtype=float) if "margin" in rows else np.full(len(rows), np.nan)
        )
        if np.isnan(margin).any():
            bad = rows.loc[np.isnan(margin), "deal_id"].head(3).tolist()
            raise PlanError(
                "commission",
                "measure",
                f"margin is missing on credited deal(s) {bad}",
                "fill deals.margin or use measure = 'bookings'",
            )
        measure = amount * margin * share
    else:
        measure = share
    multiplier = np.ones(len(rows))
    for card in plan.rate_cards:
        multiplier *= rate_card_multiplier(card, rows)
    out = pd.DataFrame(
        {
            "deal_id": rows["deal_id"].astype("str"),
            "rep": rows["rep"].to_numpy(dtype=np.int64),
            "rep_id": rows["rep_id"].astype("str"),
            "period": rows["period"].to_numpy(dtype=np.int64),
            "rule": rows["rule"].astype("str"),
            "share": share,
            "amount": amount,
            "measure": measure,
            "multiplier": multiplier,
            "base": measure * multiplier,
            "closed_at": rows["closed_at"],
        }
    )
    for extra in ("cancelled_at", *{c for s in plan.spiffs for c, _ in s.where}):
        if extra in rows.columns and extra not in out.columns:
            out[extra] = rows[extra].to_numpy()
    return out.sort_values(
        ["rep", "period", "closed_at", "deal_id"], kind="stable", ignore_index=True
    )


def rate_card_multiplier(card: RateCard, rows: pd.DataFrame) -> NDArray[np.float64]:
    """Each row's multiplier from one rate card (``default`` where nothing matches)."""
    if card.column not in rows.columns:
        raise PlanError(
            f"rate_card {card.name or card.column}",
            "column",
            f"the deals have no column {card.column!r}",
            "name a deals column such as product_line, deal_type or margin",
        )
    if card.values:
        table = dict(card.values)
        mapped = rows[card.column].astype("str").map(table)
        return np.asarray(mapped.fillna(card.default).to_numpy(dtype=float), dtype=np.float64)
    x = rows[card.column].to_numpy(dtype=float)
    out = np.full(len(rows), card.default)
    for band in card.bands:
        out = np.where((x >= band.lower) & (x < band.upper), band.multiplier, out)
    return out


def spiff_amounts(spiff: Spiff, credits: pd.DataFrame) -> NDArray[np.float64]:
    """SPIFF money per credit row (0 where the deal does not match)."""
    match = credits["amount"].to_numpy(dtype=float) >= spiff.min_amount
    for column, allowed in spiff.where:
        if column not in credits.columns:
            raise PlanError(
                f"spiff {spiff.name}",
                f"where.{column}",
                f"the deals have no column {column!r}",
                "filter on a deals column such as product_line or deal_type",
            )
        match &= credits[column].isin(allowed).to_numpy(dtype=bool, na_value=False)
    closed = credits["closed_at"]
    if spiff.start is not None:
        match &= (closed >= pd.Timestamp(spiff.start, tz="UTC")).to_numpy(
            dtype=bool, na_value=False
        )
    if spiff.end is not None:
        match &= (closed < pd.Timestamp(spiff.end, tz="UTC")).to_numpy(dtype=bool, na_value=False)
    share = credits["share"].to_numpy(dtype=float)
    money = spiff.amount * share + spiff.rate * credits["amount"].to_numpy(dtype=float) * share
    return np.where(match, money, 0.0)
