"""Detection (what, why, refusal), mapping layering, suggest-mapping and the CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.cli import main
from salesanalytics.dataset import Provenance
from salesanalytics.io.adapters import detect_format, suggest_mapping
from salesanalytics.io.mapping import ColumnMapping
from salesanalytics.io.readers import read_table

EXPORTS = Path(__file__).resolve().parents[2] / "data" / "exports"
FAMILIES = {
    "salesforce_real": "salesforce",
    "salesforce": "salesforce",
    "salesforce_report": "salesforce",
    "salesforce_fieldhistory": "salesforce",
    "salesforce_report_history": "salesforce",
    "hubspot": "hubspot",
    "hubspot_api": "hubspot",
    "pipedrive": "pipedrive",
    "zoho": "zoho",
    "chinese": "chinese",
    "generic_kaggle": "generic",
    "generic_events": "generic",
}


def raws(folder: Path) -> list:
    return [r for f in sorted(folder.glob("*.csv")) for r in read_table(f)]


@pytest.mark.parametrize("folder", sorted(FAMILIES))
def test_each_fixture_is_detected_with_a_reason(folder: str) -> None:
    det = detect_format(raws(EXPORTS / folder))
    assert det.format == FAMILIES[folder]
    assert det.reason and str(det).startswith(det.format)


def test_canonical_sample_is_generic() -> None:
    ds = sa.load("data/sample")
    assert ds.provenance.detected.startswith("generic")


def test_ambiguous_export_is_refused(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "Record Id,dealname,Closing Date,dealstage,Created Time,amount\n1,a,2024-01-01,x,y,1\n"
    )
    with pytest.raises(sa.DataError, match=r"cannot tell which CRM.*hubspot.*zoho"):
        sa.load(tmp_path)
    with pytest.raises(sa.DataError, match="unknown format"):
        sa.load(tmp_path, format="excel")


def test_format_forced() -> None:
    ds = sa.load(EXPORTS / "salesforce", format="salesforce")
    assert ds.provenance.detected == 'salesforce (format="salesforce" given)'


def test_user_mapping_wins_over_adapter() -> None:
    ds = sa.load(
        EXPORTS / "salesforce",
        mapping={"tables": {"deals": {"columns": {"Name": "region", "LeadSource": "industry"}}}},
    )
    d = ds.deals.set_index("deal_id")
    assert d.loc["0061", "region"] == "Acme New Logo" and d.loc["0061", "industry"] == "Web"
    assert d["lead_source"].isna().all()
    user = ColumnMapping.from_dict({"stages": {"aliases": {"Foo": "lead"}}})
    layered = user.over({"stages": {"aliases": {"Bar": "won"}}})
    model = layered.stage_model(None)
    assert model.canonical("foo") == "lead" and model.canonical("bar") == "won"


def test_require_history() -> None:
    ds = sa.load(EXPORTS / "salesforce")
    ds.require_history("anything")
    flat = ds.replace(provenance=Provenance(fidelity="current_state"))
    with pytest.raises(ValueError, match="cycle analysis needs stage history"):
        flat.require_history("cycle analysis")


def test_suggest_mapping_round_trip(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(
        "Opp,Opened,Phase,Worth,Rep\nA,2024-01-02,Demo Done,5,r1\nB,2024-01-03,Lead,7,r2\n"
    )
    text = suggest_mapping(tmp_path)
    spec = tomllib.loads(text)  # valid TOML
    assert '"export.csv" = "deals"' in text and '# "Phase" = ""' in text
    assert "still missing (required): deal_id, created_at, outcome, amount" in text
    assert '"Rep" = "owner_id"' in text  # a common spelling
    assert spec["files"] == {"export.csv": "deals"}
    spec = {
        "files": {"export.csv": "deals"},
        "tables": {
            "deals": {
                "columns": {
                    "Opp": "deal_id",
                    "Opened": "created_at",
                    "Phase": "stage",
                    "Worth": "amount",
                    "Rep": "owner_id",
                }
            }
        },
        "stages": {"aliases": {"Demo Done": "proposal"}},
    }
    ds = sa.load(tmp_path, mapping=spec)
    assert ds.deals["stage"].tolist() == ["proposal", "lead"]


def test_cli_validate_prints_detection(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXPORTS / "pipedrive")]) == 0
    out = capsys.readouterr().out
    assert "Detected: pipedrive" in out and "history: full_history" in out
    assert main(["validate", "--json", "--format", "pipedrive", str(EXPORTS / "pipedrive")]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["detected"].startswith("pipedrive") and payload["fidelity"] == "full_history"


def test_cli_ambiguous_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "deals.csv").write_text(
        "Record Id,dealname,Closing Date,dealstage,Created Time,amount\n1,a,2024-01-01,x,y,1\n"
    )
    assert main(["validate", str(tmp_path)]) == 2
    assert "cannot tell which CRM" in capsys.readouterr().err


def test_cli_suggest_mapping_writes_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = EXPORTS / "hubspot"
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    out = tmp_path / "m.toml"
    args = ["validate", "--suggest-mapping", "--mapping-out", str(out), str(src)]
    assert main(args) == 0
    spec = tomllib.loads(out.read_text())
    assert spec["tables"]["deals"]["columns"]["Record ID"] == "deal_id"
    assert "detected: hubspot" in out.read_text()
    assert main(args) == 2  # never replaces a file
    assert "already exists" in capsys.readouterr().err
    victim = next(src.iterdir())
    assert main([*args[:3], str(victim), str(src)]) == 2
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before
    ds = sa.load(src, mapping=out)  # the suggestion loads as it is
    assert len(ds.deals) == 4 and not pd.isna(ds.as_of)
