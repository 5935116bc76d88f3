"""Pipedrive: the deals spreadsheet export ("Deal - Title" headers) and the deal-flow export.

* ``Deal - Status`` (open / won / lost / deleted) is the outcome; a ``deleted`` deal is
  quarantined as ``unknown_outcome`` (it is not a sale, and not a loss either).
* A won deal keeps the stage it was won in as ``Deal - Stage``; the adapter records it as
  ``won`` (the extra column ``pipedrive_stage`` keeps the original), so a current-state funnel
  counts it through every stage. A lost deal keeps its stage: how far it got.
* ``closed_at`` is ``Deal - Close time`` when exported, else the won or lost time.
* The deal-flow export (``GET /deals/{id}/flow`` flattened: deal id, ``field_key``,
  ``old_value``, ``new_value``, ``log_time``) gives stage events from its ``stage_id`` and
  ``status`` changes; other changes are ignored with a note. Stage ids need
  ``[stages.aliases]`` unless the flow holds stage names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...stages import label_key
from ..records import RawTable
from .base import Adapter, Part, Prepared, derived, find, pick, with_columns

__all__ = ["ADAPTER", "DEAL_COLUMNS"]

API_SIGNATURE = ("add_time", "won_time", "lost_time", "stage_change_time", "pipeline_id")
DEAL_COLUMNS: dict[str, list[str]] = {
    "deal_id": ["Deal - ID", "id"],
    "amount": ["Deal - Value", "value"],
    "currency": ["Deal - Currency", "Deal - Currency of Value", "currency"],
    "stage": ["Deal - Stage", "stage"],
    "pipeline": ["Deal - Pipeline", "pipeline"],
    "outcome": ["Deal - Status", "status"],
    "created_at": ["Deal - Deal created", "Deal - Add time", "Deal - Created", "add_time"],
    "closed_at": ["Deal - Close time", "Deal - Deal closed on", "close_time", "closed_at"],
    "expected_close_at": ["Deal - Expected close date", "expected_close_date"],
    "owner_id": ["Deal - Owner", "Deal - User", "owner_name", "user_id"],
    "lost_reason": ["Deal - Lost reason", "lost_reason"],
    "lead_source": ["Deal - Source origin", "Deal - Source channel", "Deal - Source", "origin"],
    "crm_probability": ["Deal - Probability", "probability"],
    "account_id": ["Deal - Organization", "org_name", "org_id"],
}
"""Canonical deals column -> Pipedrive headers (export label first, then API name)."""
FLOW_COLUMNS = {
    "deal": ["Deal ID", "deal_id", "item_id", "Deal - ID"],
    "field": ["field_key", "Field key", "Field"],
    "new": ["new_value", "New value"],
    "when": ["log_time", "Log time", "Time", "timestamp"],
}


def _is_flow(raw: RawTable) -> bool:
    return all(any(find(raw, c) for c in cands) for cands in FLOW_COLUMNS.values())


def detect(raws: Sequence[RawTable]) -> tuple[int, str]:
    """Score the files: "Deal - ..." headers, API time fields, a deal-flow file."""
    found: list[str] = []
    for raw in raws:
        dashed = [str(h) for h in raw.frame.columns if str(h).lower().startswith("deal - ")]
        found += [f"header {h!r}" for h in dashed]
        found += [f"header {h!r}" for h in API_SIGNATURE if find(raw, h)]
        if _is_flow(raw):
            found.append(f"deal-flow file {raw.source}")
    return len(found), ", ".join(found[:5])


def _flow(raw: RawTable) -> tuple[RawTable, str]:
    col = {k: next(h for c in v if (h := find(raw, c))) for k, v in FLOW_COLUMNS.items()}
    f = raw.frame
    field = f[col["field"]].map(label_key)
    new = f[col["new"]]
    status = field.eq("status") & new.str.casefold().isin(["won", "lost"])
    keep = (field.eq("stageid") | status).to_numpy(dtype=bool)
    rows = np.flatnonzero(keep)
    frame = pd.DataFrame(
        {
            "deal_id": f[col["deal"]].to_numpy()[rows],
            "stage": new.to_numpy()[rows],
            "entered_at": f[col["when"]].to_numpy()[rows],
        },
        dtype="str",
    )
    note = (
        f"{raw.source}: {len(rows):,} stage and won/lost change(s) read as stage events; "
        f"{len(f) - len(rows):,} other change(s) ignored"
    )
    return derived(raw, frame, rows), note


def _deals(raw: RawTable, notes: list[str]) -> RawTable:
    status = find(raw, *DEAL_COLUMNS["outcome"])
    stage = find(raw, *DEAL_COLUMNS["stage"])
    extra: dict[str, pd.Series | np.ndarray | str] = {}
    if status is not None:
        st = raw.frame[status].str.casefold()
        deleted = int(st.eq("deleted").sum())
        if deleted:
            notes.append(
                f"{raw.source}: {deleted} deleted deal(s) quarantined (status 'deleted' is "
                "neither open, won nor lost)"
            )
        if stage is not None:
            won = st.eq("won").to_numpy(dtype=bool)
            extra["pipedrive_stage"] = raw.frame[stage]
            extra[stage] = raw.frame[stage].mask(won, "won")
    if find(raw, *DEAL_COLUMNS["closed_at"]) is None:
        won_t, lost_t = find(raw, "Deal - Won time", "won_time"), find(raw, "Deal - Lost time")
        lost_t = lost_t or find(raw, "lost_time")
        if won_t or lost_t:
            w = raw.frame[won_t] if won_t else pd.Series(np.nan, index=raw.frame.index)
            lo = raw.frame[lost_t] if lost_t else pd.Series(np.nan, index=raw.frame.index)
            extra["closed_at"] = w.fillna(lo)
    return with_columns(raw, **extra) if extra else raw


def prepare(raws: Sequence[RawTable]) -> Prepared:
    """Deals files as deals (status, won stage, close time); flow files as stage events."""
    parts: list[Part] = []
    notes: list[str] = []
    deals: list[RawTable] = []
    for raw in raws:
        if _is_flow(raw):
            sub, note = _flow(raw)
            notes.append(note)
            parts.append(Part(sub, "stage_events", "Pipedrive deal flow"))
        elif find(raw, *DEAL_COLUMNS["deal_id"]) and find(raw, *DEAL_COLUMNS["outcome"]):
            d = _deals(raw, notes)
            deals.append(d)
            parts.append(Part(d, "deals", "Pipedrive deals"))
        else:
            parts.append(Part(raw))
    mapping = {"tables": {"deals": {"columns": pick(deals, DEAL_COLUMNS)}}}
    return Prepared(tuple(parts), mapping, None, tuple(notes))


ADAPTER = Adapter("pipedrive", detect, prepare)
