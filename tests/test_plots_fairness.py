"""Fairness figures as objects: plotted values equal the result tables, inversions equal a
brute-force pair list, and data strings are escaped (a plan and a rep named
``<script>alert(1)</script>``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from salesanalytics import sample
from salesanalytics.fairness import FairnessResult, fairness, fairness_metrics, five_analyses
from salesanalytics.fairness import metrics as m
from salesanalytics.plans import Commission, Eligibility, Plan, Tier, evaluate
from salesanalytics.plans.spec import INF
from salesanalytics.plots.fairness import (
    fairness_bars_figure,
    five_analyses_figures,
    inverted_pairs,
    lorenz_figure,
    pay_performance_figure,
)
from salesanalytics.simulation import AttainmentScenario, Normal, Population, simulate

EVIL = "<script>alert(1)</script>"


def _assert_escaped(fig: go.Figure) -> None:
    text = fig.to_json()
    assert "<script>" not in text
    assert "\\u003cscript" not in text  # plotly's JSON writes "<" as \u003c
    assert "&lt;script&gt;" in text
    assert not any(getattr(t, "hovertemplate", None) for t in fig.data)


@pytest.fixture(scope="module")
def backtest_fr() -> FairnessResult:
    ds = sample.generate(1500, seed=0)
    plans = [
        Plan(
            name,
            eligibility=Eligibility(roles=("AE",)),
            commission=Commission((Tier(0, 1, r), Tier(1, INF, 2 * r))),
        )
        for name, r in (("tiered", 0.04), ("steep", 0.06))
    ]
    return fairness([evaluate(p, ds) for p in plans], n_boot=100)


@pytest.fixture(scope="module")
def evil_sim() -> tuple[FairnessResult, object]:
    reps = 12
    rng = np.random.default_rng(3)
    quota = rng.uniform(50_000, 150_000, size=(reps, 1)) * np.ones((1, 12))
    pop = Population(
        pd.DataFrame(
            {
                "rep_id": [EVIL, *(f"R{i:02d}" for i in range(1, reps))],
                "region": [EVIL, "N"] * (reps // 2),
            }
        ),
        pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC").as_unit("us"),
        quota,
        np.ones((reps, 12)),
        np.full(reps, 120_000.0),
        0.03 * quota.sum(axis=1),
    )
    plans = [
        Plan(EVIL, commission=Commission((Tier(0, 1, 0.02), Tier(1, INF, 0.05)))),
        Plan("flat", commission=Commission((Tier(0, INF, 0.03),))),
    ]
    scenario = AttainmentScenario(pop, Normal(1.0, 0.3), month_sd=0.2)
    result = simulate(plans, scenario, trials=64, seed=1, metrics=[fairness_metrics(pop)])
    return fairness(result), result


# ------------------------------------------------------------------ Lorenz
def test_lorenz_values(backtest_fr: FairnessResult) -> None:
    fig = lorenz_figure(backtest_fr)
    assert [t.type for t in fig.data] == ["scatter"] * 3
    for trace, plan in zip(fig.data[1:], backtest_fr.plans, strict=True):
        pay = backtest_fr.points.loc[backtest_fr.points["plan"] == plan, "pay"].to_numpy()
        pay = pay[np.isfinite(pay)]
        x = np.sort(pay)
        assert np.asarray(trace.y) == pytest.approx(np.r_[0, np.cumsum(x) / x.sum()])
        assert trace.x[-1] == 1.0 and len(trace.x) == len(pay) + 1
        t = backtest_fr.table
        gini = t.loc[(t["plan"] == plan) & (t["metric"] == "gini"), "estimate"].iloc[0]
        assert f"(Gini {gini:.3f})" in trace.name
        assert m.gini(pay)[0] == pytest.approx(gini)


# ------------------------------------------------------------------ pay vs performance
def test_pay_performance_marks_inversions(backtest_fr: FairnessResult) -> None:
    fig = pay_performance_figure(backtest_fr, "steep", max_pairs=10)
    pts = backtest_fr.points.query("plan == 'steep'")
    pts = pts[np.isfinite(pts["attainment"]) & np.isfinite(pts["pay"])]
    assert np.asarray(fig.data[0].x) == pytest.approx(pts["attainment"].to_numpy())
    assert np.asarray(fig.data[0].y) == pytest.approx(pts["pay"].to_numpy())
    a, p = pts["attainment"].to_numpy(), pts["pay"].to_numpy()
    brute = sorted(
        (p[j] - p[i]) for i in range(len(a)) for j in range(len(a)) if a[i] > a[j] and p[i] < p[j]
    )
    assert len(brute) > 10
    ys = np.asarray(fig.data[1].y, dtype=object)
    assert len(ys) == 30 and all(ys[2::3] == None)  # noqa: E711
    gaps = np.asarray(ys[1::3], dtype=float) - np.asarray(ys[0::3], dtype=float)
    assert sorted(gaps) == pytest.approx(brute[-10:])
    # every segment goes from the better performer (lower pay) to the worse (higher pay)
    xs = np.asarray(fig.data[1].x, dtype=object)
    assert (np.asarray(xs[0::3], float) > np.asarray(xs[1::3], float)).all()
    with pytest.raises(ValueError, match="no plan"):
        pay_performance_figure(backtest_fr, "nope")


def test_inverted_pairs_count_equals_metric() -> None:
    rng = np.random.default_rng(0)
    pts = pd.DataFrame({"attainment": rng.random(40), "pay": rng.random(40)})
    pairs = inverted_pairs(pts, max_pairs=10_000)
    inv, _ = m.inversion_counts(pts["pay"].to_numpy()[None], pts["attainment"].to_numpy()[None])
    assert len(pairs) == inv[0]
    assert (pairs["gap"].diff().dropna() <= 0).all()


# ------------------------------------------------------------------ bars
def test_fairness_bars_values(backtest_fr: FairnessResult) -> None:
    fig = fairness_bars_figure(backtest_fr)
    t = backtest_fr.table
    names = list(fig.data[0].x)
    assert set(names) == set(t["metric"])
    scale = t.groupby("metric")[["estimate", "low", "high"]].apply(lambda g: g.abs().max().max())
    for trace, plan in zip(fig.data, backtest_fr.plans, strict=True):
        rows = t[t["plan"] == plan].set_index("metric").loc[names]
        s = scale.loc[names].to_numpy()
        assert np.asarray(trace.y) == pytest.approx(rows["estimate"].to_numpy() / s)
        assert np.asarray(trace.customdata)[:, 0] == pytest.approx(rows["estimate"].to_numpy())
        assert np.abs(np.asarray(trace.y)).max() <= 1 + 1e-12


# ------------------------------------------------------------------ five analyses
def test_five_analyses_figures_values(backtest_fr: FairnessResult) -> None:
    ds = sample.generate(1500, seed=0)
    bts = [
        evaluate(
            Plan(
                n, eligibility=Eligibility(roles=("AE",)), commission=Commission((Tier(0, INF, r),))
            ),
            ds,
        )
        for n, r in (("a", 0.04), ("b", 0.06))
    ]
    five = five_analyses(bts)
    figs = five_analyses_figures(five)
    assert set(figs) == {"earnings", "performance", "pay_vs_performance", "leverage", "expense"}
    for key, table in (("earnings", five.earnings), ("performance", five.performance)):
        for trace, plan in zip(figs[key].data, five.plans, strict=True):
            assert np.asarray(trace.y) == pytest.approx(table.loc[table["plan"] == plan, "share"])
    lev = figs["leverage"].data
    assert np.asarray(lev[1].y) == pytest.approx(
        five.leverage.query("plan == 'b'")["pay_to_median"]
    )
    band = figs["pay_vs_performance"].data[1]
    assert np.asarray(band.y) == pytest.approx(
        five.pay_vs_performance.query("plan == 'a'")["mean_pay"]
    )
    assert np.asarray(figs["expense"].data[0].y) == pytest.approx(five.expense["cost_of_sales"])


# ------------------------------------------------------------------ escaping, simulation
def test_figures_escape_data(evil_sim: tuple[FairnessResult, object]) -> None:
    fr, result = evil_sim
    assert fr.plans[0] == EVIL
    figs = [
        lorenz_figure(fr, trial=3),
        pay_performance_figure(fr, EVIL, trial=1),
        fairness_bars_figure(fr),
        *five_analyses_figures(five_analyses(result)).values(),  # type: ignore[arg-type]
    ]
    for fig in figs:
        _assert_escaped(fig)
    lorenz = figs[0]
    p = fr.points
    pay = p.loc[(p["plan"] == EVIL) & (p["trial"] == 3), "pay"].to_numpy()
    assert len(lorenz.data[1].x) == len(pay) + 1
    assert fr.gaps["reference"].isin([EVIL, "N"]).all()
