"""Shared pyarrow helpers of the parsers: input preparation and regex-group accessors.

Nothing here knows about dates or numbers; these are the few conversions every parser
needs between pyarrow compute results and numpy arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "contains_any",
    "fixed_width",
    "group",
    "ints",
    "is_in",
    "matched",
    "mode",
    "prepare",
    "to_numpy",
]


def prepare(values: pd.Series) -> tuple[pa.Array, np.ndarray]:
    """Values as a pyarrow string array (stripped, NFKC-normalised) and a missing mask."""
    s = values if values.dtype == "str" else values.astype("str")
    arr = pa.array(s.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    if pc.all(pc.string_is_ascii(arr)).as_py() is False:
        # full-width digits and punctuation (１２，０００ ￥ （）) become ASCII
        arr = pc.utf8_trim_whitespace(pc.utf8_normalize(arr, "NFKC"))
    missing = to_numpy(pc.fill_null(pc.equal(pc.binary_length(arr), 0), True))
    return arr, missing


def to_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A pyarrow array as a numpy array (copied when it has to be)."""
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def matched(st: pa.StructArray) -> np.ndarray:
    """Where an ``extract_regex`` result matched."""
    return to_numpy(st.is_valid())


def group(st: pa.StructArray, name: str) -> pa.Array:
    """One named group of an ``extract_regex`` result (``""`` where it did not take part)."""
    return st.field(name)


def ints(field: pa.Array, default: int = -1) -> np.ndarray:
    """Digit strings -> int64 (``default`` where empty). Callers bound the digit count."""
    nonempty = pc.not_equal(field, "")
    values = pc.cast(pc.if_else(nonempty, field, pa.scalar(None, pa.string())), pa.int64())
    return to_numpy(pc.fill_null(values, default)).astype(np.int64)


def is_in(field: pa.Array, options: list[str]) -> np.ndarray:
    """Where ``field`` is one of ``options`` (False where null)."""
    return to_numpy(pc.fill_null(pc.is_in(field, value_set=pa.array(options, pa.string())), False))


def mode(codes: np.ndarray) -> int:
    """The most frequent of small non-negative codes (0 if there are none)."""
    return int(np.bincount(codes).argmax()) if codes.size else 0


def fixed_width(text: pa.Array, rows: np.ndarray, width: int) -> np.ndarray:
    """The UTF-8 bytes of ``text[rows]``, each exactly ``width`` bytes long, as a
    ``(len(rows), width)`` uint8 matrix (one copy of the selected cells' bytes)."""
    sub = text.take(pa.array(rows, type=pa.int64())) if len(rows) != len(text) else text
    if sub.type != pa.string():
        sub = sub.cast(pa.string())
    n = len(sub)
    offsets = np.frombuffer(sub.buffers()[1], dtype=np.int32, count=n + 1, offset=4 * sub.offset)
    data = sub.buffers()[2]
    if n == 0 or data is None:
        return np.zeros((0, width), dtype=np.uint8)
    start = int(offsets[0])
    flat = np.frombuffer(data, dtype=np.uint8, count=n * width, offset=start)
    return flat.reshape(n, width)


def contains_any(text: pa.Array, chars: bytes) -> np.ndarray:
    """Per cell: whether any of the ASCII ``chars`` occurs in it (False where null)."""
    if text.type != pa.string():
        text = text.cast(pa.string())
    n = len(text)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=n + 1, offset=4 * text.offset)
    data = text.buffers()[2]
    if n == 0 or data is None:
        return np.zeros(n, dtype=bool)
    raw = np.frombuffer(data, dtype=np.uint8, count=int(offsets[-1]))
    hit = np.zeros(raw.size + 1, dtype=bool)  # hit[k + 1]: byte k is one of ``chars``
    for c in chars:
        hit[1:] |= raw == c
    before = np.cumsum(hit, dtype=np.int32)  # hits before each byte
    found = before[offsets[1:]] > before[offsets[:-1]]
    return found & to_numpy(text.is_valid()) if text.null_count else found
