"""Read Excel workbooks and Parquet files into raw, all-text tables.

Cell and column values become the text that :mod:`.parse` reads back to the stored value
exactly (see :func:`.readers.read_table`); workbook rows go through the same layout step
as delimited text (header, footer, malformed rows), Parquet tables need none.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .records import (
    EmptyFileError,
    RawTable,
    ReadError,
    Records,
    csv_line,
    find_layout,
    frame_from_arrow,
    frame_from_lists,
    header_names,
)

__all__ = ["read_excel", "read_parquet"]


def _cell_text(value: object) -> str:
    """Spreadsheet cell -> text that :mod:`.parse` reads back exactly."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _sheet_records(rows: list[list[str]]) -> Records:
    nfields = np.array(
        [max((i + 1 for i, c in enumerate(r) if c.strip()), default=0) for r in rows],
        dtype=np.int64,
    )

    def raw(j: int) -> str:
        return csv_line(rows[j][: max(int(nfields[j]), 1)], ",")

    return Records(
        np.arange(1, len(rows) + 1, dtype=np.int64),
        nfields,
        nfields == 0,
        lambda j: rows[j][: int(nfields[j])],
        raw,
    )


def read_excel(path: Path, sheet: str | int | None) -> list[RawTable]:
    """Every non-empty worksheet of a workbook (or only ``sheet``) as a raw table."""
    import openpyxl

    source = str(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ReadError(f"{source}: cannot open as an Excel workbook: {exc}") from exc
    try:
        sheets = book.worksheets
        if sheet is not None:
            names = [ws.title for ws in sheets]
            if isinstance(sheet, int):
                if not -len(sheets) <= sheet < len(sheets):
                    raise ReadError(f"{source}: no sheet number {sheet} (sheets: {names})")
                sheets = [sheets[sheet]]
            elif sheet in names:
                sheets = [sheets[names.index(sheet)]]
            else:
                raise ReadError(f"{source}: no sheet named {sheet!r} (sheets: {names})")
        out = []
        for ws in sheets:
            if hasattr(ws, "reset_dimensions"):  # stored dimensions are often wrong
                ws.reset_dimensions()
            rows = [[_cell_text(v) for v in r] for r in ws.iter_rows(min_row=1, values_only=True)]
            filled = [r for r in rows if any(c.strip() for c in r)]
            if not filled:
                if sheet is not None:
                    raise EmptyFileError(f"{source}: sheet {ws.title!r} is empty")
                continue
            left = min(next(i for i, c in enumerate(r) if c.strip()) for r in filled)
            rows = [r[left:] for r in rows]
            rec = _sheet_records(rows)
            lay = find_layout(rec, f"{source} [{ws.title}]")
            data = [lay.truncated.get(int(j), rec.fields(int(j))) for j in lay.rows]
            frame = frame_from_lists(lay.names, data)
            out.append(
                RawTable(
                    source,
                    frame,
                    rec.line[lay.rows].astype(np.int64),
                    None,
                    ws.title,
                    dropped_footer=lay.footer,
                    bad_rows=tuple(lay.bad),
                )
            )
    finally:
        book.close()
    if not out:
        raise EmptyFileError(f"{source}: every sheet is empty")
    return out


# --------------------------------------------------------------------------- parquet


def _arrow_text(col: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """A Parquet column as text that :mod:`.parse` reads back exactly."""
    typ = col.type
    if pa.types.is_dictionary(typ):
        col = col.cast(typ.value_type)
        typ = col.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return col.cast(pa.string())
    if pa.types.is_timestamp(typ):
        ints = col.cast(pa.int64()).to_numpy(zero_copy_only=False)
        valid = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        stamps = np.where(valid, ints, 0).astype(f"M8[{typ.unit}]")
        text = np.datetime_as_string(stamps).astype(object)
        if typ.tz is not None:  # the values are UTC instants: say so
            text = text + "Z"
        return pa.array(text, type=pa.string(), mask=~valid)
    if pa.types.is_date(typ):
        return col.cast(pa.date32()).cast(pa.string())
    if pa.types.is_boolean(typ):
        return pc.if_else(col, "TRUE", "FALSE")
    if pa.types.is_floating(typ):
        text = col.cast(pa.string())
        return pc.if_else(pc.is_nan(col), pa.scalar(None, pa.string()), text)
    try:
        return col.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return pa.array([None if v is None else str(v) for v in col.to_pylist()], type=pa.string())


def read_parquet(path: Path) -> RawTable:
    """A Parquet file as a raw table, every column converted to text."""
    import pyarrow.parquet as pq

    source = str(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReadError(f"{source}: cannot read as Parquet: {exc}") from exc
    if table.num_columns == 0:
        raise EmptyFileError(f"{source}: the Parquet file has no columns")
    names = header_names([str(c) for c in table.column_names], source)
    arrays = [_arrow_text(col) for col in table.columns]
    frame = frame_from_arrow(names, arrays, table.num_rows)
    return RawTable(source, frame, np.arange(table.num_rows, dtype=np.int64) + 2, None, None)
