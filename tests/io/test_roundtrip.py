"""Properties: a generated dataset survives save -> load unchanged; corrupted files lose no row."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesanalytics as sa
from salesanalytics import sample
from salesanalytics.io import save


def assert_same_tables(a: sa.Dataset, b: sa.Dataset) -> None:
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), check_exact=True, obj=name)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 150))
def test_generated_dataset_round_trips_through_csv(seed: int, n: int) -> None:
    ds = sample.generate(n, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        save(ds, tmp)
        back = sa.load(tmp, strict=True)
    assert_same_tables(ds, back)
    assert back.quality.balanced
    assert back.as_of is not None


def test_formula_like_text_round_trips_and_is_neutralised(tmp_path: Path) -> None:
    ds = sample.generate(30, seed=5)
    deals = ds.deals
    deals.loc[0, "lost_reason"] = '=HYPERLINK("http://x")'
    deals.loc[1, "lost_reason"] = "-dropped"
    deals.loc[2, "lost_reason"] = "'quoted"
    ds2 = ds.replace(deals=deals)
    save(ds2, tmp_path)
    text = (tmp_path / "deals.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert_same_tables(ds2, sa.load(tmp_path, strict=True))


CORRUPTIONS = (
    "blank_required",
    "garbage_date",
    "negative_amount",
    "duplicate_row",
    "extra_field",
    "unknown_stage",
    "garbage_amount",
    "swap_dates",
    "orphan_event",
)


def _read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def corrupt(folder: Path, rng: np.random.Generator, n_changes: int) -> None:
    deals_path, events_path = folder / "deals.csv", folder / "stage_events.csv"
    deals, events = _read_rows(deals_path), _read_rows(events_path)
    col = {name: i for i, name in enumerate(deals[0])}
    for _ in range(n_changes):
        kind = CORRUPTIONS[rng.integers(len(CORRUPTIONS))]
        i = int(rng.integers(1, len(deals)))
        cells = list(deals[i])
        if kind == "blank_required":
            cells[col[str(rng.choice(["deal_id", "created_at", "owner_id", "outcome"]))]] = ""
        elif kind == "garbage_date":
            cells[col["created_at"]] = "31/31/2024x"
        elif kind == "negative_amount":
            cells[col["amount"]] = "-10"
        elif kind == "garbage_amount":
            cells[col["amount"]] = "12..5$x"
        elif kind == "duplicate_row":
            deals.append(deals[i])
            continue
        elif kind == "extra_field":
            cells.append("surplus")
        elif kind == "unknown_stage":
            j = int(rng.integers(1, len(events)))
            events[j] = [events[j][0], "Limbo", events[j][2]]
            continue
        elif kind == "swap_dates":
            cells[col["closed_at"]] = "2000-01-01T00:00:00Z"
        elif kind == "orphan_event":
            events.append(["NO_SUCH_DEAL", "lead", "2024-01-01T00:00:00Z"])
            continue
        deals[i] = cells
    _write_rows(deals_path, deals)
    _write_rows(events_path, events)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_changes=st.integers(1, 40))
def test_row_conservation_on_corrupted_files(seed: int, n_changes: int) -> None:
    rng = np.random.default_rng(seed)
    ds = sample.generate(120, seed=int(rng.integers(1000)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save(ds, folder, tables=["deals", "stage_events"])
        corrupt(folder, rng, n_changes)
        lines = {
            name: len(_read_rows(folder / f"{name}.csv")) - 1 for name in ("deals", "stage_events")
        }
        back = sa.load(folder)
    q = back.quality
    assert q.balanced
    for name, n_rows in lines.items():
        c = q.counts.loc[name]
        assert c["rows_in"] == n_rows
        assert c["loaded"] == len(back.table(name))
    # every rejected line is a real line of its file, and loaded deals are valid
    rej = q.rejects
    assert (rej["line"] >= 2).all()
    d = back.deals
    assert d["deal_id"].is_unique and (d["amount"].dropna() >= 0).all()
    assert (d["closed_at"].isna() | (d["closed_at"] >= d["created_at"])).all()
    assert back.stage_events["deal_id"].isin(d["deal_id"]).all()
