"""Stage history as integer arrays, shared by :mod:`.transitions` and :mod:`.timing`.

``stage_events`` is read once into arrays sorted by deal, then time (stage codes index
``(*open, won, lost)``; times are UTC microseconds), with the row of each deal in the deals
table, and deals are split into segments by deals columns. No loop over deals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .dataset import Dataset
from .segments import micros

__all__ = ["IntArray"]

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class _History:
    """Stage entries as arrays, sorted by deal then time (codes index ``stages``)."""

    deal: IntArray  # index into deal_ids
    stage: IntArray  # index into stages = (*open, won, lost)
    at: IntArray  # microseconds since the epoch, UTC
    deal_ids: pd.Index  # distinct deal ids of the history
    row: IntArray  # per deal code: its row in ``deals`` (-1: not there)
    stages: tuple[str, ...]
    dropped: int  # entries whose stage the model does not know


def _codes(values: pd.Series, names: Sequence[str]) -> IntArray:
    """Position of each value in ``names`` (-1: missing or not there); hashes distinct values."""
    codes, uniques = pd.factorize(values)
    lookup = {name: i for i, name in enumerate(names)}
    return np.array([lookup.get(u, -1) for u in uniques] + [-1], dtype="int64")[codes]


def _history(dataset: Dataset) -> _History:
    """Read ``stage_events`` into sorted integer arrays (no loop over deals).

    Exports usually list a deal's entries together; then deal codes come from comparing
    neighbouring ids, which is far cheaper than hashing millions of strings. Otherwise the
    ids are factorised and the entries sorted.
    """
    ev = dataset.stage_events
    stages = dataset.stages.all_stages
    stage = _codes(ev["stage"], stages)
    keep = stage >= 0
    ids = ev["deal_id"][keep].array
    at, stage = micros(ev["entered_at"])[keep], stage[keep]
    deals = dataset.deals["deal_id"]
    new = np.r_[True, np.asarray(ids[1:] != ids[:-1], dtype=bool)] if len(ids) else keep[:0]
    firsts = ids[new]
    row: IntArray | None = None
    if len(firsts) == len(deals) and bool(np.asarray(firsts == deals.array, dtype=bool).all()):
        row = np.arange(len(deals), dtype="int64")
    else:
        row = pd.Index(deals).get_indexer(firsts).astype("int64")
        if (row < 0).any() or (np.bincount(row, minlength=len(deals)) > 1).any():
            row = None  # ids not contiguous (or unknown deals): hash them
    if row is not None:
        deal, deal_ids = np.cumsum(new) - 1, pd.Index(firsts)
    else:
        codes, deal_ids = pd.factorize(ids)
        deal, deal_ids = codes.astype("int64"), pd.Index(deal_ids)
        row = pd.Index(deals).get_indexer(deal_ids).astype("int64")
    same = deal[1:] == deal[:-1]
    if not (len(deal) - same.sum() == len(deal_ids) and np.all(at[1:][same] >= at[:-1][same])):
        order = np.lexsort((at, deal))
        deal, stage, at = deal[order], stage[order], at[order]
    return _History(deal, stage, at, deal_ids, row, stages, int((~keep).sum()))


def _segments(deals: pd.DataFrame, by: str | Sequence[str] | None) -> tuple[IntArray, list[str]]:
    """Segment code per deal row and the sorted labels (values joined by " / ")."""
    if by is None:
        return np.zeros(len(deals), dtype="int64"), ["all"]
    cols = [by] if isinstance(by, str) else list(by)
    missing = [c for c in cols if c not in deals.columns]
    if missing:
        raise KeyError(f"no deal column(s) {missing} to segment by")
    parts = [deals[c].astype("str").fillna("(missing)") for c in cols]
    label = parts[0]
    for p in parts[1:]:
        label = label + " / " + p
    codes, labels = pd.factorize(label, sort=True)
    return codes.astype("int64"), [str(x) for x in labels]


def _deal_segments(
    h: _History, deals: pd.DataFrame, by: str | Sequence[str] | None
) -> tuple[IntArray, list[str]]:
    """Segment code per history deal code; deals missing from ``deals`` get their own."""
    codes, labels = _segments(deals, by)
    seg = np.where(h.row >= 0, codes[h.row], len(labels))
    if (h.row < 0).any():
        labels = [*labels, "(unknown deal)"]
    return seg, labels
