"""SOP figures: the response-time (and follow-up cadence) dose-response curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..response import ResponseEffect
from ._common import esc
from ._style import OUTCOME_COLOURS, STAGE_PALETTE, layout

__all__ = ["response_curve_figure"]

TITLES = {"response_time": "first-response time", "cadence": "owner's follow-up cadence"}
NO_RESPONSE = "no response"


def _trace(rows: pd.DataFrame, factor: str, colour: str, name: str) -> go.Scatter:
    """Conversion per band with its interval as error bars; hover gives n and the interval."""
    rate = rows["conversion"].to_numpy(dtype=float)
    low = rows["conversion_low"].to_numpy(dtype=float)
    high = rows["conversion_high"].to_numpy(dtype=float)
    labels = [esc(b) for b in rows.index]
    hover = [
        f"<b>{label}</b><br>conversion {r:.1%} [{lo:.1%}, {hi:.1%}]<br>"
        f"{int(k):,} of {int(n):,} leads · {int(o):,} owners"
        for label, r, lo, hi, k, n, o in zip(
            labels, rate, low, high, rows["converted"], rows["leads"], rows["owners"], strict=True
        )
    ]
    return go.Scatter(
        x=labels,
        y=rate,
        mode="lines+markers" if name != NO_RESPONSE else "markers",
        marker={"color": colour, "size": 9},
        line={"color": colour, "width": 2},
        error_y={"type": "data", "array": high - rate, "arrayminus": rate - low, "visible": True},
        name=name,
        hovertext=hover,
        hoverinfo="text",
        legendgroup=factor,
    )


def response_curve_figure(result: ResponseEffect, *, cadence: bool = True) -> go.Figure:
    """Conversion by first-response-time band (and by follow-up-cadence band) with intervals.

    The left panel joins the response-time bands with a line and shows the ``no response``
    band as a separate grey point; the right panel (``cadence=True``) shows the bands of the
    owner's touches per open week. Error bars are the result's intervals; the subtitle gives
    the trend tests and a note under the panels says the curve is an association, not an
    effect.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.response.response_effect`.
    cadence
        Add the cadence panel.

    Returns
    -------
    plotly.graph_objects.Figure
        ``scatter`` traces: response-time bands, the no-response point, then (with
        ``cadence``) the cadence bands; ``y`` is the conversion of each band.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.response import response_effect
    >>> fig = response_curve_figure(response_effect(sample.generate(1000, seed=0)))
    >>> [t.type for t in fig.data], fig.data[1].name
    (['scatter', 'scatter', 'scatter'], 'no response')
    """
    table = result.table
    factors = ["response_time", "cadence"] if cadence else ["response_time"]
    fig = make_subplots(
        rows=1,
        cols=len(factors),
        subplot_titles=[f"by {TITLES[f]}" for f in factors],
        shared_yaxes=True,
        horizontal_spacing=0.08,
    )
    colours = {"response_time": STAGE_PALETTE[3], "cadence": STAGE_PALETTE[5]}
    tests = []
    for col, factor in enumerate(factors, start=1):
        part = table.xs(factor, level="factor")
        rows = pd.DataFrame(part[part["leads"] > 0])
        graded = rows[rows.index != NO_RESPONSE]
        fig.add_trace(_trace(graded, factor, colours[factor], TITLES[factor]), row=1, col=col)
        if factor == "response_time" and NO_RESPONSE in rows.index:
            silent = rows.loc[[NO_RESPONSE]]
            fig.add_trace(
                _trace(silent, factor, OUTCOME_COLOURS["open"], NO_RESPONSE), row=1, col=col
            )
        unit = "band (elapsed hours)" if factor == "response_time" else "touches per open week"
        fig.update_xaxes(title=unit, type="category", row=1, col=col)
        trend = result.trends.loc[factor]
        if np.isfinite(trend["p_value"]):
            tests.append(
                f"{TITLES[factor]}: trend z = {trend['z']:.1f}, p = {trend['p_value']:.2g}"
            )
    subtitle = f"{' · '.join(tests)} · {result.confidence:.0%} {esc(result.method)} intervals"
    fig.update_layout(**layout("Lead conversion by response time and follow-up", subtitle))
    fig.update_layout(margin={"t": 100, "b": 110}, showlegend=False)
    fig.add_annotation(
        text=f"<i>{esc(result.caveat[:1].upper() + result.caveat[1:])}.</i>",
        xref="paper",
        yref="paper",
        x=0.0,
        y=-0.3,
        xanchor="left",
        showarrow=False,
        font={"size": 11},
        name="caveat",
    )
    fig.update_yaxes(title="lead → deal conversion", tickformat=".0%", row=1, col=1)
    return fig
