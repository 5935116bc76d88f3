"""Time in stage and sales cycle: hand-worked cases, a per-deal brute force, lifelines."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import salesanalytics as sa
from salesanalytics import sample
from salesanalytics.dataset import Provenance
from salesanalytics.timing import sales_cycle, time_in_stage

T0 = pd.Timestamp("2024-01-01", tz="UTC")
OPEN = ("lead", "contacted", "proposal", "negotiation")


def day(x: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=x)


def build(
    histories: dict[str, list[tuple[str, float]]],
    closed: dict[str, tuple[str, float]],
    as_of: float,
    fidelity: str = "full_history",
    created: dict[str, float] | None = None,
) -> sa.Dataset:
    """Deals from stage histories (stage, day); ``closed`` maps deal -> (outcome, day)."""
    deals = []
    for d, hist in histories.items():
        outcome, at = closed.get(d, ("open", math.nan))
        start = (created or {}).get(d, hist[0][1] if hist else 0.0)
        deals.append(
            {
                "deal_id": d,
                "created_at": day(start),
                "closed_at": day(at) if not math.isnan(at) else pd.NaT,
                "outcome": outcome,
                "amount": 1.0,
                "owner_id": "r",
                "region": "N" if d < "C" else "S",
            }
        )
    events = [
        {"deal_id": d, "stage": s, "entered_at": day(t)} for d, h in histories.items() for s, t in h
    ]
    return sa.Dataset(
        {
            "deals": pd.DataFrame(deals),
            "stage_events": pd.DataFrame(events, columns=["deal_id", "stage", "entered_at"]),
        },
        provenance=Provenance(as_of=day(as_of), fidelity=fidelity),  # type: ignore[arg-type]
    )


GOLDEN = {
    "A": [("lead", 0), ("contacted", 2), ("lead", 5), ("contacted", 6), ("won", 10)],
    "B": [("lead", 0), ("contacted", 1)],  # open: contacted censored at as-of
    "C": [("lead", 0)],  # lost at day 4 without a terminal entry
    "D": [("lead", 0), ("lost", 3), ("lead", 5), ("proposal", 8)],  # reopened, open
    "E": [("lead", 0), ("contacted", 8)],  # open: contacted censored at 3 days, tied with A
}
GOLDEN_CLOSED = {"A": ("won", 10), "C": ("lost", 4)}


@pytest.fixture(scope="module")
def golden() -> sa.Dataset:
    return build(GOLDEN, GOLDEN_CLOSED, as_of=11)


def summary(res: sa.Dataset, stage: str, measure: str) -> pd.Series:
    t = res.table  # type: ignore[attr-defined]
    return t[(t["stage"] == stage) & (t["measure"] == measure)].iloc[0]


def test_time_in_stage_per_deal_golden(golden: sa.Dataset) -> None:
    pdl = time_in_stage(golden).per_deal.set_index(["deal_id", "stage"])
    assert pdl.loc[("A", "lead"), ["entries", "cumulative_days", "latest_days"]].tolist() == [
        2,
        3.0,
        1.0,
    ]
    assert pdl.loc[("A", "contacted"), ["cumulative_days", "latest_days"]].tolist() == [7.0, 4.0]
    assert not pdl.loc[("A", "contacted"), "censored"]
    assert pdl.loc[("B", "contacted"), ["cumulative_days", "censored"]].tolist() == [10.0, True]
    assert pdl.loc[("C", "lead"), ["cumulative_days", "censored"]].tolist() == [4.0, False]
    assert pdl.loc[("D", "lead"), ["entries", "cumulative_days", "latest_days"]].tolist() == [
        2,
        6.0,
        3.0,
    ]
    assert pdl.loc[("D", "proposal"), ["latest_days", "censored"]].tolist() == [3.0, True]
    assert len(pdl) == 9  # no rows for won/lost and none for stages never entered


def test_time_in_stage_summary_golden(golden: sa.Dataset) -> None:
    res = time_in_stage(golden)
    # lead stays 2,1 (A) 1 (B) 4 (C) 3,3 (D) 8 (E): S(1)=5/7, S(2)=4/7, S(3)=2/7 -> median 3
    lead = summary(res, "lead", "stay")
    assert (lead["n"], lead["censored"], lead["median_days"]) == (7, 0, 3.0)
    assert lead["mean_completed_days"] == pytest.approx(22 / 7)
    assert summary(res, "lead", "cumulative")["median_days"] == 4.0  # 3,1,4,6,8
    assert summary(res, "lead", "latest")["median_days"] == 3.0  # 1,1,4,3,8
    # contacted: A 3 and 4 (events), B 10 and E 3 censored. E's censoring ties A's event at 3:
    # the event comes first, so 4 are at risk at t=3: S(3) = 3/4, S(4) = 3/4 * 1/2
    c = summary(res, "contacted", "stay")
    assert (c["n"], c["censored"], c["median_days"]) == (4, 2, 4.0)
    curve = res.curves[(res.curves["stage"] == "contacted") & (res.curves["measure"] == "stay")]
    s = curve.set_index("t_days")["estimate"]
    assert s.loc[3.0] == pytest.approx(0.75) and s.loc[4.0] == pytest.approx(0.375)
    assert summary(res, "contacted", "cumulative")["median_days"] == 7.0
    p = summary(res, "proposal", "stay")
    assert (p["n"], p["censored"]) == (1, 1) and math.isnan(p["median_days"])
    assert summary(res, "negotiation", "stay")["n"] == 0
    assert res.view == "time_in_stage" and "censored" in res.censoring
    assert "Time in stage" in res._repr_html_()


def test_time_in_stage_as_of_in_the_past(golden: sa.Dataset) -> None:
    pdl = time_in_stage(golden, as_of=day(7)).per_deal.set_index(["deal_id", "stage"])
    assert pdl.loc[("A", "contacted"), ["latest_days", "censored"]].tolist() == [1.0, True]
    assert pdl.loc[("C", "lead"), ["cumulative_days", "censored"]].tolist() == [4.0, False]
    assert pdl.loc[("D", "lead"), ["cumulative_days", "latest_days", "censored"]].tolist() == [
        5.0,
        2.0,
        True,
    ]
    assert ("E", "contacted") not in pdl.index and pdl.loc[("E", "lead"), "censored"]


def test_fidelity_rules(golden: sa.Dataset) -> None:
    flat = build(GOLDEN, GOLDEN_CLOSED, as_of=11, fidelity="current_state")
    with pytest.raises(ValueError, match="current-state"):
        time_in_stage(flat)
    latest = build(GOLDEN, GOLDEN_CLOSED, as_of=11, fidelity="latest_per_stage")
    res = time_in_stage(latest)
    assert res.caveats and "latest_per_stage" in res.caveats[0]
    assert time_in_stage(golden).caveats == ()
    with pytest.raises(ValueError, match="measure"):
        time_in_stage(golden, measures=("median",))


def test_time_in_stage_by_segment(golden: sa.Dataset) -> None:
    res = time_in_stage(golden, by="region", measures=("stay",))
    assert set(res.table["segment"]) == {"N", "S"}
    n = res.table.groupby("stage")["n"].sum()
    assert n["lead"] == 7 and n["contacted"] == 4


# ---------------------------------------------------------------- brute force


def random_dataset(seed: int, n: int = 30) -> tuple[sa.Dataset, float]:
    rng = np.random.default_rng(seed)
    hist: dict[str, list[tuple[str, float]]] = {}
    closed: dict[str, tuple[str, float]] = {}
    for i in range(n):
        d = f"D{i:03d}"
        t, stage = float(rng.integers(0, 20)), str(rng.choice(OPEN[:2]))
        h = [(stage, t)]
        for _ in range(int(rng.integers(0, 6))):
            t += float(rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 7.5]))  # ties on purpose
            stage = str(rng.choice([s for s in (*OPEN, "won", "lost") if s != stage]))
            h.append((stage, t))
        if h[-1][0] in ("won", "lost"):
            closed[d] = (h[-1][0], h[-1][1])
            if rng.random() < 0.3:  # terminal entry missing from the export
                h = h[:-1] or h
        hist[d] = h
    return build(hist, closed, as_of=40.0), float(rng.uniform(5, 40))


def brute_force(
    ds: sa.Dataset, as_of: float
) -> dict[tuple[str, str], tuple[int, float, float, bool]]:
    cut = day(as_of)
    deals = ds.deals.set_index("deal_id")
    out: dict[tuple[str, str], list] = {}
    for d, ev in ds.stage_events.groupby("deal_id"):
        ev = ev[ev["entered_at"] <= cut].sort_values("entered_at", kind="stable")
        rows = list(ev.itertuples())
        for i, r in enumerate(rows):
            if r.stage not in OPEN:
                continue
            closed_at = deals.loc[d, "closed_at"]
            if i + 1 < len(rows):
                end, cens = rows[i + 1].entered_at, False
            elif pd.notna(closed_at) and closed_at <= cut:
                end, cens = max(closed_at, r.entered_at), False
            else:
                end, cens = cut, True
            days = (end - r.entered_at) / pd.Timedelta(days=1)
            entry = out.setdefault((str(d), r.stage), [0, 0.0, 0.0, False])
            entry[0] += 1
            entry[1] += days
            entry[2], entry[3] = days, cens
    return {k: tuple(v) for k, v in out.items()}


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 100_000))
def test_per_deal_matches_brute_force(seed: int) -> None:
    ds, as_of = random_dataset(seed)
    res = time_in_stage(ds, as_of=day(as_of))
    got = {
        (str(r.deal_id), str(r.stage)): (r.entries, r.cumulative_days, r.latest_days, r.censored)
        for r in res.per_deal.itertuples()
    }
    want = brute_force(ds, as_of)
    assert got.keys() == want.keys()
    for key, (n, cum, latest, cens) in want.items():
        assert got[key][0] == n and got[key][3] == cens, key
        assert got[key][1] == pytest.approx(cum) and got[key][2] == pytest.approx(latest), key
    t = res.table
    assert ((t["censored"] <= t["n"]) & (t["p25_days"].fillna(0) >= 0)).all()
    ok = t["median_days"].notna() & t["p75_days"].notna()
    assert (t.loc[ok, "p25_days"] <= t.loc[ok, "median_days"]).all()
    assert (t.loc[ok, "median_days"] <= t.loc[ok, "p75_days"]).all()


def test_stage_medians_match_lifelines() -> None:
    pytest.importorskip("lifelines")  # test-only; pins pandas < 3, so may be absent
    from lifelines import KaplanMeierFitter

    ds, _ = random_dataset(3, n=150)
    res = time_in_stage(ds, measures=("cumulative",))
    for stage, grp in res.per_deal.groupby("stage", observed=True):
        ref = KaplanMeierFitter().fit(grp["cumulative_days"], ~grp["censored"])
        got = summary(res, str(stage), "cumulative")["median_days"]
        want = ref.median_survival_time_
        assert (math.isinf(want) and math.isnan(got)) or got == pytest.approx(want)


# ---------------------------------------------------------------- sales cycle


@pytest.fixture(scope="module")
def cycle() -> sa.Dataset:
    hist = {k: [("lead", 0.0)] for k in ("W1", "W2", "L1", "L2", "O1", "O2", "X", "Y")}
    closed = {"W1": ("won", 10), "W2": ("won", 30), "L1": ("lost", 20), "L2": ("lost", 30)}
    closed |= {"Y": ("won", math.nan)}  # won without a close date: cycle unknown
    created = {"O2": 90.0, "X": 120.0}  # X created after as-of
    return build(hist, closed, as_of=100, created=created)


def test_sales_cycle_golden(cycle: sa.Dataset) -> None:
    res = sales_cycle(cycle)
    row = res.table.iloc[0]
    # durations: W1 10, O2 10 (censored, tie: the win counts first), L1 20, W2 30, L2 30, O1 100 (c)
    assert (row["deals"], row["won"], row["lost"], row["open"]) == (6, 2, 2, 2)
    assert res.excluded == 2
    assert row["median_to_close"] == 30.0  # S: 5/6, 5/8, 5/24
    assert row["p_won_by_30"] == pytest.approx(1 / 6 + 5 / 8 * 1 / 3)
    assert row["p_won_eventually"] == pytest.approx(3 / 8)
    assert row["median_to_win"] == 30.0  # F_won(10) = 1/6 < 3/16: half of the plateau 3/8
    assert row["median_to_win_closed_only"] == 20.0
    assert math.isnan(row["p_won_by_180"])  # beyond the longest follow-up (100 days)
    c = res.curves.set_index(["outcome", "t_days"])["estimate"]
    assert c[("lost", 30.0)] == pytest.approx(5 / 24 + 5 / 24)
    assert c[("closed", 30.0)] == pytest.approx(1 - 5 / 24)
    assert c[("won", 9.0)] == 0.0 and c[("won", 10.0)] == pytest.approx(1 / 6)
    assert res.curves.groupby("outcome")["at_risk"].first().tolist() == [6, 6, 6]


def test_sales_cycle_as_of_in_the_past(cycle: sa.Dataset) -> None:
    row = sales_cycle(cycle, as_of=day(25)).table.iloc[0]
    # W2 and L2 close after day 25: open then; O2 and X do not exist yet
    assert (row["deals"], row["won"], row["lost"], row["open"]) == (5, 1, 1, 3)


@pytest.fixture(scope="module")
def generated() -> sa.Dataset:
    return sample.generate(1200, seed=4)


def test_sales_cycle_matches_lifelines(generated: sa.Dataset) -> None:
    pytest.importorskip("lifelines")
    from lifelines import AalenJohansenFitter, KaplanMeierFitter

    res = sales_cycle(generated, by="region")
    deals = generated.deals
    for region, row in res.table.set_index("segment").iterrows():
        d = deals[deals["region"] == region]
        end = d["closed_at"].fillna(generated.as_of)
        dur = ((end - d["created_at"]) / pd.Timedelta(days=1)).to_numpy()
        code = d["outcome"].map({"won": 1, "lost": 2, "open": 0}).to_numpy()
        km = KaplanMeierFitter().fit(dur, code > 0)
        assert row["median_to_close"] == pytest.approx(km.median_survival_time_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aj = AalenJohansenFitter(seed=0).fit(dur, code, event_of_interest=1)
        f = aj.cumulative_density_.iloc[:, 0]
        for t in (30, 90):
            assert row[f"p_won_by_{t}"] == pytest.approx(f[f.index <= t].iloc[-1], abs=1e-6)


def test_sales_cycle_properties(generated: sa.Dataset) -> None:
    res = sales_cycle(generated, by="lead_source")
    c = res.curves
    assert ((c["estimate"] >= 0) & (c["estimate"] <= 1)).all()
    assert ((c["low"] <= c["estimate"] + 1e-12) & (c["estimate"] <= c["high"] + 1e-12)).all()
    wide = c.pivot_table(index=["segment", "t_days"], columns="outcome", values="estimate")
    assert (wide["won"] + wide["lost"] <= 1 + 1e-12).all()
    np.testing.assert_allclose(wide["won"] + wide["lost"], wide["closed"], atol=1e-9)
    assert (wide.groupby(level="segment")["closed"].diff().dropna() >= -1e-12).all()
    t = res.table
    assert (t["deals"] == t["won"] + t["lost"] + t["open"]).all()
    assert t["deals"].sum() == len(generated.deals)
    tis = time_in_stage(generated, by="lead_source", measures=("stay",))
    s = tis.curves
    assert (s.groupby(["segment", "stage"])["estimate"].diff().dropna() <= 1e-12).all()
