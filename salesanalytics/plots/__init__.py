"""Plotly figures: pure functions from result objects to figures.

Figures never call ``.show()`` and never write files; only this package imports plotly.
"""

from .funnel import funnel_figure

__all__ = ["funnel_figure"]
