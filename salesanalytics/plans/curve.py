"""Payout curves: what one typical rep is paid at each attainment, under one or more plans.

:func:`payout_curve` asks the payout kernel (:func:`.kernel.payout`) for the pay of one rep
at every attainment of a grid, the attainments laid along a leading axis: inputs shaped
``(A, 1, periods)``. No plan logic is repeated here: tiers, gates, caps, bonuses and draws
are whatever the kernel pays. The kernel is given attainment as the measure over a unit
quota and the measure itself (attainment × period quota) as the commission base, so that
a tier boundary on the grid is hit exactly (``a × q / q`` is not always ``a`` in floating
point); for the kernel this is the same as measure ``a × q`` over quota ``q``.

What the curve leaves out. It is the pay of a single rep on a steady measure: team pools
(they depend on the team), SPIFFs (per matching deal), clawbacks (cancelled deals) and rate
cards (the deal mix; the commission base is the measure) are not part of it. A draw is part
of it, as a floor: the kernel tops variable pay up to the draw; for a recoverable draw the
shortfall is owed (column ``balance``), it is never recovered within a curve because all
periods are alike.

Where pay jumps (cliffs: gates, step-bonus thresholds, retroactive tier boundaries) or
bends (kinks: marginal tier boundaries, attainment and payout caps, the draw floor) is
listed per plan in :attr:`PayoutCurve.points`. Candidate attainments come from the plan
(tier bounds, gate, caps, bonus thresholds) and, for payout caps and draw floors, from
bisection on what the kernel reports; each candidate is then classified by the kernel's pay
just left and right of it, and dropped when pay neither jumps nor bends there.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._ratio import ratio
from .kernel import KernelInputs, Payouts, payout
from .spec import Plan

__all__ = ["PayoutCurve", "payout_curve"]

F = NDArray[np.float64]
STEP = 1e-6
"""Attainment step of the numerical derivatives and of the left/right probes at points."""
POINT_COLUMNS = [
    "plan",
    "attainment",
    "kind",
    "source",
    "pay_before",
    "pay_after",
    "jump",
    "rate_before",
    "rate_after",
]


@dataclass(frozen=True)
class _Setting:
    """One plan's inputs: the plan without team pools, SPIFFs and clawbacks, and amounts
    per plan period."""

    plan: Plan
    periods: int
    quota: float
    target_incentive: float
    base_salary: float

    def run(self, attainment: F) -> Payouts:
        """Kernel payouts for one rep at each attainment, shaped ``(A, 1, periods)``."""
        a = np.asarray(attainment, dtype=float)
        shape = (len(a), 1, self.periods)
        measure = np.broadcast_to(a[:, None, None], shape).copy()
        ppy = self.plan.periods_per_year
        draw = self.plan.draw
        active = None
        if draw is not None and draw.periods:
            active = (np.arange(self.periods) < draw.periods)[None, :]
        x = KernelInputs(
            measure=measure,
            quota=np.ones((1, self.periods)),
            commission_base=measure * self.quota,
            employed=np.ones((1, self.periods)),
            base_salary=np.array([self.base_salary * ppy]),
            target_incentive=np.array([self.target_incentive * ppy]),
            year=np.arange(self.periods, dtype=np.int64) // ppy,
            draw_active=active,
        )
        return payout(self.plan, x)

    def variable(self, attainment: F) -> F:
        """Paid variable pay summed over the periods."""
        return self.run(attainment).variable[:, 0, :].sum(axis=-1)

    @property
    def unit(self) -> float:
        """Measure per unit of attainment, over all the periods."""
        return self.quota * self.periods


@dataclass(frozen=True, eq=False)
class PayoutCurve:
    """Pay against attainment for one typical rep, per plan (see the module docstring).

    Attributes
    ----------
    table
        One row per plan and attainment of the shared grid: ``plan``, ``attainment``,
        ``measure`` (attainment × quota, summed over the periods), ``commission``, ``bonus``,
        ``advance`` (draw top-up), ``variable`` (paid variable pay: their sum), ``base``,
        ``total``, ``variable_pct_ti`` (variable ÷ target incentive), ``effective_rate``
        (variable ÷ measure), ``marginal_rate`` (d variable ÷ d measure, a forward
        difference through the kernel) and ``balance`` (draw shortfall owed). Amounts are
        totals over the periods, in the plan's currency.
    points
        Per plan the attainments where pay jumps (``kind`` ``"cliff"``) or bends
        (``"kink"``) within the grid: ``source`` (what causes it), ``pay_before`` (left
        limit), ``pay_after`` (pay at the point), ``jump``, ``rate_before``, ``rate_after``.
    inputs
        Per plan: ``period``, ``periods``, ``measure_kind``, and ``quota``,
        ``target_incentive``, ``base_salary`` and ``draw`` per plan period.
    """

    table: pd.DataFrame
    points: pd.DataFrame
    inputs: pd.DataFrame
    view: str = "payout curve"

    @property
    def plans(self) -> list[str]:
        """Plan names, in the order given."""
        return [str(p) for p in self.inputs["plan"]]

    @property
    def caption(self) -> str:
        """What the table shows."""
        return (
            f"Payout curves of {len(self.plans)} plan(s) over "
            f"{self.table['attainment'].nunique()} attainments (one rep; team pools, "
            "SPIFFs and clawbacks not included)"
        )

    def summary(self) -> pd.DataFrame:
        """Per plan: pay at 100% attainment (when on the grid), the highest marginal rate,
        and the number of cliffs and kinks."""
        t = self.table
        at_quota = t[np.isclose(t["attainment"], 1.0, rtol=0, atol=1e-12)]
        out = pd.DataFrame(index=pd.Index(self.plans, name="plan"))
        out["variable_at_quota"] = at_quota.set_index("plan")["variable"]
        out["max_marginal_rate"] = t.groupby("plan", sort=False)["marginal_rate"].max()
        for kind in ("cliff", "kink"):
            counts = self.points.loc[self.points["kind"] == kind, "plan"].value_counts()
            out[f"{kind}s"] = counts.reindex(out.index, fill_value=0).astype("int64")
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        body = self.summary().round(4).to_html(escape=True)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


def payout_curve(
    plans: Plan | Sequence[Plan],
    *,
    quota: float,
    target_incentive: float,
    base_salary: float = 0.0,
    attainment: Sequence[float] | F = np.linspace(0, 2.5, 251),  # noqa: B008
    periods: int | Literal["year"] = 1,
) -> PayoutCurve:
    """Pay of one typical rep against attainment, per plan, from the payout kernel.

    Parameters
    ----------
    plans
        One plan or several (names must differ); they share the attainment grid.
    quota, target_incentive, base_salary
        The rep's *annual* amounts, spread evenly over a plan's periods like everywhere in
        the package. A plan's own ``target_incentive`` or ``base_salary``, and an
        ``annual`` quota rule, take precedence (as in a backtest).
    attainment
        Grid of attainments (fractions of quota, >= 0); sorted, duplicates dropped.
    periods
        How many identical plan periods the pay covers: ``1`` (one month of a monthly
        plan), any count (over plan years of the plan's length, restarting year-to-date
        attainment each year), or ``"year"``: one plan year of each plan (comparable
        amounts across plans with different periods).

    Returns
    -------
    PayoutCurve

    Examples
    --------
    Marginal tiers 2% / 4% / 8% with bounds at 50% and 100% on an annual quota of 100,000:

    >>> from salesanalytics.plans.spec import INF, Commission, Plan, Tier
    >>> tiers = (Tier(0, 0.5, 0.02), Tier(0.5, 1.0, 0.04), Tier(1.0, INF, 0.08))
    >>> plan = Plan("tiered", period="year", commission=Commission(tiers))
    >>> curve = payout_curve(plan, quota=100_000, target_incentive=10_000,
    ...                      attainment=[0.5, 1.0, 1.5])
    >>> curve.table[["attainment", "commission", "marginal_rate"]].to_numpy().tolist()
    [[0.5, 1000.0, 0.04], [1.0, 3000.0, 0.08], [1.5, 7000.0, 0.08]]
    >>> curve.points[["attainment", "kind", "source"]].to_numpy().tolist()
    [[0.5, 'kink', 'tier 2'], [1.0, 'kink', 'tier 3']]
    """
    items = [plans] if isinstance(plans, Plan) else list(plans)
    if not items:
        raise ValueError("give at least one plan")
    names = [p.name for p in items]
    if len(set(names)) != len(names):
        raise ValueError(f"plan names must differ to tell the curves apart: {names}")
    for name, value in (("quota", quota), ("target_incentive", target_incentive)):
        if not np.isfinite(value) or value < 0 or (name == "quota" and value == 0):
            raise ValueError(f"{name} must be a finite number > 0 (>= 0 for target incentive)")
    if not np.isfinite(base_salary) or base_salary < 0:
        raise ValueError("base_salary must be a finite number >= 0")
    if periods != "year" and (not isinstance(periods, int | np.integer) or periods < 1):
        raise ValueError(f"periods must be a positive count or 'year', got {periods!r}")
    grid = np.unique(np.asarray(attainment, dtype=float))
    if grid.ndim != 1 or not len(grid) or not np.isfinite(grid).all() or grid[0] < 0:
        raise ValueError("attainment must be a non-empty 1-D grid of finite values >= 0")
    settings = [_setting(p, quota, target_incentive, base_salary, periods) for p in items]
    tables = [_table(s, grid) for s in settings]
    points = [p for p in (_points(s, grid) for s in settings) if len(p)]
    return PayoutCurve(
        table=pd.concat(tables, ignore_index=True),
        points=(
            pd.concat(points, ignore_index=True) if points else pd.DataFrame(columns=POINT_COLUMNS)
        ),
        inputs=pd.DataFrame(
            {
                "plan": names,
                "period": [s.plan.period for s in settings],
                "periods": [s.periods for s in settings],
                "measure_kind": [s.plan.measure for s in settings],
                "quota": [s.quota for s in settings],
                "target_incentive": [s.target_incentive for s in settings],
                "base_salary": [s.base_salary for s in settings],
                "draw": [s.plan.draw.amount if s.plan.draw else 0.0 for s in settings],
            }
        ),
    )


def _setting(
    plan: Plan,
    quota: float,
    target_incentive: float,
    base_salary: float,
    periods: int | Literal["year"],
) -> _Setting:
    ppy = plan.periods_per_year
    annual_quota = plan.quota.annual if plan.quota.source == "annual" else quota
    ti = plan.target_incentive if plan.target_incentive is not None else target_incentive
    base = plan.base_salary if plan.base_salary is not None else base_salary
    single = plan.replace(team_pools=(), spiffs=(), clawback=None)
    return _Setting(
        single,
        ppy if periods == "year" else int(periods),
        float(annual_quota) / ppy,
        float(ti) / ppy,
        float(base) / ppy,
    )


def _table(s: _Setting, grid: F) -> pd.DataFrame:
    n = len(grid)
    pay = s.run(np.concatenate([grid, grid + STEP]))

    def total(values: F) -> F:
        return np.asarray(values[:n, 0, :].sum(axis=-1), dtype=float)

    variable = pay.variable[:, 0, :].sum(axis=-1)
    measure = grid * s.unit
    ti = s.target_incentive * s.periods
    effective = ratio(variable[:n], measure, np.nan)
    return pd.DataFrame(
        {
            "plan": s.plan.name,
            "attainment": grid,
            "measure": measure,
            "commission": total(pay.components["commission"]),
            "bonus": total(pay.components["bonus"]),
            "advance": total(pay.components["advance"]),
            "variable": variable[:n],
            "base": total(pay.components["base"]),
            "total": total(pay.total),
            "variable_pct_ti": variable[:n] / ti if ti > 0 else np.nan,
            "effective_rate": effective,
            "marginal_rate": np.round((variable[n:] - variable[:n]) / (STEP * s.unit), 9) + 0.0,
            "balance": np.asarray(pay.balance[:n, 0, -1], dtype=float),
        }
    )


def _candidates(s: _Setting, grid: F) -> list[tuple[float, str]]:
    """Attainments where the plan may jump or bend: from the plan, and by bisection on the
    kernel's payout-cap cut and draw top-up."""
    plan, c = s.plan, s.plan.commission
    found: list[tuple[float, str]] = []
    if c is not None:
        found += [(t.lower, f"tier {i}") for i, t in enumerate(c.tiers, start=1) if i > 1]
        found += [(c.gate, "gate"), (c.cap_attainment, "attainment cap")]
        found += [(c.tiers[-1].upper, "end of tiers")]
    for b in plan.bonuses:
        found += [(at, f"bonus {b.name}") for at, _ in b.points]
    if c is not None:
        found += [(a, "payout cap") for a in _switches(s, grid, "cap_cut")]
    if plan.draw is not None:
        found += [(a, "draw") for a in _switches(s, grid, "advance")]
    return [(float(a), src) for a, src in found if a > 0 and grid[0] <= a <= grid[-1]]


def _switches(s: _Setting, grid: F, what: Literal["cap_cut", "advance"]) -> list[float]:
    """Attainments where the kernel starts or stops reporting ``what`` (bisection between
    grid points where it changes)."""
    tol = 1e-12 * (s.unit + s.target_incentive * s.periods + 1.0)

    def on(a: F) -> NDArray[np.bool_]:
        pay = s.run(a)
        values = pay.cap_cut if what == "cap_cut" else pay.components["advance"]
        return np.asarray(values[:, 0, :].sum(axis=-1) > tol)

    state = on(grid)
    change = np.flatnonzero(state[1:] != state[:-1])
    if not len(change):
        return []
    lo, hi = grid[change].copy(), grid[change + 1].copy()
    left = state[change]
    for _ in range(64):
        if (hi - lo).max() <= 1e-13 * max(1.0, hi.max()):
            break
        mid = (lo + hi) / 2
        same = on(mid) == left
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return np.round(hi, 12).tolist()


def _points(s: _Setting, grid: F) -> pd.DataFrame:
    merged: dict[float, list[str]] = {}
    for a, src in sorted(_candidates(s, grid)):
        near = next((k for k in merged if abs(k - a) < 1e-9), a)
        merged.setdefault(near, [])
        if src not in merged[near]:
            merged[near].append(src)
    if not merged:
        return pd.DataFrame(columns=POINT_COLUMNS)
    at = np.array(list(merged))
    probes = at[:, None] + STEP * np.array([-2.0, -1.0, 0.0, 1.0])
    v = s.variable(probes.ravel()).reshape(probes.shape)
    dm = STEP * s.unit
    before, after = (v[:, 1] - v[:, 0]) / dm, (v[:, 3] - v[:, 2]) / dm
    left = v[:, 1] + before * dm
    jump = v[:, 2] - left
    scale = s.unit + s.target_incentive * s.periods + 1.0
    cliff = np.abs(jump) > 1e-9 * scale
    kink = ~cliff & (np.abs(after - before) > 1e-6 * np.maximum(1.0, np.abs(before)))
    keep = cliff | kink
    out = pd.DataFrame(
        {
            "plan": s.plan.name,
            "attainment": at,
            "kind": np.where(cliff, "cliff", "kink"),
            "source": [", ".join(v) for v in merged.values()],
            "pay_before": np.round(np.where(cliff, left, v[:, 2]), 6),
            "pay_after": v[:, 2],
            "jump": np.round(np.where(cliff, jump, 0.0), 6),
            "rate_before": np.round(before, 9) + 0.0,
            "rate_after": np.round(after, 9) + 0.0,
        }
    )
    return out[keep].reset_index(drop=True)
