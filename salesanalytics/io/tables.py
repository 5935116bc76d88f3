"""Which canonical table a file holds: by the mapping, by its name, or by its columns."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..schema import TABLES
from ..stages import label_key
from .mapping import ColumnMapping

__all__ = ["FILE_NAMES", "identify_table"]

FILE_NAMES: Mapping[str, tuple[str, ...]] = {
    "deals": ("deals", "deal", "opportunities", "opportunity", "opps", "商机", "销售机会"),
    "stage_events": (
        "stageevents",
        "stagehistory",
        "stages",
        "history",
        "dealhistory",
        "opportunityhistory",
        "events",
        "dealflow",
        "阶段历史",
        "阶段变更",
    ),
    "leads": ("leads", "lead", "线索", "销售线索"),
    "activities": ("activities", "activity", "tasks", "touches", "跟进记录", "活动记录"),
    "reps": ("reps", "salesreps", "users", "user", "owners", "team", "销售人员", "员工"),
    "quotas": ("quotas", "quota", "targets", "配额", "业绩目标"),
    "spend": ("spend", "marketingspend", "costs", "leadsourcecosts", "市场费用"),
}
"""File-name stems (in :func:`~salesanalytics.stages.label_key` form) that name a table."""

_TRAILING = re.compile(r"[\W_]*(\d[\d\W_]*)?$")


def _stem_key(name: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return label_key(_TRAILING.sub("", stem))


def identify_table(
    file_name: str, headers: list[str], mapping: ColumnMapping
) -> tuple[str | None, str]:
    """Return ``(table, reason)`` for a file, or ``(None, reason)`` when it cannot tell.

    Order: an explicit ``[files]`` entry; a file name naming a table (``deals.csv``,
    ``Opportunity.csv``, ``leads_2024.xlsx``); otherwise the table whose required columns the
    headers cover, preferring the one with most canonical columns matched.

    Examples
    --------
    >>> identify_table("deals_2024.csv", ["x"], ColumnMapping())
    ('deals', 'file name deals_2024.csv')
    >>> identify_table("export.csv", ["Deal ID", "Stage", "Entered At"], ColumnMapping())
    ('stage_events', 'columns deal_id, stage, entered_at')
    """
    explicit = mapping.table_for_file(file_name)
    if explicit:
        return explicit, "listed under [files] in the mapping"
    key = _stem_key(file_name)
    for table, names in FILE_NAMES.items():
        if key in names:
            return table, f"file name {file_name}"
    best: tuple[int, str] | None = None
    for table, spec in TABLES.items():
        resolved = set(mapping.resolve_headers(table, headers).values())
        if not set(spec.required) <= resolved:
            continue
        score = len(resolved & set(spec.names))
        if (
            best is None
            or score > best[0]
            or (score == best[0] and len(spec.required) > len(TABLES[best[1]].required))
        ):
            best = (score, table)
    if best is None:
        return None, (
            "neither its name nor its columns match a table; name it after a table "
            f"({', '.join(TABLES)}) or list it under [files] in a mapping file"
        )
    table = best[1]
    return table, "columns " + ", ".join(TABLES[table].required)
