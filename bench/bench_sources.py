"""Lead-source quality: salesanalytics ``source_quality`` against DuckDB SQL for its counts.

Run it as a person would (DuckDB is a benchmark-only dependency: ``pip install -e ".[bench]"``)::

    python bench/bench_sources.py --deals 2000000
    python bench/bench_sources.py --deals 20000 --json

It generates ``--deals`` synthetic deals (about three leads per deal), then times, on the
same in-memory data:

* ours: ``source_quality(ds)`` — per lead source the lead and deal counts, the lead → deal
  join, revenue, three rates with Wilson intervals, the Kaplan–Meier median cycle and the
  spend columns — and ``source_quality(ds, period="month")``, the same per source × month;
* the peer: DuckDB SQL (two threads) for the counts and sums alone, per source and per
  source × month: leads, converted, leads whose deal is won and their revenue (a left join
  of leads to deals), deals, won, open and won revenue. The peer does less (no intervals,
  medians or spend), so the ratio is conservative.

It asserts that the common columns agree (counts exactly, revenue to 1e-9 relative), and
prints both times, the ratio ours / DuckDB and the peak memory. Nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from salesanalytics import sample
from salesanalytics.sources import source_quality

MONTH = "strftime(timezone('{tz}', {column}), '%Y-%m')"

LEADS_SQL = """
SELECT coalesce(l.lead_source, '(missing)') AS lead_source, {period} AS period,
       count(*) AS leads,
       count(*) FILTER (WHERE l.deal_id IS NOT NULL OR l.converted_at IS NOT NULL) AS converted,
       count(*) FILTER (WHERE d.outcome = 'won') AS lead_won,
       sum(CASE WHEN d.outcome = 'won' THEN coalesce(d.amount, 0) ELSE 0 END) AS lead_revenue
FROM leads l LEFT JOIN deals d ON l.deal_id = d.deal_id
GROUP BY ALL
"""

DEALS_SQL = """
SELECT coalesce(lead_source, '(missing)') AS lead_source, {period} AS period,
       count(*) AS deals,
       count(*) FILTER (WHERE outcome = 'won') AS won,
       count(*) FILTER (WHERE outcome = 'open') AS open,
       sum(CASE WHEN outcome = 'won' THEN coalesce(amount, 0) ELSE 0 END) AS won_revenue
FROM deals
GROUP BY ALL
"""

COUNTS = ["leads", "converted", "lead_won", "deals", "won", "open"]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def agree(ours: pd.DataFrame, leads: pd.DataFrame, deals: pd.DataFrame, keys: list[str]) -> None:
    """The common columns of our table equal the DuckDB counts and sums."""
    peer = pd.concat([leads.set_index(keys), deals.set_index(keys)], axis=1)
    peer.index.names = ours.index.names
    mine = ours.copy()
    mine["lead_revenue"] = mine["revenue_per_lead"].fillna(0) * mine["leads"]
    mine = mine[mine[["leads", "deals"]].sum(axis=1) > 0]  # rows of spend alone
    peer = peer.reindex(mine.index)
    pd.testing.assert_frame_equal(
        mine[COUNTS].astype("int64"), peer[COUNTS].fillna(0).astype("int64"), check_names=False
    )
    for column in ("won_revenue", "lead_revenue"):
        np.testing.assert_allclose(
            mine[column].to_numpy(float), peer[column].fillna(0).to_numpy(float), rtol=1e-9
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    start = time.perf_counter()
    ds = sample.generate(args.deals, seed=args.seed)
    t_gen = time.perf_counter() - start
    tz = ds.provenance.timezone

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("deals", ds.deals[["deal_id", "lead_source", "outcome", "amount", "created_at"]])
    con.register("leads", ds.leads[["lead_source", "deal_id", "converted_at", "created_at"]])
    queries = {
        by: (
            LEADS_SQL.format(period=period.format(tz=tz, column="l.created_at")),
            DEALS_SQL.format(period=period.format(tz=tz, column="created_at")),
        )
        for by, period in (("all", "'all'"), ("month", MONTH))
    }

    def ours() -> tuple[pd.DataFrame, pd.DataFrame]:
        return source_quality(ds).table, source_quality(ds, period="month").table

    def peer() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
        return {
            by: (con.execute(lq).df(), con.execute(dq).df()) for by, (lq, dq) in queries.items()
        }

    (table, monthly), t_ours = timed(ours, args.repeat)
    duck, t_peer = timed(peer, args.repeat)

    leads, deals = (frame.drop(columns="period") for frame in duck["all"])
    agree(table, leads, deals, ["lead_source"])
    agree(monthly, *duck["month"], ["lead_source", "period"])

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "deals": args.deals,
        "leads": len(ds.leads),
        "generate_s": round(t_gen, 2),
        "ours_s": round(t_ours, 3),
        "duckdb_s": round(t_peer, 3),
        "ratio_ours_over_duckdb": round(t_ours / t_peer, 3),
        "peak_rss_mb": round(peak_mb),
        "agree": True,
        "median_cycle_days": {
            str(k): round(float(v), 3) for k, v in table["median_cycle_days"].items()
        },
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"deals {args.deals:,}; leads {len(ds.leads):,}; generated in {t_gen:,.1f} s")
    print(f"ours   (source_quality, by source and by source × month): {t_ours:,.3f} s")
    print(f"DuckDB (their counts and sums in SQL, 2 threads):          {t_peer:,.3f} s")
    print(f"ratio ours / DuckDB: {t_ours / t_peer:.2f}; results agree; peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
