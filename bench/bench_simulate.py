"""Monte Carlo plan simulation: the engine against a hand-written NumPy kernel and a Python loop.

Run it as a person would::

    python bench/bench_simulate.py                      # 10,000 reps x 10,000 trials x 12 months
    python bench/bench_simulate.py --reps 2000 --trials 640 --json
    python bench/bench_simulate.py --reps 10000 --trials 320 --profile 25

The population is built directly with numpy arrays: ``--reps`` reps over 12 monthly periods,
lognormal monthly quotas, base salary, and a target incentive equal to what the plan pays at
100% attainment. The scenario is :class:`AttainmentScenario` with ``Normal(1.0, 0.25)``
attainment (no month noise). The plan is monthly, marginal, 4 tiers (2% to 50% of quota, 4%
to 100%, accelerators 6% to 150% and 8% above) with a payout cap of 2x the month's target
incentive. Three ways to compute the same per-trial total pay:

* **engine**: ``simulate(plan, scenario, trials, seed)`` end to end (draws, the payout kernel,
  per-trial totals, per-rep accumulators and histograms folded as chunks arrive, the result
  tables), default chunks, after a warm-up run of two blocks. Timed twice: on one thread
  (``workers=1``: like for like with the single-threaded reference) and on the library's
  default threads (``default_workers()``, or ``--workers``), which must give the same totals;
* **NumPy reference**: the practical limit. Same chunks and the *same draws* (the engine's own
  seeded block draws, made once per chunk), then the plan written by hand for this one plan:
  ``np.interp`` on the cumulative tier schedule, times quota, ``np.minimum`` with the cap,
  summed per trial. The end-to-end comparison is engine vs (reference draws + reference
  math): the same draw cost. On the first ``--kernel-chunks`` chunks the library kernel
  (``payout(..., detail=False)``, as the engine calls it) also runs alone on the same draws,
  so the payout math of both is compared without draws or engine bookkeeping;
* **Python loop**: per rep, per trial (each rep's year drawn in plain Python: a truncated
  normal by inverse CDF, as the scenario does), per month in plain Python, keeping per-trial
  totals and per-rep sums (what a hand-rolled notebook does), timed on about
  ``--loop-reps × --loop-trials × 12`` cells in 25 slices of reps spread over the reference's
  pass (so it sees the same machine as the reference beside it), extrapolated per cell to the
  full size. The same loop run on the engine's draws must give the reference's totals.

The machine may be shared, so the three run in ``--repeat`` interleaved rounds (engine on one
thread, reference, engine on threads, loop) and each ratio is the median of the rounds'
ratios; the ratios of every round are printed too. It asserts that per-trial totals agree
(engine, kernel-only and reference to 1e-9 relative;
the loop on its subsample), prints times, ratios and the peak resident memory
(``resource.getrusage``; the engine runs first, so the peak after it is the engine's), and
whether that stays under 2 GiB. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from salesanalytics.plans import Commission, Plan, Tier
from salesanalytics.plans.kernel import KernelInputs, payout
from salesanalytics.simulation import (
    AttainmentScenario,
    Normal,
    Population,
    simulate,
)
from salesanalytics.simulation.chunk import BLOCK, _draw
from salesanalytics.simulation.engine import default_chunk, default_workers

F = NDArray[np.float64]
LOWERS = (0.0, 0.5, 1.0, 1.5)
UPPERS = (0.5, 1.0, 1.5, float("inf"))
RATES = (0.02, 0.04, 0.06, 0.08)
CAP_TI = 2.0
ON_TARGET = 0.5 * 0.02 + 0.5 * 0.04  # commission per unit of quota at 100% attainment
PLAN = Plan(
    "4-tier marginal, capped",
    period="month",
    commission=Commission(
        tuple(Tier(lo, hi, r) for lo, hi, r in zip(LOWERS, UPPERS, RATES, strict=True)),
        method="marginal",
        cap_payout_ti=CAP_TI,
    ),
)
GIB = 2**30


def population(reps: int, seed: int) -> Population:
    """``reps`` reps over 12 months, arrays built directly."""
    rng = np.random.default_rng(seed)
    quota = rng.lognormal(np.log(100_000.0), 0.3, size=(reps, 1)) * rng.uniform(
        0.8, 1.2, size=(reps, 12)
    )
    return Population(
        reps=pd.DataFrame({"rep_id": [f"R{i:05d}" for i in range(reps)], "role": "AE"}),
        months=pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC").as_unit("us"),
        quota=quota,
        employed=np.ones((reps, 12)),
        base_salary=rng.uniform(150_000.0, 250_000.0, size=reps),
        target_incentive=ON_TARGET * quota.sum(axis=1),
    )


def _knots() -> tuple[F, F]:
    """Attainment knots and cumulative commission per unit of quota (the last far out)."""
    knots = np.array([*LOWERS, 1e9])
    values = np.r_[0.0, np.cumsum(np.array(RATES) * np.diff(knots))]
    return knots, values


def reference_totals(measure: F, quota: F, cap: F, base_total: float) -> F:
    """Total pay per trial of the plan, by hand: ``measure`` is ``(T, R, 12)``."""
    knots, values = _knots()
    attainment = measure / quota
    commission = np.interp(attainment, knots, values)
    commission *= quota
    np.minimum(commission, cap, out=commission)
    return np.asarray(commission.sum(axis=(1, 2)) + base_total)


def loop_totals(
    attainment: Callable[[int, int], float], quota: F, cap: F, base_month: F, trials: int
) -> F:
    """The same in plain Python, per rep, trial and month, with each rep's year drawn by
    ``attainment(trial, rep)``; keeps per-trial totals and each rep's sum and square of pay
    (what the engine keeps, less its histograms)."""
    reps, months = quota.shape
    tiers = list(zip(LOWERS, UPPERS, RATES, strict=True))
    out = [0.0] * trials
    rep_sum, rep_sq = [0.0] * reps, [0.0] * reps
    for r in range(reps):
        for t in range(trials):
            a_year = attainment(t, r)
            pay = 0.0
            for m in range(months):
                q = float(quota[r, m])
                a = a_year * q / q
                per_quota = 0.0
                for lo, hi, rate in tiers:
                    if a > lo:
                        per_quota += rate * (min(a, hi) - lo)
                pay += float(base_month[r]) + min(per_quota * q, float(cap[r, m]))
            out[t] += pay
            rep_sum[r] += pay
            rep_sq[r] += pay * pay
    return np.array(out)


def python_draws(mean: float, sd: float, seed: int) -> Callable[[int, int], float]:
    """Truncated-normal attainment drawn in plain Python (inverse CDF, as the scenario)."""
    rng, dist = random.Random(seed), statistics.NormalDist(mean, sd)
    low = dist.cdf(0.0)
    return lambda t, r: dist.inv_cdf(low + rng.random() * (1 - low))


def _rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _profile(scenario: AttainmentScenario, trials: int, seed: int, top: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    simulate(PLAN, scenario, trials, seed)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


@dataclass
class Setup:
    """The population, scenario and the plan's arrays written out by hand."""

    pop: Population
    scenario: AttainmentScenario
    quota: F
    cap: F
    base_month: F
    base_total: float
    chunk: int

    @classmethod
    def make(cls, reps: int, seed: int) -> Setup:
        pop = population(reps, seed)
        base_month = pop.base_salary / 12
        return cls(
            pop,
            AttainmentScenario(pop, Normal(1.0, 0.25)),
            pop.quota * pop.employed,
            CAP_TI * pop.target_incentive[:, None] / 12 * pop.employed,
            base_month,
            float((base_month[:, None] * pop.employed).sum()),
            default_chunk(pop),
        )


def time_engine(setup: Setup, trials: int, seed: int, workers: int) -> tuple[float, F]:
    """Seconds for ``simulate`` end to end, and its per-trial totals."""
    t0 = time.perf_counter()
    result = simulate(PLAN, setup.scenario, trials, seed, workers=workers)
    return time.perf_counter() - t0, result.per_trial["total"].to_numpy()


@dataclass
class ReferencePass:
    """What one pass of the reference over every chunk measured."""

    draw_s: float
    math_s: float
    totals: F
    kernel_s: float
    kernel_reference_s: float
    kernel_totals: F
    first_measure: F
    loop_s_per_cell: float


def time_reference(
    setup: Setup, trials: int, seed: int, kernel_chunks: int, loop_cells: int
) -> ReferencePass:
    """The reference over every chunk: draw seconds, math seconds, totals; on the first
    ``kernel_chunks`` chunks also the library kernel alone (seconds, and the reference
    math's seconds on those chunks, totals); the first chunk's measure (for the loop check);
    and the plain-Python loop's seconds per cell, timed on slices of reps spread over the
    whole pass (about ``loop_cells`` cells in all), so that it sees the same machine as the
    reference beside it."""
    reference = np.empty(trials)
    kernel_parts: list[F] = []
    draw_s = reference_s = kernel_s = kernel_ref_s = loop_s = 0.0
    first: F | None = None
    chunks = -(-trials // setup.chunk)
    slices = min(chunks, 25)
    loop_trials = min(setup.chunk, trials)
    loop_reps = max(1, -(-loop_cells // (12 * loop_trials * slices)))
    timed_cells = done = 0
    draws = python_draws(1.0, 0.25, seed)
    for i, start in enumerate(range(0, trials, setup.chunk)):
        n = min(setup.chunk, trials - start)
        t0 = time.perf_counter()
        sample = _draw(setup.scenario, seed, start // BLOCK, n)
        t1 = time.perf_counter()
        reference[start : start + n] = reference_totals(
            sample.measure, setup.quota, setup.cap, setup.base_total
        )
        t2 = time.perf_counter()
        math_s = t2 - t1
        draw_s, reference_s = draw_s + t1 - t0, reference_s + math_s
        if first is None:
            first = sample.measure
        if i * slices // chunks != (i + 1) * slices // chunks:  # one slice of the loop
            reps = (np.arange(loop_reps) + done * loop_reps) % len(setup.quota)
            done += 1
            t3 = time.perf_counter()
            loop_totals(
                draws, setup.quota[reps], setup.cap[reps], setup.base_month[reps], loop_trials
            )
            loop_s += time.perf_counter() - t3
            timed_cells += len(reps) * loop_trials * 12
        if i >= kernel_chunks:
            continue
        x = KernelInputs(
            measure=sample.measure,
            quota=sample.quota,
            employed=sample.employed,
            base_salary=setup.pop.base_salary,
            target_incentive=setup.pop.target_incentive,
            year=np.zeros(12, dtype=np.int64),
        )
        t2 = time.perf_counter()
        pay = payout(PLAN, x, detail=False)
        parts = [c for name, c in pay.components.items() if name not in pay.absent]
        kernel_parts.append(np.sum([c.sum(axis=(-2, -1)) for c in parts], axis=0))
        kernel_s += time.perf_counter() - t2
        kernel_ref_s += math_s
    assert first is not None
    kernel = np.concatenate(kernel_parts) if kernel_parts else np.empty(0)
    loop_per_cell = loop_s / max(timed_cells, 1)
    return ReferencePass(
        draw_s, reference_s, reference, kernel_s, kernel_ref_s, kernel, first, loop_per_cell
    )


def check_loop(setup: Setup, first: F, loop_reps: int, loop_trials: int) -> None:
    """The loop, run on the engine's own draws for a subsample, gives the reference's
    totals (so the timed loop computes the same plan)."""
    lt, lr = min(loop_trials, first.shape[0]), min(loop_reps, first.shape[1])
    quota, cap, base_month = setup.quota[:lr], setup.cap[:lr], setup.base_month[:lr]
    drawn = first[:lt, :lr, 0] / quota[None, :, 0]
    loop = loop_totals(lambda t, r: float(drawn[t, r]), quota, cap, base_month, lt)
    sub = reference_totals(first[:lt, :lr], quota, cap, float(base_month.sum() * 12))
    gap = float(np.max(np.abs(loop / sub - 1)))
    assert gap < 1e-9, f"loop totals differ from the reference by {gap:.3g}"


def _gap(values: F, reference: F) -> float:
    return float(np.max(np.abs(values / reference - 1)))


def run(
    reps: int,
    trials: int,
    seed: int,
    loop_reps: int,
    loop_trials: int,
    kernel_chunks: int,
    workers: int | None = None,
    repeat: int = 3,
) -> dict[str, Any]:
    """Time the three ways in ``repeat`` interleaved rounds (engine on one thread, the
    reference, the engine on ``workers`` threads, the loop): the machine is shared, so each
    round's ratios compare runs made moments apart, and the medians are reported."""
    setup = Setup.make(reps, seed)
    threads = default_workers() if workers is None else workers
    rss_start = _rss()
    simulate(PLAN, setup.scenario, 2 * BLOCK, seed + 1, workers=1)  # warm up
    rounds: list[dict[str, float]] = []
    rss_engine = rss_all = 0
    gaps: dict[str, float] = {}
    for i in range(repeat):
        engine_s, totals = time_engine(setup, trials, seed, 1)
        rss_engine = rss_engine or _rss()
        ref = time_reference(
            setup, trials, seed, kernel_chunks if i == 0 else 0, loop_reps * loop_trials * 12
        )
        threaded_s, threaded = time_engine(setup, trials, seed, threads)
        assert np.array_equal(threaded, totals), "running chunks on threads changed results"
        loop_s = ref.loop_s_per_cell * reps * trials * 12
        rss_all = max(rss_all, _rss())
        if i == 0:
            gaps = {"engine": _gap(totals, ref.totals)}
            gaps["kernel"] = _gap(ref.kernel_totals, ref.totals[: len(ref.kernel_totals)])
            for name, gap in gaps.items():
                assert gap < 1e-9, f"{name} totals differ from the reference by {gap:.3g}"
            kernel_ratio = ref.kernel_s / ref.kernel_reference_s
            check_loop(setup, ref.first_measure, loop_reps, loop_trials)
        ref_e2e = ref.draw_s + ref.math_s
        rounds.append(
            {
                "engine_s": engine_s,
                "engine_on_workers_s": threaded_s,
                "reference_s": ref_e2e,
                "draws_s": ref.draw_s,
                "loop_s": loop_s,
                "engine_over_reference": engine_s / ref_e2e,
                "engine_on_workers_over_reference": threaded_s / ref_e2e,
                "loop_over_engine": loop_s / engine_s,
                "loop_over_engine_on_workers": loop_s / threaded_s,
                "loop_over_reference": loop_s / ref_e2e,
            }
        )

    def median(key: str) -> float:
        return float(np.median([r[key] for r in rounds]))

    cells = reps * trials * 12
    return {
        "reps": reps,
        "trials": trials,
        "periods": 12,
        "cells": cells,
        "chunk_trials": setup.chunk,
        "rounds": repeat,
        "workers": threads,
        "engine_s": round(median("engine_s"), 2),
        "engine_on_workers_s": round(median("engine_on_workers_s"), 2),
        "numpy_reference_end_to_end_s": round(median("reference_s"), 2),
        "draws_s": round(median("draws_s"), 2),
        "loop_extrapolated_s": round(median("loop_s"), 1),
        "ratio_engine_over_reference": round(median("engine_over_reference"), 2),
        "ratio_engine_on_workers_over_reference": round(
            median("engine_on_workers_over_reference"), 2
        ),
        "ratios_engine_over_reference_by_round": [
            round(r["engine_over_reference"], 2) for r in rounds
        ],
        "ratio_kernel_over_reference_math": round(kernel_ratio, 2),
        "kernel_chunks_timed": kernel_chunks,
        "speedup_engine_over_loop": round(median("loop_over_engine"), 1),
        "speedup_engine_on_workers_over_loop": round(median("loop_over_engine_on_workers"), 1),
        "speedup_reference_over_loop": round(median("loop_over_reference"), 1),
        "speedups_engine_over_loop_by_round": [round(r["loop_over_engine"], 1) for r in rounds],
        "speedups_engine_on_workers_over_loop_by_round": [
            round(r["loop_over_engine_on_workers"], 1) for r in rounds
        ],
        "ratios_engine_on_workers_over_reference_by_round": [
            round(r["engine_on_workers_over_reference"], 2) for r in rounds
        ],
        "loop_cells_timed_per_round": loop_reps * loop_trials * 12,
        "ns_per_cell_engine": round(1e9 * median("engine_s") / cells, 2),
        "ns_per_cell_engine_on_workers": round(1e9 * median("engine_on_workers_s") / cells, 2),
        "ns_per_cell_reference": round(1e9 * median("reference_s") / cells, 2),
        "ns_per_cell_loop": round(1e9 * median("loop_s") / cells, 1),
        "max_relative_gap_engine": gaps["engine"],
        "expected_total": float(totals.mean()),
        "rss_before_gib": round(rss_start / GIB, 3),
        "peak_rss_engine_gib": round(rss_engine / GIB, 3),
        "peak_rss_all_gib": round(rss_all / GIB, 3),
        "engine_under_2_gib": rss_all < 2 * GIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loop-reps", type=int, default=200, help="Python loop subsample reps")
    parser.add_argument("--loop-trials", type=int, default=50, help="Python loop subsample trials")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds (medians are reported)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="threads for the second engine run (default: the library's default_workers())",
    )
    parser.add_argument(
        "--kernel-chunks", type=int, default=8, help="chunks on which the kernel is timed alone"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also cProfile simulate() (keeps every chunk: use small --trials): top N",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(
        args.reps,
        args.trials,
        args.seed,
        args.loop_reps,
        args.loop_trials,
        args.kernel_chunks,
        args.workers,
        args.repeat,
    )
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>42}: {value}")
    if args.profile:
        pop = population(args.reps, args.seed)
        scenario = AttainmentScenario(pop, Normal(1.0, 0.25))
        print(_profile(scenario, args.trials, args.seed, args.profile))


if __name__ == "__main__":
    main()
