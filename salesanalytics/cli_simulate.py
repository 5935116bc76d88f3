"""Command-line command ``simulate``: Monte Carlo cost of one or more commission plans.

Registered by :mod:`salesanalytics.cli`; same exit codes (0 ok, 2 bad input, 1 internal).

``salesanalytics simulate PATH --plan A.toml [--plan B.toml ...] --trials N --seed S``
simulates next year's pay under each plan on the same trials (the first plan is the
baseline), from a scenario fitted to the data's history (``--scenario history``, the default)
or from a normal attainment distribution around 100% of next year's quotas
(``--scenario attainment --attainment-sd X``). Text output: the cost summary and the
comparison against the baseline; ``--json`` adds winners and losers per rep; ``--csv`` writes
the cost summary.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from .cli_plans import read_plan_file
from .quality import DataError

__all__ = ["add_simulate_command", "simulation_payload"]

EXIT_OK = 0
DEFAULT_SD = 0.2
"""Default sd of annual attainment with ``--scenario attainment``."""
SUMMARY_ROWS = [
    "expected_total",
    "expected_total_low",
    "expected_total_high",
    "expected_variable",
    "cost_of_sales",
    "total_p10",
    "total_p50",
    "total_p90",
    "total_p99",
    "p_over_budget",
    "share_at_quota",
    "cost_at_average",
    "jensen_gap",
    "jensen_gap_share",
    "variable_at_100",
    "target_incentive",
    "pay_at_100_vs_target",
]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return list(json.loads(frame.reset_index().to_json(orient="records", date_format="iso")))


def simulation_payload(result: Any, scenario: str) -> dict[str, Any]:
    """The ``--json`` document of a :class:`~salesanalytics.simulation.SimulationResult`.

    Keys: ``caption``, ``scenario``, ``trials``, ``seed``, ``budget``, ``plans`` (baseline
    first), ``currency``, ``reps``, ``cost_summary`` (one record per plan),
    ``comparison`` (one record per plan after the first and measure) and
    ``winners_losers`` (per plan after the first, one record per rep).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from salesanalytics.plans import Commission, Plan, Tier
    >>> from salesanalytics.simulation import AttainmentScenario, Normal, Population, simulate
    >>> pop = Population(pd.DataFrame({"rep_id": ["a", "b"]}),
    ...                  pd.date_range("2026-01-01", periods=12, freq="MS", tz="UTC"),
    ...                  np.full((2, 12), 1e4), np.ones((2, 12)), np.full(2, 6e4), np.full(2, 6e3))
    >>> flat = Plan("flat 5%", commission=Commission((Tier(0, float("inf"), 0.05),)))
    >>> cheap = flat.replace(name="flat 4%", **{"commission.tiers.0.rate": 0.04})
    >>> result = simulate([flat, cheap], AttainmentScenario(pop, Normal()), trials=32, seed=0)
    >>> doc = simulation_payload(result, "attainment")
    >>> doc["plans"], round(doc["comparison"][0]["mean_difference"], -2)  # 1% of 2 x 120,000
    (['flat 5%', 'flat 4%'], -2400.0)
    """
    names = result.names
    return {
        "caption": result.caption,
        "scenario": scenario,
        "trials": result.trials,
        "seed": result.seed,
        "budget": result.budget,
        "plans": names,
        "currency": next((p.currency for p in result.plans if p.currency), ""),
        "reps": len(result.population.reps),
        "cost_summary": _records(result.cost_summary()),
        "comparison": _records(result.compare()) if len(names) > 1 else [],
        "winners_losers": {n: _records(result.winners_losers(n)) for n in names[1:]},
    }


def _scenario(args: argparse.Namespace, ds: Any) -> Any:
    """The scenario (or the dataset, fitted by ``simulate`` itself) chosen on the command line."""
    from .simulation import AttainmentScenario, HistoryScenario, Normal, Population

    if args.scenario == "history":
        try:
            return HistoryScenario.from_history(ds)
        except (KeyError, ValueError) as exc:
            raise DataError(f"simulate: {exc.args[0] if exc.args else exc}") from None

    sd = DEFAULT_SD if args.attainment_sd is None else args.attainment_sd
    try:
        return AttainmentScenario(Population.from_dataset(ds), Normal(1.0, sd))
    except (KeyError, ValueError) as exc:
        raise DataError(f"simulate: {exc.args[0] if exc.args else exc}") from None


def _check(args: argparse.Namespace) -> None:
    if args.trials < 1:
        raise DataError(f"--trials must be at least 1, got {args.trials}")
    if args.budget is not None and not (math.isfinite(args.budget) and args.budget > 0):
        raise DataError(f"--budget must be a positive amount, got {args.budget}")
    if args.workers is not None and args.workers < 1:
        raise DataError(f"--workers must be at least 1, got {args.workers}")
    sd = args.attainment_sd
    if sd is not None:
        if args.scenario != "attainment":
            raise DataError("--attainment-sd applies to --scenario attainment only")
        if not (math.isfinite(sd) and sd >= 0):
            raise DataError(f"--attainment-sd must be zero or more, got {sd}")


def _number(v: float) -> str:
    return f"{v:,.4g}" if abs(v) < 10 else f"{v:,.0f}"


def _cmd_simulate(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any]) -> int:
    from .fairness import fairness, fairness_metrics
    from .io.write import neutralise
    from .plans import PlanError
    from .simulation import simulate

    _check(args)
    plans = [read_plan_file(path) for path in args.plan]
    ds = load(args)
    scenario = _scenario(args, ds)
    try:
        metric = fairness_metrics(scenario.population)
        result = simulate(
            plans,
            scenario,
            args.trials,
            args.seed,
            budget=args.budget,
            workers=args.workers,
            progress=args.progress,
            metrics=[metric],
        )
        fair = fairness(result).table
    except ModuleNotFoundError as exc:
        if "history" not in str(exc.name):
            raise
        raise DataError(
            "--scenario history is not available in this version; use --scenario attainment"
        ) from None
    except (PlanError, KeyError, ValueError) as exc:
        raise DataError(f"simulate: {exc.args[0] if exc.args else exc}") from None
    summary = result.cost_summary()
    if args.json:
        payload = simulation_payload(result, args.scenario)
        payload["fairness"] = _records(fair.set_index(["plan", "metric"]))
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return EXIT_OK
    if args.csv:
        table = summary.reset_index()
        safe = table.assign(plan=neutralise(table["plan"].astype("str")))
        safe.to_csv(sys.stdout, index=False, lineterminator="\n")
        return EXIT_OK
    print(result.caption + f"; scenario: {args.scenario}")
    rows = [r for r in SUMMARY_ROWS if r in summary.columns]
    print("\nCost per plan (95% interval of the expected total):")
    print(summary[rows].T.to_string(float_format=_number))
    print("\nFairness (mean over trials, 5th-95th percentile):")
    shown = fair.pivot(index="metric", columns="plan", values="estimate")[result.names]
    print(shown.to_string(float_format=lambda v: f"{v:,.3f}"))
    if len(result.names) > 1:
        print(f"\nAgainst the baseline {result.names[0]} (paired on the same trials):")
        print(result.compare().to_string(float_format=lambda v: f"{v:,.2f}"))
        for name in result.names[1:]:
            counts = result.winners_losers(name)["outcome"].value_counts()
            print(
                f"  {name}: {int(counts.get('gains', 0))} reps gain, "
                f"{int(counts.get('loses', 0))} lose, {int(counts.get('mixed', 0))} mixed"
            )
    return EXIT_OK


def add_simulate_command(
    sub: Any,
    add_load_options: Callable[[argparse.ArgumentParser], None],
    load: Callable[[argparse.Namespace], Any],
) -> None:
    """Register ``simulate`` on the subcommand parser ``sub``."""
    p = sub.add_parser(
        "simulate",
        help="Monte Carlo cost of commission plans: distribution, risk, winners and losers",
        description="Simulate next year's pay under one or more plans on the same random "
        "trials (the first plan is the baseline): expected cost with its interval, "
        "percentiles, the probability of exceeding a budget, and the paired difference "
        "against the baseline.",
    )
    add_load_options(p)
    p.add_argument(
        "--plan",
        action="append",
        required=True,
        metavar="FILE",
        help="plan TOML file; repeat to compare plans (the first is the baseline)",
    )
    p.add_argument("--trials", type=int, default=1000, metavar="N", help="trials (default 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--budget", type=float, metavar="X", help="budget for total pay: P(exceeding) is reported"
    )
    p.add_argument(
        "--scenario",
        choices=["history", "attainment"],
        default="history",
        help="history: fitted from the data (default); attainment: Normal(1, sd) of quota",
    )
    p.add_argument(
        "--attainment-sd",
        type=float,
        metavar="X",
        help="sd of annual attainment with --scenario attainment (default 0.2)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="threads running chunks (default: the cores available, at most 4); the numbers "
        "are the same for any N",
    )
    p.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON output")
    fmt.add_argument("--csv", action="store_true", help="CSV of the cost summary")
    p.set_defaults(func=lambda args: _cmd_simulate(args, load))
