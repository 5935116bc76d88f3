"""The Monte Carlo engine: chunked, seeded, common random numbers, bounded memory.

Trials are grouped in blocks of :data:`BLOCK` trials; block ``b`` draws from its own
generator, seeded by ``SeedSequence(seed, spawn_key=(b,))``. A chunk is a run of whole
blocks, so every trial's random numbers, and therefore every per-trial result, are the same
whatever the chunk size and wherever the chunk runs (locally or on a ``dask.distributed``
client). Within a chunk every plan is evaluated on the same draws (common random numbers), so
the difference between two plans is not noise from different scenarios.

A chunk keeps only what the result needs: per-trial totals per plan, per-rep sums, squares
and histograms of annual pay, per-rep paired differences against the first plan, and the
running mean of the measure (for the cost at average attainment). Peak memory is a few
dozen ``(chunk trials × reps × periods)`` arrays per running chunk, whatever the number of
trials. Locally, chunks run on a few threads (``workers``): NumPy releases the interpreter
lock inside its loops, so they use several cores; chunks are folded in trial order, so the
result does not depend on which thread ran what.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..dataset import Dataset
from ..plans.spec import Plan
from .behaviour import Response
from .chunk import (
    ARRAYS_PER_CELL,
    BLOCK,
    CLOUD_TRIALS,
    DIFF_BINS,
    MEMORY_BUDGET,
    PAY_BINS,
    ChunkResult,
    PlanArrays,
    TrialMetric,
    TrialView,
    plan_arrays,
    run_chunk,
)
from .scenario import Population, Scenario

if TYPE_CHECKING:
    from .result import SimulationResult

__all__ = [
    "BLOCK",
    "CLOUD_TRIALS",
    "DIFF_BINS",
    "PAY_BINS",
    "PlanArrays",
    "TrialMetric",
    "TrialView",
    "default_chunk",
    "default_workers",
    "plan_arrays",
    "run_chunk",
    "simulate",
]


class Executor(Protocol):
    """Anything with ``submit(fn, *args)`` returning a future with ``result()``:
    a ``dask.distributed.Client`` or a ``concurrent.futures`` executor."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any: ...


MAX_WORKERS = 4
"""Most threads :func:`default_workers` starts: memory grows with each running chunk and
the gain flattens as the chunks compete for memory bandwidth."""


# ------------------------------------------------------------------ the driver
def _chunks(trials: int, chunk: int) -> list[tuple[int, int]]:
    return [(start, min(chunk, trials - start)) for start in range(0, trials, chunk)]


def default_chunk(population: Population) -> int:
    """Trials per chunk keeping a chunk's arrays near :data:`MEMORY_BUDGET`."""
    cells = max(population.quota.size, 1) * ARRAYS_PER_CELL * 8
    return max(BLOCK, int(MEMORY_BUDGET // cells) // BLOCK * BLOCK)


def default_workers() -> int:
    """Threads for a local simulation: the cores this process may use, at most
    :data:`MAX_WORKERS` (each running chunk holds its own arrays)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _progress(items: Iterable[Any], total: int, show: bool) -> Iterable[Any]:
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc="simulating", unit="chunk")


def simulate(
    plans: Plan | Sequence[Plan],
    scenario: Scenario | Dataset,
    trials: int = 1000,
    seed: int = 0,
    *,
    chunk_size: int | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    progress: bool = False,
    metrics: Sequence[TrialMetric] = (),
    budget: float | None = None,
    responses: Sequence[Response] = (),
) -> SimulationResult:
    """Simulate ``plans`` on ``trials`` draws of ``scenario``.

    Parameters
    ----------
    plans
        One plan or several (compared on the same draws; the first is the baseline).
    scenario
        A :class:`~salesanalytics.simulation.scenario.Scenario`, or a dataset to fit a
        :class:`~salesanalytics.simulation.history.HistoryScenario` from.
    trials, seed
        Number of trials and the seed (an int): the same seed gives the same trials at any
        chunk size and on any executor.
    chunk_size
        Trials per chunk (rounded up to whole blocks of :data:`BLOCK`); default: what keeps
        a chunk near 256 MiB.
    executor
        Run chunks on a ``dask.distributed.Client`` (or any executor with ``submit``).
    workers
        Without an executor: threads running chunks side by side on this machine (NumPy
        releases the interpreter lock in its loops, so they use several cores). Default
        :func:`default_workers`; ``1`` runs every chunk in the calling thread. The results
        are the same for any number.
    progress
        Show a progress bar (tqdm; notebook-aware).
    metrics
        Extra per-trial figures (see :mod:`salesanalytics.fairness`).
    budget
        A budget for total pay: the result reports the probability of exceeding it.
    responses
        Behavioural what-ifs (:mod:`.behaviour`), off by default; the result's caption
        states their assumptions and sources.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> from salesanalytics import sample
    >>> from salesanalytics.plans import Commission, Eligibility, Plan, Tier
    >>> from salesanalytics.simulation import AttainmentScenario, Normal, Population
    >>> pop = Population.from_dataset(sample.generate(600, seed=0))
    >>> flat = Plan("flat", eligibility=Eligibility(roles=("AE",)),
    ...             commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> result = simulate(flat, AttainmentScenario(pop, Normal(1.0, 0.2)), trials=64, seed=1)
    >>> result.per_trial.shape[0]
    64
    """
    from .result import Accumulator

    plan_list = (plans,) if isinstance(plans, Plan) else tuple(plans)
    if not plan_list:
        raise ValueError("give at least one plan")
    names = [p.name for p in plan_list]
    if len(set(names)) != len(names):
        raise ValueError(f"plan names must differ to be compared: {names}")
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    if isinstance(scenario, Dataset):
        from .history import HistoryScenario

        scenario = HistoryScenario.from_history(scenario)
    if not isinstance(scenario, Scenario):
        raise TypeError("scenario must be a Scenario or a Dataset")
    population = scenario.population
    layouts = [plan_arrays(p, population) for p in plan_list]
    chunk = default_chunk(population) if chunk_size is None else int(chunk_size)
    chunk = max(BLOCK, math.ceil(chunk / BLOCK) * BLOCK)
    spans = _chunks(int(trials), chunk)
    acc = Accumulator(plan_list, layouts, scenario, int(trials), seed, budget, tuple(responses))
    threads = default_workers() if workers is None else int(workers)
    if threads < 1:
        raise ValueError(f"workers must be at least 1, got {workers!r}")
    if executor is None and threads > 1 and len(spans) > 1:
        with ThreadPoolExecutor(threads, thread_name_prefix="simulate") as pool:
            parts = _windowed(pool, scenario, layouts, seed, spans, metrics, responses, threads)
            for part in _progress(parts, len(spans), progress):
                acc.add(part)
    elif executor is not None:
        parts = _windowed(executor, scenario, layouts, seed, spans, metrics, responses)
        for part in _progress(parts, len(spans), progress):
            acc.add(part)
    else:
        for start, n in _progress(spans, len(spans), progress):
            acc.add(run_chunk(scenario, layouts, seed, start, n, metrics, responses))
    return acc.result()


def _windowed(
    executor: Executor,
    scenario: Scenario,
    layouts: Sequence[PlanArrays],
    seed: int,
    spans: Sequence[tuple[int, int]],
    metrics: Sequence[TrialMetric],
    responses: Sequence[Response],
    window: int = 8,
) -> Iterator[ChunkResult]:
    """Chunk results in trial order, with at most ``window`` chunks submitted and not yet
    collected (so memory stays bounded on both sides)."""
    pending: deque[Any] = deque()
    todo = iter(spans)
    for start, n in itertools.islice(todo, window):
        pending.append(
            executor.submit(
                run_chunk, scenario, layouts, seed, start, n, tuple(metrics), tuple(responses)
            )
        )
    while pending:
        part = pending.popleft().result()
        for start, n in itertools.islice(todo, 1):
            pending.append(
                executor.submit(
                    run_chunk, scenario, layouts, seed, start, n, tuple(metrics), tuple(responses)
                )
            )
        yield part
