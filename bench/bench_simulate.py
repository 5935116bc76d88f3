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
  tables), default chunks;
* **NumPy reference**: the practical limit. Same chunks and the *same draws* (the engine's own
  seeded block draws, made once per chunk), then the plan written by hand for this one plan:
  ``np.interp`` on the cumulative tier schedule, times quota, ``np.minimum`` with the cap,
  summed per trial. The end-to-end comparison is engine vs (reference draws + reference
  math): the same draw cost. On the first ``--kernel-chunks`` chunks the library kernel
  (``payout``) also runs alone on the same draws, so the payout math of both is compared
  without draws or engine bookkeeping (extrapolated to all chunks);
* **Python loop**: per rep, per trial, per month in plain Python (what a hand-rolled notebook
  does) on a subsample of reps and trials, extrapolated per cell to the full size.

It asserts that per-trial totals agree (engine, kernel-only and reference to 1e-9 relative;
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
import resource
import time
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
from salesanalytics.simulation.engine import default_chunk

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


def loop_totals(measure: F, quota: F, cap: F, base_month: F) -> F:
    """The same in plain Python, per rep, trial and month: ``measure`` is ``(T, R, 12)``."""
    trials, reps, months = measure.shape
    tiers = list(zip(LOWERS, UPPERS, RATES, strict=True))
    out = [0.0] * trials
    for r in range(reps):
        for t in range(trials):
            pay = 0.0
            for m in range(months):
                q = float(quota[r, m])
                a = float(measure[t, r, m]) / q
                per_quota = 0.0
                for lo, hi, rate in tiers:
                    if a > lo:
                        per_quota += rate * (min(a, hi) - lo)
                pay += float(base_month[r]) + min(per_quota * q, float(cap[r, m]))
            out[t] += pay
    return np.array(out)


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


def run(
    reps: int,
    trials: int,
    seed: int,
    loop_reps: int,
    loop_trials: int,
    kernel_chunks: int,
) -> dict[str, Any]:
    """Time the three ways; returns the figures."""
    pop = population(reps, seed)
    scenario = AttainmentScenario(pop, Normal(1.0, 0.25))
    rss_start = _rss()

    chunk = default_chunk(pop)
    t0 = time.perf_counter()
    result = simulate(PLAN, scenario, trials, seed)
    engine_s = time.perf_counter() - t0
    rss_engine = _rss()
    totals = result.per_trial["total"].to_numpy()
    quota = pop.quota * pop.employed
    cap = CAP_TI * pop.target_incentive[:, None] / 12 * pop.employed
    base_month = pop.base_salary / 12
    base_total = float((base_month[:, None] * pop.employed).sum())
    reference = np.empty(trials)
    kernel_parts: list[F] = []
    draw_s = reference_s = kernel_s = kernel_ref_s = 0.0
    first: F | None = None
    for start in range(0, trials, chunk):
        n = min(chunk, trials - start)
        t0 = time.perf_counter()
        sample = _draw(scenario, seed, start // BLOCK, n)
        t1 = time.perf_counter()
        reference[start : start + n] = reference_totals(sample.measure, quota, cap, base_total)
        t2 = time.perf_counter()
        draw_s, reference_s = draw_s + t1 - t0, reference_s + t2 - t1
        if first is None:
            first = sample.measure[: min(loop_trials, n), : min(loop_reps, reps)].copy()
        if start // chunk >= kernel_chunks:
            continue
        x = KernelInputs(
            measure=sample.measure,
            quota=sample.quota,
            employed=sample.employed,
            base_salary=pop.base_salary,
            target_incentive=pop.target_incentive,
            year=np.zeros(12, dtype=np.int64),
        )
        kernel_parts.append(payout(PLAN, x).total.sum(axis=(1, 2)))
        kernel_s += time.perf_counter() - t2
        kernel_ref_s += t2 - t1
    rss_all = _rss()

    assert first is not None
    lt, lr = first.shape[:2]
    t0 = time.perf_counter()
    loop = loop_totals(first, quota[:lr], cap[:lr], base_month[:lr])
    loop_s = time.perf_counter() - t0
    sub = reference_totals(first, quota[:lr], cap[:lr], float(base_month[:lr].sum() * 12))
    loop_full_s = loop_s * (trials * reps) / (lt * lr)

    kernel = np.concatenate(kernel_parts)
    for name, values, ref in (
        ("engine", totals, reference),
        ("kernel", kernel, reference[: len(kernel)]),
    ):
        gap = float(np.max(np.abs(values / ref - 1)))
        assert gap < 1e-9, f"{name} totals differ from the reference by {gap:.3g} (relative)"
    loop_gap = float(np.max(np.abs(loop / sub - 1)))
    assert loop_gap < 1e-9, f"loop totals differ from the reference by {loop_gap:.3g}"
    end_to_end_ref = draw_s + reference_s
    kernel_all_s = kernel_s * trials / len(kernel)
    return {
        "reps": reps,
        "trials": trials,
        "periods": 12,
        "cells": reps * trials * 12,
        "chunk_trials": chunk,
        "engine_s": round(engine_s, 2),
        "draws_s": round(draw_s, 2),
        "kernel_chunks_timed": len(kernel_parts),
        "kernel_only_s_on_timed_chunks": round(kernel_s, 2),
        "reference_math_s_on_timed_chunks": round(kernel_ref_s, 2),
        "numpy_reference_math_s": round(reference_s, 2),
        "numpy_reference_end_to_end_s": round(end_to_end_ref, 2),
        "ratio_engine_over_reference_end_to_end": round(engine_s / end_to_end_ref, 2),
        "ratio_kernel_over_reference_math": round(kernel_s / kernel_ref_s, 2),
        "kernel_only_extrapolated_s": round(kernel_all_s, 2),
        "engine_overhead_beyond_draws_and_kernel_s": round(engine_s - draw_s - kernel_all_s, 2),
        "loop_subsample": f"{lr} reps x {lt} trials x 12",
        "loop_subsample_s": round(loop_s, 3),
        "loop_extrapolated_s": round(loop_full_s, 1),
        "speedup_engine_over_loop": round(loop_full_s / engine_s, 1),
        "ns_per_cell_engine": round(1e9 * engine_s / (reps * trials * 12), 2),
        "ns_per_cell_reference": round(1e9 * end_to_end_ref / (reps * trials * 12), 2),
        "max_relative_gap_engine": float(np.max(np.abs(totals / reference - 1))),
        "expected_total": float(totals.mean()),
        "rss_before_gib": round(rss_start / GIB, 3),
        "peak_rss_engine_gib": round(rss_engine / GIB, 3),
        "peak_rss_all_gib": round(rss_all / GIB, 3),
        "engine_under_2_gib": rss_engine < 2 * GIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loop-reps", type=int, default=100, help="Python loop subsample reps")
    parser.add_argument("--loop-trials", type=int, default=20, help="Python loop subsample trials")
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
