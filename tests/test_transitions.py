"""Transition matrix: hand-worked histories, a plain-loop brute force, bootstrap and properties."""

from __future__ import annotations

import math
from collections import Counter
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import salesanalytics as sa
from salesanalytics.dataset import Provenance
from salesanalytics.stats import rate_interval
from salesanalytics.transitions import transition_matrix

STAGES = ("lead", "contacted", "proposal", "negotiation")
ALL = (*STAGES, "won", "lost")
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def make_dataset(
    paths: list[list[str]],
    crm: list[float] | None = None,
    fidelity: str = "full_history",
    extra: dict[str, list[str]] | None = None,
) -> sa.Dataset:
    deals, events = [], []
    for i, path in enumerate(paths):
        last = path[-1] if path else "lead"
        outcome = last if last in ("won", "lost") else "open"
        row = {"deal_id": f"D{i}", "created_at": T0, "outcome": outcome, "amount": 1.0}
        row |= {"owner_id": "r", "stage": last}
        row["closed_at"] = T0 + pd.Timedelta(days=len(path) - 1) if outcome != "open" else pd.NaT
        if crm is not None:
            row["crm_probability"] = crm[i]
        for col, values in (extra or {}).items():
            row[col] = values[i]
        deals.append(row)
        for j, stage in enumerate(path):
            events.append(
                {"deal_id": f"D{i}", "stage": stage, "entered_at": T0 + pd.Timedelta(j, "D")}
            )
    return sa.Dataset(
        {
            "deals": pd.DataFrame(deals),
            "stage_events": pd.DataFrame(events, columns=["deal_id", "stage", "entered_at"]),
        },
        provenance=Provenance(fidelity=fidelity),  # type: ignore[arg-type]
    )


GOLDEN = [
    ["lead", "contacted", "proposal", "negotiation", "won"],  # all forward
    ["lead", "proposal", "lost"],  # skip, then loss
    ["lead", "contacted", "proposal", "contacted", "proposal", "won"],  # regression; jump to won
    ["lead", "lost", "contacted", "won"],  # loss, reopen, contacted -> won jumps two stages
    ["lead", "contacted"],  # still open
]


@pytest.fixture(scope="module")
def golden() -> sa.Dataset:
    return make_dataset(GOLDEN)


def test_golden_counts_and_kinds(golden: sa.Dataset) -> None:
    res = transition_matrix(golden, n_bootstrap=0)
    t = res.table.set_index(["from_stage", "to_stage"])
    expected = {
        ("lead", "contacted"): ("forward", 0, 3, 3),
        ("lead", "proposal"): ("skip", 1, 1, 1),
        ("lead", "lost"): ("loss", 0, 1, 1),
        ("contacted", "proposal"): ("forward", 0, 3, 2),  # D2 twice: 3 transitions, 2 deals
        ("contacted", "won"): ("win", 2, 1, 1),
        ("proposal", "negotiation"): ("forward", 0, 1, 1),
        ("proposal", "contacted"): ("regression", 0, 1, 1),
        ("proposal", "won"): ("win", 1, 1, 1),
        ("proposal", "lost"): ("loss", 0, 1, 1),
        ("negotiation", "won"): ("win", 0, 1, 1),
        ("lost", "contacted"): ("reopen", 0, 1, 1),
    }
    assert set(t.index) == set(expected)
    for cell, (kind, skipped, n, deals) in expected.items():
        assert tuple(t.loc[cell, ["kind", "skipped", "transitions", "deals"]]) == (
            kind,
            skipped,
            n,
            deals,
        ), cell
    assert t.loc[("lead", "contacted"), "probability"] == pytest.approx(3 / 5)
    m = res.matrix.loc["all"]
    assert m.loc["contacted", "proposal"] == 3 and m.loc["won"].sum() == 0
    p = res.probabilities.loc["all"]
    np.testing.assert_allclose(p.loc[list(STAGES)].sum(axis=1), 1.0)


def test_golden_rates(golden: sa.Dataset) -> None:
    r = transition_matrix(golden, n_bootstrap=0).rates.set_index("stage")
    assert r["exits"].tolist() == [5, 4, 4, 1, 0, 1]
    assert r["entries"].tolist() == [5, 5, 4, 1, 3, 2]
    # skip rate counts jumps over at least one stage, a jump straight to won included
    assert r.loc["lead", "skip_rate"] == pytest.approx(1 / 5)
    assert r.loc["contacted", "skip_rate"] == pytest.approx(1 / 4)
    assert r.loc["proposal", "skip_rate"] == pytest.approx(1 / 4)
    assert r.loc["negotiation", "skip_rate"] == 0
    assert r.loc["proposal", "regression_rate"] == pytest.approx(1 / 4)
    assert r.loc["lost", "reopen_rate"] == pytest.approx(1 / 2)
    assert math.isnan(r.loc["lost", "skip_rate"]) and math.isnan(r.loc["lead", "reopen_rate"])
    low, high = (float(x) for x in rate_interval(1, 5))
    assert (r.loc["lead", "skip_low"], r.loc["lead", "skip_high"]) == pytest.approx((low, high))


def test_golden_markov_and_empirical(golden: sa.Dataset) -> None:
    # exits: lead -> contacted 3, proposal 1, lost 1; contacted -> proposal 3, won 1;
    # proposal -> negotiation, contacted, won, lost (1 each); negotiation -> won.
    # w_n = 1; w_p = 1/4 + w_n/4 + w_c/4; w_c = 3/4 w_p + 1/4; w_l = 3/5 w_c + 1/5 w_p
    # => w_c = 10/13, w_p = 9/13, w_l = 3/5
    w = transition_matrix(golden, n_bootstrap=0).win_probability.set_index("stage")
    np.testing.assert_allclose(w["p_win"], [3 / 5, 10 / 13, 9 / 13, 1.0])
    np.testing.assert_allclose(w["p_win"] + w["p_lost"], 1.0)
    assert (w["p_unresolved"] == 0).all()
    # entered lead: D0..D4 -> won D0, D2, D3; lost D1; open D4
    np.testing.assert_allclose(w["empirical_win"], [3 / 4, 3 / 3, 2 / 3, 1.0])
    assert w["closed"].tolist() == [4, 3, 3, 1] and w["still_open"].tolist() == [1, 1, 0, 0]
    # no crm_probability in the export: the stage model's defaults
    assert w["crm_probability"].tolist() == [0.1, 0.2, 0.5, 0.8]
    assert set(w["crm_source"]) == {"stage model"}


def test_crm_probability_from_export() -> None:
    paths = [["lead"], ["lead"], ["lead", "proposal"], ["lead", "won"]]
    ds = make_dataset(paths, crm=[0.2, 0.4, 0.7, 1.0])
    w = transition_matrix(ds, n_bootstrap=0).win_probability.set_index("stage")
    assert w.loc["lead", "crm_probability"] == pytest.approx(0.3)  # open deals now at lead
    assert w.loc["proposal", "crm_probability"] == pytest.approx(0.7)
    assert w.loc["lead", "crm_source"] == "export (mean of 2 open deals)"
    assert w.loc["contacted", "crm_source"] == "stage model"


def test_stage_without_exits_and_closed_loop() -> None:
    ds = make_dataset(
        [["lead", "proposal", "negotiation"], ["lead", "lost"], ["lead", "proposal", "won"]]
    )
    w = transition_matrix(ds, n_bootstrap=50, seed=1).win_probability.set_index("stage")
    assert math.isnan(w.loc["negotiation", "p_win"]) and math.isnan(w.loc["contacted", "p_win"])
    assert w.loc["proposal", ["p_win", "p_unresolved"]].tolist() == pytest.approx([0.5, 0.5])
    assert w.loc["lead", ["p_win", "p_lost", "p_unresolved"]].tolist() == pytest.approx([1 / 3] * 3)
    loop = make_dataset([["lead", "contacted", "lead"], ["lead", "contacted"]])
    w = transition_matrix(loop, n_bootstrap=20, seed=0).win_probability.set_index("stage")
    assert w["p_win"].isna().all()  # lead <-> contacted never reaches won or lost


def test_current_state_refused_and_seeded_bootstrap(golden: sa.Dataset) -> None:
    with pytest.raises(ValueError, match="current-state"):
        transition_matrix(make_dataset(GOLDEN, fidelity="current_state"))
    latest = transition_matrix(make_dataset(GOLDEN, fidelity="latest_per_stage"), n_bootstrap=0)
    assert latest.caveats and not transition_matrix(golden, n_bootstrap=0).caveats
    a = transition_matrix(golden, n_bootstrap=200, seed=7).win_probability
    b = transition_matrix(golden, n_bootstrap=200, seed=7).win_probability
    pd.testing.assert_frame_equal(a, b)
    assert (a["p_win_low"] <= a["p_win"] + 1e-12).all() and (
        a["p_win"] <= a["p_win_high"] + 1e-12
    ).all()


def test_by_segment_equals_subsets_and_order_does_not_matter() -> None:
    rng = np.random.default_rng(5)
    paths = random_paths(rng, 80)
    region = [str(x) for x in rng.choice(["N", "S"], len(paths))]
    ds = make_dataset(paths, extra={"region": region})
    both = transition_matrix(ds, by="region", n_bootstrap=0)
    for reg in ("N", "S"):
        keep = [p for p, r in zip(paths, region, strict=True) if r == reg]
        one = transition_matrix(make_dataset(keep), n_bootstrap=0)
        sub = (
            both.table[both.table["segment"] == reg].drop(columns="segment").reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(sub, one.table.drop(columns="segment"))
    shuffled = ds.replace(stage_events=ds.stage_events.sample(frac=1.0, random_state=1))
    pd.testing.assert_frame_equal(
        transition_matrix(shuffled, n_bootstrap=0).table, transition_matrix(ds, n_bootstrap=0).table
    )
    assert "Markov" in transition_matrix(ds, n_bootstrap=0)._repr_html_()


# ---------------------------------------------------------------- brute force


def random_paths(rng: np.random.Generator, n: int) -> list[list[str]]:
    paths = []
    for _ in range(n):
        path = [str(rng.choice(STAGES[:2]))]
        for _ in range(int(rng.integers(0, 7))):
            nxt = str(rng.choice([s for s in ALL if s != path[-1]]))
            path.append(nxt)
        paths.append(path)
    return paths


def brute_force(
    paths: list[list[str]],
) -> tuple[Counter, dict[str, float], dict[str, tuple[int, int]]]:
    counts: Counter = Counter()
    for path in paths:
        for a, b in pairwise(path):
            counts[(a, b)] += 1
    # value iteration on the absorbing chain: w(s) = P(s->won) + sum_open P(s->t) w(t),
    # started from 0 (stages without exits stay at 0; the caller skips those cases)
    exits = {s: sum(v for (a, _), v in counts.items() if a == s) for s in STAGES}
    w = dict.fromkeys(STAGES, 0.0)
    for _ in range(3000):
        new = {}
        for s in STAGES:
            total = 0.0
            for t in ALL:
                share = counts[(s, t)] / exits[s] if exits[s] else 0.0
                total += share * (1.0 if t == "won" else 0.0 if t == "lost" else w[t])
            new[s] = total
        w = new
    empirical = {}
    for s in STAGES:
        ent = [p for p in paths if s in p]
        won = sum(p[-1] == "won" for p in ent)
        closed = sum(p[-1] in ("won", "lost") for p in ent)
        empirical[s] = (won, closed)
    return counts, w, empirical


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_matches_brute_force(seed: int) -> None:
    paths = random_paths(np.random.default_rng(seed), 40)
    # the loader collapses consecutive repeats; random_paths never produces them
    res = transition_matrix(make_dataset(paths), n_bootstrap=0)
    counts, w, empirical = brute_force(paths)
    got = {(r.from_stage, r.to_stage): r.transitions for r in res.table.itertuples()}
    assert got == dict(counts)
    wp = res.win_probability.set_index("stage")
    for s in STAGES:
        won, closed = empirical[s]
        assert wp.loc[s, "closed"] == closed
        if closed:
            assert wp.loc[s, "empirical_win"] == pytest.approx(won / closed)
        if wp.loc[s, "p_unresolved"] == 0:  # resolved without stages that lead nowhere
            assert wp.loc[s, "p_win"] == pytest.approx(w[s], abs=1e-6)
    # properties
    p = res.table["probability"]
    assert ((p >= 0) & (p <= 1)).all()
    ok = wp["p_win"].notna()
    total = wp.loc[ok, ["p_win", "p_lost", "p_unresolved"]].sum(axis=1)
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    assert ((wp.loc[ok, "p_win"] >= -1e-12) & (wp.loc[ok, "p_win"] <= 1 + 1e-12)).all()


def test_bootstrap_matches_naive_deal_resampling() -> None:
    rng = np.random.default_rng(11)
    paths = random_paths(rng, 150)
    ds = make_dataset(paths)
    res = transition_matrix(ds, n_bootstrap=3000, seed=3).win_probability.set_index("stage")
    # naive bootstrap: resample deals with replacement, rebuild counts, solve
    boot = []
    for _ in range(600):
        pick = [paths[i] for i in rng.integers(0, len(paths), len(paths))]
        _, w, _ = brute_force_fast(pick)
        boot.append(w)
    naive = np.nanquantile(np.array(boot), [0.025, 0.975], axis=0)
    ok = ~np.isnan(naive[0])
    np.testing.assert_allclose(res["p_win_low"].to_numpy()[ok], naive[0][ok], atol=0.04)
    np.testing.assert_allclose(res["p_win_high"].to_numpy()[ok], naive[1][ok], atol=0.04)


def brute_force_fast(paths: list[list[str]]) -> tuple[None, list[float], None]:
    idx = {s: i for i, s in enumerate(ALL)}
    c = np.zeros((4, 6))
    for path in paths:
        for a, b in pairwise(path):
            if idx[a] < 4:
                c[idx[a], idx[b]] += 1
    ex = c.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        p = c / ex
    if (ex == 0).any():
        return None, [float("nan")] * 4, None
    try:
        w = np.linalg.solve(np.eye(4) - p[:, :4], p[:, 4])
    except np.linalg.LinAlgError:
        return None, [float("nan")] * 4, None
    return None, w.tolist(), None


def test_pattern_bootstrap_equals_reference() -> None:
    """The fast pattern grouping draws exactly what ``np.unique(axis=0)`` grouping would."""
    from salesanalytics.transitions import _absorb, _bootstrap

    rng = np.random.default_rng(2)
    k, s, n_deals = 4, 6, 300
    who = np.sort(rng.integers(0, n_deals - 20, 900))
    fr = rng.integers(0, 6, 900)
    cell = fr * s + rng.integers(0, 6, 900)
    got = _bootstrap(who, cell, fr < k, n_deals, k, s, 50, np.random.default_rng(9))
    per = np.zeros((n_deals, k * s), dtype=np.int32)
    np.add.at(per, (who[fr < k], cell[fr < k]), 1)
    used = per[np.unique(who[fr < k])]
    patterns, freq = np.unique(used, axis=0, return_counts=True)
    patterns = np.vstack([patterns, np.zeros((1, k * s), dtype=np.int32)])
    freq = np.r_[freq, n_deals - len(used)] / n_deals
    w = np.random.default_rng(9).multinomial(n_deals, freq, size=50).astype(float)
    want = _absorb((w @ patterns).reshape(50, k, s), k)[..., 0]
    np.testing.assert_allclose(got, want)
