"""The catalogue of data problems: a stable code, a severity, a message and how to fix it.

Codes are part of the public contract: the quality report, ``validate --json`` and the tests
use them, and ``docs/loading.md`` lists them. Severities: ``reject`` (the row is not
loaded), ``merge`` (the row repeated another and was folded into it) and ``warning`` (the
row loads but deserves a look).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["PROBLEMS", "ProblemKind", "Severity"]

Severity = Literal["reject", "merge", "warning"]


@dataclass(frozen=True)
class ProblemKind:
    """A documented kind of problem: stable code, severity, message and how to fix it."""

    code: str
    severity: Severity
    message: str
    hint: str


def _kinds(*kinds: ProblemKind) -> Mapping[str, ProblemKind]:
    return MappingProxyType({k.code: k for k in kinds})


PROBLEMS: Mapping[str, ProblemKind] = _kinds(
    # rejects
    ProblemKind(
        "malformed_row",
        "reject",
        "row has more fields than the header",
        "check quoting of the row in the file (a comma or quote inside a value)",
    ),
    ProblemKind(
        "missing_required",
        "reject",
        "required value is missing",
        "fill the value in the CRM, or map another column to it (--mapping)",
    ),
    ProblemKind(
        "bad_datetime",
        "reject",
        "cannot read the date/time",
        "use ISO 8601 (2024-03-05 or 2024-03-05T14:30:00Z) or a consistent day/month order",
    ),
    ProblemKind(
        "bad_amount",
        "reject",
        "cannot read the amount",
        "write a number such as 1234.50 (currency symbols and separators are fine)",
    ),
    ProblemKind(
        "unknown_stage",
        "reject",
        "stage label is not in the stage model",
        'add it under [stages.aliases] in a mapping file, e.g. "Demo Done" = "proposal"',
    ),
    ProblemKind(
        "unknown_outcome",
        "reject",
        "outcome is not open, won or lost",
        "map the status column values to open/won/lost, or map a stage column instead",
    ),
    ProblemKind(
        "duplicate_id",
        "reject",
        "duplicate key; the first row with it was kept",
        "remove the duplicate rows or give them distinct ids",
    ),
    ProblemKind(
        "negative_amount",
        "reject",
        "amount/quota/cost is negative",
        "amounts must be >= 0; record refunds or cancellations separately",
    ),
    ProblemKind(
        "closed_before_created",
        "reject",
        "closed before it was created",
        "check the created and closed dates (and their day/month order)",
    ),
    ProblemKind(
        "end_before_start",
        "reject",
        "period or employment ends before it starts",
        "check the start and end dates",
    ),
    ProblemKind(
        "orphan_event",
        "reject",
        "refers to a deal that is not among the loaded deals",
        "export the deal too, or fix the deal id; if the deal was rejected, fix that first",
    ),
    ProblemKind(
        "no_reference",
        "reject",
        "activity refers to neither a lead nor a deal",
        "fill lead_id or deal_id",
    ),
    # merges
    ProblemKind(
        "repeated_stage",
        "merge",
        "repeats the previous stage of the same deal",
        "nothing to do: history rows written for amount or date edits are merged",
    ),
    # warnings
    ProblemKind(
        "missing_amount",
        "warning",
        "open or lost deal has no amount",
        "counted in deal counts; left out of value metrics",
    ),
    ProblemKind(
        "won_without_amount",
        "warning",
        "won deal has no amount",
        "fill the amount: revenue and commission metrics ignore this deal",
    ),
    ProblemKind(
        "closed_without_date",
        "warning",
        "won or lost deal has no close date",
        "fill closed_at; the deal is left out of cycle-time metrics",
    ),
    ProblemKind(
        "open_with_close_date",
        "warning",
        "open deal has a close date",
        "map the CRM's expected close date to expected_close_at, not closed_at",
    ),
    ProblemKind(
        "past_expected_close",
        "warning",
        "open deal's expected close date has passed",
        "update the expected close date in the CRM, or close the deal",
    ),
    ProblemKind(
        "stale_open_deal",
        "warning",
        "open deal has not changed stage for a long time",
        "review the deal: it may be dead",
    ),
    ProblemKind(
        "mixed_currencies",
        "warning",
        "amounts are in more than one currency",
        "value metrics are computed per currency; convert to one currency to compare",
    ),
    ProblemKind(
        "event_before_created",
        "warning",
        "stage entered before the deal was created",
        "check the history dates; the event is kept",
    ),
    ProblemKind(
        "outcome_stage_mismatch",
        "warning",
        "outcome disagrees with the last stage event",
        "check the deal's status and its stage history",
    ),
    ProblemKind(
        "unknown_owner",
        "warning",
        "owner is not in the reps table",
        "add the rep to reps, or map the owner ids",
    ),
    ProblemKind(
        "dates_out_of_order",
        "warning",
        "a later date precedes the creation date",
        "check the dates (and their day/month order); the row is kept",
    ),
    ProblemKind(
        "unreadable_value",
        "warning",
        "optional value could not be read; left empty",
        "fix the value, or map this column to another canonical name",
    ),
    ProblemKind(
        "ambiguous_dates",
        "warning",
        "day/month order could not be told from the data",
        "pass dayfirst=True/False (or [options] dayfirst in a mapping file)",
    ),
)
"""Every problem code the loader emits (stable: tests and the JSON output rely on them)."""
