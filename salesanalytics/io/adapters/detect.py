"""Which CRM an export comes from: every adapter scores the files; the best one wins.

The score is the number of distinctive headers (and, beside them, file names) an adapter
recognises. No family with at least :data:`MIN_SCORE` signs means a generic export. Two
families with the same best score is ambiguous: loading refuses and asks for ``format=``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...quality import DataError
from ..records import RawTable
from . import chinese, generic, hubspot, pipedrive, salesforce, zoho
from .base import Adapter

__all__ = ["ADAPTERS", "FORMATS", "Detection", "detect_format"]

ADAPTERS: Mapping[str, Adapter] = {
    a.name: a
    for a in (
        salesforce.ADAPTER,
        hubspot.ADAPTER,
        pipedrive.ADAPTER,
        zoho.ADAPTER,
        chinese.ADAPTER,
        generic.ADAPTER,
    )
}
"""Adapters by format name."""

FORMATS = ("auto", *ADAPTERS)
"""Values of ``load(format=...)``."""

MIN_SCORE = 2
"""Signs a family needs before it is chosen: one look-alike header is not enough."""


@dataclass(frozen=True)
class Detection:
    """The format chosen, why, and every family's score (for the record)."""

    format: str
    reason: str
    scores: Mapping[str, int]

    def __str__(self) -> str:
        return f"{self.format} ({self.reason})"


def detect_format(raws: Sequence[RawTable], format: str = "auto") -> Detection:
    """Choose the adapter for ``raws``: the one asked for, or the best-scoring family.

    Raises :class:`DataError` for an unknown format name, or when two families score the
    same (the message names both and their evidence, and how to choose).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from salesanalytics.io.records import RawTable
    >>> raw = RawTable("deals.csv", pd.DataFrame(columns=["Deal - Title", "Deal - Status"]),
    ...                np.array([]), None, None)
    >>> detect_format([raw]).format
    'pipedrive'
    >>> detect_format([raw], "generic").reason
    'format="generic" given'
    """
    if format != "auto":
        if format not in ADAPTERS:
            raise DataError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
        return Detection(format, f'format="{format}" given', {})
    found = {name: a.detect(raws) for name, a in ADAPTERS.items() if name != generic.ADAPTER.name}
    scores = {name: s for name, (s, _) in found.items()}
    ranked = sorted(found.items(), key=lambda kv: -kv[1][0])
    best_name, (best, why) = ranked[0]
    if best < MIN_SCORE:
        weak = f" (only {why})" if best else ""
        return Detection(
            "generic",
            f"no CRM-specific headers{weak}; canonical or common column names",
            scores,
        )
    ties = [(n, w) for n, (s, w) in ranked if s == best]
    if len(ties) > 1:
        each = "; ".join(f"{n}: {w}" for n, w in ties)
        names = " or ".join(f'format="{n}"' for n, _ in ties)
        raise DataError(
            f"cannot tell which CRM these files come from ({each}). "
            f"Pass {names} (--format on the command line), or load the files separately."
        )
    return Detection(best_name, f"{best} sign(s): {why}", scores)
