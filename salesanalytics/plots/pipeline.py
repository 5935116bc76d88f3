"""Pipeline figures: a period waterfall and the open pipeline over time by stage."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import plotly.graph_objects as go

from ..pipeline import PipelineSnapshot, Waterfall
from ._common import KIND_COLOURS, esc
from ._style import OUTCOME_COLOURS, STAGE_PALETTE, layout, stage_colours

__all__ = ["WATERFALL_STEPS", "pipeline_area_figure", "waterfall_figure"]

# (column prefix, label, sign) of each bar; opening and closing are levels, the rest moves.
WATERFALL_STEPS = (
    ("opening", "opening", 0),
    ("created", "+ created", 1),
    ("reopened", "+ reopened", 1),
    ("won", "− won", -1),
    ("lost", "− lost", -1),
    ("closing", "closing", 0),
)
_STEP_COLOURS = {
    "opening": OUTCOME_COLOURS["open"],
    "created": STAGE_PALETTE[2],
    "reopened": KIND_COLOURS["reopen"],
    "won": OUTCOME_COLOURS["won"],
    "lost": OUTCOME_COLOURS["lost"],
    "closing": OUTCOME_COLOURS["open"],
}


def _segment_rows(table: pd.DataFrame, by: str | None, segment: str | None) -> pd.DataFrame:
    if by is None or by not in table.columns:
        return table
    values = list(dict.fromkeys(str(v) for v in table[by]))
    if segment is None or segment not in values:
        raise ValueError(f"the result is split by {by!r}: pass segment= one of {values}")
    return table[table[by].astype(str) == segment]


def waterfall_figure(
    result: Waterfall,
    period: str | None = None,
    measure: Literal["count", "value"] = "count",
    segment: str | None = None,
) -> go.Figure:
    """Waterfall of one period: opening, + created, + reopened, − won, − lost, closing.

    Floating bars: each move starts where the previous bar ended, so the last bar
    lands on the closing pipeline. Moves between open stages (advanced, moved back)
    leave the total unchanged and are given in the hover of the closing bar.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.pipeline.waterfall`.
    period
        The period label (such as ``"2025-Q3"``); by default the last complete period.
    measure
        ``"count"`` (deals) or ``"value"`` (amount).
    segment
        The segment to draw, needed when the result was split with ``by=``.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``bar`` trace with six bars (``y`` = size, ``base`` = where it starts).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.pipeline import waterfall
    >>> fig = waterfall_figure(waterfall(sample.generate(300, seed=1), period="quarter"))
    >>> len(fig.data[0].x)
    6
    """
    if measure not in ("count", "value"):
        raise ValueError(f"measure must be 'count' or 'value', not {measure!r}")
    t = _segment_rows(result.table, result.by, segment)
    if period is None:
        complete = t[~t["partial"].astype(bool)]
        row = (complete if len(complete) else t).iloc[-1]
    else:
        match = t[t["period"].astype(str) == period]
        if match.empty:
            raise ValueError(f"no period {period!r}; choose one of {list(t['period'])}")
        row = match.iloc[0]
    sizes, bases, level = [], [], 0.0
    for key, _, sign in WATERFALL_STEPS:
        v = float(row[f"{key}_{measure}"])
        if sign == 0:
            sizes.append(v)
            bases.append(0.0)
            level = v
        else:
            level_after = level + sign * v
            sizes.append(v)
            bases.append(min(level, level_after))
            level = level_after
    fmt = "{:,.0f}"
    moves = (
        f"<br>within the pipeline: {fmt.format(float(row[f'advanced_{measure}']))} advanced, "
        f"{fmt.format(float(row[f'moved_back_{measure}']))} moved back"
        f"<br>balanced: {bool(row['balanced'])}"
    )
    hover = [
        f"<b>{label}</b>: {fmt.format(v)}" + (moves if key == "closing" else "")
        for (key, label, _), v in zip(WATERFALL_STEPS, sizes, strict=True)
    ]
    unit = "deals" if measure == "count" else "amount"
    fig = go.Figure(
        go.Bar(
            x=[label for _, label, _ in WATERFALL_STEPS],
            y=sizes,
            base=bases,
            marker_color=[_STEP_COLOURS[key] for key, _, _ in WATERFALL_STEPS],
            text=[fmt.format(v) for v in sizes],
            textposition="outside",
            hovertext=hover,
            hoverinfo="text",
        )
    )
    label = esc(row["period"]) + (" (partial)" if bool(row["partial"]) else "")
    where = f" — {esc(segment)}" if segment is not None else ""
    fig.update_layout(
        **layout(
            f"Open pipeline waterfall, {label}{where}",
            f"{result.view} view · {unit} · opening at "
            f"{pd.Timestamp(row['period_start']):%Y-%m-%d}, closing at "
            f"{pd.Timestamp(row['measured_at']):%Y-%m-%d}",
        ),
        showlegend=False,
    )
    fig.update_xaxes(title="movement")
    fig.update_yaxes(title=f"open pipeline ({unit})")
    return fig


def pipeline_area_figure(
    result: PipelineSnapshot,
    measure: Literal["count", "value"] = "count",
    segment: str | None = None,
) -> go.Figure:
    """Stacked area of the open pipeline over time, one band per open stage.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.pipeline.pipeline_over_time`.
    measure
        ``"count"`` (deals) or ``"value"`` (amount).
    segment
        The segment to draw, needed when the result was split with ``by=``.

    Returns
    -------
    plotly.graph_objects.Figure
        One stacked ``scatter`` trace per stage, in stage order.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.pipeline import pipeline_over_time
    >>> fig = pipeline_area_figure(pipeline_over_time(sample.generate(300, seed=1)))
    >>> [trace.name for trace in fig.data]
    ['lead', 'contacted', 'proposal', 'negotiation']
    """
    if measure not in ("count", "value"):
        raise ValueError(f"measure must be 'count' or 'value', not {measure!r}")
    t = _segment_rows(result.table, result.by, segment)
    stages = list(dict.fromkeys(str(s) for s in t["stage"]))
    colours = stage_colours(stages)
    unit = "deals" if measure == "count" else "amount"
    traces = []
    for stage in stages:
        s = t[t["stage"].astype(str) == stage]
        traces.append(
            go.Scatter(
                x=s["when"],
                y=s[measure].to_numpy(dtype=float),
                name=esc(stage),
                mode="lines",
                stackgroup="pipeline",
                line={"color": colours[stage], "width": 0.5},
                fillcolor=colours[stage],
                customdata=[esc(p) for p in s["period"]],
                hovertemplate=f"<b>{esc(stage)}</b> · %{{customdata}}<br>"
                f"%{{y:,.0f}} {unit}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    where = f" — {esc(segment)}" if segment is not None else ""
    fig.update_layout(
        **layout(
            f"Open pipeline by stage over time{where}",
            f"{esc(result.view)} view: the open pipeline at each period start · {unit}",
        ),
        hovermode="x unified",
    )
    fig.update_xaxes(title="period start")
    fig.update_yaxes(title=f"open pipeline ({unit})")
    return fig
