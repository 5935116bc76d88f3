"""Funnel figures: reach per stage with conversion intervals."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from ..funnel import FunnelResult
from ._style import layout, stage_colours

__all__ = ["funnel_figure"]


def funnel_figure(result: FunnelResult) -> go.Figure:
    """Horizontal bars of deals reaching each stage, with step conversion and its interval.

    The hover text gives reach, the share still open, and the step and cumulative
    conversion with their 95% intervals. The subtitle names the view and reach policy.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.funnel import stage_reach
    >>> fig = funnel_figure(stage_reach(sample.generate(300, seed=1)))
    >>> [bar.type for bar in fig.data]
    ['bar']
    """
    t = result.table.reset_index()
    stages = [str(s) for s in t["stage"]]
    colours = stage_colours(stages[:-1], won=stages[-1])
    step = t["step_conversion"].to_numpy(dtype=float)
    labels = [
        f"{int(r):,}" if np.isnan(c) else f"{int(r):,} · {c:.0%} of previous"
        for r, c in zip(t["reached"], step, strict=True)
    ]
    hover = [
        (
            f"<b>{html.escape(s)}</b><br>reached: {int(r):,} deals ({int(o):,} still open)"
            + ("" if np.isnan(c) else f"<br>step conversion: {c:.1%} [{lo:.1%}, {hi:.1%}]")
            + f"<br>cumulative: {cc:.1%} [{clo:.1%}, {chi:.1%}]"
        )
        for s, r, o, c, lo, hi, cc, clo, chi in zip(
            stages,
            t["reached"],
            t["still_open"],
            step,
            t["step_low"],
            t["step_high"],
            t["cumulative_conversion"],
            t["cumulative_low"],
            t["cumulative_high"],
            strict=True,
        )
    ]
    fig = go.Figure(
        go.Bar(
            x=t["reached"],
            y=[html.escape(s) for s in stages],
            orientation="h",
            marker_color=[colours[s] for s in stages],
            text=labels,
            textposition="auto",
            hovertext=hover,
            hoverinfo="text",
        )
    )
    fig.update_layout(
        **layout(
            "Deals reaching each stage",
            f"{result.view} view · {result.policy} reach · {result.deals:,} deals · "
            "bars: deals; labels: step conversion (95% Wilson interval in hover)",
        )
    )
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title="deals")
    return fig
