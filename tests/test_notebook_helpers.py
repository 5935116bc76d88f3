"""salesanalytics.notebook: the one-call helpers the notebooks use."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from salesanalytics import sample
from salesanalytics.dataset import Dataset
from salesanalytics.io import read_plan, read_plans
from salesanalytics.notebook import (
    COST_ROWS,
    FAIRNESS_ROWS,
    NO_RISK,
    backtests,
    plan_what_if,
    scan_plans,
)
from salesanalytics.plans import Plan, PlanError, evaluate
from salesanalytics.simulation import HistoryScenario

PLANS = Path(__file__).resolve().parents[1] / "data" / "sample" / "plans"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return sample.generate(600, seed=0)


@pytest.fixture(scope="module")
def scenario(ds: Dataset) -> HistoryScenario:
    return HistoryScenario.from_history(ds)


def test_unchanged_variant_differs_by_exactly_zero(scenario: HistoryScenario) -> None:
    table = plan_what_if(read_plan(PLANS / "current.toml"), scenario, trials=32, seed=3)
    assert list(table.index) == [*COST_ROWS, *FAIRNESS_ROWS]
    assert list(table.columns) == ["current", "current (what-if)", "change"]
    same = table["current"].to_numpy()
    assert np.array_equal(same, table["current (what-if)"].to_numpy(), equal_nan=True)
    assert np.nansum(np.abs(table["change"].to_numpy())) == 0.0


def test_flat_rate_scales_variable_pay_exactly(scenario: HistoryScenario) -> None:
    table = plan_what_if(read_plan(PLANS / "flat-rate.toml"), scenario, rate_scale=0.8, trials=32)
    pay = table.loc["expected_variable"]
    assert pay["flat-rate (what-if)"] == pytest.approx(0.8 * pay["flat-rate"], rel=1e-9)
    assert table.loc["expected_total", "change"] < 0
    # the same pay shape scaled: ranks, inversions and relative inequality do not move
    for row in ("rank_correlation", "inversion_rate", "gini", "leverage"):
        assert table.loc[row, "change"] == pytest.approx(0.0, abs=1e-9), row


def test_cap_moves_cost_the_right_way(scenario: HistoryScenario) -> None:
    plan = read_plan(PLANS / "current.toml")  # capped at 200%
    lower = plan_what_if(plan, scenario, cap=1.2, trials=32)
    assert lower.loc["expected_variable", "change"] <= 0
    assert lower.attrs["caption"].startswith("current: commission rates × 1, cap 1.2;")
    uncapped = plan_what_if(plan, scenario, cap=math.inf, trials=32)
    assert uncapped.loc["expected_variable", "change"] >= 0
    assert "cap unchanged" not in uncapped.attrs["caption"]


def test_what_if_refuses_what_it_cannot_edit(scenario: HistoryScenario) -> None:
    with pytest.raises(ValueError, match="no commission"):
        plan_what_if(Plan("bonus only"), scenario, trials=32)
    with pytest.raises(ValueError, match="rate_scale"):
        plan_what_if(read_plan(PLANS / "current.toml"), scenario, rate_scale=0.0, trials=32)
    with pytest.raises(PlanError, match="absurd"):
        plan_what_if(read_plan(PLANS / "current.toml"), scenario, rate_scale=20.0, trials=32)


def test_backtests_are_evaluate_per_plan(ds: Dataset) -> None:
    plans = read_plans([PLANS / "current.toml", PLANS / "flat-rate.toml"])
    got = backtests(plans, ds, start="2024-01-01", end="2025-01-01")
    assert [bt.plan.name for bt in got] == ["current", "flat-rate"]
    want = evaluate(plans[1], ds, start="2024-01-01", end="2025-01-01")
    assert got[1].total == want.total
    assert list(got[1].calendar.labels) == list(want.calendar.labels)


def test_scan_plans_keeps_the_top_rows_and_names_plans_without_risk(ds: Dataset) -> None:
    plans = read_plans([PLANS / "current.toml", PLANS / "flat-rate.toml"])
    table = scan_plans(plans, ds, top=1)
    assert table["plan"].tolist() == ["current", "flat-rate"]
    assert table.loc[0, "rank"] == 1 and table.loc[0, "at_stake"] > 0
    assert table.loc[1, "what"] == NO_RISK and table["rank"].isna().tolist() == [False, True]
    assert list(table.columns) == [
        "plan",
        "rank",
        "attainment",
        "move",
        "at_stake",
        "per_year",
        "what",
    ]
