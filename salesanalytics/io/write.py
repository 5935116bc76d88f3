"""Write a :class:`~salesanalytics.Dataset` as canonical CSV files, atomically and safely.

Each table becomes ``<table>.csv`` (UTF-8, ``\\n`` line ends, header row, canonical columns
first), written by Arrow's CSV writer: text is always quoted, numbers use the shortest
representation that round-trips, timestamps are ISO 8601 UTC (``2024-03-05T14:30:00Z``,
with fractional seconds only when a value in the column has them), missing values are empty
cells. Text cells that a spreadsheet would run as a formula (starting with ``=``,
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

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..dataset import Dataset

__all__ = [
    "FORMULA_PREFIXES",
    "neutralise",
    "save",
    "to_csv_table",
    "unneutralise",
    "write_csv_atomic",
]

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
    starts = values.str.startswith("'", na=False) & values.str[1:2].isin([*FORMULA_PREFIXES, "'"])
    if not starts.any():
        return values
    return values.mask(starts, values.str[1:])


def _time_strings(s: pd.Series) -> pa.Array:
    naive = pa.array(s.dt.tz_convert("UTC").dt.tz_localize(None), from_pandas=True)
    whole = pc.cast(naive, pa.timestamp("s"), safe=False)
    fine = bool(pc.any(pc.not_equal(pc.cast(whole, naive.type), naive)).as_py())
    text = pc.cast(naive if fine else whole, pa.string())  # "2024-03-05 14:30:00[.ffffff]"
    iso = pc.utf8_replace_slice(text, start=10, stop=11, replacement="T")
    return pc.binary_join_element_wise(iso, pa.scalar("Z"), "")


def to_csv_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table ready for CSV: ISO timestamps, formulas neutralised."""
    columns: dict[str, pa.Array] = {}
    for name in frame.columns:
        s = frame[name]
        if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(s):
            if not isinstance(s.dtype, pd.DatetimeTZDtype):
                s = s.dt.tz_localize("UTC")
            columns[str(name)] = _time_strings(s)
        elif pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            columns[str(name)] = pa.array(s, from_pandas=True)
        else:
            columns[str(name)] = pa.array(neutralise(s), type=pa.large_string(), from_pandas=True)
    return pa.table(columns) if columns else pa.table({})


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` to ``path`` as CSV via a temporary file and an atomic rename.

    Text cells are always quoted, numbers and timestamps never; missing values are empty.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pacsv.write_csv(
                to_csv_table(frame),
                fh,
                pacsv.WriteOptions(quoting_style="needed", batch_size=65536),
            )
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
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
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = save(sample.generate(100, seed=3), folder)
    ...     sorted(p.name for p in paths)[:2]
    ['activities.csv', 'deals.csv']
    """
    wanted = list(tables) if tables is not None else list(dataset.tables)
    return [
        write_csv_atomic(dataset.table(name), Path(directory) / f"{name}.csv") for name in wanted
    ]
