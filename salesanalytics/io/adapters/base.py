"""What every export adapter is made of, and the small helpers they share.

An adapter recognises the files of one CRM by their headers and names (:attr:`Adapter.detect`)
and prepares them for the ordinary loading pipeline (:attr:`Adapter.prepare`): it says which
canonical table each file holds, gives a mapping dict (headers -> canonical columns, value
maps, stage aliases; the format of :mod:`salesanalytics.io.mapping`) and does the reshaping a
mapping cannot express (wide "date entered" columns to stage events, status flags to an
outcome). Reshaping works on the raw text tables and keeps every row's file and line, so
problems still point into the user's file. Parsing, validation and row accounting stay in
:mod:`..canonical` and :mod:`..validate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ...schema import TABLES
from ...stages import label_key
from ..records import RawTable

__all__ = [
    "Adapter",
    "Fidelity",
    "Part",
    "Prepared",
    "derived",
    "file_key",
    "find",
    "keys",
    "pick",
    "signature_score",
    "truthy",
    "with_columns",
]

Fidelity = Literal["full_history", "latest_per_stage", "current_state"]

TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "是", "x"})


@dataclass(frozen=True)
class Part:
    """One raw table and the canonical table it holds (``None``: let the loader decide).

    ``derived`` marks a table the adapter built from another file's columns (HubSpot's
    date-entered columns): its table is fixed, whatever ``[files]`` says about the file;
    ``origin`` is then the path of that file when ``raw.source`` names more than the file.
    """

    raw: RawTable
    table: str | None = None
    reason: str = ""
    derived: bool = False
    origin: str = ""


@dataclass(frozen=True)
class Prepared:
    """An adapter's output: tables to parse, the mapping to parse them with, and notes.

    ``fidelity`` is the history fidelity when the adapter knows it (HubSpot's date-entered
    columns give ``latest_per_stage``); ``None`` lets the loader decide (``full_history``
    with a stage-history table, ``current_state`` without).
    """

    parts: tuple[Part, ...]
    mapping: Mapping[str, Any] = field(default_factory=dict)
    fidelity: Fidelity | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Adapter:
    """A CRM export family: its name, how it is recognised, how it is prepared.

    ``detect(raws)`` returns a score (0: not this family; higher: more evidence) and the
    reason in words; ``prepare(raws)`` returns a :class:`Prepared`.
    """

    name: str
    detect: Callable[[Sequence[RawTable]], tuple[int, str]]
    prepare: Callable[[Sequence[RawTable]], Prepared]


def keys(raw: RawTable) -> set[str]:
    """Header keys (:func:`~salesanalytics.stages.label_key` form) of a raw table."""
    return {label_key(str(h)) for h in raw.frame.columns}


def file_key(raw: RawTable) -> str:
    """The file (or sheet) name stem in label-key form: ``Opportunity_2024.csv`` -> ``opportunity``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> raw = RawTable("x/OpportunityHistory-2024.csv", pd.DataFrame(), np.array([]), None, None)
    >>> file_key(raw)
    'opportunityhistory'
    """
    name = raw.sheet or Path(raw.source).name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return label_key("".join(c for c in stem if not c.isdigit()))


def find(raw: RawTable, *candidates: str) -> str | None:
    """The first header of ``raw`` that matches one of ``candidates`` (by label key)."""
    by_key = {label_key(str(h)): str(h) for h in raw.frame.columns}
    for c in candidates:
        hit = by_key.get(label_key(c))
        if hit is not None:
            return hit
    return None


def pick(raws: Sequence[RawTable], candidates: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Header -> canonical column: for each column, the first candidate header present.

    Only one header ever maps to a column, so exports that carry both an id and a name
    (``Id`` and ``Opportunity Name``) never collide.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> raw = RawTable("o.csv", pd.DataFrame(columns=["Name", "Id"]), np.array([]), None, None)
    >>> pick([raw], {"deal_id": ["Id", "Name"], "stage": ["StageName"]})
    {'Id': 'deal_id'}
    """
    out: dict[str, str] = {}
    for target, names in candidates.items():
        for name in names:
            hit = next((h for raw in raws if (h := find(raw, name)) is not None), None)
            if hit is not None:
                out[hit] = target
                break
    return out


def signature_score(
    raws: Sequence[RawTable], headers: Iterable[str], names: Iterable[str] = ()
) -> tuple[int, list[str]]:
    """How many distinctive ``headers`` and file-name stems ``names`` the files show.

    Headers match as spelt (ignoring case): ``deal_stage`` is not HubSpot's ``Deal Stage``.
    File names count only beside at least one distinctive header, and headers that spell a
    canonical column never count: a canonical ``opportunity.csv`` with ``account_id`` is not
    a Salesforce export.
    """
    canonical = {label_key(c) for t in TABLES.values() for c in t.names}
    wanted = {h.strip().casefold(): h for h in headers if label_key(h) not in canonical}
    stems = {label_key(n) for n in names}
    seen: dict[str, None] = {}
    files: dict[str, None] = {}
    for raw in raws:
        for h in raw.frame.columns:
            if str(h).strip().casefold() in wanted:
                seen[f"header {str(h)!r}"] = None
        stem = file_key(raw)
        if any(stem.startswith(s) for s in stems):
            files[f"file {Path(raw.source).name}"] = None
    if not seen:
        return 0, []
    found = list(seen) + list(files)
    return len(found), found


def truthy(values: pd.Series) -> np.ndarray:
    """Boolean array: the text says true (``TRUE``, ``1``, ``yes``, ``是``)."""
    true = [u for u in pd.unique(values.dropna()) if label_key(u) in TRUE_WORDS]
    return values.isin(true).to_numpy(dtype=bool)


def with_columns(
    raw: RawTable, drop: Iterable[str] = (), **columns: pd.Series | np.ndarray | str
) -> RawTable:
    """The raw table with text columns added or replaced and ``drop`` removed."""
    frame = raw.frame.drop(columns=list(drop))
    for name, values in columns.items():
        if isinstance(values, str):
            frame[name] = pd.Series(values, index=frame.index, dtype="str")
        elif isinstance(values, pd.Series):
            frame[name] = values.set_axis(frame.index).astype("str")
        else:
            frame[name] = pd.Series(np.asarray(values, dtype=object), index=frame.index).astype(
                "str"
            )
    return replace(raw, frame=frame)


def derived(raw: RawTable, frame: pd.DataFrame, rows: np.ndarray) -> RawTable:
    """A new raw table built from rows ``rows`` of ``raw``: same file, same line numbers."""
    return RawTable(
        raw.source,
        frame.reset_index(drop=True),
        np.asarray(raw.lines, dtype="int64")[rows],
        raw.encoding,
        raw.sheet,
        0,
        (),
        raw.delimiter,
    )
