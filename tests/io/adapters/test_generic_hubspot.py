"""Generic exports (Kaggle-style current state, custom events via a mapping) and HubSpot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.funnel import stage_reach
from salesanalytics.timing import time_in_stage

EXPORTS = Path(__file__).resolve().parents[2] / "data" / "exports"
T = pd.Timestamp
HUBSPOT = EXPORTS / "hubspot" / "hubspot-crm-exports-all-deals-2024-04-01.csv"


def test_kaggle_style_current_state() -> None:
    ds = sa.load(EXPORTS / "generic_kaggle")
    assert ds.provenance.detected.startswith("generic")
    assert ds.provenance.fidelity == "current_state"
    d = ds.deals.set_index("deal_id")
    assert len(d) == 9 and d["outcome"].value_counts().to_dict() == {"won": 7, "lost": 1, "open": 1}
    assert d.loc["1C1I7A6R", "owner_id"] == "Moses Frase"
    assert d.loc["1C1I7A6R", "amount"] == 1054.0
    assert d.loc["1C1I7A6R", "closed_at"] == T("2017-03-01", tz="UTC")
    assert d.loc["OLK9LKZB", "stage"] == "contacted"  # "Engaging"
    assert d.loc["Z063OYW0", "product_line"] == "GTXPro"
    # the Prospecting row has no engage date: quarantined, with its line
    p = ds.quality.problems
    bad = p[p["code"] == "missing_required"]
    assert bad[["line", "column"]].values.tolist() == [[11, "created_at"]]
    assert ds.reps.set_index("rep_id").loc["Zane Levy", "region"] == "West"
    assert ds.quality.balanced
    with pytest.raises(ValueError, match="current-state"):
        time_in_stage(ds)


def test_custom_events_with_mapping_file() -> None:
    folder = EXPORTS / "generic_events"
    ds = sa.load(folder, mapping=folder / "mapping.toml")
    assert ds.provenance.detected.startswith("generic")
    assert ds.provenance.fidelity == "full_history"
    d = ds.deals.set_index("deal_id")
    assert d["amount"].tolist() == [1200.0, 800.0, 3000.5]
    assert d["currency"].unique().tolist() == ["EUR"]
    assert d.loc["G-1", "created_at"] == T("2024-01-04 23:00", tz="UTC")  # Berlin midnight
    ev = ds.stage_events
    assert ev[ev["deal_id"] == "G-1"]["stage"].tolist() == ["lead", "proposal", "won"]
    assert ds.quality.counts.loc["stage_events", "merged"] == 1


def test_hubspot_ui_export_date_entered_columns() -> None:
    ds = sa.load(HUBSPOT)
    assert ds.provenance.detected.startswith("hubspot")
    assert ds.provenance.fidelity == "latest_per_stage"
    d = ds.deals.set_index("deal_id")
    assert d["outcome"].tolist() == ["won", "lost", "open", "won"]
    assert d["pipeline"].tolist() == ["Sales Pipeline"] * 3 + ["Partner Pipeline"]
    assert d.loc["9001", "lead_source"] == "Organic Search"
    assert d.loc["9002", "lost_reason"] == "Price"
    assert d.loc["9003", "expected_close_at"] == T("2024-04-30", tz="UTC")
    assert not any(c.startswith('date_entered_"') for c in d.columns)  # moved to events
    assert 'date_exited_"appointment_scheduled_(sales_pipeline)"' in d.columns  # kept
    ev = ds.stage_events
    assert ev[ev["deal_id"] == "9001"]["stage"].tolist() == ["contacted", "proposal", "won"]
    assert ev[ev["deal_id"] == "9004"]["stage"].tolist() == ["lead", "won"]
    # the events point at the deal's line in the export
    merged = ds.quality.problems[ds.quality.problems["code"] == "repeated_stage"]
    assert sorted(merged["line"].astype(int)) == [2, 4]
    assert merged["file"].str.endswith('[Date entered "Qualified To Buy (Sales Pipeline)"]').all()
    assert ds.quality.balanced
    [src] = [s for s in ds.provenance.sources if s.table == "stage_events"]
    assert src.rows == 11 and src.path == str(HUBSPOT)
    res = time_in_stage(ds)
    assert res.caveats and "latest_per_stage" in res.caveats[0]
    assert stage_reach(ds).table.loc["won", "reached"] == 2


def test_hubspot_api_export_hs_v2_properties() -> None:
    ds = sa.load(EXPORTS / "hubspot_api")
    assert ds.provenance.detected.startswith("hubspot")
    d = ds.deals.set_index("deal_id")
    assert d["stage"].tolist() == ["won", "lost", "negotiation"]
    assert d["owner_id"].tolist() == ["71", "72", "71"]
    assert d["lead_source"].tolist() == ["ORGANIC_SEARCH", "PAID_SEARCH", "REFERRALS"]
    assert d["currency"].unique().tolist() == ["EUR"]
    ev = ds.stage_events
    assert ev[ev["deal_id"] == "501"]["stage"].tolist() == ["contacted", "negotiation", "won"]


def test_hubspot_custom_stage_id_is_rejected_then_mapped(tmp_path: Path) -> None:
    src = (EXPORTS / "hubspot_api" / "deals.csv").read_text()
    path = tmp_path / "deals.csv"
    path.write_text(src.replace("contractsent,7500", "12345678,7500"))
    ds = sa.load(path)
    p = ds.quality.problems
    bad = p[p["code"] == "unknown_stage"]
    assert bad["line"].astype(int).tolist() == [4] and ds.quality.balanced
    ok = sa.load(path, mapping={"stages": {"aliases": {"12345678": "negotiation"}}})
    assert ok.quality.n_rejected == 0


def test_hubspot_missing_stage_columns_is_current_state(tmp_path: Path) -> None:
    frame = pd.read_csv(HUBSPOT, dtype=str)
    keep = [c for c in frame.columns if not c.startswith("Date ")]
    frame[keep].to_csv(tmp_path / "deals.csv", index=False)
    ds = sa.load(tmp_path / "deals.csv")
    assert ds.provenance.detected.startswith("hubspot")
    assert ds.provenance.fidelity == "current_state"


def test_input_files_untouched(tmp_path: Path) -> None:
    shutil.copytree(EXPORTS / "hubspot", tmp_path / "h")
    before = {p.name: p.read_bytes() for p in (tmp_path / "h").iterdir()}
    sa.load(tmp_path / "h")
    assert {p.name: p.read_bytes() for p in (tmp_path / "h").iterdir()} == before
