"""Calibration: solve plan parameters so a target holds, and the cost–fairness frontier.

Every evaluation simulates on the same seed (common random numbers), so the target is a
smooth, deterministic function of the parameters and a bracketing root finder
(:func:`scipy.optimize.brentq`) converges in a handful of simulations.

Parameters are dotted paths to numbers in the plan (``"commission.tiers.2.rate"``,
``"commission.cap_attainment"``, ``"draw.amount"``) or ``"quota"`` (every quota scaled,
through :class:`~.scenario.Adjusted`). Several parameters move together: each is its current
value × one common factor, which is what is solved for.

Targets (all from :meth:`~.result.SimulationResult.cost_summary`):

* ``"cost_of_sales"``: expected total pay ÷ expected credited revenue;
* ``"variable_cost_of_sales"``: the same with variable pay only;
* ``"pay_at_100"``: variable pay at exactly 100% attainment ÷ target incentive;
* ``"share_at_quota"``: share of reps at or above quota over the year;
* ``"expected_total"``: expected total pay (a budget).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ..plans.spec import Plan, PlanError
from .engine import TrialMetric, simulate
from .result import SimulationResult
from .scenario import Adjusted, Scenario

__all__ = ["Calibration", "calibrate", "frontier", "get_parameter"]

TARGETS = {
    "cost_of_sales": "cost_of_sales",
    "pay_at_100": "pay_at_100_vs_target",
    "share_at_quota": "share_at_quota",
    "expected_total": "expected_total",
}
QUOTA = "quota"


def get_parameter(plan: Plan, path: str) -> float:
    """The value at a dotted path of ``plan`` (numbers in the path index tuples).

    Examples
    --------
    >>> from salesanalytics.plans import Commission, Plan, Tier
    >>> plan = Plan("p", commission=Commission((Tier(0, 1, 0.04), Tier(1, float("inf"), 0.08))))
    >>> get_parameter(plan, "commission.tiers.1.rate")
    0.08
    """
    value: Any = plan
    for part in path.split("."):
        if part.isdigit():
            if not isinstance(value, tuple) or int(part) >= len(value):
                raise KeyError(f"{path}: no item {part}")
            value = value[int(part)]
        elif value is None or not hasattr(value, part):
            raise KeyError(f"{path}: the plan has no {part!r} there")
        else:
            value = getattr(value, part)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KeyError(f"{path} is not a number (it is {value!r})")
    return float(value)


def _apply(
    plan: Plan, scenario: Scenario, params: Sequence[str], start: Sequence[float], factor: float
) -> tuple[Plan, Scenario]:
    changes = {p: v * factor for p, v in zip(params, start, strict=True) if p != QUOTA}
    new = plan.replace(**changes) if changes else plan
    if QUOTA in params:
        scenario = Adjusted(scenario, quota_change=factor - 1)
    return new, scenario


def _value(result: SimulationResult, target: str, name: str) -> float:
    summary = result.cost_summary().loc[name]
    assert isinstance(summary, pd.Series)
    if target == "variable_cost_of_sales":
        t = result.per_trial[result.per_trial["plan"] == name]
        return float(t["variable"].mean() / t["revenue"].mean())
    return float(summary[TARGETS[target]])


@dataclass(frozen=True, eq=False)
class Calibration:
    """A solved calibration.

    Attributes
    ----------
    plan
        The plan with the solved parameters (named ``<name> (calibrated)``).
    factor
        The common factor applied to the parameters' starting values.
    parameters
        Parameter → (start value, solved value).
    target, value, achieved
        The target, the value asked for and the value reached.
    before, after
        Cost summaries (and any extra metrics' means) of the starting and the solved plan,
        on the same scenarios: what the target costs in fairness is their difference.
    evaluations
        Simulations run.
    """

    plan: Plan
    factor: float
    parameters: dict[str, tuple[float, float]]
    target: str
    value: float
    achieved: float
    before: pd.Series
    after: pd.Series
    evaluations: int
    view: str = "calibration"

    @property
    def table(self) -> pd.DataFrame:
        """Before and after side by side, with the change."""
        out = pd.DataFrame({"before": self.before, "after": self.after})
        out["change"] = out["after"] - out["before"]
        return out

    @property
    def caption(self) -> str:
        """What was solved."""
        params = ", ".join(f"{k} {a:.6g} → {b:.6g}" for k, (a, b) in self.parameters.items())
        return (
            f"Calibrated {self.target} to {self.value:.6g} (reached {self.achieved:.6g}) "
            f"with {params} in {self.evaluations} simulations"
        )

    def _repr_html_(self) -> str:
        body = self.table.round(4).to_html(escape=True)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


def _summary(result: SimulationResult, name: str) -> pd.Series:
    out = result.cost_summary().loc[name].copy()
    assert isinstance(out, pd.Series)
    t = result.per_trial[result.per_trial["plan"] == name]
    extra = [c for c in t.columns if c not in ("trial", "plan") and c not in out.index]
    for column in extra:
        out[column] = float(t[column].mean())
    return out


def calibrate(
    plan: Plan,
    scenario: Scenario,
    parameters: str | Sequence[str],
    target: str,
    value: float,
    *,
    bracket: tuple[float, float] = (0.1, 10.0),
    trials: int = 500,
    seed: int = 0,
    metrics: Sequence[TrialMetric] = (),
    tolerance: float = 1e-4,
) -> Calibration:
    """Scale ``parameters`` of ``plan`` by one common factor so that ``target`` equals
    ``value`` on the scenarios (see the module docstring).

    Parameters
    ----------
    bracket
        Factors between which the solution lies (the target must cross ``value`` there); an
        end that makes the plan invalid (a rate past its limit) is pulled toward 1.
    trials, seed
        Simulation size; the same seed at every step (common random numbers).
    metrics
        Extra per-trial metrics (fairness) reported before and after.
    tolerance
        Relative tolerance on the target.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from salesanalytics.plans import Commission, Plan, Tier
    >>> from salesanalytics.simulation import AttainmentScenario, Normal, Population
    >>> pop = Population(pd.DataFrame({"rep_id": ["a", "b"], "role": "AE"}),
    ...                  pd.date_range("2025-01-01", periods=12, freq="MS", tz="UTC"),
    ...                  np.full((2, 12), 1e4), np.ones((2, 12)), np.zeros(2), np.full(2, 12e3))
    >>> plan = Plan("p", commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> c = calibrate(plan, AttainmentScenario(pop, Normal(1.0, 0.2)),
    ...               "commission.tiers.0.rate", "cost_of_sales", 0.08, trials=64)
    >>> round(c.plan.commission.tiers[0].rate, 4)
    0.08
    """
    if target not in (*TARGETS, "variable_cost_of_sales"):
        raise ValueError(f"target must be one of {[*TARGETS, 'variable_cost_of_sales']}")
    params = [parameters] if isinstance(parameters, str) else list(parameters)
    if not params:
        raise ValueError("give at least one parameter")
    start = [1.0 if p == QUOTA else get_parameter(plan, p) for p in params]
    if any(v == 0 for v in start):
        raise ValueError("a parameter that starts at 0 cannot be scaled: give it a value first")
    evaluations = 0
    cache: dict[float, SimulationResult] = {}

    def run(factor: float) -> SimulationResult:
        nonlocal evaluations
        if factor not in cache:
            p, s = _apply(plan, scenario, params, start, factor)
            evaluations += 1
            cache[factor] = simulate(p, s, trials, seed, metrics=metrics)
        return cache[factor]

    def gap(factor: float) -> float:
        try:
            return _value(run(factor), target, plan.name) - value
        except PlanError as exc:
            raise ValueError(f"factor {factor:.4g} makes the plan invalid: {exc}") from None

    lo, hi = bracket
    lo, g_lo = _valid_end(gap, lo, toward=1.0)
    hi, g_hi = _valid_end(gap, hi, toward=1.0)
    if np.sign(g_lo) == np.sign(g_hi):
        raise ValueError(
            f"{target} does not cross {value} between factors {lo} and {hi} "
            f"(it goes from {g_lo + value:.6g} to {g_hi + value:.6g}); widen the bracket"
        )
    factor = float(optimize.brentq(gap, lo, hi, rtol=tolerance, xtol=tolerance * 1e-3, maxiter=100))
    solved, _ = _apply(plan, scenario, params, start, factor)
    after = run(factor)
    before = run(1.0)
    return Calibration(
        solved.replace(name=f"{plan.name} (calibrated)"),
        factor,
        {p: (v, v * factor) for p, v in zip(params, start, strict=True)},
        target,
        value,
        _value(after, target, plan.name),
        _summary(before, plan.name),
        _summary(after, plan.name),
        evaluations,
    )


def _valid_end(gap: Any, factor: float, toward: float) -> tuple[float, float]:
    """``(factor, gap(factor))``, moving ``factor`` geometrically toward ``toward`` while it
    makes the plan invalid (a rate scaled past a limit): the bracket shrinks to valid plans."""
    for _ in range(40):
        try:
            return factor, gap(factor)
        except ValueError as exc:
            if "makes the plan invalid" not in str(exc):
                raise
            factor = float(np.sqrt(factor * toward))
    return factor, gap(factor)


def frontier(
    plan: Plan,
    scenario: Scenario,
    x: tuple[str, Sequence[float]],
    y: tuple[str, Sequence[float]],
    *,
    trials: int = 300,
    seed: int = 0,
    metrics: Sequence[TrialMetric] = (),
    cost: str = "cost_of_sales",
    fairness: str | None = None,
    higher_is_fairer: bool = True,
) -> pd.DataFrame:
    """A grid over two parameters (values, not factors) on common random numbers: each
    point's cost summary and metric means, and whether it is on the cost–fairness Pareto
    frontier (no other point is both cheaper and fairer).

    ``fairness`` names a per-trial metric column (from ``metrics``) or a cost-summary column
    such as ``share_at_quota``; without it the frontier is not marked.
    """
    (px, xs), (py, ys) = x, y
    rows: list[dict[str, Any]] = []
    for vx in xs:
        for vy in ys:
            changes = {p: v for p, v in ((px, vx), (py, vy)) if p != QUOTA}
            try:
                candidate = plan.replace(**changes)
            except PlanError as exc:
                rows.append({px: vx, py: vy, "invalid": str(exc)})
                continue
            s = scenario
            if QUOTA in (px, py):
                s = Adjusted(scenario, quota_change=(vx if px == QUOTA else vy) - 1)
            result = simulate(candidate, s, trials, seed, metrics=metrics)
            row = {px: vx, py: vy, **{str(k): v for k, v in _summary(result, plan.name).items()}}
            rows.append(row)
    table = pd.DataFrame(rows)
    if fairness is not None and fairness in table.columns:
        c = table[cost].to_numpy(dtype=float)
        f = table[fairness].to_numpy(dtype=float) * (1 if higher_is_fairer else -1)
        ok = ~(np.isnan(c) | np.isnan(f))
        dominated = np.zeros(len(table), dtype=bool)
        for i in np.flatnonzero(ok):
            better = ok & (c <= c[i]) & (f >= f[i]) & ((c < c[i]) | (f > f[i]))
            dominated[i] = better.any()
        table["on_frontier"] = ok & ~dominated
    return table
