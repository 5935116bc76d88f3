"""Simulation figures as objects: trace types, plotted values equal the result tables, data
strings escaped (a plan and a rep named ``<script>alert(1)</script>``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from salesanalytics.plans.spec import INF, Commission, Plan, Tier
from salesanalytics.plots import simulation as sim_plots
from salesanalytics.plots.simulation import (
    comparison_table_figure,
    cost_distribution_figure,
    payout_cloud_figure,
    rep_pay_range_figure,
)
from salesanalytics.simulation import (
    AttainmentScenario,
    Normal,
    Population,
    SimulationResult,
    simulate,
)

EVIL = "<script>alert(1)</script>"
TIERS = (Tier(0, 0.5, 0.02), Tier(0.5, 1.0, 0.04), Tier(1.0, 1.5, 0.06), Tier(1.5, INF, 0.08))
BUDGET = 1_900_000.0


def _assert_escaped(fig: go.Figure) -> None:
    text = fig.to_json()
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert not any(getattr(t, "hovertemplate", None) for t in fig.data)


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    rng = np.random.default_rng(3)
    reps = 12
    quota = rng.uniform(50_000, 150_000, size=(reps, 1)) * np.ones((1, 12))
    pop = Population(
        reps=pd.DataFrame({"rep_id": [EVIL, *(f"R{i:02d}" for i in range(1, reps))]}),
        months=pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC").as_unit("us"),
        quota=quota,
        employed=np.ones((reps, 12)),
        base_salary=np.full(reps, 120_000.0),
        target_incentive=0.03 * quota.sum(axis=1),
    )
    tiered = Plan(EVIL, currency="CNY", commission=Commission(TIERS, cap_payout_ti=2.0))
    flat = Plan("flat 3%", currency="CNY", commission=Commission((Tier(0, INF, 0.03),)))
    scenario = AttainmentScenario(pop, Normal(1.0, 0.25))
    return simulate([tiered, flat], scenario, trials=160, seed=7, budget=BUDGET)


# ------------------------------------------------------------------ cost distribution
def test_cost_distribution_values(result: SimulationResult) -> None:
    fig = cost_distribution_figure(result)
    assert [t.type for t in fig.data] == ["histogram", "scatter"] * 2
    summary = result.cost_summary()
    wide = result.totals("total")
    starts = set()
    for i, name in enumerate(result.names):
        hist, marks = fig.data[2 * i], fig.data[2 * i + 1]
        assert np.array_equal(np.asarray(hist.x), wide[name].to_numpy())
        assert hist.histnorm == "probability"
        starts.add((hist.xbins.start, hist.xbins.end, hist.xbins.size))
        x = [v for v in marks.x if v is not None]
        assert x[0] == x[1] == pytest.approx(summary.loc[name, "total_p50"])
        assert x[2] == x[3] == pytest.approx(summary.loc[name, "total_p90"])
        assert marks.legendgroup == hist.legendgroup
    assert len(starts) == 1  # shared bins
    start, end, _ = starts.pop()
    assert start <= wide.min().min() and end >= wide.max().max()
    # the budget defaults to the result's and is a vertical line; P(over) in the subtitle
    assert [s.x0 for s in fig.layout.shapes] == [BUDGET]
    over = result.cost_summary()["p_over_budget"].to_dict()
    for name in result.names:
        share = f"{100 * over[name]:.1f}%"
        assert share in fig.layout.title.text
    assert fig.layout.barmode == "overlay"


def test_cost_distribution_budget_argument(result: SimulationResult) -> None:
    fig = cost_distribution_figure(result, budget=2_000_000.0, bins=12)
    assert [s.x0 for s in fig.layout.shapes] == [2_000_000.0]
    size = fig.data[0].xbins.size
    assert (fig.data[0].xbins.end - fig.data[0].xbins.start) / size == pytest.approx(12)
    no_budget = SimulationResult(**{**result.__dict__, "budget": None})
    assert len(cost_distribution_figure(no_budget).layout.shapes) == 0


# ------------------------------------------------------------------ payout cloud
def test_cloud_values(result: SimulationResult) -> None:
    fig = payout_cloud_figure(result)
    assert [(t.type, t.mode) for t in fig.data] == [("scatter", "markers")] * 2
    for trace, name in zip(fig.data, result.names, strict=True):
        t = result.cloud[result.cloud["plan"] == name]
        assert np.allclose(trace.x, t["attainment"])
        assert np.allclose(trace.y, t["variable"])
    total = payout_cloud_figure(result, pay="pay")
    t = result.cloud[result.cloud["plan"] == result.names[1]]
    assert np.allclose(total.data[1].y, t["pay"])
    assert [s.x0 for s in fig.layout.shapes] == [1.0]
    with pytest.raises(ValueError, match="pay must be"):
        payout_cloud_figure(result, pay="base")  # type: ignore[arg-type]


def test_cloud_uses_webgl_for_many_points(
    result: SimulationResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sim_plots, "GL_POINTS", 10)
    assert {t.type for t in payout_cloud_figure(result).data} == {"scattergl"}


# ------------------------------------------------------------------ per-rep pay ranges
def test_rep_ranges_values(result: SimulationResult) -> None:
    fig = rep_pay_range_figure(result, plan="flat 3%", top=5)
    assert [t.type for t in fig.data] == ["bar", "scatter", "scatter"]
    reps = result.per_rep[result.per_rep["plan"] == "flat 3%"]
    reps = reps.sort_values("variable_p50", ascending=False).head(5)
    bar, median, ti = fig.data
    assert bar.orientation == "h"
    assert list(bar.y) == list(reps["rep_id"])
    assert np.allclose(bar.base, reps["variable_p10"])
    assert np.allclose(np.asarray(bar.base) + np.asarray(bar.x), reps["variable_p90"])
    assert np.allclose(median.x, reps["variable_p50"])
    assert np.allclose(ti.x, reps["target_incentive"])
    assert (np.diff(median.x) <= 0).all()


def test_rep_ranges_default_plan_and_errors(result: SimulationResult) -> None:
    fig = rep_pay_range_figure(result)
    assert len(fig.data[0].y) == 12  # all reps (fewer than top)
    reps = result.per_rep[result.per_rep["plan"] == result.names[0]]
    assert np.allclose(sorted(fig.data[1].x), sorted(reps["variable_p50"]))
    with pytest.raises(ValueError, match="no plan"):
        rep_pay_range_figure(result, plan="nope")
    with pytest.raises(ValueError, match="top"):
        rep_pay_range_figure(result, top=0)


# ------------------------------------------------------------------ comparison table
def test_comparison_table_values(result: SimulationResult) -> None:
    fig = comparison_table_figure(result)
    assert [t.type for t in fig.data] == ["table"]
    columns = fig.data[0].cells.values
    assert len(columns) == 8 and all(len(c) == 2 for c in columns)
    header = fig.data[0].header.values
    assert "expected cost" in header[1] and "95%" in header[1]
    summary = result.cost_summary().to_dict("index")
    cmp = result.compare().reset_index().set_index("measure").loc["total"].to_dict()
    for row, name in enumerate(result.names):
        s = summary[name]
        assert columns[1][row].startswith(f"{s['expected_total']:,.0f} ")
        assert f"{s['expected_total_low']:,.0f}" in columns[1][row]
        assert f"{s['expected_total_high']:,.0f}" in columns[1][row]
        assert columns[2][row] == f"{100 * s['cost_of_sales']:.2f}%"
        assert columns[3][row] == f"{s['total_p90']:,.0f}"
        assert columns[4][row] == f"{100 * s['p_over_budget']:.1f}%"
        assert columns[5][row] == f"{100 * s['pay_at_100_vs_target']:.1f}%"
        assert columns[6][row].startswith(f"{s['jensen_gap']:,.0f} (")
    assert columns[7][0] == "baseline"
    diff = columns[7][1]
    sign = "+" if cmp["mean_difference"] >= 0 else ""
    assert diff.startswith(f"{sign}{cmp['mean_difference']:,.0f} ")
    assert f"{cmp['low']:,.0f} to {cmp['high']:,.0f}" in diff
    # the flat plan is linear: no Jensen gap, and it pays the target incentive at 100%
    assert columns[6][1].startswith("0 (") or columns[6][1].startswith("-0 (")
    assert columns[5][1] == "100.0%"


def test_comparison_table_without_budget(result: SimulationResult) -> None:
    no_budget = SimulationResult(**{**result.__dict__, "budget": None})
    fig = comparison_table_figure(no_budget, confidence=0.9)
    assert list(fig.data[0].cells.values[4]) == ["n/a", "n/a"]
    assert "90%" in fig.data[0].header.values[1]


# ------------------------------------------------------------------ escaping
def test_every_figure_escapes_data(result: SimulationResult) -> None:
    for fig in (
        cost_distribution_figure(result),
        payout_cloud_figure(result),
        rep_pay_range_figure(result),
        rep_pay_range_figure(result, plan="flat 3%"),
        comparison_table_figure(result),
    ):
        _assert_escaped(fig)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert cost_distribution_figure(result).data[0].name == escaped
    assert payout_cloud_figure(result).data[0].name == escaped
    assert escaped in rep_pay_range_figure(result, plan="flat 3%").data[0].y
    assert comparison_table_figure(result).data[0].cells.values[0][0] == f"<b>{escaped}</b>"
