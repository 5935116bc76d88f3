"""HubSpot deals exports: UI labels (``Record ID``, ``Deal Stage``) or internal names.

Stage history comes from the stage calculated properties, one column per stage (and per
pipeline): ``Date entered "Closed Won (Sales Pipeline)"`` in UI exports,
``hs_v2_date_entered_<stage id>`` (and the legacy ``hs_date_entered_<stage id>``) in API
exports. Each filled cell becomes one stage event on the deal's line (problems name the
file with the column, ``deals.csv [Date entered "Closed Won (Sales Pipeline)"]``); the dataset's
fidelity is then ``latest_per_stage`` (HubSpot keeps the latest entry per stage only, so
re-entries are not visible). ``Date exited``/``time in`` columns are left as extras.

Stage labels and the default pipeline's stage ids (``appointmentscheduled`` ...
``closedlost``) are known; custom pipelines use numeric stage ids, which need
``[stages.aliases]`` in a mapping file (unknown ones are rejected with ``unknown_stage``).
``closedate`` of open deals is HubSpot's expected close date (moved to
``expected_close_at`` by the loader).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from ..records import RawTable
from .base import Adapter, Fidelity, Part, Prepared, derived, find, pick, signature_score

__all__ = ["ADAPTER", "DEAL_COLUMNS", "stage_columns"]

SIGNATURE = (
    "dealname",
    "dealstage",
    "hs_object_id",
    "hubspot_owner_id",
    "hs_analytics_source",
    "hs_is_closed_won",
    "hs_is_closed",
    "hs_deal_stage_probability",
    "Deal Stage",
    "Create Date",
    "Original Source Type",
    "Original Traffic Source",
    "Deal probability",
    "Is Closed Won",
    "Days to close",
)
DEAL_COLUMNS: dict[str, list[str]] = {
    "deal_id": ["Record ID", "hs_object_id", "Deal ID", "dealId"],
    "created_at": ["Create Date", "createdate"],
    "closed_at": ["Close Date", "closedate"],
    "stage": ["Deal Stage", "dealstage"],
    "pipeline": ["Pipeline"],
    "amount": ["Amount", "amount"],
    "currency": ["Currency", "deal_currency_code"],
    "owner_id": ["Deal owner", "hubspot_owner_id", "Deal Owner"],
    "lead_source": [
        "Original Source Type",
        "Original Traffic Source",
        "hs_analytics_source",
        "Original Source",
    ],
    "deal_type": ["Deal Type", "dealtype"],
    "lost_reason": ["Closed Lost Reason", "closed_lost_reason"],
    "crm_probability": ["Deal probability", "hs_deal_stage_probability"],
    "account_id": ["Associated Company", "Associated Company IDs"],
}
"""Canonical deals column -> HubSpot headers (UI label first, then internal name)."""

_LABEL = re.compile(r'^date entered\s+"?(?P<inner>.+?)"?$', re.IGNORECASE)
_PIPE = re.compile(r"^(?P<stage>.+?)\s*\((?P<pipeline>[^()]+)\)$")
_PROP = re.compile(r"^hs(?:_v2)?_date_entered_(?P<stage>.+)$", re.IGNORECASE)
_CURRENT = {"current stage", "currentstage", "current_stage"}


def stage_columns(headers: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """Date-entered columns: header -> (stage label or id, pipeline or None).

    Examples
    --------
    >>> stage_columns(['Date entered "Closed Won (Sales Pipeline)"',
    ...                "hs_v2_date_entered_closedlost", "Date entered current stage", "Amount"])
    {'Date entered "Closed Won (Sales Pipeline)"': ('Closed Won', 'Sales Pipeline'), \
'hs_v2_date_entered_closedlost': ('closedlost', None)}
    """
    out: dict[str, tuple[str, str | None]] = {}
    for h in headers:
        m = _LABEL.match(h) or _PROP.match(h)
        if m is None:
            continue
        inner = m.groupdict().get("inner") or m.group("stage")
        if inner.strip().lower() in _CURRENT:
            continue
        p = _PIPE.match(inner)
        out[h] = (p.group("stage"), p.group("pipeline")) if p else (inner, None)
    return out


def detect(raws: Sequence[RawTable]) -> tuple[int, str]:
    """Score the files as a HubSpot export (internal names, UI labels, date-entered columns)."""
    score, found = signature_score(raws, SIGNATURE)
    wide = sum(len(stage_columns([str(h) for h in r.frame.columns])) for r in raws)
    if wide:
        score, found = score + 2, [*found, f"{wide} date-entered stage column(s)"]
    return score, ", ".join(found[:5])


def _events(raw: RawTable, cols: dict[str, tuple[str, str | None]]) -> list[RawTable]:
    """Stage events from the date-entered columns: one table per column, so every event has
    its own (file, line) address — the file named with the column, the line of its deal."""
    deal = next((h for c in DEAL_COLUMNS["deal_id"] if (h := find(raw, c))), None)
    if deal is None:
        return []
    out = []
    ids = raw.frame[deal].to_numpy()
    for header, (stage, pipeline) in cols.items():
        values = raw.frame[header]
        idx = np.flatnonzero(values.notna().to_numpy())
        if not idx.size:
            continue
        frame = pd.DataFrame(
            {
                "deal_id": ids[idx],
                "stage": np.full(idx.size, stage, dtype=object),
                "entered_at": values.to_numpy()[idx],
                "pipeline": np.full(idx.size, pipeline, dtype=object),
            },
            dtype="str",
        )
        out.append(replace(derived(raw, frame, idx), source=f"{raw.source} [{header}]"))
    return out


def prepare(raws: Sequence[RawTable]) -> Prepared:
    """Deals files as deals; their date-entered columns as stage events."""
    parts: list[Part] = []
    notes: list[str] = []
    wide_events = False
    deals: list[RawTable] = []
    for raw in raws:
        cols = stage_columns([str(h) for h in raw.frame.columns])
        is_deals = any(find(raw, c) for c in DEAL_COLUMNS["stage"])
        if not is_deals:
            parts.append(Part(raw))
            continue
        events = _events(raw, cols) if cols else []
        slim = raw
        if cols:
            slim = replace(raw, frame=raw.frame.drop(columns=list(cols)))
        deals.append(slim)
        parts.append(Part(slim, "deals", "HubSpot deals"))
        if events:
            wide_events = True
            reason = "HubSpot date-entered column"
            parts += [Part(e, "stage_events", reason, True, raw.source) for e in events]
            n = sum(len(e.frame) for e in events)
            notes.append(
                f"{raw.source}: {n:,} stage entries read from {len(cols)} date-entered "
                "column(s) (latest entry per stage only)"
            )
    fidelity: Fidelity | None = "latest_per_stage" if wide_events else None
    mapping = {"tables": {"deals": {"columns": pick(deals, DEAL_COLUMNS)}}}
    return Prepared(tuple(parts), mapping, fidelity, tuple(notes))


ADAPTER = Adapter("hubspot", detect, prepare)
