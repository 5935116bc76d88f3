"""Synthetic CRM data with known truth: :func:`generate` a :class:`~salesanalytics.Dataset`.

The sample is a B2B company selling in CNY (single currency) across four regions (East,
North, South, West) and five teams over 24 months. The true parameters are immutable
constants in :mod:`salesanalytics.sample.params`; the seed-dependent rep traits come from
:func:`truth`. What is true in the data:

* **Reps.** Each team has a manager (stays), SDRs and AEs; reps leave at 2-3% a month and
  are replaced after a 20-75 day vacancy; growth seats open. New hires ramp over 120 days
  (deal flow, skill, quota). AEs differ in win skill (log-odds sd 0.3 per stage); every rep
  in follow-up cadence, response speed, lead skill and capacity.
* **Leads** (about 3 per deal) arrive with 30%/year growth, a slow February (Spring
  Festival) and October, few on weekends, trade-show leads in show months. Need fit,
  purchasing power and decision complexity (1-5) drive conversion through a logistic model
  (+0.45, +0.35, -0.30 per point) together with the source, the first-response delay
  (-0.30 per doubling of 1 + hours; about 11% never answered, and those never convert), the
  owner's cadence and lead skill. ``score = 25 (0.40 (nf-1) + 0.35 (pp-1) + 0.25 (5-dc))``.
* **Sources** (nine) differ in conversion, win rate, deal size and cost per lead (referral
  150 CNY ... trade show 2,800 CNY); spend = leads x cost per lead x noise.
* **Deals** walk ``lead -> contacted -> proposal -> negotiation -> won`` with a stage loss
  probability shifted by source, rep skill and ramp, size, region, industry, score and deal
  type; about 8% of transitions skip a stage, about 3% of deals move back or are reopened;
  time in stage is lognormal (weeks to months per deal); wins early in a quarter are often
  pulled back into the quarter's last days. Deals open at the end are censored. Renewals
  (about a year after a Platform/Analytics win) and expansions come from won accounts and
  the installed base. A leaver's open deals go to the most senior teammate or are lost
  (``owner_left``). Deals created up to 120 days before the window that were still open at
  its start are included (their leads are not: the leads export starts with the window).
* **Quotas** are monthly, 1.15 x expected bookings split by employment, ramp, territory and
  a little productivity, so yearly AE attainment has a median near 90-95% and about 40%
  of reps at or above quota.

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
