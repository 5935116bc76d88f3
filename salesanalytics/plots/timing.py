"""Timing figures: Kaplan–Meier time-in-stage curves and sales-cycle incidence curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..timing import SalesCycleResult, TimeInStageResult
from ._common import band, esc, pick_segment
from ._style import OUTCOME_COLOURS, layout, stage_colours

__all__ = ["sales_cycle_figure", "time_in_stage_figure"]


def time_in_stage_figure(
    result: TimeInStageResult, measure: str = "stay", segment: str | None = None
) -> go.Figure:
    """Kaplan–Meier curves of the share of deals still in each open stage, by days in it.

    Stays still running at as-of are censored, not dropped. The legend gives each stage's
    censoring-aware median with its interval and the number censored.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.timing.time_in_stage`.
    measure
        ``"stay"`` (every stay), ``"cumulative"`` or ``"latest"`` (one per deal).
    segment
        The segment to draw; needed only when the result has several.

    Returns
    -------
    plotly.graph_objects.Figure
        Two ``scatter`` traces per stage: the interval band, then the curve.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.timing import time_in_stage
    >>> fig = time_in_stage_figure(time_in_stage(sample.generate(300, seed=1)))
    >>> len(fig.data)
    8
    """
    curves = result.curves[result.curves["measure"] == measure]
    if curves.empty:
        raise ValueError(f"no curves for measure {measure!r}")
    seg = pick_segment(curves["segment"], segment)
    curves = curves[curves["segment"].astype(str) == seg]
    table = result.table[
        (result.table["measure"] == measure) & (result.table["segment"].astype(str) == seg)
    ]
    stages = list(dict.fromkeys(str(s) for s in curves["stage"]))
    colours = stage_colours(stages)
    traces: list[go.Scatter] = []
    for stage in stages:
        c = curves[curves["stage"].astype(str) == stage]
        row = table[table["stage"].astype(str) == stage]
        name = esc(stage)
        if len(row):
            r = row.iloc[0]
            name += (
                f" · median {r['median_days']:.1f} d [{r['median_low']:.1f}, "
                f"{r['median_high']:.1f}] · n {int(r['n']):,}, {int(r['censored']):,} censored"
            )
        traces.append(band(c["t_days"], c["low"], c["high"], colours[stage], esc(stage)))
        traces.append(
            go.Scatter(
                x=c["t_days"],
                y=c["estimate"],
                mode="lines",
                line={"color": colours[stage], "shape": "hv", "width": 2},
                name=name,
                legendgroup=esc(stage),
                customdata=np.column_stack([c["low"], c["high"]]),
                hovertemplate=f"<b>{esc(stage)}</b><br>day %{{x:.0f}}: %{{y:.1%}} still in stage"
                " [%{customdata[0]:.1%}, %{customdata[1]:.1%}]<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        **layout(
            f"Time in stage — {esc(seg)}",
            f"{result.view} view · measure: {esc(measure)} · Kaplan–Meier, "
            f"{result.confidence:.0%} interval · {esc(result.censoring)}",
        )
    )
    fig.update_xaxes(title="days in stage")
    fig.update_yaxes(title="share still in stage", range=[0, 1.02], tickformat=".0%")
    return fig


def sales_cycle_figure(
    result: SalesCycleResult, outcomes: Sequence[str] = ("won", "lost"), columns: int = 2
) -> go.Figure:
    """Cumulative incidence of winning and losing by days since creation, one panel per segment.

    Open deals are censored; won and lost are competing risks, so the curves of an outcome
    give the share of deals closed with that outcome by day *t* (``"closed"`` is 1 − KM).

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.timing.sales_cycle`.
    outcomes
        Which curves to draw, among ``"won"``, ``"lost"`` and ``"closed"``.
    columns
        Panels per row.

    Returns
    -------
    plotly.graph_objects.Figure
        Per segment and outcome two ``scatter`` traces: the band, then the curve.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.timing import sales_cycle
    >>> fig = sales_cycle_figure(sales_cycle(sample.generate(300, seed=1)))
    >>> len(fig.data)
    4
    """
    curves = result.curves
    segments = list(dict.fromkeys(str(s) for s in curves["segment"]))
    cols = max(1, min(columns, len(segments)))
    rows = -(-len(segments) // cols)
    seg_of = result.table["segment"].astype(str)
    titles = []
    for s in segments:
        r = result.table[seg_of == s].iloc[0]
        titles.append(
            f"<b>{esc(s)}</b><br>{int(r['deals']):,} deals, {int(r['open']):,} open · "
            f"median to close {r['median_to_close']:.0f} d"
        )
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_yaxes=True,
        subplot_titles=titles,
        horizontal_spacing=0.05,
        vertical_spacing=0.5 / rows if rows > 1 else 0.1,
    )
    colours = {**OUTCOME_COLOURS, "closed": OUTCOME_COLOURS["open"]}
    for i, seg in enumerate(segments):
        rc = {"row": i // cols + 1, "col": i % cols + 1}
        for outcome in outcomes:
            c = curves[
                (curves["segment"].astype(str) == seg) & (curves["outcome"].astype(str) == outcome)
            ]
            colour = colours.get(outcome, OUTCOME_COLOURS["open"])
            fig.add_trace(band(c["t_days"], c["low"], c["high"], colour, esc(outcome)), **rc)
            fig.add_trace(
                go.Scatter(
                    x=c["t_days"],
                    y=c["estimate"],
                    mode="lines",
                    line={"color": colour, "shape": "hv", "width": 2},
                    name=esc(outcome),
                    legendgroup=esc(outcome),
                    showlegend=i == 0,
                    customdata=np.column_stack([c["low"], c["high"], c["at_risk"]]),
                    hovertemplate=f"<b>{esc(seg)}</b> · {esc(outcome)}<br>day %{{x:.0f}}: "
                    "%{y:.1%} [%{customdata[0]:.1%}, %{customdata[1]:.1%}]"
                    "<br>at risk: %{customdata[2]:,}<extra></extra>",
                ),
                **rc,
            )
    fig.update_layout(
        **layout(
            "Sales cycle: share of deals won and lost by days since creation",
            f"{result.view} view · cumulative incidence with {result.confidence:.0%} interval"
            f" · {esc(result.censoring)}",
        )
    )
    fig.update_layout(height=max(420, 340 * rows + 160), margin={"t": 135})
    fig.update_xaxes(title="days since created")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="share of deals", col=1)
    return fig
