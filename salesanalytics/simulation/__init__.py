"""Monte Carlo plan simulation: scenarios, the chunked engine and its results.

``simulate(plans, scenario, trials, seed)`` evaluates plans with the one payout kernel of
:mod:`salesanalytics.plans` on scenarios drawn with common random numbers. See
``docs/simulation.md``.
"""

from .calibrate import Calibration, calibrate, frontier
from .engine import BLOCK, TrialMetric, TrialView, simulate
from .history import HistoryScenario
from .result import SimulationResult
from .scenario import (
    Adjusted,
    AttainmentScenario,
    Beta,
    Empirical,
    LogNormal,
    Normal,
    Population,
    Sample,
    Scenario,
)

__all__ = [
    "BLOCK",
    "Adjusted",
    "AttainmentScenario",
    "Beta",
    "Calibration",
    "Empirical",
    "HistoryScenario",
    "LogNormal",
    "Normal",
    "Population",
    "Sample",
    "Scenario",
    "SimulationResult",
    "TrialMetric",
    "TrialView",
    "calibrate",
    "frontier",
    "simulate",
]
