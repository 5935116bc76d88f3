"""The response-time dose-response figure, tested as an object."""

from __future__ import annotations

import functools

import numpy as np

from salesanalytics import sample
from salesanalytics.plots.sop import response_curve_figure
from salesanalytics.response import ResponseEffect, response_effect


@functools.cache
def result() -> ResponseEffect:
    return response_effect(sample.generate(1500, seed=2))


def test_traces_hold_the_table() -> None:
    r = result()
    fig = response_curve_figure(r)
    assert [t.type for t in fig.data] == ["scatter"] * 3
    assert [t.name for t in fig.data] == [
        "first-response time",
        "no response",
        "owner's follow-up cadence",
    ]
    resp = r.table.xs("response_time", level="factor")
    graded = resp.drop("no response")
    line, silent, cadence = fig.data
    assert list(line.x) == graded.index.tolist()
    np.testing.assert_allclose(line.y, graded["conversion"])
    np.testing.assert_allclose(line.error_y.array, graded["conversion_high"] - graded["conversion"])
    np.testing.assert_allclose(
        line.error_y.arrayminus, graded["conversion"] - graded["conversion_low"]
    )
    assert (
        list(silent.x) == ["no response"] and silent.y[0] == resp.loc["no response", "conversion"]
    )
    cad = r.table.xs("cadence", level="factor")
    cad = cad[cad["leads"] > 0]
    np.testing.assert_allclose(cadence.y, cad["conversion"])
    assert cadence.xaxis == "x2" and line.xaxis == "x"
    assert "trend z = " in fig.layout.title.text
    caveat = next(a for a in fig.layout.annotations if a.name == "caveat")
    assert "not causation" in caveat.text
    assert fig.layout.yaxis.tickformat == ".0%"


def test_single_panel_and_escaping() -> None:
    r = result()
    fig = response_curve_figure(r, cadence=False)
    assert len(fig.data) == 2 and "xaxis2" not in fig.layout.to_plotly_json()
    table = r.table.rename(index={"0–1 h": "<b>fast</b>"}, level="band")
    evil = ResponseEffect(table, r.trends, r.notes, "<script>x</script>")
    fig = response_curve_figure(evil)
    assert "&lt;b&gt;fast&lt;/b&gt;" in fig.data[0].x and "<b>fast</b>" not in fig.data[0].x
    caveat = next(a for a in fig.layout.annotations if a.name == "caveat")
    assert "<script>" not in caveat.text and "&lt;script&gt;" in caveat.text
    assert all("<b>fast</b>" not in h for h in fig.data[0].hovertext)


def test_empty_bands_are_skipped() -> None:
    r = result()
    table = r.table.copy()
    first = table.xs("cadence", level="factor").index[0]
    table.loc[("cadence", first), "leads"] = 0
    fig = response_curve_figure(ResponseEffect(table, r.trends))
    assert first not in fig.data[2].x and len(fig.data[2].x) == 4
