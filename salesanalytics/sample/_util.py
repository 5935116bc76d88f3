"""Small vectorised helpers shared by the generator modules (ids, times, draws).

Internal building block of :func:`~salesanalytics.sample.generate` (not public API).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DAY = 86_400
"""Seconds per day; every internal timestamp is int64 seconds since the Unix epoch (UTC)."""
HOUR = 3_600


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A generator from an int, an existing generator (used as is) or ``None`` (fresh)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed)!r}")
    return np.random.default_rng(seed)


def id_width(count: int, minimum: int) -> int:
    """Digits needed for ``count`` ids, at least ``minimum``."""
    return max(minimum, len(str(max(int(count), 1))))


def format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array (fast for millions)."""
    text = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, text, "")


def take_text(values: pa.Array | Sequence[str], index: np.ndarray) -> pd.Series:
    """``values[index]`` as a ``str`` Series; negative indexes give missing values."""
    arr = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    index = np.asarray(index)
    missing = index < 0
    if missing.any():
        taken = arr.take(pa.array(np.where(missing, 0, index), mask=missing))
    else:
        taken = arr.take(pa.array(index))
    return pd.Series(taken.to_pandas(), dtype="str")


def to_times(seconds: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    """Int64 epoch seconds (with an optional missing mask) as ``datetime64[us, UTC]``."""
    us = np.asarray(seconds, dtype=np.int64) * 1_000_000
    if missing is not None and missing.any():
        us = np.where(missing, np.iinfo(np.int64).min, us)
    return pd.Series(us.view("datetime64[us]")).dt.tz_localize("UTC")


def seconds(ts: pd.Timestamp) -> int:
    """Epoch seconds of a timestamp (naive timestamps are read as UTC)."""
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value // 1_000_000_000)


def to_seconds(days: np.ndarray) -> np.ndarray:
    """Durations in days -> whole seconds (int64, at least 1)."""
    return np.maximum(np.rint(np.asarray(days) * DAY), 1).astype(np.int64)


def categorical(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    """Indexes drawn with probabilities proportional to ``weights`` (int64)."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int64)


def categorical_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per element from the categorical row ``probs[rows[i]]`` (vectorised)."""
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(rows))
    out = np.zeros(len(rows), dtype=np.int64)
    for k in range(probs.shape[1] - 1):
        out += u >= cum[rows, k]
    return out


def lognormal_days(
    rng: np.random.Generator, median: np.ndarray | float, sigma: float, size: int
) -> np.ndarray:
    """Lognormal durations with the given median(s) (days, float)."""
    return np.asarray(median, dtype=float) * np.exp(sigma * rng.standard_normal(size))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def month_starts(start: pd.Timestamp, months: int) -> np.ndarray:
    """Epoch seconds of ``start`` + 0..months calendar months (``months + 1`` boundaries)."""
    return np.array(
        [seconds(start + pd.DateOffset(months=k)) for k in range(months + 1)], dtype=np.int64
    )


def group_last(keys: np.ndarray) -> np.ndarray:
    """Positions of the last row of each run of equal ``keys`` (keys sorted)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[keys[1:] != keys[:-1], True])


def group_first(keys: np.ndarray) -> np.ndarray:
    """Positions of the first row of each run of equal ``keys`` (keys sorted)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
