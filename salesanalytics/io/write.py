"""Write a :class:`~salesanalytics.Dataset` as canonical CSV files, atomically and safely.

Each table becomes ``<table>.csv`` (UTF-8, ``\\n`` line ends, header row, canonical columns
first). Timestamps are written as ISO 8601 UTC (``2024-03-05T14:30:00Z``, with microseconds
only when a value has them), numbers with Python's shortest round-trip repr, missing values
as empty cells. Text cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``; :func:`unneutralise`
(applied by the loader) removes exactly that prefix again, so files round-trip.

Files are written to a temporary file in the target folder and renamed into place, so a
reader never sees a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..dataset import Dataset

__all__ = ["FORMULA_PREFIXES", "neutralise", "save", "unneutralise", "write_csv_atomic"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(values: pd.Series) -> pd.Series:
    """Prefix text that a spreadsheet would treat as a formula with ``'``.

    Examples
    --------
    >>> import pandas as pd
    >>> neutralise(pd.Series(["=SUM(A1)", "ok", None])).tolist()
    ["'=SUM(A1)", 'ok', nan]
    """
    text = values.astype("str")
    risky = text.str.startswith(FORMULA_PREFIXES, na=False) | (
        text.str.startswith("'", na=False) & text.str[1:2].isin(list(FORMULA_PREFIXES))
    )
    return text.mask(risky, "'" + text)


def unneutralise(values: pd.Series) -> pd.Series:
    """Undo :func:`neutralise`: drop one ``'`` that precedes a formula character.

    Examples
    --------
    >>> import pandas as pd
    >>> unneutralise(pd.Series(["'=SUM(A1)", "'quoted", "x"])).tolist()
    ['=SUM(A1)', "'quoted", 'x']
    """
    starts = values.str.startswith("'", na=False) & values.str[1:2].isin(
        list(FORMULA_PREFIXES) + ["'"]
    )
    if not starts.any():
        return values
    return values.mask(starts, values.str[1:])


def _format_times(s: pd.Series) -> pd.Series:
    arr = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    fine = arr.astype("datetime64[s]") != arr
    unit = "us" if bool(np.any(fine[~np.isnat(arr)])) else "s"
    text = np.char.add(np.datetime_as_string(arr, unit=unit), "Z")
    text[np.isnat(arr)] = ""
    return pd.Series(text, index=s.index, dtype="str")


def to_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as text columns ready for CSV (timestamps ISO, formulas neutralised)."""
    out = {}
    for name in frame.columns:
        s = frame[name]
        if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(s):
            if not isinstance(s.dtype, pd.DatetimeTZDtype):
                s = s.dt.tz_localize("UTC")
            out[name] = _format_times(s)
        elif pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            out[name] = s
        else:
            out[name] = neutralise(s)
    return pd.DataFrame(out, index=frame.index)


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to ``path`` as CSV via a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            to_csv_frame(frame).to_csv(fh, index=False, lineterminator="\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save(
    dataset: Dataset, directory: str | os.PathLike[str], tables: Iterable[str] | None = None
) -> list[Path]:
    """Write the dataset's tables as ``<table>.csv`` files into ``directory``.

    Parameters
    ----------
    dataset
        The dataset to write.
    directory
        Target folder (created if missing). Existing files of the same name are replaced
        atomically; other files are left alone.
    tables
        Which tables to write (default: all present).

    Returns
    -------
    list of Path
        The files written, in canonical table order.

    Examples
    --------
    >>> import tempfile
    >>> from salesanalytics import sample
    >>> from salesanalytics.io import save
    >>> paths = save(sample.generate(100, seed=3), tempfile.mkdtemp())
    >>> sorted(p.name for p in paths)[:2]
    ['activities.csv', 'deals.csv']
    """
    wanted = list(tables) if tables is not None else list(dataset.tables)
    return [
        write_csv_atomic(dataset.table(name), Path(directory) / f"{name}.csv") for name in wanted
    ]
