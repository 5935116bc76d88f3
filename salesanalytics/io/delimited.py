"""Read delimited text (CSV, TSV, ...) into a raw table, fast and exactly.

The bytes are transcoded to UTF-8, the delimiter is sniffed (or taken from an Excel
``sep=`` first line), and a vectorised scan finds the record boundaries outside quoted
fields, the physical line where each record starts and its number of fields. The data
records, cleaned of footers and malformed rows, are then parsed by pyarrow
(multi-threaded). Files with irregular quoting (a quote inside an unquoted field, an
unterminated quote) or bare CR line ends are read by the slower, exact :mod:`csv` module
path, with the same results. See :mod:`.readers` for what the reader promises.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .encoding import decode, detect_encoding, verify
from .records import (
    EmptyFileError,
    Layout,
    RawTable,
    ReadError,
    Records,
    csv_line,
    find_layout,
    frame_from_arrow,
    frame_from_lists,
)

__all__ = ["read_delimited"]

_CANDIDATES = (",", ";", "\t", "|")
_SEP_LINE = re.compile(rb'\s*"?sep=(.)"?\s*')
_CHUNK = 1 << 24


def _to_utf8(data: bytes, encoding: str | None) -> tuple[bytes, str]:
    """Validate/transcode to UTF-8 bytes without BOM; bare-CR files get LF line ends."""
    enc = encoding or detect_encoding(data)
    try:
        codec = codecs.lookup(enc).name
    except LookupError:
        raise ReadError(f"unknown text encoding {enc!r}") from None
    if codec in ("utf-8", "utf-8-sig"):
        if encoding is not None or codec == "utf-8-sig":  # else validated by detection
            verify(data, enc)
        buf = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    else:
        text, enc = decode(data, enc)
        buf = text.encode("utf-8")
    if b"\r" in buf and b"\n" not in buf:
        buf = buf.replace(b"\r", b"\n")
    return buf, enc


def _sniff(head: str, default: str) -> str:
    """The candidate delimiter giving the most consistent multi-field rows in ``head``."""
    best, best_score = default, (False, 0.0, 0)
    for cand in _CANDIDATES:
        rows: list[list[str]] = []
        try:
            for row in csv.reader(io.StringIO(head, newline=""), delimiter=cand):
                if row and any(c.strip() for c in row):
                    rows.append(row)
                if len(rows) >= 50:
                    break
        except csv.Error:
            pass
        if not rows:
            continue
        width = len(rows[0])
        body = rows[1:] or rows
        share = sum(len(r) == width for r in body) / len(body)
        score = (width > 1, share, width)
        if score > best_score:
            best, best_score = cand, score
    return best


@dataclass
class _Scan:
    starts: np.ndarray
    ends: np.ndarray
    line: np.ndarray
    nfields: np.ndarray
    multiline: bool


def _scan(buf: bytes, delim: str) -> _Scan | None:
    """Vectorised record scan; None when the quoting is irregular (use the csv path)."""
    a = np.frombuffer(buf, dtype=np.uint8)
    n = a.size
    d = ord(delim)
    has_quotes = buf.find(b'"') >= 0
    ok_around = np.zeros(256, dtype=bool)  # bytes allowed before an opening quote / after a
    ok_around[[d, 10, 13, 34]] = True  # closing one: delimiter, newline, CR, quote
    qcarry = dcarry = nlcount = 0
    terms, tlines, dbefore = [], [], []
    for lo in range(0, n, _CHUNK):
        c = a[lo : lo + _CHUNK]
        nl = np.flatnonzero(c == 10)
        dp = np.flatnonzero(c == d)
        if has_quotes:
            qp = np.flatnonzero(c == 34)
            if qp.size:
                # a quote opens a field only after a delimiter/newline/another quote, and
                # closes it only before one: otherwise pyarrow and this scan disagree
                first = qcarry % 2  # the first quote of the chunk closes a field if odd
                opening, closing = qp[first::2] + lo, qp[1 - first :: 2] + lo
                prev = a[opening[opening > 0] - 1]
                nxt = a[closing[closing < n - 1] + 1]
                if not (ok_around[prev].all() and ok_around[nxt].all()):
                    return None
                out_nl = (np.searchsorted(qp, nl) + qcarry) % 2 == 0
                dp = dp[(np.searchsorted(qp, dp) + qcarry) % 2 == 0]
                qcarry += qp.size
            else:
                out_nl = np.full(nl.size, qcarry % 2 == 0)
                if qcarry % 2:
                    dp = dp[:0]
            t = nl[out_nl]
            tl = np.flatnonzero(out_nl) + nlcount
        else:
            t, tl = nl, np.arange(nlcount, nlcount + nl.size)
        terms.append(t + lo)
        tlines.append(tl)
        dbefore.append(np.searchsorted(dp, t) + dcarry)
        dcarry += dp.size
        nlcount += nl.size
    if qcarry % 2:
        return None
    term = np.concatenate(terms) if terms else np.zeros(0, np.int64)
    tline = np.concatenate(tlines) if tlines else np.zeros(0, np.int64)
    dcount = np.concatenate(dbefore) if dbefore else np.zeros(0, np.int64)
    starts = np.concatenate([[0], term + 1]).astype(np.int64)
    ends = np.concatenate([term, [n]]).astype(np.int64)
    line = np.concatenate([[1], tline + 2]).astype(np.int64)
    nfields = np.diff(np.concatenate([[0], dcount, [dcarry]])).astype(np.int64) + 1
    if starts[-1] >= n:  # file ends with a newline: no record after it
        starts, ends, line, nfields = starts[:-1], ends[:-1], line[:-1], nfields[:-1]
    return _Scan(starts, ends, line, nfields, multiline=term.size != nlcount)


def _fast_records(buf: bytes, scan: _Scan, delim: str) -> Records:
    length = scan.ends - scan.starts

    def raw(j: int) -> str:
        return buf[scan.starts[j] : scan.ends[j]].decode("utf-8").rstrip("\r")

    def fields(j: int) -> list[str]:
        return next(csv.reader(io.StringIO(raw(j), newline=""), delimiter=delim), [])

    blank = length == 0
    for j in np.flatnonzero((scan.nfields == 1) & (length > 0)).tolist():  # lone blank field?
        text = raw(j)
        blank[j] = not ("".join(fields(j)) if '"' in text else text).strip()

    return Records(scan.line, scan.nfields, blank, fields, raw)


def _clean_buffer(buf: bytes, scan: _Scan, lay: Layout, delim: str) -> bytes | memoryview:
    """The data records to load, one per line, padded/truncated to the header width."""
    rows, width = lay.rows, len(lay.names)
    if rows.size == 0:
        return b""
    regular = (scan.nfields[rows] == width) & ~np.isin(rows, list(lay.truncated))
    contiguous = rows[-1] - rows[0] + 1 == rows.size
    if contiguous and regular.all():
        return memoryview(buf)[scan.starts[rows[0]] : scan.ends[rows[-1]]]
    # runs of consecutive regular records are copied as one slice
    brk = np.ones(rows.size, dtype=bool)
    brk[1:] = (np.diff(rows) != 1) | ~regular[1:] | ~regular[:-1]
    firsts = np.flatnonzero(brk)
    lasts = np.concatenate([firsts[1:] - 1, [rows.size - 1]])
    pieces: list[bytes] = []
    sep = delim.encode()
    for f, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        j = int(rows[f])
        if regular[f]:
            pieces.append(buf[scan.starts[j] : scan.ends[rows[last]]])
        elif j in lay.truncated:
            pieces.append(csv_line(lay.truncated[j], delim).encode("utf-8"))
        else:  # short row: append empty fields
            text = buf[scan.starts[j] : scan.ends[j]].rstrip(b"\r")
            pieces.append(text + sep * int(width - scan.nfields[j]))
    return b"\n".join(pieces)


def _parse_arrow(data: bytes | memoryview, width: int, delim: str, multiline: bool) -> pa.Table:
    import pyarrow.csv as pcsv

    names = [f"f{i}" for i in range(width)]
    return pcsv.read_csv(
        pa.py_buffer(data),
        read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 22),
        parse_options=pcsv.ParseOptions(
            delimiter=delim,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=multiline,
            ignore_empty_lines=False,
        ),
        convert_options=pcsv.ConvertOptions(
            column_types={c: pa.string() for c in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


_PIECE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _slow_records(buf: bytes, delim: str, source: str) -> tuple[Records, list[list[str]]]:
    """Exact record reading with the csv module (irregular quoting, bare CR).

    Outside quotes a bare CR ends a record, as in pandas and pyarrow; line numbers still
    count LF only.
    """
    text = buf.decode("utf-8")
    pieces = [m.group() for m in _PIECE.finditer(text)]
    ends_lf = np.fromiter((p.endswith("\n") for p in pieces), dtype=bool, count=len(pieces))
    piece_line = np.concatenate([[1], np.cumsum(ends_lf)[:-1] + 1]).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
    reader = csv.reader(iter(pieces), delimiter=delim, strict=False)
    first: list[int] = []
    last: list[int] = []
    rows: list[list[str]] = []
    prev = 0
    try:
        for row in reader:
            first.append(prev)
            prev = reader.line_num
            last.append(prev)
            rows.append(row)
    except csv.Error as exc:
        raise ReadError(f"{source}: line {int(piece_line[prev])}: {exc}") from None
    nfields = np.array([len(r) for r in rows], dtype=np.int64)
    blank = np.array([not any(c.strip() for c in r) and len(r) <= 1 for r in rows], dtype=bool)

    def raw(j: int) -> str:
        return text[offsets[first[j]] : offsets[last[j]]].rstrip("\r\n")

    line = piece_line[np.array(first, dtype=np.int64)] if rows else np.zeros(0, np.int64)
    return Records(line, nfields, blank, lambda j: rows[j], raw), rows


def read_delimited(path: Path, encoding: str | None) -> RawTable:
    """One delimited text file as a raw table (see :func:`.readers.read_table`)."""
    source = str(path)
    data = path.read_bytes()
    if not data or data.isspace():
        raise EmptyFileError(f"{source}: the file is empty")
    buf, enc = _to_utf8(data, encoding)
    del data
    first_end = buf.find(b"\n")
    first = buf[: first_end if first_end >= 0 else len(buf)]
    sep_line = _SEP_LINE.fullmatch(first)
    skip = 1 if sep_line else 0
    if sep_line:
        delim = sep_line.group(1).decode("utf-8")
    else:
        default = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        head = buf[: 1 << 16]
        if len(buf) > len(head) and b"\n" in head:
            head = head[: head.rfind(b"\n")]
        delim = default
        if path.suffix.lower() not in (".tsv", ".tab"):
            delim = _sniff(head.decode("utf-8", errors="ignore"), default)
    bare_cr = buf.count(b"\r") != buf.count(b"\r\n")
    scan = None if bare_cr else _scan(buf, delim)
    rec: Records
    frame: pd.DataFrame | None = None
    if scan is not None:
        rec = _fast_records(buf, scan, delim)
        rec.blank[:skip] = True
        lay = find_layout(rec, source)
        clean = _clean_buffer(buf, scan, lay, delim)
        if lay.rows.size == 0:
            frame = frame_from_lists(lay.names, [])
        else:
            try:
                table = _parse_arrow(clean, len(lay.names), delim, scan.multiline)
            except pa.ArrowInvalid:
                table = None
            if table is not None and table.num_rows == lay.rows.size:
                frame = frame_from_arrow(lay.names, table.columns, table.num_rows)
    if frame is None:
        rec, rows = _slow_records(buf, delim, source)
        rec.blank[:skip] = True
        lay = find_layout(rec, source)
        data_rows = [lay.truncated.get(int(j), rows[int(j)]) for j in lay.rows]
        frame = frame_from_lists(lay.names, data_rows)
    return RawTable(
        source,
        frame,
        rec.line[lay.rows].astype(np.int64),
        enc,
        None,
        dropped_footer=lay.footer,
        bad_rows=tuple(lay.bad),
        delimiter=delim,
    )
