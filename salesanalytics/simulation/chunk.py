"""One chunk of a simulation: how each plan sees the population (:class:`PlanArrays`), the
seeded block draws, every plan evaluated on them with the one payout kernel, and what the
chunk keeps (:class:`ChunkResult`). Used by :func:`~.engine.simulate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._ratio import ratio
from ..plans.credit import eligible, plan_calendar
from ..plans.kernel import COMPONENTS, KernelInputs, payout
from ..plans.spec import Plan
from .behaviour import Response, apply_responses
from .scenario import Population, Sample, Scenario

__all__ = [
    "BLOCK",
    "CLOUD_TRIALS",
    "ChunkResult",
    "Paired",
    "PlanArrays",
    "PlanChunk",
    "TrialMetric",
    "TrialView",
    "add_counts",
    "bin_index",
    "plan_arrays",
    "run_chunk",
]

F = NDArray[np.float64]
BLOCK = 32
"""Trials per seeded block; chunks are whole blocks."""
PAY_BINS = np.linspace(0.0, 8.0, 401)
"""Histogram edges of a rep's annual variable pay in units of the rep's pay scale (target
incentive, else base salary); the last bin also holds everything above."""
DIFF_BINS = np.linspace(-4.0, 4.0, 401)
"""Histogram edges of a rep's annual pay difference against the first plan, same units."""
CLOUD_TRIALS = 20
"""Trials whose per-rep annual pay and attainment are kept (for payout-vs-attainment clouds)."""
MEMORY_BUDGET = 256 * 2**20
ARRAYS_PER_CELL = 48
"""Rough count of float64 arrays of shape (trials, reps, periods) alive in a chunk."""


@dataclass(frozen=True, eq=False)
class TrialView:
    """What a per-trial metric sees of one plan on one chunk of trials.

    Attributes
    ----------
    plan
        The plan.
    reps
        The population's reps (attributes such as ``team``, ``region``, ``hire_date``).
    eligible
        ``(R,)`` reps on the plan (the others have zero pay and NaN attainment).
    pay, attainment
        ``(T, R, P)`` total pay and attainment (year to date under ``ytd``) per plan period.
    annual_pay, annual_attainment
        ``(T, R)`` pay over the year and measure ÷ quota over the year.
    luck
        ``(T, R)`` log-multiplier of each rep's year that is luck (see
        :class:`~salesanalytics.simulation.scenario.Sample`).
    base, employed
        ``(T, R, P)`` base salary paid and employed share per plan period (leavers drawn by
        the scenario have 0).
    """

    plan: Plan
    reps: pd.DataFrame
    eligible: NDArray[np.bool_]
    pay: F
    attainment: F
    annual_pay: F
    annual_attainment: F
    luck: F
    base: F | None = None
    employed: F | None = None


class TrialMetric(Protocol):
    """Extra per-trial figures of a plan (fairness): ``{name: (T,) array}``."""

    def __call__(self, view: TrialView) -> dict[str, F]: ...


@dataclass(frozen=True, eq=False)
class PlanArrays:
    """How one plan sees the population: its reps, month → period map, plan years."""

    plan: Plan
    eligible: NDArray[np.bool_]
    period_of_month: NDArray[np.int64]
    starts: NDArray[np.int64]
    year: NDArray[np.int64]
    labels: tuple[str, ...]
    team: NDArray[np.int64] | None

    def aggregate(self, monthly: F) -> F:
        """Sum months into plan periods along the last axis (monthly plans: as they are)."""
        if len(self.starts) == monthly.shape[-1]:
            return monthly
        return np.add.reduceat(monthly, self.starts, axis=-1)

    def average(self, monthly: F) -> F:
        """Mean over the months of each plan period along the last axis."""
        if len(self.starts) == monthly.shape[-1]:
            return monthly
        counts = np.diff(np.r_[self.starts, monthly.shape[-1]])
        return self.aggregate(monthly) / counts


def plan_arrays(plan: Plan, population: Population) -> PlanArrays:
    """Eligibility and period structure of ``plan`` over ``population``'s months."""
    reps = population.reps
    keep = eligible(plan, reps)
    months = population.months
    end = months[-1] + pd.DateOffset(months=1)
    calendar = plan_calendar(plan, months[0], end)
    period = calendar.index_of(pd.Series(months))
    if (period < 0).any():
        raise ValueError("the population's months fall outside the plan calendar")
    used, period = np.unique(period, return_inverse=True)
    starts = np.flatnonzero(np.r_[True, period[1:] != period[:-1]])
    team = None
    if plan.team_pools:
        if "team" not in reps.columns:
            raise ValueError(f"plan {plan.name!r} has team pools but reps have no team")
        team = pd.factorize(reps["team"])[0].astype(np.int64)
    labels = tuple(calendar.labels[i] for i in used)
    return PlanArrays(plan, keep, period, starts, calendar.year[used], labels, team)


# ------------------------------------------------------------------ one chunk
@dataclass(eq=False)
class Paired:
    """One plan's annual pay against the baseline's on the same trials, per rep: sums,
    squares and extremes of the difference, counts of gains and losses, and each trial's
    histogram bin of the difference (:data:`DIFF_BINS`, in units of the rep's pay scale)."""

    diff_sum: F
    diff_sq: F
    diff_min: F
    diff_max: F
    gains: NDArray[np.int64]
    losses: NDArray[np.int64]
    diff_bins: NDArray[np.uint16]


@dataclass(eq=False)
class PlanChunk:
    """One plan's contribution from one chunk: per-trial rows, per-rep sums and extremes,
    each trial's histogram bin of each rep's variable pay (:data:`PAY_BINS`, in units of the
    rep's pay scale), the comparison with the baseline (``None`` for the baseline itself), and
    the first trials' per-rep points."""

    per_trial: dict[str, F]
    pay_sum: F
    pay_sq: F
    attain_sum: F
    variable_min: F
    variable_max: F
    pay_bins: NDArray[np.uint16]
    paired: Paired | None
    cloud: tuple[F, F, F]


@dataclass(eq=False)
class ChunkResult:
    """What one chunk contributes, per plan, and the sums over its trials of the measure,
    quota and employment drawn (for the cost at average attainment)."""

    first_trial: int
    trials: int
    plans: list[PlanChunk]
    measure_sum: F
    quota_sum: F
    employed_sum: F


def _draw(scenario: Scenario, seed: int, first_block: int, trials: int) -> Sample:
    """Draws for ``trials`` trials starting at block ``first_block``, block by block."""
    parts = []
    left, block = trials, first_block
    while left > 0:
        n = min(BLOCK, left)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
        parts.append(scenario.sample(rng, n))
        left, block = left - n, block + 1
    if len(parts) == 1:
        return parts[0]

    def cat(name: str) -> F:
        arrays = [getattr(p, name) for p in parts]
        if all(a.ndim == 2 for a in arrays):
            return arrays[0]
        return np.concatenate(
            [
                np.broadcast_to(a, (len(p.measure), *a.shape[-2:]))
                for a, p in zip(arrays, parts, strict=True)
            ]
        )

    return Sample(
        np.concatenate([p.measure for p in parts]),
        cat("quota"),
        cat("employed"),
        np.concatenate([p.luck for p in parts]),
    )


def run_chunk(
    scenario: Scenario,
    layouts: Sequence[PlanArrays],
    seed: int,
    first_trial: int,
    trials: int,
    metrics: Sequence[TrialMetric] = (),
    responses: Sequence[Response] = (),
) -> ChunkResult:
    """Evaluate every plan on the draws of trials ``first_trial .. first_trial + trials``."""
    pop = scenario.population
    sample = _draw(scenario, seed, first_trial // BLOCK, trials)
    scale = pop.pay_scale
    out = ChunkResult(
        first_trial,
        trials,
        [],
        sample.measure.sum(axis=0),
        _trial_sum(sample.quota, trials),
        _trial_sum(sample.employed, trials),
    )
    base_pay: F | None = None
    drawn_revenue: F | None = None  # each rep's drawn measure over the year, per trial
    for layout in layouts:
        measure = layout.aggregate(sample.measure)
        quota = layout.aggregate(sample.quota)
        if responses:
            measure = apply_responses(
                layout.plan,
                measure,
                quota,
                responses,
                target_incentive=pop.target_incentive,
                year=layout.year,
            )
        employed = layout.average(sample.employed)
        inputs = KernelInputs(
            measure=measure,
            quota=quota,
            employed=employed,
            base_salary=pop.base_salary,
            target_incentive=pop.target_incentive,
            year=layout.year,
            team=layout.team,
        )
        result = payout(layout.plan, inputs, detail=False)
        keep = layout.eligible
        by_rep = {  # each component the plan has, per trial and rep
            n: _annual(c, keep) for n, c in result.components.items() if n not in result.absent
        }
        none = np.zeros(measure.shape[:-2])
        totals = {n: by_rep[n].sum(axis=-1) if n in by_rep else none for n in COMPONENTS}
        annual = _sum(list(by_rep.values()), measure.shape[:-1])  # = total over periods
        variable = annual - by_rep["base"] if "base" in by_rep else annual
        if measure is sample.measure:  # plans on the drawn months share one sum
            drawn_revenue = _period_sum(measure) if drawn_revenue is None else drawn_revenue
            revenue = drawn_revenue if keep.all() else np.where(keep, drawn_revenue, 0.0)
        else:
            revenue = _annual(measure, keep)
        q = _annual(quota, keep)
        attainment = ratio(revenue, q, np.nan)
        counted = np.broadcast_to((q > 0).sum(axis=-1), none.shape)  # reps with a quota
        at_quota = (attainment >= 1).sum(axis=-1) / np.maximum(counted, 1)
        row = {
            **totals,
            "total": annual.sum(axis=-1),
            "variable": variable.sum(axis=-1),
            "revenue": revenue.sum(axis=-1),
            "at_quota": np.where(counted > 0, at_quota, np.nan),
        }
        if metrics:
            view = TrialView(
                layout.plan,
                pop.reps,
                keep,
                result.total,
                result.attainment,
                annual,
                attainment,
                sample.luck,
                result.components["base"],
                np.broadcast_to(employed, result.total.shape),
            )
            for metric in metrics:
                row.update(metric(view))
        paired = None
        if base_pay is None:
            base_pay = annual
        else:
            diff = annual - base_pay
            scaled_diff = diff / scale
            paired = Paired(
                diff.sum(axis=0),
                (diff**2).sum(axis=0),
                scaled_diff.min(axis=0),
                scaled_diff.max(axis=0),
                (diff > 1e-9).sum(axis=0),
                (diff < -1e-9).sum(axis=0),
                bin_index(scaled_diff, DIFF_BINS),
            )
        cloud = max(0, min(trials, CLOUD_TRIALS - first_trial))
        scaled = variable / scale
        out.plans.append(
            PlanChunk(
                row,
                annual.sum(axis=0),
                (annual**2).sum(axis=0),
                np.nansum(attainment, axis=0),
                scaled.min(axis=0),
                scaled.max(axis=0),
                bin_index(scaled, PAY_BINS),
                paired,
                (annual[:cloud], variable[:cloud], attainment[:cloud]),
            )
        )
    return out


def _sum(parts: list[F], shape: tuple[int, ...]) -> F:
    """The sum of ``parts`` as a new array of ``shape`` (zeros when there are none)."""
    if not parts:
        return np.zeros(shape)
    out = np.add(parts[0], parts[1]) if len(parts) > 1 else np.array(parts[0], dtype=float)
    for part in parts[2:]:
        out += part
    return out if out.shape == shape else np.array(np.broadcast_to(out, shape))


def _annual(a: F, keep: NDArray[np.bool_]) -> F:
    """Sum over periods, zero for reps not on the plan (``keep`` False)."""
    total = _period_sum(a)
    return total if keep.all() else np.where(keep, total, 0.0)


def _period_sum(a: F) -> F:
    """Sum over periods; an array repeated along the trials axis is summed once. (``einsum``
    sums each row the same way wherever it sits, so results do not depend on the chunk.)"""
    if a.ndim == 3 and a.strides[0] == 0:
        return np.broadcast_to(np.einsum("...i->...", a[0]), a.shape[:-1])
    return np.einsum("...i->...", a)


def _trial_sum(a: F, trials: int) -> F:
    """Sum over the trials axis of an array given per trial (3-D) or shared (2-D)."""
    return a * trials if a.ndim == 2 else np.asarray(a.sum(axis=0), dtype=float)


def bin_index(values: F, edges: F) -> NDArray[np.uint16]:
    """Bin of each value in evenly spaced ``edges`` (below or NaN: the first; above: the
    last)."""
    bins = len(edges) - 1
    assert bins <= np.iinfo(np.uint16).max + 1
    scaled = (values - edges[0]) * (bins / (edges[-1] - edges[0]))
    np.fmax(scaled, 0.0, out=scaled)  # fmax/fmin send NaN to the bound
    np.fmin(scaled, bins - 1, out=scaled)
    return scaled.astype(np.uint16)


def add_counts(hist: NDArray[np.int64], index: NDArray[np.uint16]) -> None:
    """Add a (trials × reps) array of bin indexes to per-rep counts ``hist`` (reps × bins)."""
    reps, bins = hist.shape
    flat = index.astype(np.intp)
    flat += bins * np.arange(reps)
    np.add.at(hist.reshape(-1), flat.reshape(-1), 1)
