"""Gaming-risk scanner: what a rep gains by moving one typical deal across a cliff or kink.

:func:`scan_plan` takes the cliffs and kinks of a plan's pay curve from
:func:`~salesanalytics.plans.curve.payout_curve` and prices, through the payout kernel
(:func:`~salesanalytics.plans.kernel.payout`), two moves of one typical deal at each of them:

* **threshold** (within a period): a rep one deal short of the point closes the deal. The money
  at stake is the pay it adds beyond the normal rate, ``pay(t) − pay(t − δ) − d × rate_before``
  (``δ`` the deal in attainment, ``d`` in money, ``rate_before`` the marginal rate just below).
  A step bonus of 5,000 shows as exactly 5,000; a retroactive tier boundary as the rate
  difference times the attainment's worth of measure. A deal bigger than the point's
  attainment starts from zero and ends past the point; the part past it counts at the rate
  above the point.
* **timing** (across a period boundary): the same deal closes this period or next; the kernel
  pays both periods on a two-period array (two plan years under year-to-date attainment, where
  the boundary that matters is the year end), once with the deal in each. Two placements are
  tried and the larger difference reported: this period one deal short of the point and next
  period two deals short (the deal lifts this period across), and this period at the point
  with next period one deal short (the deal is paid at the rate above the point this period,
  below it next). A positive difference is a **pull-in** (into this period), a negative one a
  **push-out** (into the next).

Rows are ranked by money at stake; ``flag`` marks cliffs, marginal-rate jumps and caps that
make effort above them worthless. A recoverable draw's shortfall still owed at the end of
the scanned periods counts against pay. No plan logic is repeated here: every amount is the
kernel's.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..plans.curve import payout_curve
from ..plans.kernel import KernelInputs, payout
from ..plans.spec import Plan

if TYPE_CHECKING:
    from ..dataset import Dataset

__all__ = ["GamingScan", "scan_plan", "scan_plan_for", "typical_rep"]

F = NDArray[np.float64]
COLUMNS = [
    "rank",
    "plan",
    "attainment",
    "kind",
    "source",
    "move",
    "this_before",
    "next_before",
    "gain",
    "normal",
    "at_stake",
    "per_year",
    "jump",
    "rate_before",
    "rate_after",
    "flag",
    "what",
]
NUDGE = 1e-12
"""Relative lift of an at-threshold attainment under year-to-date attainment, where the
kernel's cumulative sums may land one rounding error below the threshold."""


@dataclass(frozen=True)
class _Rep:
    """One rep on the plan, per plan period (the plan without pools, SPIFFs, clawbacks)."""

    plan: Plan
    quota: float
    target_incentive: float
    base_salary: float

    @property
    def ytd(self) -> bool:
        return self.plan.attainment == "ytd"

    @property
    def span(self) -> int:
        """Plan periods in one scanned period: one, or a plan year under ``ytd``."""
        return self.plan.periods_per_year if self.ytd else 1

    def pay(self, attainment: F) -> F:
        """Variable pay summed over the scanned periods, less a draw balance still owed at
        the end; ``attainment`` is ``(N, k)``: each scanned period's attainment, held steady
        over its plan periods."""
        a = np.repeat(np.asarray(attainment, dtype=float), self.span, axis=1)
        periods = a.shape[1]
        ppy = self.plan.periods_per_year
        measure = a[:, None, :]
        draw = self.plan.draw
        active = None
        if draw is not None and draw.periods:
            active = (np.arange(periods) < draw.periods)[None, :]
        x = KernelInputs(
            measure=measure,
            quota=np.ones((1, periods)),
            commission_base=measure * self.quota,
            employed=np.ones((1, periods)),
            base_salary=np.array([self.base_salary * ppy]),
            target_incentive=np.array([self.target_incentive * ppy]),
            year=np.arange(periods, dtype=np.int64) // ppy,
            draw_active=active,
        )
        out = payout(self.plan, x)  # a draw shortfall still owed at the end is not pay
        return np.asarray(out.variable[:, 0, :].sum(axis=-1) - out.balance[:, 0, -1], float)


@dataclass(frozen=True, eq=False)
class GamingScan:
    """Gaming risks of one plan, ranked by money at stake.

    Attributes
    ----------
    table
        One row per cliff or kink and move (``"threshold"``, ``"pull-in"``, ``"push-out"``):
        ``attainment`` of the point, ``kind``, ``source``; ``this_before`` and
        ``next_before`` (attainment of this and the next period without the deal);
        ``gain`` (pay the move adds), ``normal`` (what the deal earns at the rate below the
        point; timing moves: 0), ``at_stake`` (``gain − normal``), ``per_year``
        (``at_stake`` × chances a year), the curve's ``jump``, ``rate_before`` and
        ``rate_after`` (per unit of measure), ``flag`` and ``what`` (plain language).
        Money is in the plan's currency, rounded to cents.
    inputs
        The plan's period, attainment basis, annual quota and target incentive, the deal
        (money and attainment), and chances a year.
    """

    plan: str
    table: pd.DataFrame
    inputs: dict[str, float | str]
    view: str = "gaming risk"

    @property
    def caption(self) -> str:
        """What the table shows."""
        i = self.inputs
        return (
            f"Gaming risks of plan {self.plan!r}: one deal of {_money(float(i['deal']))} "
            f"({float(i['deal_attainment']):.1%} of a {i['scanned']}'s quota) moved across "
            "each cliff and kink"
        )

    def top(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` biggest risks."""
        return self.table.head(n)

    def summary(self) -> pd.DataFrame:
        """Rank, point, move, money at stake and the sentence."""
        out = self.table[["rank", "attainment", "source", "move", "at_stake", "what"]]
        out = out.set_index("rank")
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        body = self.summary().to_html(escape=True)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def _pct(a: float) -> str:
    return f"{a:.0%}" if abs(a * 100 - round(a * 100)) < 1e-9 else f"{a:.1%}"


def _rep(plan: Plan, quota: float, target_incentive: float) -> _Rep:
    """The plan's own amounts take precedence, as in a backtest and in the payout curve."""
    ppy = plan.periods_per_year
    annual = plan.quota.annual if plan.quota.source == "annual" else quota
    ti = plan.target_incentive if plan.target_incentive is not None else target_incentive
    base = plan.base_salary if plan.base_salary is not None else 0.0
    single = plan.replace(team_pools=(), spiffs=(), clawback=None)
    return _Rep(single, float(annual) / ppy, float(ti) / ppy, float(base) / ppy)


def scan_plan(
    plan: Plan,
    *,
    quota: float,
    target_incentive: float,
    typical_deal: float,
    periods_per_year: int | None = None,
) -> GamingScan:
    """Every cliff and kink of ``plan`` and what moving one typical deal across it pays.

    Parameters
    ----------
    plan
        The plan (team pools, SPIFFs and clawbacks are left out, as in the payout curve).
    quota, target_incentive
        The rep's *annual* quota and target incentive (the plan's own amounts win).
    typical_deal
        One deal in the plan's measure (e.g. the median won deal).
    periods_per_year
        How often a year a move can be made, for ``per_year`` (default: every plan period;
        once a year under year-to-date attainment).

    Returns
    -------
    GamingScan

    Examples
    --------
    A flat 5% plan with a 5,000 step bonus at 100% of a monthly quota of 100,000: a deal of
    20,000 that crosses it pays exactly 5,000 beyond its 1,000 commission.

    >>> from salesanalytics.plans.spec import INF, Commission, Plan, QuotaBonus, Tier
    >>> plan = Plan("step", commission=Commission((Tier(0, INF, 0.05),)),
    ...             bonuses=(QuotaBonus("quota", ((1.0, 5000.0),)),))
    >>> scan = scan_plan(plan, quota=1_200_000, target_incentive=60_000, typical_deal=20_000)
    >>> scan.table[["move", "gain", "normal", "at_stake"]].head(2).to_numpy().tolist()
    [['threshold', 6000.0, 1000.0, 5000.0], ['pull-in', 5000.0, 0.0, 5000.0]]
    >>> print(scan.table["what"].iloc[1])
    moving one 20,000 deal from next month into this month lifts attainment past the 100%
    cliff (bonus quota) and pays 5,000 more
    """
    for name, value in (("quota", quota), ("typical_deal", typical_deal)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if not np.isfinite(target_incentive) or target_incentive < 0:
        raise ValueError("target_incentive must be a finite number >= 0")
    rep = _rep(plan, quota, target_incentive)
    scanned_quota = rep.quota * rep.span
    delta = float(typical_deal) / scanned_quota
    times = periods_per_year or (1 if rep.ytd else plan.periods_per_year)
    marks = [b.points[-1][0] for b in plan.bonuses]
    if plan.commission is not None:
        c = plan.commission
        marks += [c.tiers[-1].lower, c.gate]
        marks += [c.cap_attainment] if np.isfinite(c.cap_attainment) else []
    top = max(4.0, 2 * max(marks, default=0.0) + 2 * delta)
    curve = payout_curve(
        plan,
        quota=quota,
        target_incentive=target_incentive,
        attainment=np.linspace(0.0, top, int(top * 100) + 1),
        periods="year" if rep.ytd else 1,
    )
    noun = "plan year" if rep.ytd else plan.period
    inputs: dict[str, float | str] = {
        "plan": plan.name,
        "period": plan.period,
        "attainment": plan.attainment,
        "scanned": noun,
        "quota": rep.quota * plan.periods_per_year,
        "target_incentive": rep.target_incentive * plan.periods_per_year,
        "deal": float(typical_deal),
        "deal_attainment": delta,
        "periods_per_year": float(times),
    }
    rows = [_rows(rep, p, delta, float(typical_deal), noun) for p in curve.points.itertuples()]
    table = pd.DataFrame([r for pair in rows for r in pair], columns=COLUMNS[1:])
    if len(table):
        for col in ("gain", "normal", "at_stake", "jump"):  # cents
            table[col] = table[col].astype(float).round(2) + 0.0
        table["per_year"] = (table["at_stake"] * times).round(2)
        table = table.sort_values(
            ["at_stake", "attainment"], ascending=[False, True], kind="stable"
        )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return GamingScan(plan.name, table.reset_index(drop=True), inputs)


def _rows(rep: _Rep, p: object, delta: float, deal: float, noun: str) -> list[dict[str, object]]:
    """The threshold and the timing row of one curve point ``p``."""
    t, kind, source = float(p.attainment), str(p.kind), str(p.source)  # type: ignore[attr-defined]
    rb, ra = float(p.rate_before), float(p.rate_after)  # type: ignore[attr-defined]
    jump = float(p.jump)  # type: ignore[attr-defined]
    at = t * (1 + NUDGE) if rep.ytd else t
    # one deal short of the point (a deal bigger than the point: from zero, past the point)
    short, reach = (t - delta, at) if t >= delta else (0.0, delta)
    short2, reach2 = (t - 2 * delta, short) if t >= 2 * delta else (0.0, delta)
    # threshold: one deal short -> at the point, within one period
    one = rep.pay(np.array([[reach], [short]]))
    gain = one[0] - one[1]
    normal = (rb * (t - short) + ra * (reach - at)) * rep.quota * rep.span
    # timing: [this, next] with the deal this period vs next period, two candidate placements
    pairs = np.array([[reach, short2], [short, reach2], [at + delta, short], [at, reach]])
    two = rep.pay(pairs)
    lift, rate = two[0] - two[1], two[2] - two[3]
    use_lift = abs(lift) + 0.005 >= abs(rate)  # a tie reads better as a lift
    diff = lift if use_lift else rate
    this, nxt = (short, short2) if use_lift else (at, short)
    move = "pull-in" if diff >= 0 else "push-out"
    flag = _flag(kind, t, rb, ra, jump)
    name = f"the {_pct(t)} {kind} ({source})"
    base = {
        "plan": rep.plan.name,
        "attainment": t,
        "kind": kind,
        "source": source,
        "jump": jump,
        "rate_before": rb,
        "rate_after": ra,
        "flag": flag,
    }
    d = _money(deal)
    extra = gain - normal
    if abs(extra) < 0.005:
        within = f"closing one {d} deal that reaches {name} pays nothing beyond the normal rate"
    else:
        within = (
            f"closing one {d} deal that lifts attainment from {_pct(short)} to "
            f"{_pct(t if reach == at else reach)} "
            f"crosses {name} and pays {_money(extra)} {'more' if extra > 0 else 'less'} "
            "than at the normal rate"
        )
    money = abs(diff)
    if money < 0.005:
        timing = f"moving one {d} deal between this {noun} and next around {name} changes nothing"
    elif use_lift and diff > 0:
        timing = (
            f"moving one {d} deal from next {noun} into this {noun} lifts attainment past "
            f"{name} and pays {_money(money)} more"
        )
    elif diff > 0:
        timing = (
            f"a rep already at {_pct(t)} this {noun} who pulls one {d} deal in from next "
            f"{noun} (at {_pct(nxt)}) is paid {_money(money)} more (marginal rate "
            f"{rb:.2%} -> {ra:.2%})"
        )
    else:
        timing = (
            f"a rep at {_pct(this)} this {noun} who pushes one {d} deal out into next {noun} "
            f"(at {_pct(nxt)}) is paid {_money(money)} more ({name})"
        )
    return [
        {
            **base,
            "move": "threshold",
            "this_before": short,
            "next_before": np.nan,
            "gain": gain,
            "normal": normal,
            "at_stake": extra,
            "what": within,
        },
        {
            **base,
            "move": move,
            "this_before": this,
            "next_before": nxt,
            "gain": money,
            "normal": 0.0,
            "at_stake": money,
            "what": timing,
        },
    ]


def _flag(kind: str, t: float, rb: float, ra: float, jump: float) -> str:
    if kind == "cliff":
        return f"cliff: pay jumps by {_money(jump)} at {_pct(t)}"
    if ra <= 1e-12 < rb:
        return f"cap: effort above {_pct(t)} earns nothing"
    if ra > rb:
        return f"marginal rate jumps {rb:.2%} -> {ra:.2%} at {_pct(t)}"
    return f"marginal rate drops {rb:.2%} -> {ra:.2%} at {_pct(t)}"


def typical_rep(plan: Plan, ds: Dataset) -> dict[str, float]:
    """The median annual ``quota`` (full periods), ``target_incentive`` and won deal
    (``typical_deal``, credited as the plan credits it) of the plan's reps in ``ds``."""
    from ..plans.backtest import evaluate

    bt = evaluate(plan, ds)
    quotas = bt.quota[(bt.staff.employed >= 1) & (bt.quota > 0)]
    if not len(quotas):
        raise ValueError(f"plan {plan.name!r}: no full period with a positive quota")
    deals = bt.credits.groupby(["deal_id", "rep_id"])["measure"].sum()
    deals = deals[deals > 0]
    if not len(deals):
        raise ValueError(f"plan {plan.name!r}: no credited won deal to size a typical deal")
    ti = bt.staff.reps["target_incentive"].dropna()
    return {
        "quota": float(np.median(quotas)) * plan.periods_per_year,
        "target_incentive": float(ti.median()) if len(ti) else 0.0,
        "typical_deal": float(deals.median()),
    }


def scan_plan_for(plan: Plan, ds: Dataset, *, periods_per_year: int | None = None) -> GamingScan:
    """:func:`scan_plan` with the median annual quota, target incentive and won deal of the
    plan's reps in ``ds`` (:func:`typical_rep`, over the backtest window).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans.spec import INF, Commission, Eligibility, Plan, Tier
    >>> plan = Plan("gated", eligibility=Eligibility(roles=("AE",)),
    ...             commission=Commission((Tier(0, INF, 0.05),), gate=0.5))
    >>> scan = scan_plan_for(plan, sample.generate(600, seed=0))
    >>> scan.table.loc[0, "source"], scan.inputs["deal"] > 0
    ('gate', True)
    """
    return scan_plan(plan, **typical_rep(plan, ds), periods_per_year=periods_per_year)
