"""Parse text columns into timestamps, amounts, plain numbers and booleans.

Pure functions of a pandas Series of text (missing = NA): nothing here touches files or
global state, and the input is never modified. Parsing is vectorised with pyarrow compute
kernels (RE2 regular expressions, casts) and numpy; the only Python loops run once per
*format family*, never per cell. Machine-written columns (ISO 8601 timestamps in one
layout, plain numbers) take a fast path that gives the same result.

Decisions are made **per column**, never per cell: the day/month order of ``03/04/2024``,
the decimal separator of ``1,234``. Every function returns the parsed values, a ``bad``
mask (True where a non-missing input could not be read; never True for missing input) and
a note explaining any assumption, so the loader can report it.

Modules: :mod:`.dates` (timestamps), :mod:`.numbers` (amounts, numbers, booleans, units
declared in headers); the others are private helpers.
"""

from __future__ import annotations

from .dates import ParsedDatetimes, parse_datetimes
from .numbers import (
    ParsedAmounts,
    ParsedNumbers,
    amount_unit_from_header,
    parse_amounts,
    parse_booleans,
    parse_numbers,
)

__all__ = [
    "ParsedAmounts",
    "ParsedDatetimes",
    "ParsedNumbers",
    "amount_unit_from_header",
    "parse_amounts",
    "parse_booleans",
    "parse_datetimes",
    "parse_numbers",
]
