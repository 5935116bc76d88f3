"""The score calibration figure as an object: trace types, plotted values equal the result
tables, axis titles, escaping of data-derived text."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import plotly.graph_objects as go
import pytest

from salesanalytics import sample
from salesanalytics.plots.scoring import score_calibration_figure
from salesanalytics.scoring import ScoreValidation, score_validation

EVIL = "<script>alert(1)</script>"


@functools.cache
def result() -> ScoreValidation:
    return score_validation(sample.generate(600, seed=2))


def test_calibration_panel_values() -> None:
    v = result()
    fig = score_calibration_figure(v)
    assert isinstance(fig, go.Figure)
    assert [tr.type for tr in fig.data] == ["scatter", "scatter", "bar", "scatter"]
    diagonal, observed = fig.data[0], fig.data[1]
    assert np.array_equal(diagonal.x, diagonal.y) and diagonal.x[0] == 0.0
    assert diagonal.x[1] >= v.calibration["high"].max()
    c = v.calibration
    assert np.asarray(observed.x) == pytest.approx(c["predicted"].to_numpy())
    assert np.asarray(observed.y) == pytest.approx(c["observed"].to_numpy())
    assert np.asarray(observed.error_y.array) == pytest.approx(
        (c["high"] - c["observed"]).to_numpy()
    )
    assert np.asarray(observed.error_y.arrayminus) == pytest.approx(
        (c["observed"] - c["low"]).to_numpy()
    )
    assert observed.xaxis == "x" and fig.layout.xaxis.title.text.startswith("predicted")
    assert fig.layout.yaxis.tickformat == ".0%"


def test_band_panel_values_and_subtitle() -> None:
    v = result()
    fig = score_calibration_figure(v)
    bars, line = fig.data[2], fig.data[3]
    t = v.table
    assert list(bars.x) == t.index.tolist() and bars.xaxis == "x2"
    assert np.asarray(bars.y, dtype=float) == pytest.approx(t["rate"].to_numpy(), nan_ok=True)
    assert np.asarray(bars.error_y.array, dtype=float) == pytest.approx(
        (t["high"] - t["rate"]).to_numpy(), nan_ok=True
    )
    assert np.asarray(line.y, dtype=float) == pytest.approx(t["predicted"].to_numpy(), nan_ok=True)
    title = fig.layout.title.text
    assert f"AUC {v.auc.value:.3f}" in title and "not effects" in title
    assert f"{v.leads:,} leads" in title


def test_without_bands() -> None:
    fig = score_calibration_figure(result(), bands=False)
    assert [tr.type for tr in fig.data] == ["scatter", "scatter"]
    assert {tr.xaxis for tr in fig.data} == {None}  # one panel, no subplot axes
    assert fig.layout.yaxis.title.text == "observed deal rate"


def test_data_text_is_escaped() -> None:
    v = result()
    table = v.table.rename(index={v.table.index[0]: EVIL})
    fig = score_calibration_figure(dataclasses.replace(v, table=table))
    text = fig.to_json()
    assert "<script>" not in text and "&lt;script&gt;" in text
