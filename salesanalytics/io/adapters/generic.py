"""Generic exports: canonical columns, common header spellings, or any columns via a mapping.

Two shapes load without code:

* one row per deal with its current stage (a current-state export), like the Kaggle
  "CRM + Sales + Opportunities" table (``opportunity_id, sales_agent, product, account,
  deal_stage, engage_date, close_date, close_value``; ``sales_teams.csv`` gives the reps);
* one row per stage event (``deal_id, stage, entered_at`` under any spelling the mapping
  names), beside a deals file.

Header aliases here are used only where no header already spells the canonical name, so a
canonical export loads exactly as it is. A file whose name does not say its table, whose
headers give a deal id and a stage but no entry time, is read as deals (the outcome then
comes from the stage).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...stages import label_key
from ..records import RawTable
from .base import Adapter, Part, Prepared, pick

__all__ = ["ADAPTER", "ALIASES"]

ALIASES: dict[str, dict[str, list[str]]] = {
    "deals": {
        "deal_id": ["opportunity_id", "opportunity id", "deal", "opportunity"],
        "owner_id": ["sales_agent", "owner", "deal owner", "sales rep", "salesperson", "rep"],
        "stage": ["deal_stage", "deal stage", "current stage", "pipeline stage"],
        "created_at": ["engage_date", "created", "create date", "created date", "date created"],
        "closed_at": ["close_date", "close date", "closed", "date closed"],
        "amount": ["close_value", "deal value", "value", "revenue"],
        "account_id": ["account", "company", "customer"],
        "product_line": ["product"],
        "lead_source": ["source", "lead source", "channel"],
    },
    "stage_events": {
        "deal_id": ["opportunity_id", "opportunity id", "deal"],
        "stage": ["to stage", "new stage", "stage name"],
        "entered_at": ["changed_at", "changed at", "date", "timestamp", "moved at"],
    },
    "reps": {
        "rep_id": ["sales_agent", "agent", "sales rep"],
        "manager_id": ["manager"],
        "region": ["regional_office", "office"],
    },
}
"""Canonical column -> common header spellings, per table (used only when unambiguous)."""

STAGE_ALIASES = {"Engaging": "contacted", "Engaged": "contacted"}


def detect(raws: Sequence[RawTable]) -> tuple[int, str]:
    """The generic path never claims files: it is what loads when no CRM is recognised."""
    return 0, ""


def _aliases(raws: Sequence[RawTable]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, cands in ALIASES.items():
        cols: dict[str, str] = {}
        for raw in raws:
            present = {label_key(str(h)) for h in raw.frame.columns}
            wanted = {t: c for t, c in cands.items() if label_key(t) not in present}
            for header, target in pick([raw], wanted).items():
                if target not in cols.values():
                    cols.setdefault(header, target)
        out[table] = cols
    return out


def deal_like(headers: dict[str, str]) -> bool:
    """Resolved headers of a current-state deals file: a deal id and a stage, no entry time."""
    names = set(headers.values())
    return {"deal_id", "stage"} <= names and "entered_at" not in names


def prepare(raws: Sequence[RawTable]) -> Prepared:
    """Leave table identification to the loader; add the unambiguous header aliases."""
    cols = _aliases(raws)
    mapping = {
        "tables": {t: {"columns": c} for t, c in cols.items() if c},
        "stages": {"aliases": STAGE_ALIASES},
    }
    return Prepared(tuple(Part(r) for r in raws), mapping)


ADAPTER = Adapter("generic", detect, prepare)
