"""Small helpers shared by the figure modules: escaping, translucent colours, interval bands."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ._style import OUTCOME_COLOURS

__all__ = ["KIND_COLOURS", "band", "esc", "pick_segment", "rgba"]

# Colour per kind of stage transition, shared by every flow figure.
KIND_COLOURS = {
    "forward": "#6baed6",
    "skip": "#9467bd",
    "regression": "#ff7f0e",
    "win": OUTCOME_COLOURS["won"],
    "loss": OUTCOME_COLOURS["lost"],
    "reopen": "#8c564b",
}


def esc(value: object) -> str:
    """Text of a data value, HTML-escaped so that markup in data stays text."""
    return html.escape(str(value))


def rgba(colour: str, alpha: float) -> str:
    """A ``#rrggbb`` colour as an ``rgba(...)`` string with the given opacity."""
    c = colour.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def band(
    x: Sequence[float] | np.ndarray | pd.Series,
    low: Sequence[float] | np.ndarray | pd.Series,
    high: Sequence[float] | np.ndarray | pd.Series,
    colour: str,
    group: str,
) -> go.Scatter:
    """A shaded interval band (one closed polygon), grouped with its line in the legend."""
    xs = np.asarray(x, dtype=float)
    lo = np.asarray(low, dtype=float)
    hi = np.asarray(high, dtype=float)
    return go.Scatter(
        x=np.concatenate([xs, xs[::-1]]),
        y=np.concatenate([hi, lo[::-1]]),
        fill="toself",
        fillcolor=rgba(colour, 0.18),
        line={"width": 0},
        hoverinfo="skip",
        showlegend=False,
        legendgroup=group,
        name=f"{group} interval",
    )


def pick_segment(segments: pd.Series, segment: str | None) -> str:
    """The one segment to draw: ``segment`` if given (must exist), else the only one."""
    values = list(dict.fromkeys(str(s) for s in segments))
    if segment is not None:
        if segment not in values:
            raise ValueError(f"no segment {segment!r}; choose one of {values}")
        return segment
    if len(values) != 1:
        raise ValueError(f"several segments {values}: pass segment= to choose one")
    return values[0]


def plotly_js() -> str:
    """The plotly.js library shipped with the plotly package, for embedding in a page once."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())
