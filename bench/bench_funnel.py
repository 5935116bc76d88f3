"""Reach by lead source and median time in stage: salesanalytics against DuckDB SQL.

Run it as a person would (DuckDB is a benchmark-only dependency: ``pip install -e ".[bench]"``)::

    python bench/bench_funnel.py --deals 2000000
    python bench/bench_funnel.py --deals 20000 --json

It generates ``--deals`` synthetic deals (about 3.3 stage events each), then times, on the
same in-memory data:

* ours: ``stage_reach(ds, by="lead_source")`` (implied reach, distinct deals) and
  ``time_in_stage(ds, measures=("stay",))`` (Kaplan–Meier median stay per stage, the
  current stay of open deals censored at the as-of date);
* the peer: the same two figures in DuckDB SQL (window functions for the stays and the
  Kaplan–Meier product), on the same pandas frames, two threads.

It asserts that the two agree (reach exactly; medians to 1e-6 days), and prints both times,
the ratio ours / DuckDB and the peak memory. Nothing is asserted about time.
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
from salesanalytics.funnel import stage_reach
from salesanalytics.timing import time_in_stage

REACH_SQL = """
WITH best AS (
  SELECT deal_id, max(CASE stage {positions} END) AS best FROM ev GROUP BY deal_id)
SELECT d.lead_source, s.pos, count(*) AS reached,
       count(*) FILTER (WHERE d.outcome = 'open') AS still_open
FROM deals d JOIN best b USING (deal_id)
JOIN range(0, {n_stages}) s(pos) ON b.best >= s.pos
GROUP BY ALL
"""

STAY_SQL = """
WITH ordered AS (
  SELECT e.deal_id, e.stage, e.entered_at,
         lead(e.entered_at) OVER (PARTITION BY e.deal_id ORDER BY e.entered_at, e.rn) AS next_at,
         d.outcome, d.closed_at
  FROM (SELECT *, row_number() OVER () AS rn FROM ev) e JOIN deals d USING (deal_id)),
stays AS (
  SELECT stage,
         epoch(coalesce(next_at, CASE WHEN outcome = 'open' THEN TIMESTAMPTZ '{as_of}'
                                      ELSE closed_at END) - entered_at) / 86400.0 AS t,
         (next_at IS NOT NULL OR outcome <> 'open') AS event
  FROM ordered WHERE stage IN ({open_stages})),
grouped AS (
  SELECT stage, t, count(*) FILTER (WHERE event) AS d, count(*) AS m FROM stays GROUP BY ALL),
km AS (
  SELECT stage, t, d,
         sum(m) OVER (PARTITION BY stage ORDER BY t DESC
                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS at_risk
  FROM grouped),
surv AS (
  SELECT stage, t,
         exp(sum(ln(1 - d / at_risk)) OVER (PARTITION BY stage ORDER BY t
                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS s
  FROM km WHERE d < at_risk)
SELECT stage, min(t) AS median_days FROM surv WHERE s <= 0.5 GROUP BY stage
"""


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    start = time.perf_counter()
    ds = sample.generate(args.deals, seed=args.seed)
    t_gen = time.perf_counter() - start
    model = ds.stages
    funnel = [*model.stages, model.won]
    deals = ds.deals[["deal_id", "lead_source", "outcome", "closed_at"]]
    events = ds.stage_events

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("deals", deals)
    con.register("ev", events)
    positions = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(funnel))
    reach_sql = REACH_SQL.format(positions=positions, n_stages=len(funnel))
    stay_sql = STAY_SQL.format(
        as_of=ds.as_of.isoformat(), open_stages=", ".join(f"'{s}'" for s in model.stages)
    )

    def ours() -> tuple[pd.DataFrame, pd.DataFrame]:
        return (
            stage_reach(ds, by="lead_source").table,
            time_in_stage(ds, measures=("stay",)).table,
        )

    def peer() -> tuple[pd.DataFrame, pd.DataFrame]:
        return con.execute(reach_sql).df(), con.execute(stay_sql).df()

    (reach, stays), t_ours = timed(ours, args.repeat)
    (duck_reach, duck_stays), t_peer = timed(peer, args.repeat)

    mine = reach.reset_index()
    mine["pos"] = mine["stage"].map({s: i for i, s in enumerate(funnel)})
    left = mine.set_index(["lead_source", "pos"])[["reached", "still_open"]]
    right = duck_reach.set_index(["lead_source", "pos"])[["reached", "still_open"]]
    right = right.reindex(left.index, fill_value=0).astype("int64")
    pd.testing.assert_frame_equal(left.astype("int64"), right, check_names=False)
    med = stays.set_index("stage")["median_days"]
    duck_med = duck_stays.set_index("stage")["median_days"].reindex(med.index)
    np.testing.assert_allclose(med.to_numpy(), duck_med.to_numpy(), rtol=0, atol=1e-6)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "deals": args.deals,
        "stage_events": len(events),
        "generate_s": round(t_gen, 2),
        "ours_s": round(t_ours, 3),
        "duckdb_s": round(t_peer, 3),
        "ratio_ours_over_duckdb": round(t_ours / t_peer, 3),
        "peak_rss_mb": round(peak_mb),
        "agree": True,
        "median_stay_days": {str(k): round(float(v), 3) for k, v in med.items()},
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"deals {args.deals:,}; stage events {len(events):,}; generated in {t_gen:,.1f} s")
    print(f"ours   (stage_reach by lead_source + KM median stay): {t_ours:,.3f} s")
    print(f"DuckDB (same two figures in SQL, 2 threads):          {t_peer:,.3f} s")
    print(f"ratio ours / DuckDB: {t_ours / t_peer:.2f}; results agree; peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
