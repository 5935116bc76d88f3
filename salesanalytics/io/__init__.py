"""Reading exports into canonical tables and writing them back.

The only package that touches files. CRM exports (Salesforce, HubSpot, Pipedrive, Zoho,
Chinese CRMs, generic) are recognised by :func:`detect_format` and prepared by the adapters
in :mod:`.adapters` (see ``docs/exports.md``).
"""

from .adapters import FORMATS, Detection, detect_format, suggest_mapping
from .loader import find_files, load
from .mapping import ColumnMapping
from .plan_files import read_plan, read_plans
from .write import save

__all__ = [
    "FORMATS",
    "ColumnMapping",
    "Detection",
    "detect_format",
    "find_files",
    "load",
    "read_plan",
    "read_plans",
    "save",
    "suggest_mapping",
]
