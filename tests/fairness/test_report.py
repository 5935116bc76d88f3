"""fairness() and five_analyses() on backtests and simulations of the sample company: the
tables equal the metrics recomputed from the results' own tables, intervals are seeded, a fair
simulated plan scores as fair and a plan paying by territory shows its luck share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from salesanalytics import sample
from salesanalytics.dataset import Dataset
from salesanalytics.fairness import (
    METRICS,
    FairnessResult,
    fairness,
    fairness_metrics,
    five_analyses,
    rep_points,
)
from salesanalytics.fairness import metrics as m
from salesanalytics.fairness.points import backtest_arrays
from salesanalytics.io.plan_files import read_plan
from salesanalytics.plans import Backtest, Commission, Eligibility, Plan, Tier, evaluate
from salesanalytics.simulation import (
    AttainmentScenario,
    Normal,
    Population,
    SimulationResult,
    simulate,
)

INF = float("inf")
PLANS = "data/sample/plans"


def flat(rate: float, name: str | None = None) -> Plan:
    return Plan(
        name or f"flat {rate:.0%}",
        eligibility=Eligibility(roles=("AE",)),
        commission=Commission((Tier(0, INF, rate),)),
    )


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return sample.generate(1500, seed=0)


@pytest.fixture(scope="module")
def backtests(ds: Dataset) -> list[Backtest]:
    return [evaluate(read_plan(f"{PLANS}/current.toml"), ds), evaluate(flat(0.05), ds)]


@pytest.fixture(scope="module")
def fr(backtests: list[Backtest]) -> FairnessResult:
    return fairness(backtests, n_boot=300, seed=1)


@pytest.fixture(scope="module")
def sim(ds: Dataset) -> SimulationResult:
    pop = Population.from_dataset(ds)
    scenario = AttainmentScenario(pop, Normal(1.0, 0.3), rho=0.3, month_sd=0.3)
    plans = [read_plan(f"{PLANS}/current.toml"), flat(0.05)]
    return simulate(plans, scenario, trials=96, seed=2, metrics=[fairness_metrics(pop)])


# ------------------------------------------------------------------ backtest
def test_backtest_table_shape(fr: FairnessResult) -> None:
    assert fr.plans == ["current", "flat 5%"]
    assert set(fr.table["metric"]) == set(METRICS) - {"luck_share"}
    assert fr.source == "backtest" and any("luck" in n for n in fr.notes)
    assert list(fr.wide().columns) == fr.plans
    t = fr.table
    ok = t["low"].le(t["high"])
    assert ok.all()


def test_backtest_estimates_equal_metrics_of_by_rep(backtests: list[Backtest]) -> None:
    bt = backtests[1]
    got = fairness(bt, pay="variable", n_boot=50).table.set_index("metric")["estimate"]
    rep = bt.by_rep()
    pay, att = rep["variable"].to_numpy(), rep["attainment"].to_numpy()
    ok = np.isfinite(att)
    assert got["rank_correlation"] == pytest.approx(stats.spearmanr(pay[ok], att[ok]).statistic)
    assert got["share_at_quota"] == pytest.approx(np.mean(att[ok] >= 1))
    assert got["gini"] == pytest.approx(m.gini(pay[ok])[0])
    assert got["inversion_rate"] == pytest.approx(m.inversion_rate(pay, att)[0])
    # per period: variable pay of the table, months where employed
    t = bt.table.assign(variable=bt.table["total"] - bt.table["base"])
    wide_pay = t.pivot(index="rep_id", columns="period", values="variable")
    wide_att = t.pivot(index="rep_id", columns="period", values="attainment")
    assert got["rep_pay_cv"] == pytest.approx(m.rep_pay_cv(wide_pay.to_numpy()[None])[0])
    assert got["temporal_band_cv"] == pytest.approx(
        m.temporal_band_cv(wide_pay.to_numpy()[None], wide_att.to_numpy()[None])[0]
    )


def test_target_pay_is_variable_over_target_incentive(backtests: list[Backtest]) -> None:
    bt = backtests[0]
    a = backtest_arrays(bt, "target")
    rep = bt.by_rep().reindex(bt.staff.ids)
    ti = bt.staff.reps["target_incentive"].to_numpy()
    years = bt.table.groupby("rep_id", sort=False)["employed"].sum().reindex(bt.staff.ids) / 12
    expected = rep["variable"].to_numpy() / (ti * years.to_numpy())
    assert a["pay"] == pytest.approx(expected)
    assert a["total"] == pytest.approx(rep["total"].to_numpy())


def test_bootstrap_is_seeded(backtests: list[Backtest]) -> None:
    a = fairness(backtests[1], n_boot=100, seed=5).table
    b = fairness(backtests[1], n_boot=100, seed=5).table
    c = fairness(backtests[1], n_boot=100, seed=6).table
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["low"], c["low"], equal_nan=True)
    assert (a["estimate"] == c["estimate"]).all()


def test_backtest_gaps(fr: FairnessResult, backtests: list[Backtest]) -> None:
    g = fr.gaps
    assert set(g["attribute"]) == {"region", "team", "tenure"}  # the default groups
    assert (g["low"] <= g["gap"]).all() and (g["gap"] <= g["high"]).all()
    for _, rows in g.groupby(["plan", "attribute"]):
        assert rows["reference"].nunique() == 1
        assert rows["reference"].iloc[0] not in set(rows["level"])
    # the reference is the biggest group on the plan
    reps = backtests[0].staff.reps
    assert g[g["attribute"] == "region"]["reference"].iloc[0] == reps["region"].mode()[0]


def test_band_table_and_points(fr: FairnessResult) -> None:
    b = fr.bands
    assert list(b.columns) == [
        "plan",
        "band",
        "reps",
        "mean_pay",
        "median_pay",
        "cv",
        "gini",
        "theil",
    ]
    p = fr.points
    per_plan = p.groupby("plan").size()
    assert b.groupby("plan")["reps"].sum().to_dict() == per_plan.to_dict()
    assert {"region", "team"} <= set(p.columns)


def test_duplicate_names_and_bad_confidence(backtests: list[Backtest]) -> None:
    with pytest.raises(ValueError, match="differ"):
        fairness([backtests[0], backtests[0]])
    with pytest.raises(ValueError, match="confidence"):
        fairness(backtests[0], confidence=1.5)


# ------------------------------------------------------------------ simulation
def test_simulation_summary_equals_per_trial(sim: SimulationResult) -> None:
    fs = fairness(sim)
    assert fs.source == "simulation" and "luck_share" in set(fs.table["metric"])
    for name in sim.names:
        t = sim.per_trial[sim.per_trial["plan"] == name]
        rows = fs.table[fs.table["plan"] == name].set_index("metric")
        for metric in ("rank_correlation", "inversion_rate", "luck_share", "gini"):
            assert rows.loc[metric, "estimate"] == pytest.approx(t[metric].mean())
            assert rows.loc[metric, "low"] == pytest.approx(t[metric].quantile(0.05))
            assert rows.loc[metric, "high"] == pytest.approx(t[metric].quantile(0.95))
    gaps = fs.gaps
    assert set(gaps["plan"]) == set(sim.names)
    row = gaps.iloc[0]
    col = sim.per_trial[sim.per_trial["plan"] == row["plan"]][
        f"gap:{row['attribute']}={row['level']}"
    ]
    assert row["gap"] == pytest.approx(col.mean())


def test_simulation_share_at_quota_equals_engine(sim: SimulationResult) -> None:
    t = sim.per_trial
    assert t["share_at_quota"].to_numpy() == pytest.approx(t["at_quota"].to_numpy())


def test_simulation_without_metrics_is_refused(ds: Dataset) -> None:
    pop = Population.from_dataset(ds)
    plain = simulate(flat(0.05), AttainmentScenario(pop), trials=32, seed=0)
    with pytest.raises(ValueError, match="fairness_metrics"):
        fairness(plain)


def _toy_population(reps: int = 24) -> Population:
    return Population(
        pd.DataFrame(
            {"rep_id": [f"R{i:02d}" for i in range(reps)], "region": ["N", "S"] * (reps // 2)}
        ),
        pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC").as_unit("us"),
        np.full((reps, 12), 10_000.0),
        np.ones((reps, 12)),
        np.full(reps, 60_000.0),
        np.full(reps, 6_000.0),
    )


def test_fair_simulated_plan_scores_as_fair() -> None:
    # equal quotas and targets, a flat rate on measure, no month noise: pay ∝ attainment
    pop = _toy_population()
    plan = Plan("flat", commission=Commission((Tier(0, INF, 0.05),)))
    result = simulate(
        plan,
        AttainmentScenario(pop, Normal(1.0, 0.3)),
        trials=64,
        seed=3,
        metrics=[fairness_metrics(pop)],
    )
    t = result.per_trial
    assert t["rank_correlation"].to_numpy() == pytest.approx(1.0)
    assert (t["inversion_rate"] == 0).all()
    assert t["temporal_band_cv"].to_numpy() == pytest.approx(0.0, abs=1e-12)
    gaps = fairness(result).gaps
    assert gaps["gap"].abs().max() < 1e-3  # log pay is not exactly a linear spline of a


def test_territory_plan_has_high_luck_share() -> None:
    # every rep's attainment is exactly 1 but for month noise, which is luck: pay = f(luck)
    pop = _toy_population()
    plan = Plan("flat", commission=Commission((Tier(0, INF, 0.05),)))
    scenario = AttainmentScenario(pop, Normal(1.0, 0.0), month_sd=0.3)
    result = simulate(plan, scenario, trials=64, seed=4, metrics=[fairness_metrics(pop)])
    assert result.per_trial["luck_share"].min() > 0.99
    skill = AttainmentScenario(pop, Normal(1.0, 0.3), month_sd=0.02)
    result = simulate(plan, skill, trials=64, seed=4, metrics=[fairness_metrics(pop)])
    assert result.per_trial["luck_share"].mean() < 0.2


def test_metric_columns_do_not_depend_on_chunking(ds: Dataset) -> None:
    pop = Population.from_dataset(ds)
    scenario = AttainmentScenario(pop, Normal(1.0, 0.3), month_sd=0.2)
    metric = [fairness_metrics(pop, groups=("region",))]
    a = simulate(flat(0.05), scenario, trials=64, seed=9, chunk_size=32, metrics=metric)
    b = simulate(flat(0.05), scenario, trials=64, seed=9, chunk_size=64, metrics=metric)
    pd.testing.assert_frame_equal(a.per_trial, b.per_trial)


# ------------------------------------------------------------------ five analyses
def test_five_analyses_on_backtests(backtests: list[Backtest]) -> None:
    five = five_analyses(backtests)
    assert five.plans == ["current", "flat 5%"]
    reps = {bt.plan.name: len(bt.staff.ids) for bt in backtests}
    assert five.earnings.groupby("plan")["reps"].sum().to_dict() == reps
    assert five.performance.groupby("plan")["share"].sum().to_numpy() == pytest.approx(1.0)
    exp = five.expense.set_index("plan")
    bt = backtests[1]
    rep = bt.by_rep()
    assert exp.loc["flat 5%", "variable_cost_of_sales"] == pytest.approx(0.05)
    assert exp.loc["flat 5%", "cost_of_sales"] == pytest.approx(
        rep["total"].sum() / rep["measure"].sum()
    )
    by_band = five.expense_by_band.groupby("plan")[["total_pay", "revenue"]].sum()
    assert by_band.loc["current", "total_pay"] == pytest.approx(exp.loc["current", "total_pay"])
    lev = five.leverage
    assert sorted(lev["decile"].unique()) == list(range(1, 11))
    side = five.side_by_side()
    assert list(side.columns) == five.plans
    assert side.loc["cost_of_sales", "current"] == pytest.approx(
        exp.loc["current", "cost_of_sales"]
    )
    pvp = five.pay_vs_performance
    assert pvp.groupby("plan")["reps"].sum().to_dict() == reps


def test_five_analyses_on_simulation(sim: SimulationResult) -> None:
    five = five_analyses(sim)
    assert five.plans == sim.names
    cost = sim.cost_summary()["cost_of_sales"]
    assert five.expense.set_index("plan")["cost_of_sales"].to_numpy() == pytest.approx(
        cost.to_numpy()
    )
    e = five.expense
    assert (
        (e["cost_of_sales_p5"] <= e["cost_of_sales"])
        & (e["cost_of_sales"] <= e["cost_of_sales_p95"])
    ).all()
    pts = rep_points(sim)
    assert len(five.points) == len(pts) == len(sim.cloud)


def test_five_analyses_refuses_duplicate_plans(backtests: list[Backtest]) -> None:
    with pytest.raises(ValueError, match="differ"):
        five_analyses([backtests[0], backtests[0]])


def test_html_escapes_plan_names(ds: Dataset) -> None:
    evil = "<script>alert(1)</script>"
    bt = evaluate(flat(0.05, name=evil), ds)
    for obj in (fairness(bt, n_boot=20), five_analyses(bt)):
        text = obj._repr_html_()
        assert "<script>" not in text and "&lt;script&gt;" in text
        assert obj.summary().attrs["caption"]


def test_pay_gaps_by_tenure_band() -> None:
    from salesanalytics import sample
    from salesanalytics.fairness import fairness
    from salesanalytics.fairness.gaps import TENURE_BANDS
    from salesanalytics.plans import Commission, Eligibility, Plan, Tier, evaluate

    ds = sample.generate(1500, seed=0)
    plan = Plan(
        "flat",
        eligibility=Eligibility(roles=("AE",)),
        commission=Commission((Tier(0, float("inf"), 0.05),)),
    )
    gaps = fairness(evaluate(plan, ds), groups=("tenure",)).gaps
    labels = {label for _, label in TENURE_BANDS}
    assert set(gaps["attribute"]) == {"tenure"} and len(gaps) >= 1
    assert set(gaps["level"]) | set(gaps["reference"]) <= labels
