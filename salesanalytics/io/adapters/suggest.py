"""A starting mapping file from the headers an export has (``validate --suggest-mapping``).

The suggestion is what the loader would do: the detected format's header mapping, every
header that maps nowhere listed as a comment, the required columns still missing, and the
stage labels the stage model does not know, ready for ``[stages.aliases]``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ...quality import DataError
from ...schema import TABLES
from ..mapping import ColumnMapping

__all__ = ["suggest_mapping", "write_new_text"]

PathArg = str | os.PathLike[str]


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(str(text), ensure_ascii=False)


def suggest_mapping(
    path: PathArg | Iterable[PathArg], *, format: str = "auto", encoding: str | None = None
) -> str:
    """TOML text of a starting mapping for the export(s) at ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "deals.csv").write_text("Opp,Stage,Worth,Colour\\nA,Demo Done,5,red\\n")
    >>> text = suggest_mapping(folder)
    >>> '"Stage" = "stage"' in text, '# "Worth" = ""' in text, "owner_id" in text
    (True, True, True)
    >>> '# "Demo Done" = ""' in text
    True
    >>> import shutil; shutil.rmtree(folder)
    """
    from ..loader import _identify, _read_all, find_files  # the loader imports adapters
    from .detect import ADAPTERS, detect_format

    files = find_files(path)
    raws, _ = _read_all(files, encoding)
    detection = detect_format(raws, format)
    prepared = ADAPTERS[detection.format].prepare(raws)
    cmap = ColumnMapping().over(prepared.mapping)
    model = cmap.stage_model(None)
    out = [
        "# Mapping suggested by `salesanalytics validate --suggest-mapping`",
        f"# from: {', '.join(str(f) for f in files)}",
        f"# detected: {detection}",
        "# Check every line, fill the empty ones (or delete them), then load with",
        "# `--mapping THIS_FILE` (format: docs/loading.md, CRM notes: docs/exports.md).",
        "",
    ]
    files_section: list[str] = []
    tables: dict[str, list[str]] = {}
    unknown_stages: dict[str, None] = {}
    for note in prepared.notes:
        out.append(f"# note: {note}")
    seen: set[tuple[str, str]] = set()
    for part in prepared.parts:
        if part.derived:
            continue
        raw = part.raw
        table, reason = _identify(part, cmap)
        name = raw.sheet or Path(raw.source).name
        if table is None:
            table, reason = "deals", f"guessed, check it: {reason}"
        if part.table is None:
            files_section.append(f"{_q(name)} = {_q(table)}   # {reason}")
        headers = [str(h) for h in raw.frame.columns]
        try:
            resolved = cmap.resolve_headers(table, headers)
        except DataError as exc:
            out.append(f"# {name}: {exc}")
            continue
        lines = tables.setdefault(table, [])
        lines.append(f"# {name}")
        spec = TABLES[table]
        for header, col in resolved.items():
            if (table, header) in seen:
                continue
            seen.add((table, header))
            if col in spec.names:
                lines.append(f"{_q(header)} = {_q(col)}")
            else:
                lines.append(f'# {_q(header)} = ""   # not mapped: kept as extra column {col!r}')
        missing = [c for c in spec.required if c not in resolved.values()]
        if table == "deals" and "stage" in resolved.values():
            missing = [c for c in missing if c != "outcome"]
        if missing:
            lines.append(f"# still missing (required): {', '.join(missing)}")
        stage_h = next((h for h, c in resolved.items() if c == "stage"), None)
        if stage_h is not None:
            for label in pd.unique(raw.frame[stage_h].dropna())[:200]:
                if model.canonical(label) is None:
                    unknown_stages[str(label)] = None
    if files_section:
        out += ["", "[files]", *files_section]
    for table, lines in tables.items():
        out += ["", f"[tables.{table}.columns]", *lines]
    out += ["", "[stages.aliases]", f"# canonical stages: {', '.join(model.all_stages)}"]
    out += [f'# {_q(label)} = ""' for label in unknown_stages]
    return "\n".join(out) + "\n"


def write_new_text(text: str, path: PathArg, inputs: Iterable[PathArg] = ()) -> Path:
    """Write ``text`` to a new file atomically; never replaces an existing file.

    Raises :class:`DataError` when ``path`` exists (an input file or anything else).
    """
    target = Path(path)
    resolved = {Path(p).resolve() for p in inputs}
    if target.resolve() in resolved:
        raise DataError(f"{target}: is an input file; choose another output path")
    if target.exists():
        raise DataError(f"{target}: already exists; choose another output path or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, target)  # atomic, and fails if the target appeared meanwhile
        except FileExistsError:
            raise DataError(f"{target}: already exists; choose another output path") from None
        except OSError:  # no hard links on this file system
            os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
