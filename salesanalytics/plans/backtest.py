"""Backtest: what each rep would have been paid under a plan, on real deals.

:func:`evaluate` credits the won deals of a window (:mod:`.credit`), builds the kernel's
arrays, runs the one payout kernel (:mod:`.kernel`) and returns a :class:`Backtest` holding
the per rep × period payouts by component; :meth:`Backtest.statements` explains every amount
line by line, rounded to cents (:mod:`.statements`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..dataset import Dataset
from .credit import (
    Calendar,
    Roster,
    credit_deals,
    plan_calendar,
    quota_matrix,
    roster,
    spiff_amounts,
)
from .kernel import COMPONENTS, KernelInputs, Payouts, payout
from .spec import Plan, PlanError

if TYPE_CHECKING:
    from .statements import Statements

__all__ = ["Backtest", "evaluate"]


@dataclass(frozen=True, eq=False)
class Backtest:
    """A plan evaluated on a dataset.

    Attributes
    ----------
    plan
        The plan.
    calendar, staff
        Plan periods and the reps on the plan (kernel order).
    quota, measure, base
        ``(reps, periods)`` arrays given to the kernel.
    payouts
        Kernel output.
    credits
        One row per credited deal and rep (see :func:`.credit.credit_deals`), with ``spiff``
        money per row and ``clawback_base``/``cancel_period`` for cancelled deals.
    notes
        What was left out and why.
    """

    plan: Plan
    calendar: Calendar
    staff: Roster
    quota: NDArray[np.float64]
    measure: NDArray[np.float64]
    base: NDArray[np.float64]
    payouts: Payouts
    credits: pd.DataFrame
    notes: tuple[str, ...] = ()
    view: str = "backtest"

    @cached_property
    def table(self) -> pd.DataFrame:
        """Tidy per rep × period (employed periods only): quota, measure, attainment, rate,
        each component, ``total`` and the draw/clawback ``balance``."""
        _reps, _periods = self.quota.shape
        r, p = np.nonzero(self.staff.employed > 0)
        out = pd.DataFrame(
            {
                "rep_id": self.staff.ids[r],
                "period": np.asarray(self.calendar.labels, dtype=object)[p],
                "period_start": self.calendar.starts[p],
                "employed": self.staff.employed[r, p],
                "quota": self.quota[r, p],
                "measure": self.measure[r, p],
                "attainment": self.payouts.attainment[r, p],
                "rate": self.payouts.rate[r, p],
            }
        )
        for name in COMPONENTS:
            out[name] = self.payouts.components[name][r, p]
        out["total"] = self.payouts.total[r, p]
        out["balance"] = self.payouts.balance[r, p]
        out["balance_at_exit"] = self.payouts.balance_at_exit[r, p]
        return out

    def by_rep(self) -> pd.DataFrame:
        """Totals per rep over the window (sums of :attr:`table`), with attainment over the
        whole window (measure ÷ quota) and the balance left at exit: ``forgiven_at_exit``
        under a draw forgiven on exit, else ``owed_at_exit`` (the rep owes it)."""
        t = self.table
        sums = t.groupby("rep_id", sort=False)[["quota", "measure", *COMPONENTS, "total"]].sum()
        sums.insert(2, "attainment", sums["measure"] / sums["quota"].where(sums["quota"] > 0))
        sums["variable"] = sums["total"] - sums["base"]
        exits = t.groupby("rep_id", sort=False)["balance_at_exit"].sum()
        forgiven = self.plan.draw is not None and self.plan.draw.forgive_on_exit
        sums["forgiven_at_exit" if forgiven else "owed_at_exit"] = exits
        return sums

    @cached_property
    def statements(self) -> Statements:
        """Statements with line items in cents (see :mod:`.statements`)."""
        from .statements import build_statements

        return build_statements(self)

    @property
    def total(self) -> float:
        """Plan total in the plan's currency: the sum of the statements (rounded lines)."""
        return self.statements.total

    @property
    def caption(self) -> str:
        """What the table shows."""
        c = self.calendar
        return (
            f"Backtest of plan {self.plan.name!r}: {len(self.staff.ids)} reps × "
            f"{len(c.labels)} {self.plan.period}s from {c.labels[0]} "
            f"({self.plan.attainment} attainment)"
        )

    def summary(self) -> pd.DataFrame:
        """Per rep totals, rounded for display."""
        out = self.by_rep().round(2)
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        import html

        body = self.summary().to_html(escape=True, max_rows=30)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


def _window(plan: Plan, ds: Dataset) -> tuple[pd.Timestamp, pd.Timestamp]:
    if plan.quota.source == "table" and ds.has("quotas") and len(ds.quotas):
        start, end = ds.quotas["period_start"].min(), ds.quotas["period_end"].max()
    else:
        closed = ds.deals["closed_at"]
        start, end = closed.min(), closed.max() + pd.Timedelta(days=1)
    if ds.as_of is not None:
        end = min(end, ds.as_of)
    if pd.isna(start) or pd.isna(end):
        raise ValueError("no window: give start and end (no quotas and no closed deals)")
    return pd.Timestamp(start), pd.Timestamp(end)


def _clawbacks(
    plan: Plan, credits: pd.DataFrame, calendar: Calendar, shape: tuple[int, int]
) -> tuple[pd.DataFrame, NDArray[np.float64] | None, list[str]]:
    notes: list[str] = []
    credits = credits.assign(clawback_base=0.0, cancel_period=-1)
    if plan.clawback is None or plan.commission is None:
        return credits, None, notes
    if "cancelled_at" not in credits.columns:
        notes.append("clawback: the deals have no cancelled_at column; nothing clawed back")
        return credits, None, notes
    cancelled = pd.to_datetime(credits["cancelled_at"], utc=True)
    days = (cancelled - credits["closed_at"]).dt.total_seconds().to_numpy() / 86400.0
    within = (days >= 0) & (days <= plan.clawback.within_days)
    period = calendar.index_of(cancelled)
    use = within & (period >= 0)
    if (within & (period < 0)).any():
        notes.append("clawback: cancellations after the window end are not included")
    share = 1 - days / plan.clawback.within_days if plan.clawback.pro_rata else np.ones(len(days))
    basis = credits["base"] if plan.commission.rate_of == "measure" else credits["measure"]
    base = np.where(use, basis.to_numpy(dtype=float) * np.where(use, share, 0.0), 0.0)
    credits = credits.assign(clawback_base=base, cancel_period=np.where(use, period, -1))
    lag = np.where(use, period - credits["period"].to_numpy(), 0)
    reps, periods = shape
    lags = int(lag.max()) + 1 if use.any() else 1
    array = np.zeros((reps, periods, lags))
    np.add.at(array, (credits["rep"].to_numpy()[use], period[use], lag[use]), base[use])
    return credits, array, notes


def _draw_window(plan: Plan, staff: Roster, calendar: Calendar) -> NDArray[np.bool_]:
    """Where a draw limited to a rep's first ``periods`` plan periods after hire applies
    (reps without a hire date: from their first employed period in the window)."""
    assert plan.draw is not None
    step = 12 // plan.periods_per_year
    starts = calendar.starts
    hire = staff.reps["hire_date"]
    months = (starts.year.to_numpy()[None, :] - hire.dt.year.to_numpy()[:, None]) * 12 + (
        starts.month.to_numpy()[None, :] - hire.dt.month.to_numpy()[:, None]
    )
    since = np.floor(months / step)
    fallback = np.arange(len(starts))[None, :] - staff.first_period[:, None]
    since = np.where(np.isnan(since), fallback, since)
    return np.asarray((since < plan.draw.periods) & (staff.employed > 0), dtype=bool)


def evaluate(
    plan: Plan,
    ds: Dataset,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    splits: pd.DataFrame | None = None,
) -> Backtest:
    """Backtest ``plan`` on the won deals of ``ds``.

    Parameters
    ----------
    plan
        The plan.
    ds
        Deals (won deals are credited in the period of ``closed_at``), ``reps`` (required:
        eligibility, employment dates, base salary and target incentive) and ``quotas``. A
        ``cancelled_at`` column on deals feeds clawbacks.
    start, end
        The window (UTC); by default the span of the quotas table (or of the close dates)
        up to the as-of moment, widened to whole plan periods.
    splits
        Optional credit splits: ``deal_id``, ``rep_id``, ``share`` and ``role`` (``split``
        rows of a deal must sum to 1; ``overlay`` rows add credit). Used by the ``splits``
        crediting rule.

    Returns
    -------
    Backtest

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier
    >>> ds = sample.generate(600, seed=0)
    >>> plan = Plan("flat 4%", eligibility=Eligibility(roles=("AE",)),
    ...             commission=Commission((Tier(0, float("inf"), 0.04),)))
    >>> bt = evaluate(plan, ds)
    >>> won = bt.credits["measure"].sum()
    >>> float(round(bt.table["commission"].sum() / won, 6))
    0.04
    >>> lines = bt.statements.lines
    >>> int(lines["cents"].sum()) == int(bt.statements.totals["total"].sum())
    True
    """
    s, e = _window(plan, ds)
    s = pd.Timestamp(start, tz="UTC") if isinstance(start, str) else (start or s)
    e = pd.Timestamp(end, tz="UTC") if isinstance(end, str) else (end or e)
    calendar = plan_calendar(plan, s, e)
    staff = roster(plan, ds, calendar)
    if not len(staff.ids):
        raise PlanError(
            "eligibility",
            "roles",
            "no rep on the plan was employed in the window",
            "check the eligibility rules against the reps table",
        )
    quota = quota_matrix(plan, ds, calendar, staff)
    credits = credit_deals(plan, ds, staff, calendar, splits)
    shape = staff.employed.shape
    flat = credits["rep"].to_numpy() * shape[1] + credits["period"].to_numpy()

    def total(values: NDArray[np.float64]) -> NDArray[np.float64]:
        sums = np.bincount(flat, values, minlength=shape[0] * shape[1])
        return np.asarray(sums, dtype=np.float64).reshape(shape)

    measure, base = total(credits["measure"].to_numpy()), total(credits["base"].to_numpy())
    spiff = np.zeros(len(credits))
    for sp in plan.spiffs:
        credits[f"spiff:{sp.name}"] = spiff_amounts(sp, credits)
        spiff = spiff + credits[f"spiff:{sp.name}"].to_numpy()
    credits, cancelled, notes = _clawbacks(plan, credits, calendar, shape)
    reps = staff.reps

    def annual(column: str, override: float | None) -> NDArray[np.float64]:
        if override is not None:
            return np.full(len(reps), float(override))
        return reps[column].fillna(0.0).to_numpy(dtype=float)

    teams = pd.factorize(reps["team"])[0].astype(np.int64) if plan.team_pools else None
    draw_active = None
    if plan.draw is not None and plan.draw.periods:
        draw_active = _draw_window(plan, staff, calendar)
    inputs = KernelInputs(
        measure=measure,
        quota=quota,
        employed=staff.employed,
        base_salary=annual("base_salary", plan.base_salary),
        target_incentive=annual("target_incentive", plan.target_incentive),
        year=calendar.year,
        commission_base=base,
        spiff=total(spiff) if plan.spiffs else None,
        cancelled=cancelled,
        team=teams,
        draw_active=draw_active,
        exits=staff.exits,
    )
    result = payout(plan, inputs)
    return Backtest(plan, calendar, staff, quota, measure, base, result, credits, tuple(notes))
