"""Segment figures: a conversion heatmap of segment × stage."""

from __future__ import annotations

from typing import Literal

import numpy as np
import plotly.graph_objects as go

from ..funnel import FunnelResult
from ._common import esc
from ._style import layout

__all__ = ["conversion_heatmap"]


def conversion_heatmap(
    result: FunnelResult, measure: Literal["cumulative", "step"] = "cumulative"
) -> go.Figure:
    """Heatmap of conversion by segment (rows) and stage (columns).

    Colour is the cumulative conversion (share of the segment's deals reaching the stage)
    or the step conversion (share of the previous stage reaching it). Cells resting on
    fewer than ``result.min_n`` deals are labelled with ``*``; the hover gives n, the
    rate and its interval.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.funnel.stage_reach`, usually with ``by=``.
    measure
        ``"cumulative"`` or ``"step"`` conversion.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``heatmap`` trace; ``z`` has one row per segment and one column per stage.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.funnel import stage_reach
    >>> fig = conversion_heatmap(stage_reach(sample.generate(300, seed=1), by="region"))
    >>> fig.data[0].type
    'heatmap'
    """
    if measure not in ("cumulative", "step"):
        raise ValueError(f"measure must be 'cumulative' or 'step', not {measure!r}")
    t = result.table.reset_index()
    by = list(result.by)
    stages = list(dict.fromkeys(str(s) for s in t["stage"]))
    if by:
        keys = [tuple(str(v) for v in row) for row in t[by].itertuples(index=False)]
    else:
        keys = [("all deals",)] * len(t)
    segments = list(dict.fromkeys(keys))
    row_of = {k: i for i, k in enumerate(segments)}
    col_of = {s: j for j, s in enumerate(stages)}
    shape = (len(segments), len(stages))
    z = np.full(shape, np.nan)
    text = [["" for _ in stages] for _ in segments]
    hover = [["" for _ in stages] for _ in segments]
    rate = t[f"{measure}_conversion"].to_numpy(dtype=float)
    low = t[f"{measure}_low"].to_numpy(dtype=float)
    high = t[f"{measure}_high"].to_numpy(dtype=float)
    n = t[f"{measure}_n"].to_numpy()
    reached = t["reached"].to_numpy()
    small = t["small_n"].to_numpy(dtype=bool)
    for k, (key, stage) in enumerate(zip(keys, t["stage"], strict=True)):
        i, j = row_of[key], col_of[str(stage)]
        z[i, j] = rate[k]
        label = " · ".join(esc(v) for v in key)
        if np.isnan(rate[k]):
            hover[i][j] = f"<b>{label}</b><br>{esc(stage)}: first stage, no step conversion"
            continue
        text[i][j] = f"{rate[k]:.0%}" + ("*" if small[k] else "")
        hover[i][j] = (
            f"<b>{label}</b> · {esc(stage)}<br>{measure} conversion: {rate[k]:.1%} "
            f"[{low[k]:.1%}, {high[k]:.1%}]<br>reached: {int(reached[k]):,} of n = {int(n[k]):,}"
            + (f"<br>* small n (< {result.min_n})" if small[k] else "")
        )
    ylabels = [" · ".join(esc(v) for v in key) for key in segments]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[esc(s) for s in stages],
            y=ylabels,
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
            hoverinfo="text",
            colorscale="Blues",
            zmin=0.0,
            zmax=1.0,
            colorbar={"title": {"text": f"{measure}<br>conversion"}, "tickformat": ".0%"},
            xgap=2,
            ygap=2,
        )
    )
    segment_name = " × ".join(esc(b) for b in by) if by else "all deals"
    fig.update_layout(
        **layout(
            f"{measure.capitalize()} conversion by {segment_name}",
            f"{result.view} view · {result.policy} reach · {result.deals:,} deals · "
            f"* fewer than {result.min_n} deals · {result.confidence:.0%} "
            f"{esc(result.method)} interval in hover",
        )
    )
    fig.update_xaxes(title="stage")
    fig.update_yaxes(title=segment_name, autorange="reversed")
    return fig
