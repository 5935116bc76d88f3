"""Export adapters: Salesforce, HubSpot, Pipedrive, Zoho, Chinese CRMs and generic exports.

Each adapter recognises its files (:func:`detect_format`) and prepares them for the one
loading pipeline (:func:`salesanalytics.io.load`): which table each file holds, a mapping of
headers and values, and the reshaping a mapping cannot express. See ``docs/exports.md``.
"""

from .base import Adapter, Part, Prepared
from .detect import ADAPTERS, FORMATS, Detection, detect_format
from .suggest import suggest_mapping

__all__ = [
    "ADAPTERS",
    "FORMATS",
    "Adapter",
    "Detection",
    "Part",
    "Prepared",
    "detect_format",
    "suggest_mapping",
]
