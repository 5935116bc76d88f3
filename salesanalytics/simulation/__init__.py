"""Monte Carlo plan simulation: scenarios, the chunked engine and its results.

``simulate(plans, scenario, trials, seed)`` evaluates plans with the one payout kernel of
:mod:`salesanalytics.plans` on scenarios drawn with common random numbers. See
``docs/simulation.md``.
"""

from .engine import BLOCK, TrialMetric, TrialView, simulate
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
    "Empirical",
    "LogNormal",
    "Normal",
    "Population",
    "Sample",
    "Scenario",
    "SimulationResult",
    "TrialMetric",
    "TrialView",
    "simulate",
]
