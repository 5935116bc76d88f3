"""Salesforce: Opportunity, OpportunityHistory, OpportunityFieldHistory, Lead, User exports.

Both export styles load: Data Loader / weekly export (API names as headers, ``Id`` columns,
ISO 8601 timestamps) and report exports (labels as headers, ``MM/DD/YY`` dates, every value
quoted, "Grand Totals" footer lines, which the reader drops).

What the adapter does beyond the header mapping:

* ``outcome`` from ``IsClosed`` / ``IsWon`` (report labels ``Closed`` / ``Won``), so a custom
  closed stage is still won or lost;
* with a stage history, ``closed_at`` is when the deal entered its won or lost stage, and
  ``CloseDate`` (typed by the rep, often before ``CreatedDate`` for deals entered after the
  fact) becomes ``expected_close_at``; without history ``CloseDate`` is the close date;
* OpportunityFieldHistory rows of the ``StageName`` field become stage events, plus each
  deal's initial stage (``OldValue`` of its first change, at its ``CreatedDate``); other
  fields are ignored with a note; it is used only when OpportunityHistory is absent;
* history rows repeating a stage (amount or close-date edits) are merged by the loader;
* an Opportunity export without an owner column gets ``owner_id = "unassigned"`` with a note;
* Lead exports without ``CreatedDate`` (and quota exports without a period end) are skipped
  with a note instead of failing the load; other files go to the loader's usual table
  identification (a ``spend.csv`` beside the export loads; Account and Contact match no
  table and are ignored with a note).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ...quality import DataError
from .. import parse
from ..records import RawTable
from .base import (
    Adapter,
    Part,
    Prepared,
    derived,
    file_key,
    find,
    keys,
    pick,
    signature_score,
    truthy,
    with_columns,
)

__all__ = ["ADAPTER", "DEAL_COLUMNS", "HISTORY_COLUMNS"]

SIGNATURE = (
    "StageName",
    "IsWon",
    "IsClosed",
    "OpportunityId",
    "ForecastCategory",
    "ForecastCategoryName",
    "IsConverted",
    "ConvertedOpportunityId",
    "Opportunity Name",
    "Opportunity Owner",
    "Fiscal Period",
    "OpportunityHistoryKey",
)
FILES = ("opportunity", "opportunityhistory", "opportunityfieldhistory")

DEAL_COLUMNS: dict[str, list[str]] = {
    "deal_id": ["Id", "Opportunity ID", "Opportunity Name"],
    "created_at": ["CreatedDate", "Created Date"],
    "stage": ["StageName", "Stage"],
    "amount": ["Amount", "Amount (converted)"],
    "currency": ["CurrencyIsoCode", "Opportunity Currency", "Amount Currency"],
    "owner_id": ["OwnerId", "Opportunity Owner", "Owner Name", "Owner.Name"],
    "lead_source": ["LeadSource", "Lead Source"],
    "deal_type": ["Type"],
    "account_id": ["AccountId", "Account ID", "Account Name"],
    "crm_probability": ["Probability", "Probability (%)"],
    "lost_reason": ["Loss_Reason__c", "Loss Reason"],
}
"""Canonical deals column -> Salesforce headers, API name first, then report labels."""

DEAL_TYPES = {
    "Existing Customer - Replacement": "renewal",
    "Existing Customer - Downgrade": "renewal",
}
"""Salesforce ``Type`` values the default deal-type aliases do not know."""

HISTORY_COLUMNS: dict[str, list[str]] = {
    "deal_id": ["OpportunityId", "Opportunity ID", "Opportunity Name"],
    "stage": ["StageName", "To Stage", "Stage"],
    "entered_at": ["CreatedDate", "Edit Date", "Last Modified", "Last Modified Date"],
}
LEAD_COLUMNS: dict[str, list[str]] = {
    "lead_id": ["Id", "Lead ID"],
    "created_at": ["CreatedDate", "Create Date", "Created Date"],
    "lead_source": ["LeadSource", "Lead Source"],
    "owner_id": ["OwnerId", "Lead Owner"],
    "converted_at": ["ConvertedDate", "Converted Date"],
    "deal_id": ["ConvertedOpportunityId", "Converted Opportunity ID"],
    "industry": ["Industry"],
}
REP_COLUMNS: dict[str, list[str]] = {
    "rep_id": ["Id", "User ID"],
    "name": ["Name", "Full Name"],
    "role": ["UserRole.Name", "Role"],
    "manager_id": ["ManagerId", "Manager ID"],
    "team": ["Department"],
}
QUOTA_COLUMNS: dict[str, list[str]] = {
    "rep_id": ["QuotaOwnerId", "OwnerId"],
    "period_start": ["StartDate", "PeriodStartDate"],
    "period_end": ["EndDate", "PeriodEndDate"],
    "quota": ["QuotaAmount", "Quota"],
}


def _role(raw: RawTable) -> str | None:
    k, stem = keys(raw), file_key(raw)
    if {"field", "oldvalue", "newvalue"} <= k:
        return "field_history"
    if "tostage" in k and k & {"opportunityid", "opportunityname"}:
        return "history"  # the "Opportunity History" report type
    has_opp = "opportunityid" in k
    history_like = "tostage" in k or "stagename" in k or stem.startswith("opportunityhistory")
    if has_opp and history_like and "isclosed" not in k and "iswon" not in k:
        return "history"
    if ("stagename" in k or "stage" in k) and k & {"id", "opportunityid", "opportunityname"}:
        return "opportunity"
    if stem.startswith("opportunit") and "history" not in stem and "id" in k:
        return "opportunity"  # named so, but its stage column is missing or renamed
    if k & {"isconverted", "convertedopportunityid"} or stem == "lead":
        return "lead"
    if "username" in k or stem == "user":
        return "user"
    if "quotaamount" in k:
        return "quota"
    return None


def detect(raws: Sequence[RawTable]) -> tuple[int, str]:
    """Score the files as a Salesforce export (distinctive API names and report labels)."""
    score, found = signature_score(raws, SIGNATURE, FILES)
    return score, ", ".join(found[:5])


def _field_history(raw: RawTable, opportunities: Sequence[RawTable]) -> tuple[list[RawTable], str]:
    """Stage events from OpportunityFieldHistory: each ``StageName`` change enters
    ``NewValue``; the ``OldValue`` of a deal's first change is the stage it was created in,
    entered at the deal's ``CreatedDate`` (a separate table, named ``<file> [OldValue]``, so
    each event keeps its own file and line)."""
    f = raw.frame
    field = f[find(raw, "Field") or "Field"]
    rows = np.flatnonzero(field.str.casefold().eq("stagename").to_numpy(dtype=bool))
    deal = find(raw, "OpportunityId", "ParentId") or "OpportunityId"
    when = find(raw, "CreatedDate") or "CreatedDate"
    frame = f.iloc[rows][[deal, find(raw, "NewValue") or "NewValue", when]]
    frame.columns = ["OpportunityId", "StageName", "CreatedDate"]
    out = [derived(raw, frame, rows)]
    starts = [
        o.frame.set_index(i)[c]
        for o in opportunities
        if (i := find(o, "Id")) and (c := find(o, "CreatedDate"))
    ]
    created = pd.concat(starts) if starts else None
    old_col = find(raw, "OldValue")
    firsts = 0
    if created is not None and old_col and len(rows):
        when_at = parse.parse_datetimes(frame["CreatedDate"].reset_index(drop=True)).values
        order = pd.DataFrame({"deal": frame["OpportunityId"].to_numpy(), "at": when_at})
        order["row"] = rows
        first = order.sort_values(["deal", "at"], kind="stable").drop_duplicates("deal")
        created = created[~created.index.duplicated()]
        start = first["deal"].map(created)
        old = pd.Series(f[old_col].to_numpy()[first["row"].to_numpy()], index=first.index)
        keep = (start.notna() & old.notna()).to_numpy()
        init = pd.DataFrame(
            {
                "OpportunityId": first["deal"].to_numpy()[keep],
                "StageName": old.to_numpy()[keep],
                "CreatedDate": start.to_numpy()[keep],
            },
            dtype="str",
        )
        firsts = int(keep.sum())
        if firsts:
            sub = derived(raw, init, first["row"].to_numpy()[keep])
            out.append(replace(sub, source=f"{raw.source} [OldValue]"))
    note = (
        f"{raw.source}: {len(rows)} StageName change(s) read as stage events, plus "
        f"{firsts} initial stage(s) (OldValue of the first change, at CreatedDate); "
        f"{len(f) - len(rows)} change(s) of other fields ignored"
    )
    return out, note


def prepare(raws: Sequence[RawTable]) -> Prepared:
    """Assign each file its table, derive ``outcome``, and give the Salesforce mapping."""
    roles = {id(r): _role(r) for r in raws}
    by_role: dict[str, list[RawTable]] = {}
    for r in raws:
        by_role.setdefault(roles[id(r)] or "", []).append(r)
    notes: list[str] = []
    parts: list[Part] = []
    sources = {r.source for r in raws}
    history = list(by_role.get("history", []))
    if history and by_role.get("field_history"):
        names = ", ".join(Path(r.source).name for r in by_role["field_history"])
        notes.append(f"{names}: ignored, OpportunityHistory already gives the stage history")
    elif by_role.get("field_history"):
        for r in by_role["field_history"]:
            subs, note = _field_history(r, by_role.get("opportunity", []))
            history += subs
            notes.append(note)
    deals: list[RawTable] = []
    for r in by_role.get("opportunity", []):
        closed, won = find(r, "IsClosed", "Closed"), find(r, "IsWon", "Won")
        if closed is not None and won is not None and find(r, "outcome") is None:
            c, w = truthy(r.frame[closed]), truthy(r.frame[won])
            labels = np.where(c, np.where(w, "won", "lost"), "open")
            missing = r.frame[closed].isna().to_numpy()
            outcome = pd.Series(labels, index=r.frame.index, dtype="str").mask(missing)
            r = with_columns(r, outcome=outcome)
        if not any(find(r, h) for h in DEAL_COLUMNS["owner_id"]):
            r = with_columns(r, owner_id="unassigned")
            notes.append(
                f"{r.source}: no owner column (OwnerId); owner_id set to 'unassigned' — "
                "export OwnerId to analyse by rep"
            )
        deals.append(r)
        parts.append(Part(r, "deals", "Salesforce Opportunity"))
    parts += [
        Part(r, "stage_events", "Salesforce stage history", r.source not in sources, origin)
        for r in history
        for origin in [next((s for s in sources if r.source.startswith(s)), r.source)]
    ]
    leads = by_role.get("lead", [])
    for r in leads:
        if not any(find(r, h) for h in LEAD_COLUMNS["created_at"]):
            notes.append(f"{r.source}: Lead export without CreatedDate; leads not loaded")
        else:
            parts.append(Part(r, "leads", "Salesforce Lead"))
    parts += [Part(r, "reps", "Salesforce User") for r in by_role.get("user", [])]
    for r in by_role.get("quota", []):
        if any(find(r, h) for h in QUOTA_COLUMNS["period_end"]):
            parts.append(Part(r, "quotas", "Salesforce quota"))
        else:
            notes.append(f"{r.source}: quota export without an end date; quotas not loaded")
    # other files (a spend or quota file beside the export): the loader decides by name or
    # columns; Account, Contact and report summaries match no table and are ignored there
    parts += [Part(r) for r in by_role.get("", [])]
    deal_cols = pick(deals, DEAL_COLUMNS)
    for r in deals:
        if not any(find(r, h) for h in DEAL_COLUMNS["stage"]):
            fix = "Export StageName too, or load with format='generic' and a mapping file."
            if not history:
                raise DataError(
                    f"{r.source}: Salesforce Opportunity export without a StageName (or Stage) "
                    f"column, and no stage history: the deals' stages are unknown. {fix}"
                )
            notes.append(f"{r.source}: no StageName column; stages come from the history")
    hist_cols = pick(history, HISTORY_COLUMNS)
    if "Opportunity Name" in hist_cols and hist_cols["Opportunity Name"] == "deal_id":
        by_name = pick(deals, {"deal_id": ["Opportunity Name"]})
        if by_name and by_name != {h: t for h, t in deal_cols.items() if t == "deal_id"}:
            deal_cols = {h: t for h, t in deal_cols.items() if t != "deal_id"} | by_name
            notes.append("the stage history names opportunities only: deals keyed by name")
    close = pick(
        deals, {"expected_close_at" if history else "closed_at": ["CloseDate", "Close Date"]}
    )
    if history:
        notes.append(
            "closed_at taken from the won/lost stage event in the history; CloseDate kept "
            "as expected_close_at"
        )
    mapping = {
        "tables": {
            "deals": {"columns": {**deal_cols, **close}, "values": {"deal_type": DEAL_TYPES}},
            "stage_events": {"columns": hist_cols},
            "leads": {"columns": pick(leads, LEAD_COLUMNS)},
            "reps": {"columns": pick(by_role.get("user", []), REP_COLUMNS)},
            "quotas": {"columns": pick(by_role.get("quota", []), QUOTA_COLUMNS)},
        }
    }
    return Prepared(tuple(parts), mapping, None, tuple(notes))


ADAPTER = Adapter("salesforce", detect, prepare)
