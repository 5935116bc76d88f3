"""Simulation results: cost metrics per plan, paired comparisons, winners and losers.

Built by :func:`~salesanalytics.simulation.engine.simulate` from its chunks. Cost metrics
(``docs/simulation.md``): expected total and variable pay with Monte Carlo standard errors,
cost of sales (expected pay ÷ expected credited revenue), P10/P50/P90/P99 of total pay, the
probability of exceeding a budget, expected pay at exactly 100% attainment against the target
incentive, and the *Jensen gap*: the average cost over scenarios minus the cost at average
attainment (what a spreadsheet with one average year computes; non-linear plans make the two
differ).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from ..plans.kernel import KernelInputs, payout
from ..plans.spec import Plan
from .scenario import Population, Scenario

if TYPE_CHECKING:
    from .engine import ChunkResult, PlanArrays

__all__ = ["SimulationResult", "build_result"]

F = NDArray[np.float64]
QUANTILES = (0.10, 0.50, 0.90, 0.99)


def _hist_quantiles(hist: NDArray[np.int64] | F, edges: F, qs: Sequence[float]) -> F:
    """Quantiles per row of histogram counts (linear within a bin)."""
    cum = np.cumsum(hist, axis=1)
    total = cum[:, -1:]
    out = np.empty((hist.shape[0], len(qs)))
    for j, q in enumerate(qs):
        target = q * total[:, 0]
        b = np.minimum((cum < target[:, None]).sum(axis=1), hist.shape[1] - 1)
        before = np.where(b > 0, cum[np.arange(len(b)), b - 1], 0)
        inside = hist[np.arange(len(b)), b]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(inside > 0, (target - before) / np.where(inside > 0, inside, 1), 0.0)
        out[:, j] = edges[b] + frac * (edges[b + 1] - edges[b])
    return out


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Monte Carlo results for one or more plans on the same scenarios.

    Attributes
    ----------
    plans
        The plans, baseline first.
    trials, seed
        What was run.
    per_trial
        One row per trial and plan: each pay component summed over the plan's reps,
        ``total``, ``variable``, credited ``revenue``, ``at_quota`` (share of reps at or
        above 100% attainment over the year) and any extra metrics.
    per_rep
        One row per plan and rep on the plan: ``mean_pay``, ``sd_pay``, ``mean_attainment``,
        variable pay quantiles ``variable_p10/p50/p90`` (from a histogram of 400 bins of
        1/50 of the rep's target incentive), ``target_incentive``; paired with the baseline:
        ``mean_diff``, ``sd_diff``, ``p_gain``, ``p_loss``, ``diff_p10``, ``diff_p90``.
    deterministic
        Per plan: cost at average attainment (the kernel on the mean measure) and variable
        pay at exactly 100% attainment with the target incentive it is measured against.
    population
        The reps simulated.
    cloud
        Per plan, trial and rep on the plan, for the first trials only
        (:data:`~salesanalytics.simulation.engine.CLOUD_TRIALS`): annual ``attainment``,
        ``pay`` and ``variable`` pay — the points of a payout-vs-attainment cloud.
    budget
        The budget for total pay, if given.
    """

    plans: tuple[Plan, ...]
    trials: int
    seed: int
    per_trial: pd.DataFrame
    per_rep: pd.DataFrame
    deterministic: pd.DataFrame
    population: Population
    cloud: pd.DataFrame
    budget: float | None = None
    view: str = "simulation"

    @property
    def names(self) -> list[str]:
        """Plan names, baseline first."""
        return [p.name for p in self.plans]

    def totals(self, column: str = "total") -> pd.DataFrame:
        """Trials × plans table of one per-trial column."""
        return self.per_trial.pivot(index="trial", columns="plan", values=column)[self.names]

    def cost_summary(self, confidence: float = 0.95) -> pd.DataFrame:
        """Cost metrics per plan (see the module docstring)."""
        z = stats.norm.ppf(0.5 + confidence / 2)
        rows = []
        for name in self.names:
            t = self.per_trial[self.per_trial["plan"] == name]
            total, variable, revenue = t["total"], t["variable"], t["revenue"]
            det = self.deterministic.loc[name]
            mean = float(total.mean())
            se = float(total.std(ddof=1) / np.sqrt(len(t))) if len(t) > 1 else np.nan
            row = {
                "plan": name,
                "expected_total": mean,
                "expected_total_low": mean - z * se,
                "expected_total_high": mean + z * se,
                "expected_variable": float(variable.mean()),
                "cost_of_sales": mean / float(revenue.mean()) if revenue.mean() > 0 else np.nan,
            }
            for q in QUANTILES:
                row[f"total_p{round(q * 100)}"] = float(total.quantile(q))
            row["share_at_quota"] = float(t["at_quota"].mean())
            if self.budget is not None:
                row["p_over_budget"] = float((total > self.budget).mean())
            row["cost_at_average"] = det["cost_at_average"]
            row["jensen_gap"] = mean - det["cost_at_average"]
            row["jensen_gap_share"] = row["jensen_gap"] / det["cost_at_average"]
            row["variable_at_100"] = det["variable_at_100"]
            row["target_incentive"] = det["target_incentive"]
            ti = det["target_incentive"]
            row["pay_at_100_vs_target"] = det["variable_at_100"] / ti if ti > 0 else np.nan
            rows.append(row)
        return pd.DataFrame(rows).set_index("plan")

    def compare(self, confidence: float = 0.95) -> pd.DataFrame:
        """Each plan against the baseline on the same trials: the mean difference in total
        and variable pay with its interval, the spread of the difference and the share of
        trials in which the plan costs more."""
        z = stats.norm.ppf(0.5 + confidence / 2)
        rows = []
        for column in ("total", "variable", "revenue"):
            wide = self.totals(column)
            base = wide[self.names[0]]
            for name in self.names[1:]:
                d = wide[name] - base
                se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
                rows.append(
                    {
                        "plan": name,
                        "measure": column,
                        "mean_difference": d.mean(),
                        "low": d.mean() - z * se,
                        "high": d.mean() + z * se,
                        "difference_p10": d.quantile(0.1),
                        "difference_p90": d.quantile(0.9),
                        "p_more": (d > 0).mean(),
                    }
                )
        return pd.DataFrame(rows).set_index(["plan", "measure"])

    def winners_losers(self, plan: str, *, threshold: float = 0.0) -> pd.DataFrame:
        """Per rep: how much ``plan`` pays more or less than the baseline and how likely,
        sorted from the biggest expected gain; ``outcome`` labels reps who gain or lose in
        at least 2/3 of trials (by more than ``threshold`` on average)."""
        if plan not in self.names:
            raise KeyError(f"no plan {plan!r}; plans: {self.names}")
        t = self.per_rep[self.per_rep["plan"] == plan].set_index("rep_id")
        cols = ["mean_diff", "sd_diff", "p_gain", "p_loss", "diff_p10", "diff_p90"]
        out = t[cols].sort_values("mean_diff", ascending=False)
        outcome = np.where(
            (out["p_gain"] >= 2 / 3) & (out["mean_diff"] > threshold),
            "gains",
            np.where((out["p_loss"] >= 2 / 3) & (out["mean_diff"] < -threshold), "loses", "mixed"),
        )
        return out.assign(outcome=outcome)

    @property
    def caption(self) -> str:
        """What was simulated."""
        reps = len(self.population.reps)
        return (
            f"Simulation of {len(self.plans)} plan(s) over {self.trials:,} trials "
            f"(seed {self.seed}) of {reps} reps × {len(self.population.months)} months"
        )

    def summary(self) -> pd.DataFrame:
        """The cost summary, rounded for display."""
        out = self.cost_summary().round(4)
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        body = self.summary().T.to_html(escape=True)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


def _deterministic(
    plans: Sequence[Plan], layouts: Sequence[PlanArrays], pop: Population, mean_measure: F
) -> pd.DataFrame:
    rows = []
    quota = pop.quota * pop.employed
    for plan, layout in zip(plans, layouts, strict=True):
        keep = layout.eligible
        cost = []
        for monthly in (mean_measure, quota):
            x = KernelInputs(
                measure=layout.aggregate(monthly),
                quota=layout.aggregate(quota),
                employed=layout.average(pop.employed),
                base_salary=pop.base_salary,
                target_incentive=pop.target_incentive,
                year=layout.year,
                team=layout.team,
            )
            p = payout(plan, x)
            cost.append((p.total[keep].sum(), p.variable[keep].sum()))
        ti = (pop.target_incentive[keep] * pop.employed[keep].mean(axis=1)).sum()
        months = len(pop.months) / 12
        rows.append(
            {
                "plan": plan.name,
                "cost_at_average": cost[0][0],
                "variable_at_100": cost[1][1],
                "target_incentive": ti * months,
            }
        )
    return pd.DataFrame(rows).set_index("plan")


def build_result(
    plans: Sequence[Plan],
    layouts: Sequence[PlanArrays],
    scenario: Scenario,
    parts: Sequence[ChunkResult],
    trials: int,
    seed: int,
    budget: float | None,
) -> SimulationResult:
    """Combine chunk results, in trial order, into a :class:`SimulationResult`."""
    from .engine import DIFF_BINS, PAY_BINS

    pop = scenario.population
    parts = sorted(parts, key=lambda c: c.first_trial)
    frames = []
    for i, plan in enumerate(plans):
        columns = {
            k: np.concatenate([c.per_trial[i][k] for c in parts]) for k in parts[0].per_trial[i]
        }
        frame = pd.DataFrame(columns)
        frame.insert(0, "trial", np.arange(trials))
        frame.insert(1, "plan", plan.name)
        frames.append(frame)
    per_trial = pd.concat(frames, ignore_index=True)

    def total(name: str, i: int) -> F:
        return sum((getattr(c, name)[i] for c in parts), np.zeros_like(getattr(parts[0], name)[i]))

    scale = np.where(pop.target_incentive > 0, pop.target_incentive, pop.base_salary)
    scale = np.where(scale > 0, scale, 1.0)
    rep_frames = []
    for i, (plan, layout) in enumerate(zip(plans, layouts, strict=True)):
        keep = layout.eligible
        mean = total("pay_sum", i) / trials
        var = np.maximum(total("pay_sq", i) / trials - mean**2, 0.0) * trials / max(trials - 1, 1)
        dmean = total("diff_sum", i) / trials
        dvar = (
            np.maximum(total("diff_sq", i) / trials - dmean**2, 0.0) * trials / max(trials - 1, 1)
        )
        pq = _hist_quantiles(total("pay_hist", i), PAY_BINS, (0.1, 0.5, 0.9)) * scale[:, None]
        dq = _hist_quantiles(total("diff_hist", i), DIFF_BINS, (0.1, 0.9)) * scale[:, None]
        frame = pd.DataFrame(
            {
                "plan": plan.name,
                "rep_id": pop.rep_ids,
                "mean_pay": mean,
                "sd_pay": np.sqrt(var),
                "mean_attainment": total("attain_sum", i) / trials,
                "variable_p10": pq[:, 0],
                "variable_p50": pq[:, 1],
                "variable_p90": pq[:, 2],
                "target_incentive": pop.target_incentive,
                "mean_diff": dmean,
                "sd_diff": np.sqrt(dvar),
                "p_gain": total("gains", i) / trials,
                "p_loss": total("losses", i) / trials,
                "diff_p10": dq[:, 0],
                "diff_p90": dq[:, 1],
            }
        )
        for column in ("role", "team", "region"):
            if column in pop.reps.columns:
                frame[column] = pop.reps[column].to_numpy()
        rep_frames.append(frame[keep])
    per_rep = pd.concat(rep_frames, ignore_index=True)
    mean_measure = sum((c.measure_sum for c in parts), np.zeros_like(parts[0].measure_sum))
    deterministic = _deterministic(plans, layouts, pop, mean_measure / trials)
    clouds = []
    for i, (plan, layout) in enumerate(zip(plans, layouts, strict=True)):
        pay = np.concatenate([c.cloud[i][0] for c in parts])
        variable = np.concatenate([c.cloud[i][1] for c in parts])
        attainment = np.concatenate([c.cloud[i][2] for c in parts])
        t, r = np.nonzero(np.broadcast_to(layout.eligible, pay.shape))
        clouds.append(
            pd.DataFrame(
                {
                    "plan": plan.name,
                    "trial": t,
                    "rep_id": np.asarray(pop.rep_ids)[r],
                    "attainment": attainment[t, r],
                    "pay": pay[t, r],
                    "variable": variable[t, r],
                }
            )
        )
    cloud = pd.concat(clouds, ignore_index=True)
    return SimulationResult(
        tuple(plans), trials, seed, per_trial, per_rep, deterministic, pop, cloud, budget
    )
