"""Per-rep pay and attainment of a backtest or a simulation, in the pay measure chosen.

``"target"`` pay is variable pay ÷ the rep's pay scale (target incentive, else base salary)
for the time employed, so 1.0 is on-target pay whatever the rep's target or tenure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._ratio import ratio
from ..plans.backtest import Backtest
from ..simulation.result import SimulationResult
from ..simulation.scenario import pay_scale
from .trial import PayKind

__all__ = ["Source", "backtest_arrays", "rep_points"]

F = NDArray[np.float64]
Source = Backtest | SimulationResult | Sequence[Backtest]


def _rep_money(bt: Backtest, column: str) -> F:
    override = getattr(bt.plan, column)
    reps = bt.staff.reps
    if override is not None:
        return np.full(len(reps), float(override))
    return reps[column].fillna(0.0).to_numpy(dtype=float)


def backtest_arrays(bt: Backtest, pay: PayKind = "target") -> dict[str, F]:
    """Per rep (staff order) annual ``pay``, ``attainment``, ``variable``, ``total``,
    ``revenue`` and ``target`` (pay scale × years employed), and ``(R, P)`` per-period
    ``period_pay`` and ``period_attainment`` (NaN where not employed).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier, evaluate
    >>> bt = evaluate(Plan("flat", eligibility=Eligibility(roles=("AE",)),
    ...               commission=Commission((Tier(0, float("inf"), 0.05),))),
    ...               sample.generate(600, seed=0))
    >>> arrays = backtest_arrays(bt)
    >>> arrays["pay"].shape == (len(bt.staff.ids),), arrays["period_pay"].ndim
    (True, 2)
    """
    ppy = bt.plan.periods_per_year
    employed = bt.staff.employed
    total_p = bt.payouts.total
    variable_p = total_p - bt.payouts.components["base"]
    scale_p = pay_scale(_rep_money(bt, "base_salary"), _rep_money(bt, "target_incentive"))
    scale_p = scale_p[:, None] / ppy * employed
    on = employed > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        quota = np.where(on, bt.quota, 0.0).sum(-1)
        revenue = np.where(on, bt.measure, 0.0).sum(-1)
        attainment = ratio(revenue, quota, np.nan)
        total = np.where(on, total_p, 0.0).sum(-1)
        variable = np.where(on, variable_p, 0.0).sum(-1)
        target = scale_p.sum(-1)
        chosen = {"total": (total, total_p), "variable": (variable, variable_p)}
        if pay == "target":
            annual = variable / np.where(target > 0, target, np.nan)
            period = variable_p / np.where(scale_p > 0, scale_p, np.nan)
        else:
            annual, period = chosen[pay]
        period_att = np.where(on, bt.payouts.attainment, np.nan)
    return {
        "pay": annual,
        "attainment": attainment,
        "variable": variable,
        "total": total,
        "revenue": revenue,
        "quota": quota,
        "target": target,
        "period_pay": np.where(on, period, np.nan),
        "period_attainment": period_att,
    }


def _sim_points(result: SimulationResult, pay: PayKind) -> pd.DataFrame:
    pop = result.population
    ids = pd.Index(pop.rep_ids)
    years = pop.employed.sum(-1) / 12
    frames = []
    for plan in result.plans:
        c = result.cloud[result.cloud["plan"] == plan.name]
        r = ids.get_indexer(pd.Index(c["rep_id"].astype("str")))
        base = np.full(len(ids), plan.base_salary) if plan.base_salary else pop.base_salary
        ti = np.full(len(ids), plan.target_incentive) if plan.target_incentive else None
        target = pay_scale(base, pop.target_incentive if ti is None else ti) * years
        quota = (pop.quota * pop.employed).sum(-1)
        value = {"total": c["pay"], "variable": c["variable"]}.get(pay)
        if value is None:
            value = c["variable"] / np.where(target[r] > 0, target[r], np.nan)
        frame = pd.DataFrame(
            {
                "plan": plan.name,
                "trial": c["trial"].to_numpy(),
                "rep_id": c["rep_id"].to_numpy(),
                "attainment": c["attainment"].to_numpy(),
                "pay": np.asarray(value, dtype=float),
                "variable": c["variable"].to_numpy(),
                "total": c["pay"].to_numpy(),
                "revenue": c["attainment"].to_numpy() * quota[r],
                "target": target[r],
            }
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def rep_points(source: Source, pay: PayKind = "target") -> pd.DataFrame:
    """Per plan, trial and rep: attainment, ``pay`` (the chosen measure), variable and total
    pay, credited revenue, ``target`` (pay scale for the time employed) and rep attributes.
    A backtest is trial 0; a simulation gives its first trials (``result.cloud``).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier, evaluate
    >>> bt = evaluate(Plan("flat", eligibility=Eligibility(roles=("AE",)),
    ...               commission=Commission((Tier(0, float("inf"), 0.05),))),
    ...               sample.generate(600, seed=0))
    >>> list(rep_points(bt).columns[:5])
    ['plan', 'trial', 'rep_id', 'attainment', 'pay']
    """
    if isinstance(source, SimulationResult):
        points = _sim_points(source, pay)
        reps = source.population.reps
    else:
        bts = [source] if isinstance(source, Backtest) else list(source)
        frames = []
        for bt in bts:
            a = backtest_arrays(bt, pay)
            frames.append(
                pd.DataFrame(
                    {
                        "plan": bt.plan.name,
                        "trial": 0,
                        "rep_id": np.asarray(bt.staff.ids, dtype=object),
                        **{k: a[k] for k in ("attainment", "pay", "variable", "total")},
                        **{k: a[k] for k in ("revenue", "target")},
                    }
                )
            )
        points = pd.concat(frames, ignore_index=True)
        reps = pd.concat([bt.staff.reps for bt in bts]).drop_duplicates("rep_id")
    extra = [c for c in ("role", "team", "region") if c in reps.columns]
    attrs = reps.assign(rep_id=reps["rep_id"].astype("str")).set_index("rep_id")[extra]
    points["rep_id"] = points["rep_id"].astype("str")
    return points.join(attrs, on="rep_id")
