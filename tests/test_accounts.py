"""Repeat business per account: golden cases, a plain-loop brute force on random deals,
an independent Kaplan–Meier (lifelines) and properties."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import salesanalytics as sa
from salesanalytics import sample
from salesanalytics.accounts import repeat_business
from salesanalytics.stats import rate_interval

NAN = float("nan")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def dataset(rows: list[tuple[Any, ...]], as_of: str = "2024-12-31") -> sa.Dataset:
    cols = ["deal_id", "account_id", "outcome", "closed_at", "amount", "deal_type", "region"]
    deals = pd.DataFrame(rows, columns=cols)
    deals["closed_at"] = pd.to_datetime(deals["closed_at"], utc=True)
    deals["created_at"] = ts("2023-12-01")
    deals["owner_id"] = "r1"
    events = pd.DataFrame({"deal_id": [], "stage": [], "entered_at": []})
    return sa.Dataset(
        {"deals": deals, "stage_events": events}, provenance=sa.Provenance(as_of=ts(as_of))
    )


GOLDEN = [
    # X won again (51 days later); Y won two deals at the same instant (one purchase) and
    # lost a renewal; Z never won; W won once (an expansion) and has an open deal; N1 has
    # no account; L1 closed after as-of and is ignored.
    ("X1", "X", "won", "2024-01-10", 100.0, "new", "East"),
    ("X2", "X", "won", "2024-03-01", 50.0, "renewal", "West"),
    ("Y1", "Y", "won", "2024-02-01", 200.0, "new", "West"),
    ("Y2", "Y", "won", "2024-02-01", 20.0, "new", "West"),
    ("Y3", "Y", "lost", "2024-04-01", 80.0, "renewal", "West"),
    ("Z1", "Z", "lost", "2024-05-01", 10.0, "new", "North"),
    ("W1", "W", "won", "2024-06-01", 100.0, "expansion", None),
    ("W2", "W", "open", None, 5.0, "new", "East"),
    ("N1", None, "won", "2024-02-15", 70.0, "new", "East"),
    ("L1", "X", "won", "2025-02-01", 999.0, "new", "East"),
]


def test_repeat_business_golden() -> None:
    rb = repeat_business(dataset(GOLDEN), horizon="200D")
    row = rb.table.iloc[0]
    assert (row["accounts"], row["accounts_won"], row["repeat"]) == (4, 3, 1)
    low, high = rate_interval(1, 3)
    assert row["repeat_rate"] == pytest.approx(1 / 3)
    assert (row["repeat_low"], row["repeat_high"]) == pytest.approx((float(low), float(high)))
    # KM over 51 (event), 213 and 334 days (censored): S = 2/3 after day 51
    assert np.isnan(row["median_days_to_next"])
    assert row["p_repeat_within"] == pytest.approx(1 / 3)
    assert row["median_days_to_next_repeaters"] == pytest.approx(51.0)
    acc = rb.accounts.set_index("account_id")
    assert acc["won_deals"].to_dict() == {"W": 1, "X": 2, "Y": 2, "Z": 0}
    assert acc["repeat"].to_dict() == {"W": False, "X": True, "Y": False, "Z": False}
    assert acc.loc[["X", "Y", "W"], "days_to_next"].tolist() == pytest.approx([51, 334, 213])
    assert acc["censored"].to_dict() == {"W": True, "X": False, "Y": True, "Z": False}
    assert pd.isna(acc.at["Z", "first_win"]) and acc.at["Y", "won_revenue"] == 220.0


def test_cohorts_show_maturity() -> None:
    rb = repeat_business(dataset(GOLDEN), horizon="300D")
    c = rb.cohorts.set_index("cohort")
    assert c["accounts_won"].to_dict() == {"2024-Q1": 2, "2024-Q2": 1}
    assert c["repeat"].to_dict() == {"2024-Q1": 1, "2024-Q2": 0}
    assert c["min_followup_days"].tolist() == pytest.approx([334.0, 213.0])
    assert c["mature"].tolist() == [True, False]
    assert np.isnan(c.at["2024-Q2", "p_repeat_within"])  # nobody followed 300 days there


def test_revenue_new_vs_existing_and_renewals() -> None:
    rb = repeat_business(dataset(GOLDEN))
    rev = rb.revenue.set_index(["period", "customer"])
    assert rev.loc[("2024-Q1", "new"), ["deals", "revenue"]].tolist() == [3, 320.0]
    assert rev.loc[("2024-Q1", "existing"), ["deals", "revenue"]].tolist() == [1, 50.0]
    assert rev.loc[("2024-Q1", "no_account"), "revenue"] == 70.0
    assert rev.loc[("2024-Q1", "new"), "share"] == pytest.approx(320 / 440)
    assert rev.loc[("2024-Q2", "new"), "revenue"] == 100.0
    ren = rb.renewals.set_index("period")  # type: ignore[union-attr]
    assert ren["renewal_won"].to_dict() == {"2024-Q1": 1, "2024-Q2": 0}
    assert ren["renewal_closed"].to_dict() == {"2024-Q1": 1, "2024-Q2": 1}
    assert ren["expansion_share"].tolist() == pytest.approx([0.0, 1.0])
    s = rb.summary().iloc[0]
    assert s["existing_revenue_share"] == pytest.approx(50 / 540, abs=1e-4)
    assert s["renewal_rate"] == 0.5
    assert s["expansion_share"] == pytest.approx(100 / 540, abs=1e-4)


def test_by_uses_first_win_for_accounts_and_own_value_for_revenue() -> None:
    rb = repeat_business(dataset(GOLDEN), by="region")
    labels = rb.accounts.set_index("account_id")["region"].to_dict()
    # X: its first won deal (East); W: first win without a region; Z: its only deal
    assert labels == {"W": "(missing)", "X": "East", "Y": "West", "Z": "North"}
    t = rb.table.set_index("region")
    assert t.loc["East", ["accounts_won", "repeat"]].tolist() == [1, 1]
    rev = rb.revenue.set_index(["period", "region", "customer"])["revenue"]
    assert rev[("2024-Q1", "West", "existing")] == 50.0  # X2 is a West deal
    assert set(rb.summary()["region"]) == {"(missing)", "East", "North", "West"}
    assert "&lt;" not in rb._repr_html_()


def test_without_deal_types_there_are_no_renewals() -> None:
    rows = [(*r[:5], None, r[6]) for r in GOLDEN]
    rb = repeat_business(dataset(rows))
    assert rb.renewals is None and "renewal_rate" not in rb.summary()


def test_km_agrees_with_lifelines() -> None:
    lifelines = pytest.importorskip("lifelines")
    rb = repeat_business(sample.generate(1500, seed=4), horizon="180D")
    acc = rb.accounts[rb.accounts["first_win"].notna()]
    km = lifelines.KaplanMeierFitter().fit(acc["days_to_next"], acc["repeat"])
    p = 1 - float(km.survival_function_at_times(180.0).iloc[0])
    assert rb.table["p_repeat_within"].iloc[0] == pytest.approx(p, abs=1e-9)
    median = km.median_survival_time_
    got = rb.table["median_days_to_next"].iloc[0]
    assert (np.isinf(median) and np.isnan(got)) or got == pytest.approx(median)


# ---------------------------------------------------------------------- brute force
def random_rows(seed: int) -> list[tuple[Any, ...]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(int(rng.integers(1, 40))):
        outcome = str(rng.choice(["won", "won", "lost", "open"]))
        day = int(rng.choice([0, 0, 10, 40, 100, 200, 380, 500]))
        closed = None if outcome == "open" else str(ts("2023-01-01") + pd.Timedelta(days=day))
        rows.append(
            (
                f"D{i}",
                rng.choice(["A", "B", "C", "D", "E", None]),
                outcome,
                closed,
                float(rng.choice([NAN, 5.0, 120.0])),
                rng.choice(["new", "renewal", "expansion", None]),
                rng.choice(["East", "West"]),
            )
        )
    return rows


def brute(rows: list[tuple[Any, ...]], as_of: pd.Timestamp) -> dict[str, Any]:
    wins: dict[str, list[pd.Timestamp]] = defaultdict(list)
    for _, acct, outcome, closed, *_ in rows:
        if outcome == "won" and acct is not None and ts(closed) <= as_of:
            wins[acct].append(ts(closed))
    accounts = {}
    for acct, times in wins.items():
        first = min(times)
        later = [t for t in times if t > first]
        nxt = min(later) if later else None
        accounts[acct] = (first, nxt, ((nxt or as_of) - first) / pd.Timedelta(days=1))
    revenue: dict[tuple[str, str], float] = defaultdict(float)
    renew: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, acct, outcome, closed, amount, kind, _ in rows:
        if closed is None or ts(closed) > as_of:
            continue
        t = ts(closed)
        period = f"{t.year}-Q{(t.month - 1) // 3 + 1}"
        if outcome == "won":
            who = "no_account" if acct is None else "new"
            if acct is not None and t > accounts[acct][0]:
                who = "existing"
            revenue[(period, who)] += 0.0 if np.isnan(amount) else amount
        if kind == "renewal":
            renew[period][0] += outcome == "won"
            renew[period][1] += 1
    return {"accounts": accounts, "revenue": revenue, "renewals": renew}


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_matches_brute_force(seed: int) -> None:
    rows = random_rows(seed)
    ds = dataset(rows, as_of="2024-04-01")
    expected = brute(rows, ts("2024-04-01"))
    rb = repeat_business(ds)
    winners = rb.accounts[rb.accounts["first_win"].notna()].set_index("account_id")
    assert set(winners.index) == set(expected["accounts"])
    for acct, (first, nxt, days) in expected["accounts"].items():
        assert winners.at[acct, "first_win"] == first
        assert winners.at[acct, "repeat"] == (nxt is not None)
        assert winners.at[acct, "days_to_next"] == pytest.approx(days)
    got = rb.revenue.set_index(["period", "customer"])["revenue"]
    for key, value in expected["revenue"].items():
        assert got[key] == pytest.approx(value)
    assert got.sum() == pytest.approx(sum(expected["revenue"].values()))
    if rb.renewals is not None:
        ren = rb.renewals.set_index("period")
        for period, (won, closed) in expected["renewals"].items():
            assert (ren.at[period, "renewal_won"], ren.at[period, "renewal_closed"]) == (
                won,
                closed,
            )
    # properties
    t = rb.table[rb.table["accounts_won"] > 0]
    if len(t):
        assert ((t["repeat_rate"] >= 0) & (t["repeat_rate"] <= 1)).all()
        assert (t["repeat_low"] <= t["repeat_rate"]).all()
        assert (t["repeat_rate"] <= t["repeat_high"]).all()
        assert (t["accounts_won"] <= t["accounts"]).all()
    share = rb.revenue["share"].dropna()
    assert ((share >= 0) & (share <= 1)).all()
