"""Reading exports into canonical tables and writing them back (the only package that touches files)."""

from __future__ import annotations

from typing import Any

__all__ = ["ColumnMapping", "find_files", "load", "save"]


def __getattr__(name: str) -> Any:  # temporary lazy import while readers.py is written
    if name in ("load", "find_files"):
        from . import loader as _load

        return getattr(_load, name)
    if name == "ColumnMapping":
        from .mapping import ColumnMapping

        return ColumnMapping
    if name == "save":
        from .write import save

        return save
    raise AttributeError(name)
