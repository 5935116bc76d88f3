"""Figures as objects: trace types and counts, plotted values equal the result tables, axis
titles, escaping of data-derived text, and stage/outcome colours shared between figures."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from salesanalytics import cohorts, funnel, pipeline, plots, sample, timing, transitions
from salesanalytics.dataset import Dataset
from salesanalytics.plots._style import OUTCOME_COLOURS

EVIL = "<script>alert(1)</script>"
STAGES = ["lead", "contacted", "proposal", "negotiation"]


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return sample.generate(1500, seed=0)


@pytest.fixture(scope="module")
def evil(ds: Dataset) -> Dataset:
    """The sample with one region renamed to a script tag."""
    deals = ds.deals.copy()
    deals["region"] = deals["region"].astype(object).where(deals["region"] != "West", EVIL)
    return ds.replace(deals=deals)


@pytest.fixture(scope="module")
def trans(ds: Dataset) -> transitions.TransitionResult:
    return transitions.transition_matrix(ds, n_bootstrap=200, seed=1)


def _text(fig: go.Figure) -> str:
    return fig.to_json()


def _assert_escaped(fig: go.Figure) -> None:
    text = _text(fig)
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_exports() -> None:
    assert set(plots.__all__) == {
        "cohort_figure",
        "comparison_table_figure",
        "conversion_heatmap",
        "cost_distribution_figure",
        "fairness_bars_figure",
        "five_analyses_figures",
        "frontier_figure",
        "funnel_figure",
        "gaming_table_figure",
        "lorenz_figure",
        "pay_performance_figure",
        "payout_cloud_figure",
        "payout_components_figure",
        "payout_curve_figure",
        "pipeline_area_figure",
        "rep_pay_range_figure",
        "response_curve_figure",
        "sales_cycle_figure",
        "score_calibration_figure",
        "source_bubble_figure",
        "source_ranking_figure",
        "source_trend_figure",
        "statement_table_figure",
        "time_in_stage_figure",
        "transition_sankey",
        "waterfall_figure",
        "win_probability_figure",
    }
    for name in plots.__all__:
        assert callable(getattr(plots, name))
        assert "Examples" in (getattr(plots, name).__doc__ or "")


def test_only_plots_imports_plotly() -> None:
    root = pathlib.Path(plots.__file__).parent.parent
    for path in root.rglob("*.py"):
        if "plots" in path.relative_to(root).parts:
            continue
        assert not re.search(r"^\s*(import|from)\s+plotly", path.read_text(), re.M), path


def test_heatmap_values_and_small_n(ds: Dataset) -> None:
    result = funnel.stage_reach(ds, by="region", min_n=400)
    fig = plots.conversion_heatmap(result)
    assert [t.type for t in fig.data] == ["heatmap"]
    t = result.table
    regions = list(dict.fromkeys(t.index.get_level_values("region")))
    stages = list(dict.fromkeys(t.index.get_level_values("stage")))
    assert list(fig.data[0].y) == regions and list(fig.data[0].x) == stages
    expected = t["cumulative_conversion"].unstack("stage")[stages].loc[regions].to_numpy()
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float), expected)
    small = t["small_n"].unstack("stage")[stages].loc[regions].to_numpy()
    marked = np.array([[s.endswith("*") for s in row] for row in fig.data[0].text])
    assert small.any() and (marked == small).all()
    assert fig.layout.xaxis.title.text == "stage"
    assert fig.layout.yaxis.title.text == "region"
    assert "cohort view" in fig.layout.title.text
    step = plots.conversion_heatmap(result, measure="step")
    first = np.asarray(step.data[0].z, dtype=float)[:, 0]
    assert np.isnan(first).all()
    with pytest.raises(ValueError):
        plots.conversion_heatmap(result, measure="other")  # type: ignore[arg-type]


def test_heatmap_escapes(evil: Dataset) -> None:
    fig = plots.conversion_heatmap(funnel.stage_reach(evil, by="region"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fig.data[0].y
    _assert_escaped(fig)


def test_sankey_links_equal_table(trans: transitions.TransitionResult) -> None:
    fig = plots.transition_sankey(trans)
    assert [t.type for t in fig.data] == ["sankey"]
    sk = fig.data[0]
    labels = list(sk.node.label)
    assert labels[: len(trans.stages)] == list(trans.stages)
    got = {
        (labels[s], labels[t]): v
        for s, t, v in zip(sk.link.source, sk.link.target, sk.link.value, strict=True)
    }
    want = {
        (a, b): float(n)
        for a, b, n in zip(
            trans.table["from_stage"],
            trans.table["to_stage"],
            trans.table["transitions"],
            strict=True,
        )
    }
    assert got == want
    kinds = set(trans.table["kind"])
    assert {"skip", "regression", "loss"} <= kinds
    assert len(set(sk.link.color)) == len(kinds)  # one colour per kind
    assert all("transitions:" in h for h in sk.link.customdata)


def test_sankey_needs_segment_when_split(evil: Dataset) -> None:
    result = transitions.transition_matrix(evil, by="region", n_bootstrap=50, seed=1)
    with pytest.raises(ValueError, match="segment"):
        plots.transition_sankey(result)
    fig = plots.transition_sankey(result, segment=EVIL)
    _assert_escaped(fig)
    _assert_escaped(plots.win_probability_figure(result, segment=EVIL))


def test_win_probability(trans: transitions.TransitionResult) -> None:
    fig = plots.win_probability_figure(trans)
    assert [t.type for t in fig.data] == ["scatter"] * 3
    w = trans.win_probability
    markov, observed, crm = fig.data
    assert list(markov.x) == list(w["stage"])
    np.testing.assert_allclose(markov.y, w["p_win"])
    np.testing.assert_allclose(np.asarray(markov.y) + markov.error_y.array, w["p_win_high"])
    np.testing.assert_allclose(np.asarray(markov.y) - markov.error_y.arrayminus, w["p_win_low"])
    np.testing.assert_allclose(observed.y, w["empirical_win"])
    np.testing.assert_allclose(crm.y, w["crm_probability"])
    assert fig.layout.yaxis.title.text == "probability of winning"


def test_cohort_figure(ds: Dataset, evil: Dataset) -> None:
    result = cohorts.cohort_conversion(ds, period="month")
    fig = plots.cohort_figure(result)
    assert [t.type for t in fig.data] == ["bar", "bar"]
    assert fig.layout.barmode == "stack"
    won = result.table.xs("won", level="stage")
    assert list(fig.data[0].x) == list(won.index)
    np.testing.assert_allclose(fig.data[0].y, won["conversion"])
    np.testing.assert_allclose(fig.data[1].y, won["open_share"])
    assert "cohort view" in fig.layout.title.text
    assert fig.layout.yaxis.title.text == "share of cohort's deals"
    split = cohorts.cohort_conversion(evil, period="quarter", by="region")
    with pytest.raises(ValueError, match="segment"):
        plots.cohort_figure(split)
    _assert_escaped(plots.cohort_figure(split, segment=EVIL))


def test_time_in_stage(ds: Dataset) -> None:
    result = timing.time_in_stage(ds)
    fig = plots.time_in_stage_figure(result)
    assert len(fig.data) == 2 * len(STAGES)
    lines = fig.data[1::2]
    assert [t.legendgroup for t in lines] == STAGES
    c = result.curves[result.curves["measure"] == "stay"]
    for trace, stage in zip(lines, STAGES, strict=True):
        np.testing.assert_allclose(trace.y, c.loc[c["stage"] == stage, "estimate"])
        assert "median" in trace.name and "censored" in trace.name
    assert fig.layout.xaxis.title.text == "days in stage"
    assert fig.layout.yaxis.title.text == "share still in stage"
    with pytest.raises(ValueError):
        plots.time_in_stage_figure(result, measure="nope")


def test_sales_cycle(evil: Dataset) -> None:
    result = timing.sales_cycle(evil, by="region")
    fig = plots.sales_cycle_figure(result)
    segments = list(dict.fromkeys(result.curves["segment"]))
    assert len(fig.data) == 2 * 2 * len(segments)
    lines = [t for t in fig.data if t.fill is None]
    assert [t.line.color for t in lines[:2]] == [OUTCOME_COLOURS["won"], OUTCOME_COLOURS["lost"]]
    c = result.curves
    first = c[(c["segment"] == segments[0]) & (c["outcome"] == "won")]
    np.testing.assert_allclose(lines[0].y, first["estimate"])
    np.testing.assert_allclose(lines[0].customdata[:, 0], first["low"])
    assert fig.layout.xaxis.title.text == "days since created"
    assert fig.layout.yaxis.title.text == "share of deals"
    _assert_escaped(fig)


def test_waterfall(ds: Dataset, evil: Dataset) -> None:
    result = pipeline.waterfall(ds, period="quarter")
    fig = plots.waterfall_figure(result, period="2025-Q2")
    assert [t.type for t in fig.data] == ["bar"]
    bar = fig.data[0]
    row = result.table.set_index("period").loc["2025-Q2"]
    keys = ["opening", "created", "reopened", "won", "lost", "closing"]
    np.testing.assert_allclose(bar.y, [row[f"{k}_count"] for k in keys])
    # floating bars: the last move ends on the closing level
    top = np.asarray(bar.base) + np.asarray(bar.y)
    assert min(bar.base[4], top[4]) == bar.base[4]
    assert bar.base[4] == pytest.approx(row["closing_count"])
    assert bar.marker.color[3] == OUTCOME_COLOURS["won"]
    assert bar.marker.color[4] == OUTCOME_COLOURS["lost"]
    value = plots.waterfall_figure(result, period="2025-Q2", measure="value")
    assert value.data[0].y[-1] == pytest.approx(row["closing_value"])
    default = plots.waterfall_figure(result)
    assert result.table["period"].iloc[-1] in default.layout.title.text
    assert fig.layout.yaxis.title.text == "open pipeline (deals)"
    with pytest.raises(ValueError):
        plots.waterfall_figure(result, period="1999-Q1")
    split = pipeline.waterfall(evil, period="quarter", by="region")
    with pytest.raises(ValueError, match="segment"):
        plots.waterfall_figure(split)
    _assert_escaped(plots.waterfall_figure(split, segment=EVIL))


def test_pipeline_area(ds: Dataset) -> None:
    result = pipeline.pipeline_over_time(ds)
    fig = plots.pipeline_area_figure(result)
    assert [t.name for t in fig.data] == STAGES
    assert all(t.stackgroup == "pipeline" for t in fig.data)
    for trace, stage in zip(fig.data, STAGES, strict=True):
        np.testing.assert_allclose(
            trace.y, result.table.loc[result.table["stage"] == stage, "count"]
        )
    assert fig.layout.yaxis.title.text == "open pipeline (deals)"


def test_stage_colours_consistent(ds: Dataset, trans: transitions.TransitionResult) -> None:
    funnel_fig = plots.funnel_figure(funnel.stage_reach(ds))
    from_funnel = dict(zip(funnel_fig.data[0].y, funnel_fig.data[0].marker.color, strict=True))
    sankey = plots.transition_sankey(trans).data[0]
    from_sankey = dict(zip(sankey.node.label, sankey.node.color, strict=True))
    tis = plots.time_in_stage_figure(timing.time_in_stage(ds)).data[1::2]
    from_tis = {t.legendgroup: t.line.color for t in tis}
    area = plots.pipeline_area_figure(pipeline.pipeline_over_time(ds)).data
    from_area = {t.name: t.line.color for t in area}
    for stage in STAGES:
        assert from_funnel[stage] == from_sankey[stage] == from_tis[stage] == from_area[stage]
    assert from_funnel["won"] == from_sankey["won"] == OUTCOME_COLOURS["won"]
    assert from_sankey["lost"] == OUTCOME_COLOURS["lost"]


def test_pure_no_show_no_files(
    ds: Dataset,
    trans: transitions.TransitionResult,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("figures must not show or write")

    for name in ("show", "write_html", "write_image", "write_json"):
        monkeypatch.setattr(go.Figure, name, boom)
    monkeypatch.setattr(pio, "show", boom)
    monkeypatch.chdir(tmp_path)
    figs = [
        plots.conversion_heatmap(funnel.stage_reach(ds, by="region")),
        plots.transition_sankey(trans),
        plots.win_probability_figure(trans),
        plots.cohort_figure(cohorts.cohort_conversion(ds, period="month")),
        plots.time_in_stage_figure(timing.time_in_stage(ds)),
        plots.sales_cycle_figure(timing.sales_cycle(ds)),
        plots.waterfall_figure(pipeline.waterfall(ds, period="quarter")),
        plots.pipeline_area_figure(pipeline.pipeline_over_time(ds)),
    ]
    assert all(isinstance(f, go.Figure) for f in figs)
    assert all("<sup>" in f.layout.title.text for f in figs)  # every figure has a subtitle
    assert list(tmp_path.iterdir()) == []
