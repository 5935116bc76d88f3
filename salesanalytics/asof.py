"""The dataset as it would have been exported at an earlier moment.

:func:`as_known_at` keeps what was known at ``when`` and nothing later: deals created by
then, stage entries made by then, and each deal's outcome and close date as they stood.
Every analysis run on the result describes the past exactly as a report run that day would
have, which is what ``--as-of`` means on the command line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dataset import Dataset, Provenance

__all__ = ["as_known_at"]

_EVENT_TIME = {
    "leads": "created_at",
    "activities": "at",
    "spend": "period_start",
    "quotas": "period_start",
}


def _utc(when: str | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def as_known_at(dataset: Dataset, when: str | pd.Timestamp) -> Dataset:
    """The dataset as it stood at ``when`` (naive times are UTC).

    * deals created after ``when`` are dropped;
    * stage entries after ``when`` are dropped;
    * a deal whose last remaining entry is an open stage is open again (outcome ``open``,
      ``closed_at`` missing, ``stage`` that open stage); one whose last entry is won/lost
      keeps that outcome with the entry's time as ``closed_at``; deals without history keep
      their outcome only if ``closed_at <= when``;
    * leads, activities, quotas and spend after ``when`` are dropped; reps hired later too.

    Examples
    --------
    >>> import pandas as pd, salesanalytics as sa
    >>> t = pd.Timestamp("2024-01-01", tz="UTC")
    >>> deals = pd.DataFrame({"deal_id": ["a"], "created_at": [t], "outcome": ["won"],
    ...                       "closed_at": [t + pd.Timedelta("9D")], "amount": [5.0],
    ...                       "owner_id": ["r"]})
    >>> ev = pd.DataFrame({"deal_id": ["a", "a"], "stage": ["lead", "won"],
    ...                    "entered_at": [t, t + pd.Timedelta("9D")]})
    >>> past = as_known_at(sa.Dataset({"deals": deals, "stage_events": ev}), "2024-01-05")
    >>> past.deals[["outcome", "stage"]].iloc[0].tolist(), past.as_of.date().isoformat()
    (['open', 'lead'], '2024-01-05')
    """
    cut = _utc(when)
    deals = dataset.deals
    deals = deals[deals["created_at"] <= cut].reset_index(drop=True)
    events = dataset.stage_events
    events = events[(events["entered_at"] <= cut) & events["deal_id"].isin(deals["deal_id"])]
    events = events.sort_values(["deal_id", "entered_at"], kind="stable").reset_index(drop=True)
    model = dataset.stages
    last = events.groupby("deal_id", sort=False).tail(1).set_index("deal_id")
    last_stage = deals["deal_id"].map(last["stage"])
    last_time = deals["deal_id"].map(last["entered_at"])
    has_history = last_stage.notna().to_numpy()
    kind = np.where(
        last_stage == model.won, "won", np.where(last_stage == model.lost, "lost", "open")
    )
    closed_late = (deals["closed_at"] > cut).fillna(False).to_numpy(dtype=bool)
    outcome = np.where(
        has_history, kind, np.where(closed_late, "open", deals["outcome"].to_numpy(dtype=object))
    )
    closed_at = deals["closed_at"].where(~closed_late)
    closed_at = closed_at.mask(has_history & (kind != "open"), last_time)
    closed_at = closed_at.mask(has_history & (kind == "open"))
    stage = deals["stage"].mask(has_history, last_stage).mask(~has_history & closed_late, np.nan)
    deals = deals.assign(outcome=outcome, closed_at=closed_at, stage=stage)
    if "cancelled_at" in deals.columns:  # a cancellation is known once it happened, if won
        known = (deals["cancelled_at"] <= cut).fillna(False) & deals["outcome"].eq("won")
        deals = deals.assign(cancelled_at=deals["cancelled_at"].where(known))
    tables: dict[str, pd.DataFrame | None] = {"deals": deals, "stage_events": events}
    for name, col in _EVENT_TIME.items():
        if dataset.has(name):
            frame = dataset.table(name)
            tables[name] = frame[(frame[col] <= cut) | frame[col].isna()]
    if dataset.has("reps"):
        reps = dataset.reps
        tables["reps"] = reps[reps["hire_date"].isna() | (reps["hire_date"] <= cut)]
    provenance = Provenance(
        sources=dataset.provenance.sources,
        timezone=dataset.provenance.timezone,
        as_of=cut,
        fidelity=dataset.provenance.fidelity,
        generator=dataset.provenance.generator,
    )
    return dataset.replace(**tables, provenance=provenance)
