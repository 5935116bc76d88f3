"""Stage reach and win rate: golden cases, a plain-loop brute force on random data, properties."""

from __future__ import annotations

import functools
import html
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import salesanalytics as sa
from salesanalytics import sample
from salesanalytics.funnel import MISSING, stage_reach, win_rate
from salesanalytics.stats import rate_interval

STAGES = ("lead", "contacted", "proposal", "negotiation")
FUNNEL = (*STAGES, "won")
T0 = pd.Timestamp("2024-01-01", tz="UTC")
BYS: list[Any] = [
    None,
    "region",
    ["region", "lead_source"],
    "team",
    "created_quarter",
    ["team", "created_month"],
    ["created_year", "owner_id"],
]


def make_dataset(paths: list[list[str]], **columns: list[Any]) -> sa.Dataset:
    """One deal per path, entering its stages a day apart; extra deal columns by keyword."""
    deals, events = [], []
    for i, path in enumerate(paths):
        did = f"D{i}"
        outcome = "won" if path[-1:] == ["won"] else "lost" if path[-1:] == ["lost"] else "open"
        deals.append(
            {"deal_id": did, "created_at": T0, "outcome": outcome, "amount": 1.0, "owner_id": "r"}
        )
        for j, stage in enumerate(path):
            events.append({"deal_id": did, "stage": stage, "entered_at": T0 + pd.Timedelta(days=j)})
    frame = pd.DataFrame(deals)
    for name, values in columns.items():
        frame[name] = values
    return sa.Dataset(
        {
            "deals": frame,
            "stage_events": pd.DataFrame(events, columns=["deal_id", "stage", "entered_at"]),
        }
    )


# ---------------------------------------------------------------------- random data + brute force
def random_dataset(seed: int) -> sa.Dataset:
    """Random histories with skips, regressions, reopenings, ties, unknown stages, deals
    without history, missing attributes, owners without a rep, shuffled rows."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    choices = [*FUNNEL, "lost", "lost", "parked"]
    deals, events = [], []
    for i in range(n):
        created = T0 + pd.Timedelta(hours=float(rng.uniform(0, 24 * 540)))
        length = int(rng.integers(0, 7))
        path: list[str] = []
        for _ in range(length):
            stage = str(rng.choice(choices))
            if not path or path[-1] != stage:
                path.append(stage)
        at = created
        for stage in path:
            at = at + pd.Timedelta(hours=float(rng.choice([0, 0, 5, 200, 900])))  # ties too
            events.append({"deal_id": f"D{i}", "stage": stage, "entered_at": at})
        last = path[-1] if path else str(rng.choice([*STAGES, "won"]))
        outcome = {"won": "won", "lost": "lost"}.get(last, "open")
        deals.append(
            {
                "deal_id": f"D{i}",
                "created_at": created,
                "outcome": outcome,
                "amount": float(rng.choice([np.nan, 10.0, 100.0, 2500.0])),
                "owner_id": str(rng.choice(["r1", "r2", "r3", "r4"])),
                "stage": last if rng.random() < 0.9 else None,
                "region": rng.choice(["East", "West", None]),
                "lead_source": rng.choice(["web", "referral", None]),
            }
        )
    deal_frame = pd.DataFrame(deals)
    if seed % 3:  # deals listed in another order than the events
        deal_frame = deal_frame.sample(frac=1.0, random_state=seed)
    event_frame = pd.DataFrame(events, columns=["deal_id", "stage", "entered_at"])
    if seed % 2:
        event_frame = event_frame.sample(frac=1.0, random_state=seed)
    if seed % 5 == 0:  # an event of a deal missing from the deals table is ignored
        orphan = {"deal_id": "ghost", "stage": "won", "entered_at": T0}
        event_frame = pd.concat([event_frame, pd.DataFrame([orphan])], ignore_index=True)
    reps = pd.DataFrame({"rep_id": ["r1", "r2", "r3"], "team": ["Alpha", "Beta", None]})
    tz = "Asia/Shanghai" if seed % 3 == 0 else "UTC"
    return sa.Dataset(
        {"deals": deal_frame, "stage_events": event_frame, "reps": reps},
        provenance=sa.Provenance(timezone=tz),
    )


def period_label(ts: pd.Timestamp, period: str, tz: str) -> str:
    if pd.isna(ts):
        return MISSING
    local = ts.tz_convert(tz)
    if period == "month":
        return f"{local.year}-{local.month:02d}"
    if period == "quarter":
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    return str(local.year)


@functools.lru_cache(maxsize=4)
def facts(ds: sa.Dataset) -> tuple[list[dict[str, Any]], dict[str, list[str]], dict[str, Any]]:
    """Deal records, stage histories and rep teams of a dataset (computed once)."""
    teams = dict(zip(ds.reps["rep_id"], ds.reps["team"], strict=True))
    return ds.deals.to_dict("records"), histories(ds), teams


def segment_value(ds: sa.Dataset, deal: dict[str, Any], name: str) -> str:
    if name == "team":
        team = facts(ds)[2].get(deal["owner_id"])
        return MISSING if team is None or pd.isna(team) else str(team)
    for period in ("month", "quarter", "year"):
        if name == f"created_{period}":
            return period_label(deal["created_at"], period, ds.provenance.timezone)
    value = deal[name]
    return MISSING if value is None or pd.isna(value) else str(value)


def histories(ds: sa.Dataset) -> dict[str, list[str]]:
    """Stages of each deal in time order, ties in table order."""
    events = ds.stage_events.reset_index(drop=True)
    out: dict[str, list[tuple[pd.Timestamp, int, str]]] = defaultdict(list)
    for row, (deal, stage, at) in enumerate(
        zip(events["deal_id"], events["stage"], events["entered_at"], strict=True)
    ):
        out[deal].append((at, row, stage))
    return {deal: [s for _, _, s in sorted(items)] for deal, items in out.items()}


def brute_reached(path: list[str], current: Any, policy: str) -> set[int] | None:
    """Funnel positions a deal reached, or None when ``strict`` does not count it."""
    order = {s: i for i, s in enumerate(FUNNEL)}
    pos = [order.get(s) for s in path]
    known = [p for p in pos if p is not None]
    if policy == "implied":
        if known:
            return set(range(max(known) + 1))
        if isinstance(current, str) and current in order:  # no funnel stage in the history
            return set(range(order[current] + 1))
        return set()
    if policy == "strict":
        if not pos or pos[0] != 0:
            return None
        last = None
        for p in pos:
            if p is None:
                continue
            if last is not None and p > last + 1:
                return None
            last = p
    return set(known)


def brute_force_table(ds: sa.Dataset, policy: str, by: Any) -> dict[tuple, dict[str, int]]:
    names = [by] if isinstance(by, str) else list(by or [])
    records, paths, _ = facts(ds)
    rows: dict[tuple, dict[str, int]] = {}
    for deal in records:
        key = tuple(segment_value(ds, deal, n) for n in names)
        for stage in FUNNEL:
            rows.setdefault((*key, stage), dict.fromkeys(("reached", "open", "step", "cum"), 0))
        reached = brute_reached(paths.get(deal["deal_id"], []), deal["stage"], policy)
        if reached is None:
            continue
        for i, stage in enumerate(FUNNEL):
            row = rows[(*key, stage)]
            if i in reached:
                row["reached"] += 1
                row["open"] += deal["outcome"] == "open"
                row["step"] += i > 0 and i - 1 in reached
                row["cum"] += 0 in reached
    return rows


@pytest.mark.parametrize("seed", range(14))
def test_breakdowns_match_brute_force(seed: int) -> None:
    ds = random_dataset(seed)
    for by in BYS:
        for policy in ("implied", "observed", "strict"):
            table = stage_reach(ds, policy, by=by).table  # type: ignore[arg-type]
            expected = brute_force_table(ds, policy, by)
            got = {
                (key if isinstance(key, tuple) else (key,)): row
                for key, row in table.to_dict("index").items()
            }
            assert set(got) == set(expected), (by, policy)
            for key, want in expected.items():
                row = got[key]
                assert row["reached"] == want["reached"], (by, policy, key)
                assert row["still_open"] == want["open"], (by, policy, key)
                if key[-1] != "lead":
                    assert row["step_conversion"] == pytest.approx(
                        want["step"] / row["step_n"] if row["step_n"] else np.nan, nan_ok=True
                    )
                assert row["cumulative_conversion"] == pytest.approx(
                    want["cum"] / row["cumulative_n"] if row["cumulative_n"] else np.nan,
                    nan_ok=True,
                )


@pytest.mark.parametrize("seed", range(6))
def test_properties_on_random_data(seed: int) -> None:
    ds = random_dataset(seed)
    for policy in ("implied", "observed", "strict"):
        total = stage_reach(ds, policy).table  # type: ignore[arg-type]
        for by in BYS[1:]:
            r = stage_reach(ds, policy, by=by, method="jeffreys")  # type: ignore[arg-type]
            t = r.table
            # segment counts sum to the total, stage by stage
            sums = t.groupby(level="stage", sort=False)[["reached", "still_open"]].sum()
            assert sums.loc[list(FUNNEL)].equals(total[["reached", "still_open"]])
            for kind in ("step", "cumulative"):
                rate = t[f"{kind}_conversion"].dropna()
                assert ((rate >= 0) & (rate <= 1)).all()
                assert (t[f"{kind}_low"].dropna() <= rate + 1e-12).all()
                assert (t[f"{kind}_high"].dropna() >= rate - 1e-12).all()
            if policy != "observed":  # reach never increases along the stages
                reached = t["reached"].to_numpy().reshape(-1, len(FUNNEL))
                assert (np.diff(reached, axis=1) <= 0).all()
            assert r.deals == stage_reach(ds, policy).deals  # type: ignore[arg-type]


path_strategy = st.lists(st.sampled_from([*FUNNEL, "lost"]), min_size=1, max_size=7)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(path_strategy, min_size=1, max_size=25),
    st.sampled_from(["implied", "observed", "strict"]),
)
def test_reach_matches_brute_force(paths: list[list[str]], policy: str) -> None:
    # the loader never keeps consecutive repeats; mirror that here
    paths = [[s for j, s in enumerate(p) if j == 0 or p[j - 1] != s] for p in paths]
    result = stage_reach(make_dataset(paths), policy)  # type: ignore[arg-type]
    expected = [0] * len(FUNNEL)
    for path in paths:
        reached = brute_reached(path, None, policy)
        for i in reached or ():
            expected[i] += 1
    assert result.table["reached"].tolist() == expected


# ---------------------------------------------------------------------- golden cases
def test_golden_funnel_with_skip_and_loss() -> None:
    paths = [
        ["lead", "contacted", "proposal", "negotiation", "won"],
        ["lead", "proposal", "negotiation", "won"],  # skips contacted
        ["lead", "contacted", "lost"],
        ["lead"],
        ["contacted", "proposal", "lost"],  # enters after step 1
    ]
    ds = make_dataset(paths)
    implied = stage_reach(ds).table
    assert implied["reached"].tolist() == [5, 4, 3, 2, 2]
    assert implied.loc["contacted", "step_conversion"] == pytest.approx(4 / 5)
    assert implied.loc["won", "cumulative_conversion"] == pytest.approx(2 / 5)
    assert implied.loc["lead", "still_open"] == 1
    observed = stage_reach(ds, "observed").table
    assert observed["reached"].tolist() == [4, 3, 3, 2, 2]
    # of the 4 deals that entered lead, 2 also entered contacted
    assert observed.loc["contacted", "step_conversion"] == pytest.approx(2 / 4)
    assert observed.loc["contacted", "step_n"] == 4
    strict = stage_reach(ds, "strict")
    assert strict.deals == 3 and strict.table["reached"].tolist() == [3, 2, 1, 1, 1]
    with pytest.raises(ValueError, match="policy"):
        stage_reach(ds, "loose")  # type: ignore[arg-type]


def test_golden_regression_reopen_and_ties() -> None:
    paths = [
        ["lead", "contacted", "proposal", "contacted", "proposal", "won"],  # regression
        ["lead", "contacted", "lost", "lead", "contacted", "proposal"],  # reopened, still open
        ["lead", "proposal", "contacted"],  # skip forward, then back
    ]
    ds = make_dataset(paths)
    # implied: the highest stage ever reached counts; regressions do not undo reach
    assert stage_reach(ds).table["reached"].tolist() == [3, 3, 3, 1, 1]
    assert stage_reach(ds).table["still_open"].tolist() == [2, 2, 2, 0, 0]
    # observed: distinct deals per stage, however often they entered it
    assert stage_reach(ds, "observed").table["reached"].tolist() == [3, 3, 3, 0, 1]
    # strict: the loss neither breaks the chain nor counts as a move; the skipper is out
    strict = stage_reach(ds, "strict")
    assert strict.deals == 1  # deal 0 jumps proposal -> won (skips negotiation): out too
    assert strict.table["reached"].tolist() == [1, 1, 1, 0, 0]
    # ties: two entries at one instant keep their table order (lead first, then proposal)
    t = T0
    events = pd.DataFrame(
        {
            "deal_id": ["a", "a", "a"],
            "stage": ["lead", "contacted", "proposal"],
            "entered_at": [t, t, t],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["a"],
            "created_at": [t],
            "outcome": ["open"],
            "amount": [1.0],
            "owner_id": ["r"],
        }
    )
    tied = sa.Dataset({"deals": deals, "stage_events": events})
    assert stage_reach(tied, "strict").deals == 1
    reordered = tied.replace(stage_events=events.iloc[[0, 2, 1]])
    assert stage_reach(reordered, "strict").deals == 0  # lead -> proposal is a skip


def test_current_state_export_counts_current_stage() -> None:
    deals = pd.DataFrame(
        {
            "deal_id": ["a", "b", "c"],
            "created_at": [T0] * 3,
            "outcome": ["open", "won", "lost"],
            "amount": [1.0] * 3,
            "owner_id": ["r"] * 3,
            "stage": ["proposal", "won", "lost"],
        }
    )
    ds = sa.Dataset(
        {
            "deals": deals,
            "stage_events": pd.DataFrame({"deal_id": [], "stage": [], "entered_at": []}),
        }
    )
    assert stage_reach(ds).table["reached"].tolist() == [2, 2, 2, 1, 1]
    assert stage_reach(ds, "observed").table["reached"].sum() == 0
    assert stage_reach(ds, "strict").deals == 0
    # history only for deals missing from the deals table: ignored
    ghosts = pd.DataFrame({"deal_id": ["x", "y"], "stage": ["lead", "won"], "entered_at": [T0] * 2})
    haunted = ds.replace(stage_events=ghosts)
    for policy in ("implied", "observed", "strict"):
        assert (
            stage_reach(haunted, policy)
            .table["reached"]
            .equals(  # type: ignore[arg-type]
                stage_reach(ds, policy).table["reached"]  # type: ignore[arg-type]
            )
        )


def test_breakdown_segments_missing_team_and_periods() -> None:
    paths = [["lead", "won"], ["lead", "lost"], ["lead"], ["lead", "contacted"]]
    ds = make_dataset(paths, region=["N", None, "N", "S"], owner_id=["r1", "r2", "r9", "r1"])
    t = stage_reach(ds, by="region").table
    assert t.xs("lead", level="stage")["reached"].to_dict() == {"N": 2, "S": 1, MISSING: 1}
    with pytest.raises(ValueError, match="reps"):
        stage_reach(ds, by="team")
    reps = pd.DataFrame({"rep_id": ["r1", "r2"], "team": ["A", None]})
    with_reps = ds.replace(reps=reps)
    teams = stage_reach(with_reps, by="team").table.xs("lead", level="stage")["reached"]
    assert teams.to_dict() == {"A": 2, MISSING: 2}  # r2 has no team, r9 no rep row
    two = stage_reach(with_reps, by=["team", "region"]).table
    assert two.index.names == ["team", "region", "stage"]
    assert two.loc[("A", "N", "won"), "reached"] == 1
    with pytest.raises(KeyError, match="cannot break down"):
        stage_reach(ds, by="colour")
    with pytest.raises(ValueError, match="one or 2"):
        stage_reach(ds, by=["region", "region"])
    with pytest.raises(ValueError, match="one or 2"):
        stage_reach(ds, by=["region", "owner_id", "lead_source"])
    with pytest.raises(ValueError, match="timestamp"):
        stage_reach(ds, by="created_at")


def test_periods_are_calendar_periods_in_the_dataset_time_zone() -> None:
    created = pd.to_datetime(
        ["2024-01-31T15:59:59Z", "2024-01-31T16:00:00Z", "2024-03-31T16:00:00Z"], utc=True
    )
    ds = make_dataset([["lead"]] * 3)
    ds = ds.replace(deals=ds.deals.assign(created_at=created))
    utc = stage_reach(ds, by="created_month").table.xs("lead", level="stage")["reached"]
    assert utc.to_dict() == {"2024-01": 2, "2024-03": 1}
    local = ds.replace(provenance=sa.Provenance(timezone="Asia/Shanghai"))  # UTC+8
    got = stage_reach(local, by="created_month").table.xs("lead", level="stage")["reached"]
    assert got.to_dict() == {"2024-01": 1, "2024-02": 1, "2024-04": 1}
    quarter = stage_reach(local, by="created_quarter").table.xs("lead", level="stage")
    assert quarter["reached"].to_dict() == {"2024-Q1": 2, "2024-Q2": 1}
    year = stage_reach(local, by="closed_year").table  # open deals: no close date
    assert year.index.get_level_values("closed_year").unique().tolist() == [MISSING]


def test_options_flags_and_display() -> None:
    ds = make_dataset([["lead", "won"], ["lead"]], region=["<b>x</b>", "y"])
    r = stage_reach(ds, by="region", method="jeffreys", min_n=2)
    assert r.method == "jeffreys" and r.by == ("region",)
    low, _ = rate_interval(1, 1, method="jeffreys")
    assert r.table.loc[("<b>x</b>", "won"), "step_low"] == pytest.approx(float(low))
    assert r.table["small_n"].all()  # one deal per segment < 2
    assert not stage_reach(ds, min_n=2).table.loc["lead", "small_n"]
    page = r._repr_html_()
    assert "<b>x</b>" not in page and html.escape("<b>x</b>") in page
    assert "cohort view" in page and "cohort view" in r.summary().columns.name
    assert r.summary().attrs["view"] == "cohort"
    with pytest.raises(ValueError, match="method"):
        stage_reach(ds, method="wald")  # type: ignore[arg-type]


def test_inputs_are_not_mutated() -> None:
    ds = random_dataset(7)
    deals, events = ds.deals.copy(), ds.stage_events.copy()
    stage_reach(ds, "strict", by=["team", "created_month"])
    win_rate(ds, by="region", value_interval="bootstrap", seed=1, n_boot=50)
    pd.testing.assert_frame_equal(ds.deals, deals)
    pd.testing.assert_frame_equal(ds.stage_events, events)


# ---------------------------------------------------------------------- win rate
def test_win_rate_golden() -> None:
    t = T0
    deals = pd.DataFrame(
        {
            "deal_id": list("abcdefg"),
            "created_at": [t] * 7,
            "outcome": ["won", "won", "lost", "lost", "lost", "open", "won"],
            "amount": [100.0, 300.0, 200.0, 400.0, np.nan, 50.0, 0.0],
            "owner_id": ["r"] * 7,
            "region": ["N", "N", "N", "S", "S", "S", None],
        }
    )
    empty = pd.DataFrame({"deal_id": [], "stage": [], "entered_at": []})
    ds = sa.Dataset({"deals": deals, "stage_events": empty})
    r = win_rate(ds)
    o = r.overall
    assert (o["won"], o["lost"], o["open"], o["closed"]) == (3, 3, 1, 6)
    assert o["win_rate"] == pytest.approx(0.5)
    # value: won 100 + 300 + 0 over closed 100 + 300 + 200 + 400 + 0; the NaN lost deal is out
    assert o["value_win_rate"] == pytest.approx(400 / 1000)
    assert (o["value_n"], o["value_excluded"]) == (5, 1)
    low, high = rate_interval(3, 6)
    assert (o["win_rate_low"], o["win_rate_high"]) == pytest.approx((float(low), float(high)))
    assert r.view == "cohort" and r.table.index.tolist() == ["all"]
    seg = win_rate(ds, by="region").table
    assert seg.index.tolist() == ["N", "S", MISSING]
    assert seg["closed"].tolist() == [3, 2, 1]
    assert seg.loc["N", "value_win_rate"] == pytest.approx(400 / 600)
    assert seg.loc["S", "value_win_rate"] == pytest.approx(0.0)
    assert np.isnan(seg.loc[MISSING, "value_win_rate"])  # closed amount 0: undefined
    assert seg[["won", "lost", "open", "value_excluded"]].sum().tolist() == [3, 3, 1, 1]


def test_value_interval_equals_count_interval_for_equal_amounts() -> None:
    rng = np.random.default_rng(3)
    n = 40
    outcome = rng.choice(["won", "lost"], n)
    deals = pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(n)],
            "created_at": [T0] * n,
            "outcome": outcome,
            "amount": [500.0] * n,
            "owner_id": ["r"] * n,
            "region": rng.choice(["N", "S"], n),
        }
    )
    empty = pd.DataFrame({"deal_id": [], "stage": [], "entered_at": []})
    ds = sa.Dataset({"deals": deals, "stage_events": empty})
    for method in ("wilson", "jeffreys"):
        t = win_rate(ds, by="region", method=method).table  # type: ignore[arg-type]
        assert np.allclose(t["value_low"], t["win_rate_low"])
        assert np.allclose(t["value_high"], t["win_rate_high"])


def test_value_interval_bootstrap_agrees_with_ratio_and_is_seeded() -> None:
    ds = sample.generate(400, seed=2)
    ratio = win_rate(ds, by="region")
    boot = win_rate(ds, by="region", value_interval="bootstrap", seed=5, n_boot=1500)
    again = win_rate(ds, by="region", value_interval="bootstrap", seed=5, n_boot=1500)
    pd.testing.assert_frame_equal(boot.table, again.table)
    rate = boot.table["value_win_rate"]
    assert ((boot.table["value_low"] <= rate) & (rate <= boot.table["value_high"])).all()
    for col in ("value_low", "value_high"):
        assert np.allclose(boot.table[col], ratio.table[col], atol=0.04)
    assert "bootstrap" in boot.caption


@pytest.mark.parametrize("seed", range(6))
def test_win_rate_matches_brute_force(seed: int) -> None:
    ds = random_dataset(seed)
    for by in BYS[1:]:
        table = win_rate(ds, by=by).table
        names = [by] if isinstance(by, str) else list(by)
        expected: dict[tuple, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0, 0])
        for deal in facts(ds)[0]:
            row = expected[tuple(segment_value(ds, deal, n) for n in names)]
            won, lost = deal["outcome"] == "won", deal["outcome"] == "lost"
            row[0] += won
            row[1] += lost
            row[2] += not (won or lost)
            if (won or lost) and not np.isnan(deal["amount"]):
                row[3] += deal["amount"] * won
                row[4] += deal["amount"]
            row[5] += (won or lost) and bool(np.isnan(deal["amount"]))
        got = {(k if isinstance(k, tuple) else (k,)): v for k, v in table.to_dict("index").items()}
        assert set(got) == set(expected)
        for key, (w, lo, op, wa, ca, ex) in expected.items():
            row = got[key]
            assert (row["won"], row["lost"], row["open"], row["value_excluded"]) == (w, lo, op, ex)
            assert row["won_amount"] == pytest.approx(wa)
            assert row["closed_amount"] == pytest.approx(ca)
            assert row["value_win_rate"] == pytest.approx(wa / ca if ca else np.nan, nan_ok=True)
            for kind in ("win_rate", "value"):
                rate = row["win_rate" if kind == "win_rate" else "value_win_rate"]
                if not np.isnan(rate):
                    assert row[f"{kind}_low"] - 1e-12 <= rate <= row[f"{kind}_high"] + 1e-12
