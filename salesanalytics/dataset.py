"""The :class:`Dataset`: canonical tables, their stage model, quality report and provenance."""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from .quality import QualityReport
from .schema import TABLES, conform
from .stages import StageModel

__all__ = ["Dataset", "Provenance", "SourceFile", "latest_timestamp"]

Fidelity = Literal["full_history", "latest_per_stage", "current_state"]


def latest_timestamp(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The latest event time in canonical tables: the default as-of moment.

    Dates that may lie in the future (expected close dates, period starts and ends,
    employment end dates) are left out.
    """
    skip = {"expected_close_at", "period_end", "end_date", "period_start"}
    found = [
        frame[c].max()
        for name, frame in tables.items()
        for c in TABLES[name].columns_of_kind("time")
        if c not in skip and c in frame.columns and frame[c].notna().any()
    ]
    return max(found) if found else None


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it was, its SHA-256, what it became."""

    path: str
    sha256: str
    table: str
    rows: int
    encoding: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Provenance:
    """Where a dataset came from and how to read its timestamps.

    Attributes
    ----------
    sources
        Input files with their hashes.
    timezone
        Zone in which naive input timestamps were read (all stored timestamps are UTC).
    as_of
        The moment the export describes; open deals are censored here. Defaults to the
        latest timestamp in the data.
    fidelity
        ``full_history`` (every stage entry), ``latest_per_stage`` (last entry per stage,
        as HubSpot's "date entered" columns) or ``current_state`` (no history).
    detected
        The export format the loader used and why (``"salesforce (3 sign(s): ...)"``);
        empty for datasets not made by the loader.
    """

    sources: tuple[SourceFile, ...] = ()
    timezone: str = "UTC"
    as_of: pd.Timestamp | None = None
    fidelity: Fidelity = "full_history"
    generator: str | None = None
    detected: str = ""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Canonical tables plus their :class:`StageModel`, :class:`QualityReport` and provenance.

    A dataset is immutable: each table attribute returns a copy-on-write view, so changing
    it never changes the dataset. Use :meth:`replace` to make a changed dataset.

    Parameters
    ----------
    tables
        Table name -> frame; ``deals`` and ``stage_events`` are required, the others
        (``leads``, ``activities``, ``reps``, ``quotas``, ``spend``) optional. Frames are
        conformed to canonical dtypes on construction.
    stages
        The stage model the ``stage`` columns use.
    quality
        What loading did with each input row.
    provenance
        Input files, time zone, as-of moment and history fidelity.

    Examples
    --------
    >>> import pandas as pd
    >>> from salesanalytics import Dataset
    >>> t = pd.Timestamp("2024-01-02", tz="UTC")
    >>> ds = Dataset({
    ...     "deals": pd.DataFrame({"deal_id": ["D1"], "created_at": [t], "outcome": ["open"],
    ...                            "amount": [1000.0], "owner_id": ["r1"]}),
    ...     "stage_events": pd.DataFrame({"deal_id": ["D1"], "stage": ["lead"], "entered_at": [t]}),
    ... })
    >>> ds.deals.shape[0], ds.has("leads")
    (1, False)
    """

    tables: Mapping[str, pd.DataFrame]
    stages: StageModel = field(default_factory=StageModel.default)
    quality: QualityReport = field(default_factory=QualityReport.empty)
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        unknown = set(self.tables) - set(TABLES)
        if unknown:
            raise ValueError(f"unknown table(s) {sorted(unknown)}; known: {list(TABLES)}")
        for required in ("deals", "stage_events"):
            if required not in self.tables:
                raise ValueError(f"a Dataset needs a {required!r} table")
        conformed = {
            name: conform(TABLES[name], self.tables[name])
            for name in TABLES
            if name in self.tables and self.tables[name] is not None
        }
        object.__setattr__(self, "tables", MappingProxyType(conformed))
        if self.provenance.as_of is None:
            object.__setattr__(
                self,
                "provenance",
                Provenance(**{**self.provenance.__dict__, "as_of": latest_timestamp(self.tables)}),
            )

    # ------------------------------------------------------------------ access
    def table(self, name: str) -> pd.DataFrame:
        """A table by name (a copy-on-write view; ``KeyError`` if absent)."""
        if name not in self.tables:
            present = ", ".join(self.tables)
            raise KeyError(f"this dataset has no {name!r} table (it has: {present})")
        return self.tables[name].copy(deep=False)

    def has(self, name: str) -> bool:
        """Whether the optional table ``name`` is present."""
        return name in self.tables

    def __iter__(self) -> Iterator[tuple[str, pd.DataFrame]]:
        for name in self.tables:
            yield name, self.table(name)

    @property
    def deals(self) -> pd.DataFrame:
        """One row per deal."""
        return self.table("deals")

    @property
    def stage_events(self) -> pd.DataFrame:
        """One row per stage entry."""
        return self.table("stage_events")

    @property
    def leads(self) -> pd.DataFrame:
        """One row per lead (``KeyError`` if the dataset has none)."""
        return self.table("leads")

    @property
    def activities(self) -> pd.DataFrame:
        """One row per activity."""
        return self.table("activities")

    @property
    def reps(self) -> pd.DataFrame:
        """One row per rep."""
        return self.table("reps")

    @property
    def quotas(self) -> pd.DataFrame:
        """One row per rep and quota period."""
        return self.table("quotas")

    @property
    def spend(self) -> pd.DataFrame:
        """Marketing cost per lead source and period."""
        return self.table("spend")

    @property
    def as_of(self) -> pd.Timestamp | None:
        """The moment the data describe (open deals are censored here)."""
        return self.provenance.as_of

    def require_history(self, what: str) -> None:
        """Raise ``ValueError`` when ``what`` needs stage history this dataset lacks.

        A current-state export (``fidelity="current_state"``) records only each deal's
        present stage, so times in stage and transitions cannot be computed from it.

        Examples
        --------
        >>> from salesanalytics import sample
        >>> ds = sample.generate(50, seed=1)
        >>> ds.require_history("time in stage") is None
        True
        >>> flat = ds.replace(provenance=Provenance(fidelity="current_state"))
        >>> flat.require_history("time in stage")
        Traceback (most recent call last):
        ...
        ValueError: time in stage needs stage history; this dataset is a current-state export ...
        """
        if self.provenance.fidelity == "current_state":
            raise ValueError(
                f"{what} needs stage history; this dataset is a current-state export "
                "(fidelity='current_state'), which records only each deal's present stage "
                "and no stage entry times. Export the stage history too (see docs/exports.md)."
            )

    # ------------------------------------------------------------------ change
    def replace(self, **changes: Any) -> Dataset:
        """A new dataset with some tables or attributes replaced.

        Table names (``deals=...``) replace tables (``None`` drops an optional one);
        ``stages``, ``quality`` and ``provenance`` replace those attributes.

        Examples
        --------
        >>> from salesanalytics import sample
        >>> ds = sample.generate(200, seed=1)
        >>> small = ds.replace(deals=ds.deals.head(5))
        >>> len(small.deals), len(ds.deals) == 200
        (5, True)
        """
        tables = dict(self.tables)
        attrs: dict[str, Any] = {}
        for key, value in changes.items():
            if key in TABLES:
                if value is None:
                    tables.pop(key, None)
                else:
                    tables[key] = value
            elif key in ("stages", "quality", "provenance"):
                attrs[key] = value
            else:
                raise TypeError(f"replace() got an unknown field {key!r}")
        return Dataset(
            tables,
            stages=attrs.get("stages", self.stages),
            quality=attrs.get("quality", self.quality),
            provenance=attrs.get("provenance", self.provenance),
        )

    # ------------------------------------------------------------------ display
    def summary(self) -> pd.DataFrame:
        """Rows and columns per table, with the time span it covers."""
        rows = []
        for name, frame in self.tables.items():
            times = [frame[c] for c in TABLES[name].columns_of_kind("time")]
            starts = [t.min() for t in times if t.notna().any()]
            ends = [t.max() for t in times if t.notna().any()]
            rows.append(
                {
                    "table": name,
                    "rows": len(frame),
                    "columns": frame.shape[1],
                    "from": min(starts) if starts else pd.NaT,
                    "to": max(ends) if ends else pd.NaT,
                }
            )
        return pd.DataFrame(rows).set_index("table")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}={len(f):,}" for n, f in self.tables.items())
        as_of = self.as_of.isoformat() if self.as_of is not None else "?"
        return f"Dataset({sizes}; as_of={as_of}; fidelity={self.provenance.fidelity})"

    def _repr_html_(self) -> str:
        head = html.escape(repr(self))
        return f"<div><p>{head}</p>{self.summary().to_html(escape=True)}</div>"
