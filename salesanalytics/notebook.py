"""Small helpers for the notebooks: each one call, so a notebook cell holds no logic.

Pure functions (no display, no files): the notebooks in ``notebooks/`` call them, for
instance from an ``ipywidgets.interact`` control, and show what they return.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .dataset import Dataset
from .fairness import fairness_metrics
from .fairness.gaming import scan_plan_for
from .plans import Backtest, Plan, evaluate
from .simulation import Scenario, simulate

__all__ = ["COST_ROWS", "FAIRNESS_ROWS", "NO_RISK", "backtests", "plan_what_if", "scan_plans"]

#: The ``what`` of :func:`scan_plans` for a plan with nothing to game.
NO_RISK = "no cliff or kink found (not scanned: team pools, SPIFFs, clawbacks and rate cards)"

#: Cost summary rows shown by :func:`plan_what_if` (see ``docs/simulation.md``).
COST_ROWS = (
    "expected_total",
    "expected_variable",
    "cost_of_sales",
    "total_p90",
    "pay_at_100_vs_target",
)
#: Fairness rows shown by :func:`plan_what_if` (means over trials; see ``docs/fairness.md``).
FAIRNESS_ROWS = (
    "rank_correlation",
    "inversion_rate",
    "band_gini",
    "gini",
    "leverage",
    "luck_share",
)


def plan_what_if(
    plan: Plan,
    scenario: Scenario,
    *,
    rate_scale: float = 1.0,
    cap: float | None = None,
    trials: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Cost and fairness of ``plan`` and of a variant with scaled rates and another cap.

    Both plans are simulated on the same trials (common random numbers), so the
    ``change`` column is the effect of the edit, not simulation noise.

    Parameters
    ----------
    plan
        A plan with a commission.
    scenario
        The scenario to simulate (for instance ``HistoryScenario.from_history(ds)``).
    rate_scale
        Factor applied to every commission tier rate of the variant (1.0 keeps them).
    cap
        The variant's ``commission.cap_attainment`` (attainment above which the measure earns
        nothing more, e.g. ``2.0`` for 200%); ``None`` keeps the plan's, ``float("inf")``
        removes the cap.
    trials, seed
        Simulation size and seed.

    Returns
    -------
    pandas.DataFrame
        One row per measure (:data:`COST_ROWS`, then :data:`FAIRNESS_ROWS` as means over
        trials); columns: the plan as it is (its name), the variant (``<name> (what-if)``)
        and ``change`` (variant − plan). ``attrs["caption"]`` says what the variant changes.

    Raises
    ------
    ValueError
        When the plan has no commission to edit, or ``rate_scale`` is not positive.
    salesanalytics.plans.PlanError
        When the edit makes the plan invalid (a rate above the absurd limit, a cap at or
        below the gate).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.io import read_plan
    >>> from salesanalytics.simulation import HistoryScenario
    >>> ds = sample.generate(600, seed=0)
    >>> plan = read_plan("data/sample/plans/flat-rate.toml")
    >>> table = plan_what_if(plan, HistoryScenario.from_history(ds), rate_scale=1.1, trials=32)
    >>> list(table.columns)
    ['flat-rate', 'flat-rate (what-if)', 'change']
    >>> pay = table.loc["expected_variable"]
    >>> ratio = pay["flat-rate (what-if)"] / pay["flat-rate"]
    >>> round(float(ratio), 6)   # a flat rate: 10% more rate pays exactly 10% more
    1.1
    >>> table.attrs["caption"]
    'flat-rate: commission rates × 1.1, cap unchanged (inf); 32 trials, seed 0'
    """
    if plan.commission is None:
        raise ValueError(f"plan {plan.name!r} has no commission to edit")
    if not rate_scale > 0:
        raise ValueError(f"rate_scale must be positive, got {rate_scale!r}")
    changes: dict[str, float] = {
        f"commission.tiers.{i}.rate": tier.rate * rate_scale
        for i, tier in enumerate(plan.commission.tiers)
    }
    if cap is not None:
        changes["commission.cap_attainment"] = float(cap)
    variant = plan.replace(name=f"{plan.name} (what-if)", **changes)
    metric = fairness_metrics(scenario.population)
    result = simulate([plan, variant], scenario, trials=trials, seed=seed, metrics=[metric])
    summary = result.cost_summary()
    means = result.per_trial.groupby("plan", sort=False)[list(FAIRNESS_ROWS)].mean()
    out = pd.DataFrame(
        {
            name: pd.concat(
                [summary.loc[name, list(COST_ROWS)], means.loc[name, list(FAIRNESS_ROWS)]]
            ).astype(float)
            for name in (plan.name, variant.name)
        }
    )
    out.index.name = "measure"
    out["change"] = out[variant.name] - out[plan.name]
    cap_text = (
        f"cap {cap:g}" if cap is not None else f"cap unchanged ({plan.commission.cap_attainment:g})"
    )
    out.attrs["caption"] = (
        f"{plan.name}: commission rates × {rate_scale:g}, {cap_text}; {trials} trials, seed {seed}"
    )
    return out


def backtests(
    plans: Sequence[Plan],
    ds: Dataset,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> list[Backtest]:
    """:func:`salesanalytics.plans.evaluate` of every plan on ``ds`` over one window.

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.io import read_plans
    >>> ds = sample.generate(600, seed=0)
    >>> plans = read_plans(["data/sample/plans/current.toml", "data/sample/plans/flat-rate.toml"])
    >>> [bt.plan.name for bt in backtests(plans, ds)]
    ['current', 'flat-rate']
    """
    return [evaluate(plan, ds, start=start, end=end) for plan in plans]


def scan_plans(plans: Sequence[Plan], ds: Dataset, *, top: int = 3) -> pd.DataFrame:
    """The ``top`` gaming risks of every plan (:func:`~.fairness.gaming.scan_plan_for`).

    Returns
    -------
    pandas.DataFrame
        Per plan its ``top`` rows by money at stake: ``plan``, ``rank``, ``attainment``,
        ``move``, ``at_stake``, ``per_year`` and the sentence ``what``. A plan without a
        cliff or kink (a flat rate) has one row saying so, with no rank (``rank`` is a
        nullable integer).

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.io import read_plans
    >>> ds = sample.generate(600, seed=0)
    >>> plans = read_plans(["data/sample/plans/current.toml", "data/sample/plans/flat-rate.toml"])
    >>> table = scan_plans(plans, ds, top=2)
    >>> table["plan"].tolist()
    ['current', 'current', 'flat-rate']
    >>> table["rank"].tolist()
    [1, 2, <NA>]
    >>> table["what"].iloc[-1] == NO_RISK
    True
    """
    frames = []
    for plan in plans:
        scan = scan_plan_for(plan, ds).table.sort_values("rank").head(top)
        if scan.empty:
            scan = pd.DataFrame({"what": [NO_RISK]})
        frames.append(scan.assign(plan=plan.name))
    out = pd.concat(frames, ignore_index=True)
    out["rank"] = out["rank"].astype("Int64")
    columns = ["plan", "rank", "attainment", "move", "at_stake", "per_year", "what"]
    return out[[c for c in columns if c in out.columns]]
