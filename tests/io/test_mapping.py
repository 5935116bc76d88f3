"""Mapping files: format, validation errors that name file, section and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesanalytics import DataError
from salesanalytics.io import ColumnMapping
from salesanalytics.io.tables import identify_table


def test_headers_resolve_by_mapping_then_canonical_spelling() -> None:
    m = ColumnMapping.from_dict(
        {
            "columns": {"Opportunity ID": "deal_id"},
            "tables": {"deals": {"columns": {"Close Date": "expected_close_at"}}},
        }
    )
    got = m.resolve_headers(
        "deals", ["Opportunity ID", "Created At", "Close Date", "Sales Region", "OWNER-ID"]
    )
    assert got == {
        "Opportunity ID": "deal_id",
        "Created At": "created_at",
        "Close Date": "expected_close_at",
        "Sales Region": "sales_region",
        "OWNER-ID": "owner_id",
    }
    with pytest.raises(DataError, match="both map to column 'deal_id'"):
        m.resolve_headers("deals", ["Opportunity ID", "deal_id"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[colums]\n", "unknown section"),
        ("[options]\ntimezon = 'UTC'\n", r"\[options\]: unknown option"),
        ("[options]\ndayfirst = 'yes'\n", "dayfirst: must be true or false"),
        ("[files]\n'a.csv' = 'opps'\n", r"\[files\] 'a.csv': unknown table 'opps'"),
        ("[columns]\nID = 'dealid'\n", "unknown canonical column 'dealid'"),
        ("[tables.deals.columns]\nX = 'rep_id'\n", "'rep_id' is not a column of deals"),
        ("[tables.deals.units]\nowner_id = 10\n", "not a numeric column"),
        ("[tables.deals.units]\namount = -1\n", "factor -1 invalid"),
        ("[stages]\norder = ['a', 'a']\n", r"\[stages\]"),
        ("not toml = = \n", "not valid TOML"),
    ],
)
def test_bad_mapping_files_name_file_section_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        ColumnMapping.from_toml(path)
    assert str(path) in str(err.value)


def test_table_identification() -> None:
    m = ColumnMapping.from_dict({"files": {"export_*.csv": "leads"}})
    assert identify_table("export_1.csv", [], m)[0] == "leads"
    assert identify_table("Opportunity.csv", [], m)[0] == "deals"
    assert identify_table("stage_history-2024.xlsx", [], m)[0] == "stage_events"
    assert (
        identify_table("x.csv", ["rep_id", "period_start", "period_end", "quota"], m)[0] == "quotas"
    )
    assert (
        identify_table("x.csv", ["deal_id", "created_at", "outcome", "amount", "owner_id"], m)[0]
        == "deals"
    )
    table, reason = identify_table("x.csv", ["colour"], m)
    assert table is None and "[files]" in reason
