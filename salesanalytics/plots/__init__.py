"""Plotly figures: pure functions from result objects to figures.

Figures never call ``.show()`` and never write files; only this package imports plotly.
Every data-derived string in labels and hover text is HTML-escaped.
"""

from .cohorts import cohort_figure
from .design import frontier_figure, gaming_table_figure
from .fairness import (
    fairness_bars_figure,
    five_analyses_figures,
    lorenz_figure,
    pay_performance_figure,
)
from .flows import transition_sankey, win_probability_figure
from .funnel import funnel_figure
from .pipeline import pipeline_area_figure, waterfall_figure
from .plans import payout_components_figure, payout_curve_figure, statement_table_figure
from .scoring import score_calibration_figure
from .segments import conversion_heatmap
from .simulation import (
    comparison_table_figure,
    cost_distribution_figure,
    payout_cloud_figure,
    rep_pay_range_figure,
)
from .sop import response_curve_figure
from .sources import source_bubble_figure, source_ranking_figure, source_trend_figure
from .timing import sales_cycle_figure, time_in_stage_figure

__all__ = [
    "cohort_figure",
    "comparison_table_figure",
    "conversion_heatmap",
    "cost_distribution_figure",
    "fairness_bars_figure",
    "five_analyses_figures",
    "frontier_figure",
    "funnel_figure",
    "gaming_table_figure",
    "lorenz_figure",
    "pay_performance_figure",
    "payout_cloud_figure",
    "payout_components_figure",
    "payout_curve_figure",
    "pipeline_area_figure",
    "rep_pay_range_figure",
    "response_curve_figure",
    "sales_cycle_figure",
    "score_calibration_figure",
    "source_bubble_figure",
    "source_ranking_figure",
    "source_trend_figure",
    "statement_table_figure",
    "time_in_stage_figure",
    "transition_sankey",
    "waterfall_figure",
    "win_probability_figure",
]
