"""Zoho CRM: the Deals export (labels or API names) and the Stage History export.

Deals: ``Record Id``, ``Deal Name``, ``Deal Owner``, ``Stage``, ``Amount``, ``Closing Date``,
``Created Time``, ``Lead Source``, ``Type``, ``Pipeline``, ``Probability (%)``, ``Reason For
Loss`` (or ``Deal_Name``, ``Closing_Date``, ``Created_Time``, ``Reason_For_Loss__s`` ...).
Stage History (the "field tracker" related list of the Stage picklist): one row per stage a
deal was in, with ``Stage`` and ``Modified Time`` (when it was set); the deal is named by
``Deal Id`` or, failing that, ``Deal Name`` (then deals are keyed by name too).
``Closed-Lost to Competition`` is a lost stage.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..records import RawTable
from .base import Adapter, Part, Prepared, file_key, find, pick, signature_score

__all__ = ["ADAPTER", "DEAL_COLUMNS"]

SIGNATURE = (
    "Closing Date",
    "Created Time",
    "Modified Time",
    "Deal_Name",
    "Reason For Loss",
    "Reason_For_Loss__s",
    "Lead_Conversion_Time",
    "Sales_Cycle_Duration",
    "Overall_Sales_Duration",
    "Campaign Source",
    "Moved To",
    "Duration (Days)",
)
DEAL_COLUMNS: dict[str, list[str]] = {
    "deal_id": ["Record Id", "Id", "Deal Id"],
    "created_at": ["Created Time", "Created_Time"],
    "closed_at": ["Closing Date", "Closing_Date"],
    "stage": ["Stage"],
    "amount": ["Amount"],
    "currency": ["Currency"],
    "owner_id": ["Deal Owner", "Owner", "Owner.name"],
    "lead_source": ["Lead Source", "Lead_Source"],
    "deal_type": ["Type"],
    "pipeline": ["Pipeline"],
    "crm_probability": ["Probability (%)", "Probability"],
    "lost_reason": ["Reason For Loss", "Reason_For_Loss__s"],
    "account_id": ["Account Name", "Account_Name"],
}
"""Canonical deals column -> Zoho headers."""
HISTORY_COLUMNS: dict[str, list[str]] = {
    "deal_id": ["Deal Id", "Deal_Name.id", "Deal Name", "Deal_Name"],
    "stage": ["Stage", "Moved To"],
    "entered_at": ["Modified Time", "Last Modified Time", "Modified_Time"],
}
STAGE_ALIASES = {"Closed-Lost to Competition": "lost", "Closed Lost to Competition": "lost"}


def _is_history(raw: RawTable) -> bool:
    has_time = any(find(raw, c) for c in HISTORY_COLUMNS["entered_at"])
    named = file_key(raw).startswith(("stagehistory", "dealstagehistory", "history"))
    return has_time and (named or find(raw, "Moved To") is not None) and not find(raw, "Record Id")


def detect(raws: Sequence[RawTable]) -> tuple[int, str]:
    """Score the files as a Zoho CRM export."""
    score, found = signature_score(raws, SIGNATURE)
    return score, ", ".join(found[:5])


def prepare(raws: Sequence[RawTable]) -> Prepared:
    """Deals and stage history; keys deals by name when the history names deals only."""
    parts: list[Part] = []
    notes: list[str] = []
    deals = [r for r in raws if not _is_history(r) and find(r, "Stage")]
    history = [r for r in raws if _is_history(r)]
    for r in raws:
        if r in history:
            parts.append(Part(r, "stage_events", "Zoho stage history"))
        elif r in deals:
            parts.append(Part(r, "deals", "Zoho deals"))
        else:
            parts.append(Part(r))
    deal_cols = pick(deals, DEAL_COLUMNS)
    hist_cols = pick(history, HISTORY_COLUMNS)
    by_name = [h for h, t in hist_cols.items() if t == "deal_id" and "name" in h.lower()]
    if by_name:
        name = pick(deals, {"deal_id": ["Deal Name", "Deal_Name"]})
        if name:
            deal_cols = {h: t for h, t in deal_cols.items() if t != "deal_id"} | name
            notes.append("the stage history names deals, not ids: deals keyed by Deal Name")
    mapping = {
        "tables": {
            "deals": {"columns": deal_cols},
            "stage_events": {"columns": hist_cols},
        },
        "stages": {"aliases": STAGE_ALIASES},
    }
    return Prepared(tuple(parts), mapping, None, tuple(notes))


ADAPTER = Adapter("zoho", detect, prepare)
