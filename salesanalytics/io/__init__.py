"""Reading exports into canonical tables and writing them back.

The only package that touches files.
"""

from .loader import find_files, load
from .mapping import ColumnMapping
from .write import save

__all__ = ["ColumnMapping", "find_files", "load", "save"]
