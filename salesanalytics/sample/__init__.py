"""Synthetic CRM data with known truth: :func:`generate` a :class:`~salesanalytics.Dataset`.

The sample is a B2B company selling in CNY across four regions and five teams over 24
months: leads from nine sources with scores that truly predict conversion, a pipeline walk
with losses at every stage, skips, backward moves, reopened and censored deals, repeat
business, activities, hires and leavers, monthly quotas and marketing spend. The true
parameters are module constants in :mod:`salesanalytics.sample.params`; the seed-dependent
rep traits come from :func:`truth`.

Examples
--------
>>> from salesanalytics import sample
>>> ds = sample.generate(300, seed=7)
>>> sorted(ds.tables)
['activities', 'deals', 'leads', 'quotas', 'reps', 'spend', 'stage_events']
"""

from __future__ import annotations

from .generate import STAGE_NAMES, generate
from .leads import lead_score
from .params import (
    CURRENCY,
    INDUSTRIES,
    LEAD_MODEL,
    LOST_REASONS,
    PRODUCTS,
    REGIONS,
    REPEAT_SOURCE,
    SEASONALITY,
    SIZES,
    SOURCES,
    STAGE_WALK,
    TEAMS,
    WORKFORCE,
)
from .truth import RepTraits, SampleTruth, truth

__all__ = [
    "CURRENCY",
    "INDUSTRIES",
    "LEAD_MODEL",
    "LOST_REASONS",
    "PRODUCTS",
    "REGIONS",
    "REPEAT_SOURCE",
    "SEASONALITY",
    "SIZES",
    "SOURCES",
    "STAGE_NAMES",
    "STAGE_WALK",
    "TEAMS",
    "WORKFORCE",
    "RepTraits",
    "SampleTruth",
    "generate",
    "lead_score",
    "truth",
]
