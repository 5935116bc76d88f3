"""``load(path)``: read exports into a validated :class:`~salesanalytics.Dataset`.

The pipeline: read every file as text (:mod:`.readers`); recognise the CRM and let its
adapter say which table each file holds, give its header mapping and reshape what a mapping
cannot express (:mod:`.adapters`; the user's mapping is layered on top and wins); decide
the remaining tables (:mod:`.tables`), map and parse the columns (:mod:`.canonical`); then,
across files, run the checks that need several rows or tables (:mod:`.validate`). Input
files are only read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..dataset import Dataset, Provenance, SourceFile
from ..quality import DataError, QualityLog
from ..schema import TABLES, conform, empty_table
from ..stages import StageModel
from . import readers
from .adapters import ADAPTERS, Part, detect_format
from .adapters.generic import deal_like
from .canonical import FILE, LINE, ParseOptions, parse_table
from .mapping import ColumnMapping
from .records import RawTable
from .tables import identify_table
from .validate import validate_tables

__all__ = ["DATA_SUFFIXES", "find_files", "load"]

DATA_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")

PathArg = str | os.PathLike[str]


def find_files(path: PathArg | Iterable[PathArg]) -> list[Path]:
    """The data files named by ``path``: a file, a folder (not recursive) or several paths.

    Raises :class:`DataError` when a path does not exist or a folder has no data file.
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(
                f
                for f in p.iterdir()
                if f.is_file()
                and f.suffix.lower() in DATA_SUFFIXES
                and not f.name.startswith((".", "~$"))
            )
            if not files:
                raise DataError(
                    f"{p}: folder has no data files (looked for {', '.join(DATA_SUFFIXES)})"
                )
            found.extend(files)
        elif p.is_file():
            found.append(p)
        else:
            raise DataError(f"{p}: no such file or folder")
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_all(files: list[Path], encoding: str | None) -> tuple[list[RawTable], dict[str, str]]:
    raws: list[RawTable] = []
    shas: dict[str, str] = {}
    for file in files:
        try:
            raws += readers.read_table(file, encoding=encoding)
        except (ValueError, UnicodeError, OSError) as exc:
            raise DataError(f"{file}: cannot read: {exc}") from exc
        shas[str(file)] = _sha256(file)
    return raws, shas


def _identify(part: Part, cmap: ColumnMapping) -> tuple[str | None, str]:
    """The table of one part: the user's [files], the adapter's choice, name or columns."""
    raw = part.raw
    if part.derived and part.table is not None:
        return part.table, part.reason
    name = raw.sheet or Path(raw.source).name
    explicit = cmap.table_for_file(name) or (
        cmap.table_for_file(Path(raw.source).name) if raw.sheet else None
    )
    if explicit:
        return explicit, "listed under [files] in the mapping"
    if part.table is not None:
        return part.table, part.reason
    headers = [str(h) for h in raw.frame.columns]
    table, reason = identify_table(name, headers, cmap)
    if table is None and raw.sheet:
        table, reason = identify_table(Path(raw.source).name, headers, cmap)
    if reason.startswith("file name") or table is None:
        if table is None and deal_like(cmap.resolve_headers("deals", headers)):
            return "deals", "columns deal_id, stage (outcome from the stage)"
        return table, reason
    if table != "deals" and deal_like(cmap.resolve_headers("deals", headers)):
        return "deals", "columns deal_id, stage (outcome from the stage)"
    return table, reason


def load(
    path: PathArg | Iterable[PathArg],
    *,
    mapping: ColumnMapping | Mapping[str, Any] | PathArg | None = None,
    stages: StageModel | None = None,
    strict: bool = False,
    timezone: str | None = None,
    dayfirst: bool | None = None,
    encoding: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    format: str = "auto",
) -> Dataset:
    """Load CRM exports (CSV/TSV, XLSX, Parquet) into a validated :class:`Dataset`.

    Parameters
    ----------
    path
        A file, a folder of files, or a list of them. Each file (each sheet of a workbook)
        is one table, recognised by the mapping's ``[files]``, by its name (``deals.csv``,
        ``stage_history.xlsx``, ...) or by its columns.
    mapping
        Header, file, value and stage mappings: a :class:`ColumnMapping`, a dict or the
        path of a TOML file (format in :mod:`salesanalytics.io.mapping`).
    stages
        The stage model (default: the five-step workflow, plus the mapping's stages).
    strict
        Raise :class:`DataError` on the first rejected rows instead of quarantining them.
    timezone
        Zone of timestamps written without an offset (default ``UTC``).
    dayfirst
        Day/month order for date columns where the data cannot tell (default: month first,
        with an ``ambiguous_dates`` warning).
    encoding
        Force a text encoding (default: detected per file).
    as_of
        The moment the export describes (default: its latest timestamp).
    format
        The CRM the files come from: ``"salesforce"``, ``"hubspot"``, ``"pipedrive"``,
        ``"zoho"``, ``"chinese"``, ``"generic"``, or ``"auto"`` (default) to detect it from
        the headers and file names (``dataset.provenance.detected`` says what and why; see
        ``docs/exports.md``). The mapping is layered over the adapter's and wins.

    Returns
    -------
    Dataset
        Canonical tables; ``dataset.quality`` accounts for every input row.

    Raises
    ------
    DataError
        Missing file, no deals table, a required column that nothing maps to, unreadable
        encoding, an export whose CRM cannot be told (pass ``format=``), or
        (``strict=True``) any rejected row.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> ds = sa.load("data/sample")
    >>> ds.quality.balanced, ds.quality.n_rejected
    (True, 0)
    """
    files = find_files(path)
    user_map = ColumnMapping.coerce(mapping)
    log = QualityLog()
    raws, shas = _read_all(files, encoding or user_map.options.get("encoding"))
    detection = detect_format(raws, format)
    prepared = ADAPTERS[detection.format].prepare(raws)
    log.note(f"detected {detection}")
    cmap = user_map.over(prepared.mapping)
    opts = cmap.options
    options = ParseOptions(
        timezone=timezone or opts.get("timezone", "UTC"),
        dayfirst=dayfirst if dayfirst is not None else opts.get("dayfirst"),
        currency=opts.get("currency"),
    )
    model = cmap.stage_model(stages)
    for note in prepared.notes:
        log.note(note)
    parsed: dict[str, list[pd.DataFrame]] = {}
    sources: dict[tuple[str, str, str], SourceFile] = {}
    for part in prepared.parts:
        raw = part.raw
        table, reason = _identify(part, cmap)
        if table is None:
            log.note(f"{raw.source}: ignored: {reason}")
            continue
        log.note(f"{raw.source}: read as {table} ({reason}; encoding {raw.encoding or 'n/a'})")
        if raw.dropped_footer:
            log.note(f"{raw.source}: {raw.dropped_footer} report footer line(s) skipped")
        parsed.setdefault(table, []).append(parse_table(raw, table, cmap, model, options, log))
        path = part.origin or raw.source
        key = (path, table, raw.sheet or part.reason)
        rows = len(raw.frame) + len(raw.bad_rows)
        if key in sources:
            rows += sources[key].rows
        sources[key] = SourceFile(path, shas[path], table, rows, raw.encoding, key[2])
    if "deals" not in parsed:
        notes = "; ".join(log.freeze().notes) or "no files"
        raise DataError(f"no deals table found in {path}: {notes}")
    tables = {
        name: conform(TABLES[name], pd.concat(frames, ignore_index=True))
        for name, frames in parsed.items()
    }
    fidelity = prepared.fidelity or "full_history"
    if "stage_events" not in tables:
        fidelity = "current_state"
        log.note(
            "no stage history: the dataset holds current states only; analyses that "
            "need history (time in stage, transitions) will say so"
        )
        tables["stage_events"] = empty_table(TABLES["stage_events"]).assign(
            **{LINE: pd.Series([], dtype="int64"), FILE: pd.Series([], dtype="str")}
        )
    wanted = as_of if as_of is not None else opts.get("as_of")
    stamp = None if wanted is None else pd.Timestamp(wanted)
    if stamp is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(options.timezone).tz_convert("UTC")
    loaded, stamp = validate_tables(tables, model, stamp, log)
    report = log.freeze()
    if strict:
        report.raise_if_rejected()
    provenance = Provenance(
        tuple(sources.values()), options.timezone, stamp, fidelity, detected=str(detection)
    )
    return Dataset(loaded, stages=model, quality=report, provenance=provenance)
