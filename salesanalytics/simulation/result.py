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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from .._ratio import ratio
from ..plans.kernel import KernelInputs, payout
from ..plans.spec import Plan
from .chunk import DIFF_BINS, PAY_BINS, add_counts
from .scenario import Population, Scenario

if TYPE_CHECKING:
    from .chunk import ChunkResult, PlanArrays

__all__ = ["Accumulator", "SimulationResult"]

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
        frac = ratio(target - before, inside)
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
    responses
        Behavioural what-ifs applied (none by default); the caption states them.
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
    responses: tuple[Any, ...] = ()
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
        text = (
            f"Simulation of {len(self.plans)} plan(s) over {self.trials:,} trials "
            f"(seed {self.seed}) of {reps} reps × {len(self.population.months)} months"
        )
        if self.responses:
            from .behaviour import note

            text += f"; {note(self.responses)}"
        return text

    def summary(self) -> pd.DataFrame:
        """The cost summary, rounded for display."""
        out = self.cost_summary().round(4)
        out.attrs = {"view": self.view, "caption": self.caption}
        return out

    def _repr_html_(self) -> str:
        body = self.summary().T.to_html(escape=True)
        return f"<p><strong>{html.escape(self.caption)}</strong></p>{body}"


def _deterministic(
    plans: Sequence[Plan],
    layouts: Sequence[PlanArrays],
    pop: Population,
    average: tuple[F, F, F],
) -> pd.DataFrame:
    """Per plan: total pay at the average measure, quota and employment of the trials (the
    one-scenario spreadsheet), and variable pay at exactly 100% attainment with everyone
    employed as planned."""
    rows = []
    quota = pop.quota * pop.employed
    for plan, layout in zip(plans, layouts, strict=True):
        keep = layout.eligible
        cost = []
        for monthly, q, employed in (average, (quota, quota, pop.employed)):
            x = KernelInputs(
                measure=layout.aggregate(monthly),
                quota=layout.aggregate(q),
                employed=layout.average(employed),
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


class Accumulator:
    """Folds chunk results, in trial order, into running totals; :meth:`result` builds the
    :class:`SimulationResult`. Only per-trial rows and the first trials' points grow with the
    number of trials; everything per rep has a fixed size."""

    def __init__(
        self,
        plans: Sequence[Plan],
        layouts: Sequence[PlanArrays],
        scenario: Scenario,
        trials: int,
        seed: int,
        budget: float | None,
        responses: tuple[Any, ...] = (),
    ) -> None:
        self.plans, self.layouts, self.scenario = tuple(plans), tuple(layouts), scenario
        self.responses = responses
        self.trials, self.seed, self.budget = trials, seed, budget
        self.rows: list[list[dict[str, F]]] = [[] for _ in plans]
        self.clouds: list[list[tuple[F, F, F]]] = [[] for _ in plans]
        self.sums: list[dict[str, NDArray[Any]]] = [{} for _ in plans]
        self.measure_sum: F | None = None
        self.quota_sum: F | None = None
        self.employed_sum: F | None = None
        self.next_trial = 0

    def add(self, chunk: ChunkResult) -> None:
        """Fold one chunk (chunks must arrive in trial order)."""
        if chunk.first_trial != self.next_trial:
            raise ValueError(f"chunk at trial {chunk.first_trial}, expected {self.next_trial}")
        self.next_trial += chunk.trials
        if self.measure_sum is None or self.quota_sum is None or self.employed_sum is None:
            self.measure_sum, self.quota_sum = chunk.measure_sum, chunk.quota_sum
            self.employed_sum = chunk.employed_sum
        else:
            self.measure_sum = self.measure_sum + chunk.measure_sum
            self.quota_sum = self.quota_sum + chunk.quota_sum
            self.employed_sum = self.employed_sum + chunk.employed_sum
        for i, part in enumerate(chunk.plans):
            self.rows[i].append(part.per_trial)
            if len(part.cloud[0]):
                self.clouds[i].append(part.cloud)
            acc = self.sums[i]
            _fold(acc, part, ("pay_sum", "pay_sq", "attain_sum"))
            _fold_extremes(acc, part, ("variable_min", "variable_max"))
            if "pay_hist" not in acc:
                acc["pay_hist"] = np.zeros((len(part.pay_sum), len(PAY_BINS) - 1), np.int64)
            add_counts(acc["pay_hist"], part.pay_bins)
            if part.paired is not None:
                paired = part.paired
                _fold(acc, paired, ("diff_sum", "diff_sq", "gains", "losses"))
                _fold_extremes(acc, paired, ("diff_min", "diff_max"))
                if "diff_hist" not in acc:
                    shape = (len(paired.diff_sum), len(DIFF_BINS) - 1)
                    acc["diff_hist"] = np.zeros(shape, np.int64)
                add_counts(acc["diff_hist"], paired.diff_bins)

    def result(self) -> SimulationResult:
        """The combined result."""
        if (
            self.next_trial != self.trials
            or self.measure_sum is None
            or self.quota_sum is None
            or self.employed_sum is None
        ):
            raise ValueError(f"only {self.next_trial} of {self.trials} trials were added")
        pop, trials = self.scenario.population, self.trials
        frames = []
        for plan, rows in zip(self.plans, self.rows, strict=True):
            columns = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
            frame = pd.DataFrame(columns)
            frame.insert(0, "trial", np.arange(trials))
            frame.insert(1, "plan", plan.name)
            frames.append(frame)
        per_trial = pd.concat(frames, ignore_index=True)
        scale = pop.pay_scale
        n1 = max(trials - 1, 1)
        rep_frames, clouds = [], []
        for i, (plan, layout) in enumerate(zip(self.plans, self.layouts, strict=True)):
            a = self.sums[i]
            if "diff_sum" not in a:  # the baseline against itself: no difference
                zeros = np.zeros(len(pop.rep_ids))
                hist = np.zeros((len(zeros), len(DIFF_BINS) - 1), np.int64)
                a = {**a, **dict.fromkeys(_PAIRED, zeros), "diff_hist": hist}
            mean, dmean = a["pay_sum"] / trials, a["diff_sum"] / trials
            var = np.maximum(a["pay_sq"] / trials - mean**2, 0.0) * trials / n1
            dvar = np.maximum(a["diff_sq"] / trials - dmean**2, 0.0) * trials / n1
            pq = _hist_quantiles(a["pay_hist"], PAY_BINS, (0.1, 0.5, 0.9))
            pq = np.clip(pq, a["variable_min"][:, None], a["variable_max"][:, None])
            dq = np.zeros((len(mean), 2))
            if a["diff_hist"].any():
                dq = _hist_quantiles(a["diff_hist"], DIFF_BINS, (0.1, 0.9))
                dq = np.clip(dq, a["diff_min"][:, None], a["diff_max"][:, None])
            frame = pd.DataFrame(
                {
                    "plan": plan.name,
                    "rep_id": pop.rep_ids,
                    "mean_pay": mean,
                    "sd_pay": np.sqrt(var),
                    "mean_attainment": a["attain_sum"] / trials,
                    "variable_p10": pq[:, 0] * scale,
                    "variable_p50": pq[:, 1] * scale,
                    "variable_p90": pq[:, 2] * scale,
                    "target_incentive": pop.target_incentive,
                    "mean_diff": dmean,
                    "sd_diff": np.sqrt(dvar),
                    "p_gain": a["gains"] / trials,
                    "p_loss": a["losses"] / trials,
                    "diff_p10": dq[:, 0] * scale,
                    "diff_p90": dq[:, 1] * scale,
                }
            )
            for column in ("role", "team", "region"):
                if column in pop.reps.columns:
                    frame[column] = pop.reps[column].to_numpy()
            rep_frames.append(frame[layout.eligible])
            clouds.append(_cloud(plan, layout, pop, self.clouds[i]))
        deterministic = _deterministic(
            self.plans,
            self.layouts,
            pop,
            (self.measure_sum / trials, self.quota_sum / trials, self.employed_sum / trials),
        )
        return SimulationResult(
            self.plans,
            trials,
            self.seed,
            per_trial,
            pd.concat(rep_frames, ignore_index=True),
            deterministic,
            pop,
            pd.concat(clouds, ignore_index=True),
            self.budget,
            self.responses,
        )


_PAIRED = ("diff_sum", "diff_sq", "diff_min", "diff_max", "gains", "losses")


def _fold(acc: dict[str, NDArray[Any]], part: object, names: Sequence[str]) -> None:
    """Add ``part``'s per-rep arrays into the running sums (own copies, counts widened)."""
    for name in names:
        value = getattr(part, name)
        if name not in acc:
            acc[name] = value.astype(np.int64 if value.dtype.kind == "i" else float)
        else:
            acc[name] += value


def _fold_extremes(acc: dict[str, NDArray[Any]], part: object, names: Sequence[str]) -> None:
    """Keep the running minimum (``*_min``) or maximum (``*_max``) of ``part``'s arrays."""
    for name in names:
        value = getattr(part, name)
        pick = np.minimum if name.endswith("_min") else np.maximum
        acc[name] = value if name not in acc else pick(acc[name], value)


def _cloud(
    plan: Plan, layout: PlanArrays, pop: Population, parts: Sequence[tuple[F, F, F]]
) -> pd.DataFrame:
    pay = np.concatenate([c[0] for c in parts])
    variable = np.concatenate([c[1] for c in parts])
    attainment = np.concatenate([c[2] for c in parts])
    t, r = np.nonzero(np.broadcast_to(layout.eligible, pay.shape))
    return pd.DataFrame(
        {
            "plan": plan.name,
            "trial": t,
            "rep_id": np.asarray(pop.rep_ids)[r],
            "attainment": attainment[t, r],
            "pay": pay[t, r],
            "variable": variable[t, r],
        }
    )
