"""Benchmark the synthetic data generator and the CSV writer on one machine, in one run.

Prints the time to generate ``--deals`` deals (and every other table), the time to save them
as canonical CSV files, peak memory, and ratios against peers measured in the same run:

* generation vs *random frames*: building pandas frames of the same shapes filled with
  numpy random floats (the floor for "make this many random cells");
* saving vs *Arrow CSV*: ``pyarrow.csv.write_csv`` of the same tables (multithreaded C++,
  no canonical formatting: the floor of "write this many cells as CSV"; plain
  ``DataFrame.to_csv`` is no floor, it is slower than ``save`` on timestamps).

Usage::

    python bench/bench_sample.py --deals 2000000
    python bench/bench_sample.py --deals 20000 --repeat 3 --no-save
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from salesanalytics import Dataset, sample
from salesanalytics.io.write import save

T = TypeVar("T")


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    """Best wall time of ``repeat`` calls and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    assert result is not None
    return best, result


def random_frames(shapes: dict[str, tuple[int, int]], seed: int) -> dict[str, pd.DataFrame]:
    """Frames of the given shapes filled with random floats (the peer of generation)."""
    rng = np.random.default_rng(seed)
    return {
        name: pd.DataFrame(rng.random((rows, cols)), columns=[f"c{i}" for i in range(cols)])
        for name, (rows, cols) in shapes.items()
    }


def arrow_csv(ds: Dataset, directory: Path) -> list[Path]:
    """Write every table with pyarrow's CSV writer (the peer of ``save``)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in ds:
        path = directory / f"{name}.csv"
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path)
        paths.append(path)
    return paths


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (GB; Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=200_000, help="deals to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--no-save", action="store_true", help="skip the CSV part")
    args = parser.parse_args(argv)

    gen_s, ds = best_of(args.repeat, lambda: sample.generate(args.deals, seed=args.seed))
    gen_rss = peak_rss_gb()
    shapes = {name: frame.shape for name, frame in ds}
    cells = sum(r * c for r, c in shapes.values())
    peer_s, _ = best_of(args.repeat, lambda: random_frames(shapes, args.seed))

    print(f"salesanalytics.sample.generate({args.deals:,}, seed={args.seed})")
    for name, (rows, cols) in shapes.items():
        print(f"  {name:<13} {rows:>12,} rows x {cols:>2} columns")
    print(f"  cells           {cells:>12,}")
    print(f"generate          {gen_s:8.2f} s   ({args.deals / gen_s:,.0f} deals/s)")
    print(f"peer: random frames of the same shapes {peer_s:8.2f} s")
    print(f"ratio generate / peer   {gen_s / peer_s:8.1f}x")
    print(f"peak RSS after generate {gen_rss:8.2f} GB")
    if not args.no_save:
        with tempfile.TemporaryDirectory() as tmp:
            save_s, paths = best_of(args.repeat, lambda: save(ds, Path(tmp) / "sample"))
            size = sum(p.stat().st_size for p in paths)
            save_rss = peak_rss_gb()
            arrow_s, _ = best_of(args.repeat, lambda: arrow_csv(ds, Path(tmp) / "peer"))
        print(f"save (canonical CSV)    {save_s:8.2f} s   ({size / 1e6:,.1f} MB)")
        print(f"peer: pyarrow.csv.write_csv {arrow_s:8.2f} s")
        print(f"ratio save / peer       {save_s / arrow_s:8.1f}x")
        print(f"peak RSS after save     {save_rss:8.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
