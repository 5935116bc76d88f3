"""Time ``time_in_stage`` and ``sales_cycle`` on generated deals, against a plain-pandas peer.

Run it as a person would::

    python bench/bench_timing.py --deals 2000000          # generation takes ~1 minute

It generates a synthetic dataset and times, each in the same process:

1. ``timing.time_in_stage`` (every stay, cumulative and latest time per deal and stage,
   Kaplan–Meier summaries and curves for the three measures) and ``timing.sales_cycle``
   (Kaplan–Meier time to close, Aalen–Johansen won/lost incidence, curves);
2. the peer — what a hand-written notebook would do with pandas: ``groupby().shift()`` for
   the next entry, the per deal × stage sum of stays, and naive medians per stage (no
   censoring, no curves). It computes less, so the ratio flatters the peer.

It checks that both give the same cumulative time per deal and stage, then prints wall
times, the ratio, and the peak extra memory of each call (resident set size sampled every
5 ms, minus the size before the call). Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from salesanalytics import sample
from salesanalytics.dataset import Dataset
from salesanalytics.timing import sales_cycle, time_in_stage

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def release() -> None:
    """Return freed heap pages to the OS, so the RSS before a call is a fair baseline."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: baseline a little high
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn``; return its result, wall seconds and peak extra RSS in GB."""
    release()
    base, peak, done = rss(), [0], threading.Event()

    def sample_rss() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    th = threading.Thread(target=sample_rss, daemon=True)
    th.start()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    return out, wall, max(peak[0], rss()) / 1e9 - base / 1e9


def peer(ds: Dataset) -> pd.DataFrame:
    """Cumulative days per deal and open stage with plain pandas; naive medians per stage."""
    ev = ds.stage_events.sort_values(["deal_id", "entered_at"], kind="stable")
    deals = ds.deals.set_index("deal_id")
    nxt = ev.groupby("deal_id", sort=False)["entered_at"].shift(-1)
    closed = ev["deal_id"].map(deals["closed_at"])
    end = nxt.fillna(closed).fillna(ds.as_of)
    ev = ev.assign(days=(end - ev["entered_at"]) / pd.Timedelta(days=1))
    ev = ev[ev["stage"].isin(ds.stages.stages)]
    per = ev.groupby(["deal_id", "stage"], sort=False)["days"].sum()
    per.groupby(level="stage").median()  # the naive figure a notebook would report
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--by", default=None, help="deal column to segment by")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    t0 = time.perf_counter()
    ds = sample.generate(args.deals, seed=args.seed)
    t_gen = time.perf_counter() - t0
    tis, t_tis, m_tis = measure(lambda: time_in_stage(ds, by=args.by))
    _, t_cyc, m_cyc = measure(lambda: sales_cycle(ds, by=args.by))
    ref, t_peer, m_peer = measure(lambda: peer(ds))

    ours = tis.per_deal.set_index(["deal_id", "stage"])["cumulative_days"]
    ours.index = ours.index.set_levels(ours.index.levels[1].astype(str), level=1)
    joined = ref.rename("peer").to_frame().join(ours.rename("ours"), how="outer")
    agree = len(ours) == len(ref) and bool(np.allclose(joined["peer"], joined["ours"]))

    out = {
        "deals": args.deals,
        "stage_events": len(ds.stage_events),
        "generate_s": round(t_gen, 2),
        "time_in_stage_s": round(t_tis, 2),
        "time_in_stage_peak_gb": round(m_tis, 2),
        "sales_cycle_s": round(t_cyc, 2),
        "sales_cycle_peak_gb": round(m_cyc, 2),
        "peer_pandas_s": round(t_peer, 2),
        "peer_pandas_peak_gb": round(m_peer, 2),
        "ratio_time_in_stage_to_peer": round(t_tis / t_peer, 3),
        "agree": agree,
    }
    if args.json:
        print(json.dumps(out))
        return
    print(
        f"{args.deals:,} deals, {len(ds.stage_events):,} stage events (generated in {t_gen:.1f} s)"
    )
    print(f"time_in_stage   {t_tis:7.2f} s   peak +{m_tis:.2f} GB")
    print(f"sales_cycle     {t_cyc:7.2f} s   peak +{m_cyc:.2f} GB")
    print(
        f"pandas peer     {t_peer:7.2f} s   peak +{m_peer:.2f} GB  (cumulative time, naive medians)"
    )
    print(f"ratio time_in_stage / peer: {t_tis / t_peer:.2f}   per-deal figures agree: {agree}")


if __name__ == "__main__":
    main()
