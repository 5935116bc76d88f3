"""Calibration hits its targets on common random numbers; the frontier marks non-dominated
points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesanalytics import sample
from salesanalytics.io.plan_files import read_plan
from salesanalytics.plans import Commission, Plan, PlanError, Tier
from salesanalytics.simulation import (
    AttainmentScenario,
    HistoryScenario,
    Normal,
    Population,
    calibrate,
    frontier,
    simulate,
)
from salesanalytics.simulation.calibrate import get_parameter

PLANS = Path(__file__).resolve().parents[2] / "data" / "sample" / "plans"
INF = float("inf")


def _pop(reps: int = 20) -> Population:
    return Population(
        pd.DataFrame({"rep_id": [f"R{i}" for i in range(reps)], "role": "AE"}),
        pd.date_range("2025-01-01", periods=12, freq="MS", tz="UTC").as_unit("us"),
        np.full((reps, 12), 10_000.0),
        np.ones((reps, 12)),
        np.full(reps, 60_000.0),
        np.full(reps, 12_000.0),
    )


def test_flat_rate_cost_of_sales_has_a_closed_form() -> None:
    # with no base salary, cost of sales of a flat plan is its rate: solving for 7% gives 7%
    pop = _pop()
    pop = Population(
        pop.reps, pop.months, pop.quota, pop.employed, np.zeros(20), pop.target_incentive
    )
    plan = Plan("flat", commission=Commission((Tier(0, INF, 0.05),)))
    c = calibrate(
        plan,
        AttainmentScenario(pop, Normal(1.0, 0.3)),
        "commission.tiers.0.rate",
        "cost_of_sales",
        0.07,
        trials=64,
    )
    assert c.plan.commission is not None
    assert c.plan.commission.tiers[0].rate == pytest.approx(0.07, rel=1e-4)
    assert c.factor == pytest.approx(1.4, rel=1e-4) and c.evaluations < 15
    assert c.table.loc["cost_of_sales", "after"] == pytest.approx(0.07, rel=1e-4)


def test_quota_level_for_share_at_quota() -> None:
    # attainment ~ N(1, 0.2): scaling quotas by k moves the share at quota to P(a/k >= 1)
    plan = Plan("flat", commission=Commission((Tier(0, INF, 0.05),)))
    c = calibrate(
        plan,
        AttainmentScenario(_pop(50), Normal(1.0, 0.2)),
        "quota",
        "share_at_quota",
        0.6,
        bracket=(0.5, 1.5),
        trials=256,
        tolerance=1e-3,
    )
    assert c.achieved == pytest.approx(0.6, abs=0.01)
    # the closed form says k = 1 + 0.2 Φ⁻¹(0.4) ≈ 0.949; Monte Carlo with 50 × 256 reps
    assert c.factor == pytest.approx(0.949, abs=0.01)


def test_calibrates_the_sample_plan_to_pay_target_incentive_at_100() -> None:
    ds = sample.generate(3000, seed=0)
    plan = read_plan(PLANS / "marginal-accelerators.toml")
    scenario = HistoryScenario.from_history(ds)
    rates = [f"commission.tiers.{i}.rate" for i in range(len(plan.commission.tiers))]
    c = calibrate(plan, scenario, rates, "pay_at_100", 1.0, bracket=(0.2, 5.0), trials=64)
    assert c.achieved == pytest.approx(1.0, rel=1e-3)
    ratios = [b / a for a, b in c.parameters.values()]
    assert ratios == pytest.approx([c.factor] * len(rates))  # the tiers keep their shape
    again = simulate(c.plan.replace(name=plan.name), scenario, 64, 0).cost_summary()
    assert again.loc[plan.name, "pay_at_100_vs_target"] == pytest.approx(1.0, rel=1e-3)


def test_bad_calibrations() -> None:
    plan = Plan("flat", commission=Commission((Tier(0, INF, 0.05),)))
    sc = AttainmentScenario(_pop(5), Normal())
    with pytest.raises(ValueError, match="does not cross"):
        calibrate(
            plan, sc, "commission.tiers.0.rate", "cost_of_sales", 5.0, trials=32, bracket=(0.5, 2.0)
        )
    with pytest.raises(KeyError, match="no 'nothing'"):
        get_parameter(plan, "commission.nothing")
    with pytest.raises(ValueError, match="target must be one of"):
        calibrate(plan, sc, "commission.tiers.0.rate", "happiness", 1.0)


def test_frontier_marks_non_dominated_points() -> None:
    plan = Plan("acc", commission=Commission((Tier(0, 1, 0.04), Tier(1, INF, 0.08))))
    table = frontier(
        plan,
        AttainmentScenario(_pop(10), Normal(1.0, 0.3)),
        ("commission.tiers.1.rate", [0.06, 0.08, 0.12]),
        ("commission.cap_attainment", [1.5, 3.0]),
        trials=64,
        fairness="share_at_quota",
    )
    assert len(table) == 6 and table["on_frontier"].any()
    # share at quota does not depend on the plan here, so only the cheapest point is on it
    cheapest = table["cost_of_sales"].idxmin()
    assert table.loc[cheapest, "on_frontier"] and table["on_frontier"].sum() == 1
    with pytest.raises(PlanError):
        plan.replace(**{"commission.cap_attainment": 0.0})
