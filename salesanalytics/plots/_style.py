"""Shared look of every figure: one colour per stage and per outcome, readable fonts."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["OUTCOME_COLOURS", "STAGE_PALETTE", "layout", "stage_colours"]

# A sequential blue ramp for open stages (earlier = lighter), fixed colours for outcomes, so
# the same stage or outcome has the same colour in every figure.
STAGE_PALETTE = ("#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
OUTCOME_COLOURS = {"won": "#2ca02c", "lost": "#d62728", "open": "#7f7f7f"}


def stage_colours(stages: Sequence[str], won: str = "won", lost: str = "lost") -> dict[str, str]:
    """Colour per stage: a blue ramp over the open stages, green for won, red for lost.

    Examples
    --------
    >>> stage_colours(["lead", "proposal"])["won"]
    '#2ca02c'
    """
    n = len(STAGE_PALETTE)
    colours = {
        s: STAGE_PALETTE[min(n - 1, round(i * (n - 1) / max(1, len(stages) - 1)))]
        for i, s in enumerate(stages)
    }
    colours[won] = OUTCOME_COLOURS["won"]
    colours[lost] = OUTCOME_COLOURS["lost"]
    return colours


def layout(title: str, subtitle: str | None = None) -> dict[str, object]:
    """Common layout: title with an optional subtitle saying what the figure shows."""
    text = title if subtitle is None else f"{title}<br><sup>{subtitle}</sup>"
    return {
        "title": {"text": text, "x": 0.0, "xanchor": "left"},
        "template": "plotly_white",
        "font": {"size": 13},
        "margin": {"l": 70, "r": 30, "t": 80, "b": 50},
        "hoverlabel": {"namelength": -1},
    }
