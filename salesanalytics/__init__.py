"""salesanalytics: funnel analytics, lead-source quality and commission-plan design for sales teams.

The package turns CRM exports into canonical tables (:func:`load` -> :class:`Dataset`),
analyses the funnel and designs commission plans. See ``docs/architecture.md`` for the layout.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .dataset import Dataset, Provenance, SourceFile
from .io import ColumnMapping, load, save
from .quality import DataError, QualityReport
from .stages import StageModel

try:
    __version__ = version("salesanalytics")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = [
    "ColumnMapping",
    "DataError",
    "Dataset",
    "Provenance",
    "QualityReport",
    "SourceFile",
    "StageModel",
    "__version__",
    "load",
    "save",
]
