"""Raw tables, the errors of reading them, and the step every reader shares.

Each reader (:mod:`.delimited`, :mod:`.workbooks`) turns a file into logical *records*
(:class:`Records`: start line, field count, content); :func:`find_layout` then decides,
the same way for every format, which record is the header, which are data rows, which
form a report footer and which are set aside as :class:`BadRow`. :mod:`.readers` is the
public entry point and re-exports the public names defined here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "BadRow",
    "DuplicateColumnsError",
    "EmptyFileError",
    "Layout",
    "RawTable",
    "ReadError",
    "Records",
    "UnsupportedFormatError",
    "csv_line",
    "find_layout",
    "frame_from_arrow",
    "frame_from_lists",
    "header_names",
]


class ReadError(ValueError):
    """A file cannot be read as a table."""


class EmptyFileError(ReadError):
    """The file (or the requested sheet) holds no header and no data."""


class UnsupportedFormatError(ReadError):
    """The file type is not one :func:`.readers.read_table` reads."""


class DuplicateColumnsError(ReadError):
    """The header repeats column names (after stripping whitespace)."""

    def __init__(self, source: str, columns: Sequence[str]) -> None:
        self.source, self.columns = source, tuple(columns)
        names = ", ".join(repr(c) for c in self.columns)
        super().__init__(
            f"{source}: duplicate column name(s) in the header: {names}. "
            "Rename them so every column is unique."
        )


@dataclass(frozen=True)
class BadRow:
    """A row set aside by the reader: where it starts, why, and its text (as in the file)."""

    line: int
    reason: str
    raw: str


@dataclass(frozen=True, eq=False)
class RawTable:
    """One table read from a file (one per sheet for workbooks), every value as text.

    Attributes
    ----------
    source : str
        The path as given.
    frame : DataFrame
        Every column of pandas ``str`` dtype; values stripped, empty cells missing; column
        names stripped (a UTF-8 byte-order mark is never part of a name). RangeIndex.
    lines : ndarray of int64
        ``lines[i]`` is the 1-based physical line (CSV), spreadsheet row (XLSX) or row
        number + 1 (Parquet, as if there were a header line) where row ``i`` starts.
    encoding : str or None
        The text encoding used (None for XLSX and Parquet).
    sheet : str or None
        The worksheet name (XLSX only).
    dropped_footer : int
        Report-footer lines dropped after the data (Salesforce report exports).
    bad_rows : tuple of BadRow
        Rows with more fields than the header, not in ``frame``.
    delimiter : str or None
        The field delimiter (delimited text only).
    """

    source: str
    frame: pd.DataFrame
    lines: np.ndarray
    encoding: str | None
    sheet: str | None
    dropped_footer: int = 0
    bad_rows: tuple[BadRow, ...] = ()
    delimiter: str | None = None


@dataclass
class Records:
    """Logical records of a file: start line, field count, and accessors for their content."""

    line: np.ndarray  # int64, 1-based physical start line
    nfields: np.ndarray  # int64, fields in the record (0 for nothing at all)
    blank: np.ndarray  # bool, nothing but whitespace
    fields: Callable[[int], list[str]]
    raw: Callable[[int], str]


@dataclass
class Layout:
    """What to load: header, the records that become rows, and what was set aside."""

    names: list[str]
    rows: np.ndarray  # record ids, in file order
    truncated: dict[int, list[str]] = field(default_factory=dict)  # extra fields all empty
    bad: list[BadRow] = field(default_factory=list)
    footer: int = 0


def header_names(cells: Sequence[str], source: str) -> list[str]:
    """Column names from header cells: stripped, without BOM, ``Unnamed: i`` if empty."""
    names = []
    for i, cell in enumerate(cells):
        name = cell.replace("\ufeff", "").strip()
        names.append(name or f"Unnamed: {i}")
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    dups = [n for n, k in seen.items() if k > 1]
    if dups:
        raise DuplicateColumnsError(source, dups)
    return names


def find_layout(rec: Records, source: str) -> Layout:
    """Find header, data rows, footer and malformed rows (shared by all formats)."""
    nonblank = np.flatnonzero(~rec.blank)
    if nonblank.size == 0:
        raise EmptyFileError(f"{source}: the file holds no header and no data")
    head = int(nonblank[0])
    names = header_names(rec.fields(head), source)
    width = len(names)
    data = nonblank[nonblank > head]
    footer = 0
    if width >= 2:  # peel footer blocks: after a blank line, lines with <= 1 non-empty field
        blanks = np.flatnonzero(rec.blank)
        blanks = blanks[blanks > head]
        while data.size and blanks.size:
            blanks = blanks[blanks < data[-1]]
            if not blanks.size:
                break
            tail = data[data > blanks[-1]]
            if not all(_nonempty(rec, int(j)) <= 1 for j in tail):
                break
            footer += int(tail.size)
            data = data[data < blanks[-1]]
    out = Layout(names, data, footer=footer)
    long = data[rec.nfields[data] > width]
    if long.size:
        drop = []
        for j in (int(k) for k in long):
            cells = rec.fields(j)
            if any(c.strip() for c in cells[width:]):
                reason = f"{len(cells)} fields, header has {width}"
                out.bad.append(BadRow(int(rec.line[j]), reason, rec.raw(j)))
                drop.append(j)
            else:
                out.truncated[j] = cells[:width]
        out.rows = np.setdiff1d(data, np.asarray(drop, dtype=np.int64), assume_unique=True)
    return out


def _nonempty(rec: Records, j: int) -> int:
    if rec.nfields[j] <= 1:
        return int(rec.nfields[j])
    return sum(1 for c in rec.fields(j) if c.strip())


def frame_from_lists(names: list[str], rows: list[list[str]]) -> pd.DataFrame:
    """A raw frame from rows of cells (padded or truncated to the header width)."""
    width = len(names)
    fixed = [(r + [""] * (width - len(r)))[:width] for r in rows]
    cols = list(zip(*fixed, strict=True)) if fixed else [()] * width
    arrays = [pa.array(list(c), type=pa.string()) for c in cols]
    return frame_from_arrow(names, arrays, len(rows))


def _clean(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Strip whitespace; empty -> null."""
    trimmed = pc.utf8_trim_whitespace(arr)
    empty = pc.equal(pc.binary_length(trimmed), 0)  # much faster than comparing with ""
    if not pc.any(empty).as_py():
        return trimmed
    return pc.if_else(empty, pa.scalar(None, pa.string()), trimmed)


def frame_from_arrow(
    names: list[str], arrays: Sequence[pa.Array | pa.ChunkedArray], nrows: int
) -> pd.DataFrame:
    """A raw frame from text columns: values stripped, empty ones missing."""
    cols = {
        name: pd.Series(pd.array(_clean(arr), dtype="str"), copy=False)
        for name, arr in zip(names, arrays, strict=True)
    }
    frame = pd.DataFrame(cols, index=pd.RangeIndex(nrows))
    return frame


def csv_line(cells: Sequence[str], delim: str) -> str:
    """One CSV record (quoted where needed, including embedded CR/LF), no line end."""
    out = io.StringIO()
    csv.writer(out, delimiter=delim, lineterminator="\r\n").writerow(cells)
    return out.getvalue()[:-2]
