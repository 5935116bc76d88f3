"""Lead-score figures: calibration of the score (observed vs predicted) and conversion by band."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..scoring import ScoreValidation
from ._common import esc
from ._style import OUTCOME_COLOURS, layout

__all__ = ["score_calibration_figure"]

OBSERVED = "#1f77b4"


def _error(frame: pd.DataFrame, mid: str) -> dict[str, object]:
    """Asymmetric error bars from the ``low`` and ``high`` columns around ``mid``."""
    value = frame[mid].to_numpy(dtype=float)
    return {
        "type": "data",
        "symmetric": False,
        "array": frame["high"].to_numpy(dtype=float) - value,
        "arrayminus": value - frame["low"].to_numpy(dtype=float),
        "thickness": 1.5,
    }


def score_calibration_figure(result: ScoreValidation, *, bands: bool = True) -> go.Figure:
    """Calibration plot of a lead score, with conversion by score band beside it.

    Left: per calibration group (deciles of the probability predicted by the logistic fit
    of the outcome on the score), the observed rate with its interval against the mean
    predicted probability, and the diagonal of perfect calibration. Right (``bands``): the
    observed rate per score band as bars with intervals, and the mean predicted
    probability per band as a line. The subtitle gives the AUC, the Hosmer–Lemeshow p-value
    and the reminder that these are associations.

    Parameters
    ----------
    result
        Output of :func:`salesanalytics.scoring.score_validation`.
    bands
        Add the conversion-by-band panel.

    Returns
    -------
    plotly.graph_objects.Figure
        ``scatter`` traces: the diagonal, then the observed rate per group; with ``bands``
        also a ``bar`` (rate per band) and a ``scatter`` (predicted per band).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.scoring import score_validation
    >>> fig = score_calibration_figure(score_validation(sample.generate(300, seed=1)))
    >>> [trace.type for trace in fig.data]
    ['scatter', 'scatter', 'bar', 'scatter']
    """
    c, t = result.calibration, result.table
    what = esc(result.outcome)
    interval = f"{result.confidence:.0%} {esc(result.method)} interval"
    if bands:
        fig = make_subplots(
            rows=1,
            cols=2,
            column_widths=[0.55, 0.45],
            horizontal_spacing=0.1,
            subplot_titles=("calibration by decile of prediction", "conversion by score band"),
        )
        left: dict[str, int] = {"row": 1, "col": 1}
    else:
        fig, left = go.Figure(), {}
    top = float(np.nanmax(np.r_[c["high"].to_numpy(dtype=float), c["predicted"], 0.05]))
    fig.add_trace(
        go.Scatter(
            x=[0.0, top],
            y=[0.0, top],
            mode="lines",
            name="perfect calibration",
            line={"color": OUTCOME_COLOURS["open"], "dash": "dash", "width": 1},
            hoverinfo="skip",
        ),
        **left,
    )
    group_hover = [
        f"<b>group {g}</b> · score {lo:g}–{hi:g}<br>observed: {obs:.1%} [{low:.1%}, {high:.1%}] "
        f"({int(k):,} of {int(n):,} leads)<br>predicted: {p:.1%}"
        for g, lo, hi, obs, low, high, k, n, p in zip(
            c.index, c["score_low"], c["score_high"], c["observed"], c["low"], c["high"],
            c["converted"], c["leads"], c["predicted"], strict=True,
        )
    ]  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=c["predicted"].to_numpy(dtype=float),
            y=c["observed"].to_numpy(dtype=float),
            mode="markers",
            name=f"observed {what} rate",
            marker={"size": 9, "color": OBSERVED},
            error_y=_error(c, "observed"),
            hovertext=group_hover,
            hoverinfo="text",
        ),
        **left,
    )
    axis = {"tickformat": ".0%", "rangemode": "tozero"}
    fig.update_xaxes(title="predicted probability (logistic fit on the score)", **axis, **left)
    fig.update_yaxes(title=f"observed {what} rate", **axis, **left)
    if bands:
        labels = [esc(b) for b in t.index]
        band_hover = [
            f"<b>score {b}</b><br>{what} rate: {r:.1%} [{low:.1%}, {high:.1%}]<br>"
            f"{int(k):,} of {int(n):,} leads · mean score {m:.1f}"
            for b, r, low, high, k, n, m in zip(
                labels, t["rate"], t["low"], t["high"], t["converted"], t["leads"],
                t["mean_score"], strict=True,
            )
        ]  # fmt: skip
        fig.add_trace(
            go.Bar(
                x=labels,
                y=t["rate"].to_numpy(dtype=float),
                name=f"{what} rate by band",
                marker={"color": OBSERVED, "opacity": 0.6},
                error_y=_error(t, "rate"),
                hovertext=band_hover,
                hoverinfo="text",
            ),
            row=1,
            col=2,
        )
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=t["predicted"].to_numpy(dtype=float),
                mode="lines+markers",
                name="predicted by band",
                line={"color": OUTCOME_COLOURS["won"]},
            ),
            row=1,
            col=2,
        )
        fig.update_xaxes(title="score band", row=1, col=2)
        fig.update_yaxes(title=f"{what} rate", tickformat=".0%", row=1, col=2)
    a, hl = result.auc, result.hosmer_lemeshow
    fig.update_layout(
        **layout(
            f"Lead score calibration: {what} rate",
            f"{result.leads:,} leads · AUC {a.value:.3f} [{a.low:.3f}, {a.high:.3f}] · "
            f"Hosmer–Lemeshow p = {hl.p_value:.3g} · {interval} · associations, not effects",
        )
    )
    return fig
