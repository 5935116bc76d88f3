"""Backtest of a tiered plan: salesanalytics against a hand-written pandas pipeline.

Run it as a person would::

    python bench/bench_backtest.py --deals 2000000 --reps 1000
    python bench/bench_backtest.py --deals 20000 --reps 40 --json

It generates ``--deals`` synthetic deals over 24 months for ``--reps`` seats, then times on
the same in-memory data:

* ours: ``evaluate(plan, ds)`` for every rep (monthly, marginal tiers 3%/6%/9% at 50%/100%
  attainment, a cap at 250%, base salary, a 20,000 recoverable draw for a rep's first three
  months), then the statements with every line item in cents (``bt.statements``);
* the peer: the commission of the same tiers computed the way an analyst would in pandas:
  group won deals by owner and month, merge the quotas, apply the tier formula with numpy.

It asserts that the commissions agree (to 1e-6 per rep-month) and prints both times, the
ratio ours / pandas (ours also does crediting, proration, draws and statements) and the peak
memory. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics import sample
from salesanalytics.plans import Commission, Draw, Plan, Tier, evaluate

LOWERS, RATES, CAP = (0.0, 0.5, 1.0), (0.03, 0.06, 0.09), 2.5
PLAN = Plan(
    "bench",
    commission=Commission(
        (Tier(0.0, 0.5, 0.03), Tier(0.5, 1.0, 0.06), Tier(1.0, float("inf"), 0.09)),
        cap_attainment=CAP,
    ),
    draw=Draw(20_000.0, periods=3),
)


def peer(ds: Any) -> pd.DataFrame:
    """Commission per rep and month with plain pandas."""
    deals = ds.deals
    won = deals[deals["outcome"] == "won"]
    month = won["closed_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
    booked = won.groupby([won["owner_id"], month])["amount"].sum().rename("measure")
    booked.index.names = ["rep_id", "month"]
    q = ds.quotas
    qmonth = q["period_start"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
    quota = q.groupby([q["rep_id"], qmonth])["quota"].sum()
    quota.index.names = ["rep_id", "month"]
    t = pd.concat([booked, quota.rename("quota")], axis=1).dropna(subset=["quota"])
    t["measure"] = t["measure"].fillna(0.0)
    a = np.minimum(t["measure"] / t["quota"], CAP)
    uppers = (*LOWERS[1:], np.inf)
    per_quota = sum(
        r * np.clip(a - lo, 0, hi - lo) for lo, hi, r in zip(LOWERS, uppers, RATES, strict=True)
    )
    t["commission"] = per_quota * t["quota"]
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=2_000_000)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    ds = sample.generate(args.deals, seed=args.seed, n_reps=args.reps)
    generate = time.perf_counter() - t0

    t0 = time.perf_counter()
    bt = evaluate(PLAN, ds)
    ours_backtest = time.perf_counter() - t0
    t0 = time.perf_counter()
    statements = bt.statements
    ours_statements = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference = peer(ds)
    pandas_time = time.perf_counter() - t0

    table = bt.table.assign(month=bt.table["period"])
    mine = table.set_index(["rep_id", "month"])["commission"]
    ref = reference["commission"]
    ref.index = pd.MultiIndex.from_arrays(
        [ref.index.get_level_values(0).astype(str), ref.index.get_level_values(1).astype(str)]
    )
    common = mine.index.intersection(ref.index)
    assert len(common) > 0.9 * len(ref), "the backtest and the peer cover different rep-months"
    gap = float((mine.loc[common] - ref.loc[common]).abs().max())
    assert gap < 1e-6, f"commission differs by {gap}"
    lines = statements.lines
    assert int(lines["cents"].sum()) == int(statements.totals["total"].sum())
    ours = ours_backtest + ours_statements
    result = {
        "deals": len(ds.deals),
        "won_credited": len(bt.credits),
        "reps": len(bt.staff.ids),
        "periods": len(bt.calendar.labels),
        "statement_lines": len(lines),
        "generate_s": round(generate, 2),
        "ours_backtest_s": round(ours_backtest, 3),
        "ours_statements_s": round(ours_statements, 3),
        "pandas_commission_only_s": round(pandas_time, 3),
        "ratio_ours_over_pandas": round(ours / pandas_time, 2),
        "max_commission_gap": gap,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>26}: {value}")


if __name__ == "__main__":
    main()
