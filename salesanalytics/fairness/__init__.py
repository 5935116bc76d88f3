"""Fairness analytics of commission plans, on backtests and simulations alike.

* :mod:`.metrics` — the metrics on ``(trials, reps)`` arrays (pure numpy/scipy);
* :func:`fairness_metrics` — the per-trial metric to pass to ``simulate(..., metrics=[...])``;
* :func:`fairness` — a :class:`FairnessResult` of a backtest (bootstrap intervals) or a
  simulation (P5–P95 over scenarios);
* :func:`five_analyses` — the SMA/Buck five analyses, per plan and side by side.

Definitions, formulas and caveats: ``docs/fairness.md``.
"""

from .analyses import FiveAnalyses, five_analyses
from .metrics import BANDS
from .points import rep_points
from .report import FairnessResult, fairness
from .trial import METRICS, FairnessMetric, fairness_metrics

__all__ = [
    "BANDS",
    "METRICS",
    "FairnessMetric",
    "FairnessResult",
    "FiveAnalyses",
    "fairness",
    "fairness_metrics",
    "five_analyses",
    "rep_points",
]
