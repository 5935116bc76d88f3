"""Cohort and snapshot views: golden cases, a plain-loop brute force on random data, properties."""

from __future__ import annotations

import importlib.util
import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.cohorts import cohort_conversion, snapshot_conversion
from salesanalytics.funnel import MISSING, stage_reach

# the random datasets and per-deal helpers of the funnel tests
_spec = importlib.util.spec_from_file_location(
    "_funnel_helpers", Path(__file__).with_name("test_funnel.py")
)
assert _spec is not None and _spec.loader is not None
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)

STAGES, FUNNEL = helpers.STAGES, helpers.FUNNEL


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def golden(tz: str = "UTC") -> sa.Dataset:
    rows = [  # deal, created, outcome, current stage, [(stage, entered)]
        ("a", "2024-01-05", "won", "won",
         [("lead", "2024-01-05"), ("contacted", "2024-01-25"), ("won", "2024-02-03")]),
        ("b", "2024-01-20", "lost", "lost",
         [("lead", "2024-01-20"), ("lost", "2024-01-31T20:00")]),  # Feb 1 in Shanghai
        ("c", "2024-01-31", "open", "proposal",
         [("lead", "2024-01-31"), ("proposal", "2024-01-31")]),  # a skip, tied in time
        ("d", "2024-02-10", "open", "contacted",
         [("lead", "2024-02-10"), ("contacted", "2024-02-12"), ("lead", "2024-02-14"),
          ("contacted", "2024-02-16"), ("lost", "2024-02-20"), ("lead", "2024-03-05"),
          ("contacted", "2024-03-06")]),  # regression, loss, reopened
        ("e", "2024-02-15", "open", "negotiation", []),  # no history
        ("f", "2024-01-10", "open", "contacted",
         [("lead", "2024-01-10"), ("parked", "2024-01-15"), ("contacted", "2024-02-05")]),
        ("g", "2024-01-02", "open", "contacted",
         [("lead", "2024-01-02"), ("contacted", "2024-01-03"), ("proposal", "2024-01-04"),
          ("contacted", "2024-01-20")]),
    ]  # fmt: skip
    deals = pd.DataFrame(
        {
            "deal_id": [r[0] for r in rows],
            "created_at": [ts(r[1]) for r in rows],
            "outcome": [r[2] for r in rows],
            "amount": 1.0,
            "owner_id": "r",
            "stage": [r[3] for r in rows],
            "region": ["N", "N", "S", "S", None, "N", "S"],
        }
    )
    events = pd.DataFrame(
        [(r[0], s, ts(t)) for r in rows for s, t in r[4]],
        columns=["deal_id", "stage", "entered_at"],
    )
    provenance = sa.Provenance(timezone=tz, as_of=ts("2024-03-01"))
    return sa.Dataset({"deals": deals, "stage_events": events}, provenance=provenance)


# ---------------------------------------------------------------------- cohort view
def test_cohort_golden() -> None:
    r = cohort_conversion(golden())
    t = r.table
    assert r.view == "cohort" and r.deals == 7 and r.period == "month"
    jan, feb = t.xs("2024-01", level="cohort"), t.xs("2024-02", level="cohort")
    # January: a (won), b (lost), c (open, skipped to proposal), f, g (open)
    assert jan["deals"].iloc[0] == 5 and jan["open_deals"].iloc[0] == 3
    assert jan["open_share"].iloc[0] == pytest.approx(3 / 5)
    assert jan["reached"].tolist() == [5, 4, 3, 1, 1]
    assert jan["still_open"].tolist() == [3, 3, 2, 0, 0]
    assert jan["conversion"].tolist() == pytest.approx([1, 4 / 5, 3 / 5, 1 / 5, 1 / 5])
    assert jan["age_days"].iloc[0] == 60 and feb["age_days"].iloc[0] == 29  # as of Mar 1
    assert str(jan["cohort_start"].iloc[0]) == "2024-01-01 00:00:00+00:00"
    # February: d (reopened after a loss, open), e (no history: its current stage counts)
    assert feb["deals"].iloc[0] == 2 and feb["open_share"].iloc[0] == 1.0
    assert feb["reached"].tolist() == [2, 2, 1, 1, 0]
    observed = cohort_conversion(golden(), policy="observed").table.xs("2024-01", level="cohort")
    assert observed["reached"].tolist() == [5, 3, 2, 0, 1]
    strict = cohort_conversion(golden(), policy="strict")
    # strict keeps b, f (the unknown stage neither moves nor breaks), g and d
    assert strict.deals == 4
    assert strict.table.xs("2024-01", level="cohort")["deals"].iloc[0] == 3
    quarter = cohort_conversion(golden(), period="quarter").table
    assert quarter.index.get_level_values("cohort").unique().tolist() == ["2024-Q1"]
    assert quarter["reached"].tolist() == [7, 6, 4, 2, 1]


def test_cohort_by_segment_and_time_zone() -> None:
    t = cohort_conversion(golden(), by="region").table
    assert t.index.names == ["cohort", "region", "stage"]
    assert t.xs(("2024-02", MISSING), level=("cohort", "region"))["deals"].iloc[0] == 1
    assert t.loc[("2024-01", "N", "won"), "reached"] == 1
    # b was created on Jan 20 either way; cohorts follow created_at in the dataset's zone
    shanghai = cohort_conversion(golden("Asia/Shanghai")).table
    assert str(shanghai.loc[("2024-01", "lead"), "cohort_start"]).endswith("+08:00")
    with pytest.raises(ValueError, match="already"):
        cohort_conversion(golden(), by="created_month")
    with pytest.raises(ValueError, match="period"):
        cohort_conversion(golden(), period="week")


# ---------------------------------------------------------------------- snapshot view
def test_snapshot_golden() -> None:
    r = snapshot_conversion(golden())
    t = r.table[["left", "forward", "backward", "lost"]]
    assert r.view == "snapshot"
    # January: lead left by a, c (tie in time: the skip to proposal counts forward), g
    # and b (lost on Jan 31, 20:00 UTC); g also left contacted forward, proposal backward
    assert t.loc[("2024-01", "lead")].tolist() == [4, 3, 0, 1]
    assert t.loc[("2024-01", "contacted")].tolist() == [1, 1, 0, 0]
    assert t.loc[("2024-01", "proposal")].tolist() == [1, 0, 1, 0]
    assert t.loc[("2024-01", "negotiation")].tolist() == [0, 0, 0, 0]
    # February: lead left by d (twice forward: counted once) and f (past an unknown stage);
    # contacted left by a (to won: forward) and d (backward, then lost: the last exit counts)
    assert t.loc[("2024-02", "lead")].tolist() == [2, 2, 0, 0]
    assert t.loc[("2024-02", "contacted")].tolist() == [2, 1, 0, 1]
    # March: d left lead again after being reopened; leaving lost is not an exit
    assert t.loc[("2024-03", "lead")].tolist() == [1, 1, 0, 0]
    assert r.exits == 11
    assert r.table.loc[("2024-02", "contacted"), "lost_share"] == pytest.approx(0.5)
    assert r.table.loc[("2024-01", "lead"), "forward_share"] == pytest.approx(0.75)
    # the exit falls in the period of the next entry, in the dataset's zone: in Shanghai
    # b's loss is on February 1st
    local = snapshot_conversion(golden("Asia/Shanghai")).table
    assert local.loc[("2024-01", "lead"), ["left", "lost"]].tolist() == [3, 0]
    assert local.loc[("2024-02", "lead"), ["left", "lost"]].tolist() == [3, 1]
    quarter = snapshot_conversion(golden(), period="quarter").table
    # by quarter d's two February exits from contacted collapse to the last (lost)
    assert quarter.loc[("2024-Q1", "lead"), "left"] == 6  # a, b, c, f, g and d (once)
    assert quarter.loc[("2024-Q1", "contacted")][["forward", "lost"]].tolist() == [2, 1]


def test_views_say_which_they_are() -> None:
    c = cohort_conversion(golden(), period="quarter")
    s = snapshot_conversion(golden(), by="region")
    for result, view in ((c, "cohort"), (s, "snapshot")):
        assert result.view == view
        assert f"{view} view" in result.caption
        assert f"{view} view" in result._repr_html_()
        assert f"{view} view" in str(result.summary().columns.name)
        assert result.summary().attrs["view"] == view
    assert stage_reach(golden()).view == "cohort"


# ---------------------------------------------------------------------- brute force
def brute_cohort(ds: sa.Dataset, period: str, policy: str, by: Any) -> dict[tuple, list[int]]:
    names = [by] if isinstance(by, str) else list(by or [])
    tz = ds.provenance.timezone
    records, paths, _ = helpers.facts(ds)
    rows: dict[tuple, list[int]] = {}
    for deal in records:
        key = (
            helpers.period_label(deal["created_at"], period, tz),
            *(helpers.segment_value(ds, deal, n) for n in names),
        )
        for stage in FUNNEL:
            rows.setdefault((*key, stage), [0, 0, 0])  # deals, open deals, reached
        reached = helpers.brute_reached(paths.get(deal["deal_id"], []), deal["stage"], policy)
        if reached is None:
            continue
        for i, stage in enumerate(FUNNEL):
            row = rows[(*key, stage)]
            row[0] += 1
            row[1] += deal["outcome"] == "open"
            row[2] += i in reached
    return rows


def brute_snapshot(ds: sa.Dataset, period: str, by: Any) -> dict[tuple, list[int]]:
    names = [by] if isinstance(by, str) else list(by or [])
    tz = ds.provenance.timezone
    order = {s: i for i, s in enumerate(FUNNEL)}
    events = ds.stage_events.reset_index(drop=True)
    timed: dict[str, list[tuple[pd.Timestamp, int, str]]] = defaultdict(list)
    for row, (d, s, at) in enumerate(
        zip(events["deal_id"], events["stage"], events["entered_at"], strict=True)
    ):
        if s in order or s == "lost":
            timed[d].append((at, row, s))
    exits: dict[tuple, int] = {}
    for deal in helpers.facts(ds)[0]:
        segment = tuple(helpers.segment_value(ds, deal, n) for n in names)
        path = sorted(timed.get(deal["deal_id"], []))
        for (_, _, s1), (t2, _, s2) in itertools.pairwise(path):
            if s1 not in STAGES or s2 == s1:
                continue
            direction = 2 if s2 == "lost" else 0 if order[s2] > order[s1] else 1
            key = (helpers.period_label(t2, period, tz), *segment, s1)
            exits[(deal["deal_id"], key)] = direction  # a later exit replaces an earlier one
    rows: dict[tuple, list[int]] = {}
    for (_, key), direction in exits.items():
        for stage in STAGES:
            rows.setdefault((*key[:-1], stage), [0, 0, 0])
        rows[key][direction] += 1
    return rows


def as_rows(table: pd.DataFrame, columns: list[str]) -> dict[tuple, list[Any]]:
    return {
        (k if isinstance(k, tuple) else (k,)): [v[c] for c in columns]
        for k, v in table.to_dict("index").items()
    }


@pytest.mark.parametrize("seed", range(10))
def test_cohort_matches_brute_force(seed: int) -> None:
    ds = helpers.random_dataset(seed)
    for period, policy, by in [
        ("month", "implied", None),
        ("quarter", "observed", "region"),
        ("year", "strict", ["team", "lead_source"]),
        ("month", "implied", "team"),
    ]:
        r = cohort_conversion(ds, period=period, policy=policy, by=by)  # type: ignore[arg-type]
        got = as_rows(r.table, ["deals", "open_deals", "reached"])
        assert got == brute_cohort(ds, period, policy, by), (period, policy, by)
        t = r.table
        conv = t["conversion"].dropna()
        assert ((conv >= 0) & (conv <= 1)).all()
        assert ((t["conversion_low"] <= t["conversion"] + 1e-12) | t["conversion"].isna()).all()
        per_cohort = t.groupby(level=list(range(t.index.nlevels - 1)), sort=False)
        assert per_cohort["deals"].first().sum() == r.deals  # cohorts partition the deals
        if policy != "observed":
            reached = t["reached"].to_numpy().reshape(-1, len(FUNNEL))
            assert (np.diff(reached, axis=1) <= 0).all()


@pytest.mark.parametrize("seed", range(10))
def test_snapshot_matches_brute_force(seed: int) -> None:
    ds = helpers.random_dataset(seed)
    for period, by in [("month", None), ("quarter", "region"), ("year", ["team", "region"])]:
        r = snapshot_conversion(ds, period=period, by=by)
        got = as_rows(r.table, ["forward", "backward", "lost"])
        assert got == brute_snapshot(ds, period, by), (period, by)
        t = r.table
        assert (t["forward"] + t["backward"] + t["lost"] == t["left"]).all()
        assert r.exits == t["left"].sum()
        shares = t[["forward_share", "backward_share", "lost_share"]].dropna()
        assert np.allclose(shares.sum(axis=1), 1.0)
        assert ((shares >= 0) & (shares <= 1)).all().all()
        assert (t["small_n"] == (t["left"] < r.min_n)).all()


def test_empty_history() -> None:
    ds = helpers.make_dataset([[]])
    assert snapshot_conversion(ds).table.empty
    assert cohort_conversion(ds).table["deals"].tolist() == [1] * len(FUNNEL)
