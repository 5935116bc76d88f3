"""as_known_at: the dataset as a report run on an earlier day would have seen it."""

from __future__ import annotations

import pandas as pd
import pytest

from salesanalytics import sample
from salesanalytics.asof import as_known_at


@pytest.mark.parametrize("when", ["2024-06-30", "2025-03-15T12:00:00Z"])
def test_matches_a_per_deal_replay(when: str) -> None:
    ds = sample.generate(400, seed=4)
    cut = pd.Timestamp(when, tz="UTC") if "Z" not in when else pd.Timestamp(when)
    past = as_known_at(ds, when)
    events = ds.stage_events
    expected = {}
    for deal in ds.deals.itertuples():
        if deal.created_at > cut:
            continue
        mine = events[(events["deal_id"] == deal.deal_id) & (events["entered_at"] <= cut)]
        last = mine.sort_values("entered_at").iloc[-1]
        outcome = last["stage"] if last["stage"] in ("won", "lost") else "open"
        closed = last["entered_at"] if outcome != "open" else pd.NaT
        expected[deal.deal_id] = (outcome, closed, last["stage"])
    got = past.deals.set_index("deal_id")
    assert set(got.index) == set(expected)
    for deal_id, (outcome, closed, stage) in expected.items():
        row = got.loc[deal_id]
        assert row["outcome"] == outcome, deal_id
        assert (pd.isna(row["closed_at"]) and pd.isna(closed)) or row["closed_at"] == closed
        assert row["stage"] == stage
    assert (past.stage_events["entered_at"] <= cut).all()
    assert (past.leads["created_at"] <= cut).all()
    assert past.as_of == cut
    assert len(ds.deals) == 400  # the original is untouched
