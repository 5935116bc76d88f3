"""Time ``salesanalytics.load`` against plain ``pandas.read_csv`` of the same files.

Run it as a person would::

    python bench/bench_load.py --deals 2000000

It generates a synthetic dataset, writes it as canonical CSV into a temporary folder, then
times (1) the peer — ``pandas.read_csv`` of every file with default type inference and
``parse_dates`` on the timestamp columns, which is what a hand-written notebook would do —
and (2) ``salesanalytics.load`` of the same folder (encoding detection, mapping, parsing,
validation of every row, the quality report). It prints both times and their ratio; the
ratio is the figure to compare across machines. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

import salesanalytics as sa
from salesanalytics import sample
from salesanalytics.schema import TABLES


def peer_read(folder: Path) -> int:
    rows = 0
    for path in sorted(folder.glob("*.csv")):
        spec = TABLES[path.stem]
        header = pd.read_csv(path, nrows=0).columns
        dates = [c for c in spec.columns_of_kind("time") if c in header]
        frame = pd.read_csv(path, parse_dates=dates)
        rows += len(frame)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best is kept")
    args = parser.parse_args()

    t0 = time.perf_counter()
    ds = sample.generate(args.deals, seed=args.seed)
    t_gen = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths = sa.save(ds, folder)
        t_save = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in paths)
        rows = {p.stem: len(ds.table(p.stem)) for p in paths}
        del ds
        peer, ours = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            n_peer = peer_read(folder)
            peer.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            loaded = sa.load(folder)
            ours.append(time.perf_counter() - t0)
        assert loaded.quality.balanced
        n_ours = int(loaded.quality.counts["rows_in"].sum())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"deals: {args.deals:,}; rows in all tables: {sum(rows.values()):,} "
        f"({', '.join(f'{k} {v:,}' for k, v in rows.items())}); CSV {size / 1e6:,.1f} MB"
    )
    print(f"generate: {t_gen:,.1f} s; save: {t_save:,.1f} s")
    print(f"peer  pandas.read_csv (+parse_dates): {min(peer):,.1f} s for {n_peer:,} rows")
    print(f"ours  salesanalytics.load (validated): {min(ours):,.1f} s for {n_ours:,} rows")
    print(f"ratio load / read_csv: {min(ours) / min(peer):.2f}x; peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
