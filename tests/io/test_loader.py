"""Golden loads of small hand-made files, and every kind of bad input with its documented code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.quality import PROBLEMS

T = pd.Timestamp

DEALS = """deal_id,created_at,closed_at,outcome,amount,currency,owner_id,lead_source,region
D1,2024-01-05T09:00:00Z,2024-02-10T10:30:00Z,won,"12,500.00",USD,R1,referral,East
D2,2024-01-07T12:00:00+08:00,2024-01-20,lost,$800,USD,R2,website,West
D3,2024-02-01,,open,3000,USD,R1,website,East
"""
EVENTS = """deal_id,stage,entered_at
D1,Lead,2024-01-05T09:00:00Z
D1,Proposal,2024-01-10T09:00:00Z
D1,Proposal,2024-01-12T09:00:00Z
D1,Closed Won,2024-02-10T10:30:00Z
D2,lead,2024-01-07T04:00:00Z
D2,lost,2024-01-20T00:00:00Z
D3,lead,2024-02-01T00:00:00Z
"""


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def problems_at(ds: sa.Dataset) -> set[tuple[str, int, str]]:
    p = ds.quality.problems
    return {
        (Path(f).name, int(line), code)
        for f, line, code in zip(p["file"], p["line"], p["code"], strict=True)
        if pd.notna(line)
    }


def test_golden_csv_folder(tmp_path: Path) -> None:
    write(tmp_path, "deals.csv", DEALS)
    write(tmp_path, "stage_events.csv", EVENTS)
    ds = sa.load(tmp_path)
    d = ds.deals.set_index("deal_id")
    assert d.loc["D1", "amount"] == 12500.0
    assert d.loc["D2", "amount"] == 800.0
    assert d.loc["D1", "created_at"] == T("2024-01-05 09:00", tz="UTC")
    assert d.loc["D2", "created_at"] == T("2024-01-07 04:00", tz="UTC")  # +08:00 made UTC
    assert d.loc["D2", "closed_at"] == T("2024-01-20", tz="UTC")
    assert pd.isna(d.loc["D3", "closed_at"])
    assert d["outcome"].tolist() == ["won", "lost", "open"]
    assert str(d["created_at"].dtype) == "datetime64[us, UTC]"
    ev = ds.stage_events
    # labels normalised, the amount-only repeat of Proposal merged
    assert ev["stage"].tolist() == ["lead", "proposal", "won", "lead", "lost", "lead"]
    q = ds.quality
    assert q.balanced
    assert q.counts.loc["stage_events", ["rows_in", "loaded", "merged", "rejected"]].tolist() == [
        7,
        6,
        1,
        0,
    ]
    assert problems_at(ds) >= {("stage_events.csv", 4, "repeated_stage")}
    merged = q.problems[q.problems["code"] == "repeated_stage"]["message"].iloc[0]
    assert merged.endswith("stage_events.csv:3")
    assert ds.as_of == T("2024-02-10 10:30", tz="UTC")
    assert [s.table for s in ds.provenance.sources] == ["deals", "stage_events"]
    assert (
        ds.provenance.sources[0].sha256
        == hashlib.sha256((tmp_path / "deals.csv").read_bytes()).hexdigest()
    )


MESSY = """deal_id,created_at,closed_at,outcome,amount,owner_id,stage
D1,2024-01-05,2024-02-10,won,100,R1,won
,2024-01-05,,open,100,R1,lead
D3,not a date,,open,100,R1,lead
D4,2024-01-05,,open,12abc,R1,lead
D5,2024-01-05,,open,-50,R1,lead
D6,2024-03-05,2024-01-01,lost,100,R1,lost
D1,2024-01-06,,open,100,R1,lead
D8,2024-01-05,,maybe,100,R1,lead
D9,2024-01-05,,open,100,R1,Dancing
D10,2024-01-05,,open,100,R1,lead,surplus
D11,2024-01-05,,open,,R1,proposal
D12,2024-01-05,,open,100,,lead
"""
MESSY_EVENTS = """deal_id,stage,entered_at
D1,lead,2024-01-05
D1,won,2024-02-10
D99,lead,2024-01-05
D11,lead,2024-01-05
D11,Teleport,2024-01-06
D11,proposal,
"""


def test_each_bad_input_has_its_code_and_line(tmp_path: Path) -> None:
    write(tmp_path, "deals.csv", MESSY)
    write(tmp_path, "stage_events.csv", MESSY_EVENTS)
    ds = sa.load(tmp_path)
    expected = {
        ("deals.csv", 3, "missing_required"),
        ("deals.csv", 4, "bad_datetime"),
        ("deals.csv", 5, "bad_amount"),
        ("deals.csv", 6, "negative_amount"),
        ("deals.csv", 7, "closed_before_created"),
        ("deals.csv", 8, "duplicate_id"),
        ("deals.csv", 9, "unknown_outcome"),
        ("deals.csv", 10, "unknown_stage"),
        ("deals.csv", 11, "malformed_row"),
        ("deals.csv", 12, "missing_amount"),
        ("deals.csv", 13, "missing_required"),
        ("stage_events.csv", 4, "orphan_event"),
        ("stage_events.csv", 6, "unknown_stage"),
        ("stage_events.csv", 7, "missing_required"),
    }
    assert expected <= problems_at(ds)
    q = ds.quality
    assert q.balanced
    assert q.counts.loc["deals"].tolist()[:4] == [12, 2, 0, 10]
    assert sorted(ds.deals["deal_id"]) == ["D1", "D11"]
    rej = q.rejects[q.rejects["table"] == "deals"].set_index("line")
    assert rej.loc[8, "message"].endswith("first at " + str(tmp_path / "deals.csv") + ":2")
    assert rej.loc[6, "column"] == "amount" and rej.loc[6, "value"] == "-50"
    for code in q.problems["code"]:
        assert code in PROBLEMS


def test_strict_raises_with_where_and_how(tmp_path: Path) -> None:
    write(tmp_path, "deals.csv", MESSY)
    write(tmp_path, "stage_events.csv", MESSY_EVENTS)
    with pytest.raises(sa.DataError) as err:
        sa.load(tmp_path, strict=True)
    first = str(err.value).splitlines()[0]
    assert first.startswith("13 row(s) rejected; first: ")
    assert "deals.csv:3 column deal_id" in first and "fix:" in first
    assert err.value.problems is not None and len(err.value.problems) >= 12


def test_input_files_are_never_modified(tmp_path: Path) -> None:
    files = [write(tmp_path, "deals.csv", MESSY), write(tmp_path, "stage_events.csv", EVENTS)]
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in files]
    sa.load(tmp_path)
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in files] == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals.csv", "stage_events.csv"]


GB_DEALS = """商机编号,创建时间,结单日期,销售阶段,金额（万元）,负责人,线索来源,币种
SJ-001,2024/3/5,2024/4/1,赢单,12.5,张伟,展会,CNY
SJ-002,2024/3/6,,方案报价,3,李娜,官网,CNY
SJ-003,2024/3/7,2024/3/20,输单,0.8,张伟,转介绍,CNY
"""
GB_EVENTS = """商机编号,阶段,进入时间
SJ-001,线索,2024/3/5
SJ-001,需求分析,2024/3/10
SJ-001,赢单,2024/4/1
SJ-002,线索,2024/3/6
SJ-002,方案报价,2024/3/9
SJ-003,初步接洽,2024/3/7
SJ-003,输单,2024/3/20
"""
GB_MAPPING = """
[options]
timezone = "Asia/Shanghai"

[files]
"商机*.csv" = "deals"
"阶段*.csv" = "stage_events"

[columns]
"商机编号" = "deal_id"

[tables.deals.columns]
"创建时间" = "created_at"
"结单日期" = "closed_at"
"销售阶段" = "stage"
"金额（万元）" = "amount"
"负责人" = "owner_id"
"线索来源" = "lead_source"
"币种" = "currency"

[tables.stage_events.columns]
"阶段" = "stage"
"进入时间" = "entered_at"
"""


def test_gb18030_chinese_headers_and_stages_load_after_mapping(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write(data, "商机导出.csv", GB_DEALS, "gb18030")
    write(data, "阶段历史.csv", GB_EVENTS, "gb18030")
    mapping = write(tmp_path, "mapping.toml", GB_MAPPING)
    ds = sa.load(data, mapping=mapping)
    assert ds.quality.n_rejected == 0 and ds.quality.balanced
    d = ds.deals.set_index("deal_id")
    assert d["amount"].tolist() == [125000.0, 30000.0, 8000.0]  # 万元 from the header
    assert d["outcome"].tolist() == ["won", "open", "lost"]
    assert d["stage"].tolist() == ["won", "proposal", "lost"]
    assert d.loc["SJ-001", "owner_id"] == "张伟"
    # midnight in Shanghai is 16:00 UTC the day before
    assert d.loc["SJ-001", "created_at"] == T("2024-03-04 16:00", tz="UTC")
    assert ds.stage_events["stage"].tolist() == [
        "lead",
        "proposal",
        "won",
        "lead",
        "proposal",
        "contacted",
        "lost",
    ]
    assert {s.encoding for s in ds.provenance.sources} == {"gb18030"}


def test_cp1252_european_amounts_and_day_first_dates(tmp_path: Path) -> None:
    text = (
        "deal_id;created_at;outcome;amount;owner_id\n"
        "E1;25.03.2024;open;1.234,50 €;Zoë\n"
        "E2;02.04.2024;open;€ 99,00;Zoë\n"
    )
    write(tmp_path, "deals.csv", text, "cp1252")
    write(tmp_path, "stage_events.csv", "deal_id,stage,entered_at\nE1,lead,2024-03-25\n")
    ds = sa.load(tmp_path)
    d = ds.deals.set_index("deal_id")
    assert d["amount"].tolist() == [1234.5, 99.0]
    assert d.loc["E2", "created_at"] == T(
        "2024-04-02", tz="UTC"
    )  # 25.03 makes the column day-first
    assert d.loc["E1", "owner_id"] == "Zoë"
    assert ds.provenance.sources[0].encoding == "cp1252"


def test_xlsx_and_parquet_golden(tmp_path: Path) -> None:
    deals = pd.DataFrame(
        {
            "Deal ID": ["X1", "X2"],
            "Created At": [T("2024-05-01 08:00"), T("2024-05-02 09:30")],
            "Outcome": ["Won", "open"],
            "Amount": [1500.25, 99.0],
            "Owner ID": ["R1", "R2"],
        }
    )
    events = pd.DataFrame(
        {
            "deal_id": ["X1", "X1", "X2"],
            "stage": ["lead", "won", "lead"],
            "entered_at": ["2024-05-01 08:00", "2024-05-03", "2024-05-02 09:30"],
        }
    )
    with pd.ExcelWriter(tmp_path / "crm.xlsx") as xl:
        deals.to_excel(xl, sheet_name="deals", index=False)
        events.to_excel(xl, sheet_name="stage_events", index=False)
    ds = sa.load(tmp_path / "crm.xlsx")
    d = ds.deals.set_index("deal_id")
    assert d.loc["X1", "created_at"] == T("2024-05-01 08:00", tz="UTC")
    assert d.loc["X1", "amount"] == 1500.25 and d.loc["X1", "outcome"] == "won"
    assert len(ds.stage_events) == 3

    pq = tmp_path / "pq"
    pq.mkdir()
    deals.assign(**{"Created At": deals["Created At"].dt.tz_localize("Europe/Berlin")}).to_parquet(
        pq / "deals.parquet"
    )
    events.to_parquet(pq / "stage_events.parquet")
    dp = sa.load(pq).deals.set_index("deal_id")
    assert dp.loc["X1", "created_at"] == T("2024-05-01 06:00", tz="UTC")
    assert dp.loc["X2", "amount"] == 99.0


def test_unusable_input_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(sa.DataError, match="no such file"):
        sa.load(tmp_path / "missing.csv")
    with pytest.raises(sa.DataError, match="no data files"):
        sa.load(tmp_path)
    write(tmp_path, "notes.csv", "colour,size\nred,3\n")
    with pytest.raises(sa.DataError, match="no deals table"):
        sa.load(tmp_path)
    write(tmp_path, "deals.csv", "deal_id,created_at,outcome,amount\nD1,2024-01-01,open,5\n")
    with pytest.raises(sa.DataError, match="owner_id"):
        sa.load(tmp_path / "deals.csv")


def test_current_state_export_without_history(tmp_path: Path) -> None:
    write(
        tmp_path,
        "deals.csv",
        "Deal ID,Created,Stage,Amount,Owner\nA,2024-01-01,Negotiation/Review,5,r\n"
        "B,2024-01-02,Closed Won,7,r\n",
    )
    ds = sa.load(
        tmp_path / "deals.csv", mapping={"columns": {"Created": "created_at", "Owner": "owner_id"}}
    )
    assert ds.provenance.fidelity == "current_state"
    assert ds.deals["outcome"].tolist() == ["open", "won"]
    assert ds.stage_events.empty
    assert ds.deals.loc[1, "closed_at"] is pd.NaT or pd.isna(ds.deals.loc[1, "closed_at"])
    codes = set(ds.quality.problems["code"])
    assert "closed_without_date" in codes


def test_warnings_do_not_reject(tmp_path: Path) -> None:
    write(
        tmp_path,
        "deals.csv",
        "deal_id,created_at,outcome,amount,currency,owner_id,expected_close_at\n"
        "A,2024-01-01,open,5,USD,r1,2024-02-01\n"
        "B,2024-06-01,open,5,EUR,ghost,2024-12-01\n",
    )
    write(
        tmp_path,
        "stage_events.csv",
        "deal_id,stage,entered_at\nA,lead,2024-01-01\nB,lead,2024-06-01\n",
    )
    write(tmp_path, "reps.csv", "rep_id,name\nr1,Ann\n")
    ds = sa.load(tmp_path, as_of="2024-06-30")
    assert len(ds.deals) == 2 and ds.quality.n_rejected == 0
    got = problems_at(ds)
    assert ("deals.csv", 2, "past_expected_close") in got
    assert ("deals.csv", 2, "stale_open_deal") in got
    assert ("deals.csv", 3, "unknown_owner") in got
    assert ("deals.csv", 3, "stale_open_deal") not in got
    assert "mixed_currencies" in set(ds.quality.problems["code"])
    assert ds.as_of == T("2024-06-30", tz="UTC")


def test_dataset_is_immutable(tmp_path: Path) -> None:
    write(tmp_path, "deals.csv", DEALS)
    write(tmp_path, "stage_events.csv", EVENTS)
    ds = sa.load(tmp_path)
    d = ds.deals
    d.loc[0, "amount"] = -1.0
    assert ds.deals.loc[0, "amount"] == 12500.0
    with pytest.raises(AttributeError):
        ds.stages = sa.StageModel.default()  # type: ignore[misc]
    assert np.isfinite(ds.deals["amount"]).all()


EVERY_CODE_FILES = {
    "deals.csv": (
        "deal_id,created_at,closed_at,outcome,amount,currency,owner_id,expected_close_at,margin\n"
        "A,2024-01-01,2024-02-01,won,,USD,r1,,0.3\n"  # won_without_amount
        "B,2024-01-01,,lost,5,EUR,r1,,0.2\n"  # closed_without_date, mixed_currencies
        "C,2024-01-01,2024-03-01,open,5,USD,r1,2024-01-15,lots\n"  # open_with_close_date; margin
        "D,2024-01-01,,open,5,USD,ghost,,\n"  # unknown_owner, stale, past expected close
        "E,2024-01-01,,won,5,USD,r1,,\n"  # outcome_stage_mismatch
        "F,2024-01-01,,open,7,USD,r1,,\n"
    ),
    "stage_events.csv": (
        "deal_id,stage,entered_at\n"
        "A,lead,2024-01-01\nA,won,2024-02-01\nB,lead,2024-01-01\nB,lost,2024-01-20\n"
        "C,lead,2024-01-01\nD,lead,2024-01-01\nE,lead,2024-01-01\n"
        "F,lead,2023-12-01\n"  # event_before_created
    ),
    "leads.csv": (
        "lead_id,created_at,first_response_at,score\n"
        "L1,2024-01-05,2024-01-04,50\n"  # dates_out_of_order
        "L2,03/04/2024,,x\n"  # ambiguous_dates; unreadable_value (a bad score only warns)
    ),
    "activities.csv": "at,lead_id,deal_id,kind\n2024-01-02,,,call\n",  # no_reference
    "reps.csv": "rep_id,hire_date,end_date\nr1,2023-01-01,2022-01-01\nr2,2023-01-01,\n",
    # bad_amount:
    "quotas.csv": "rep_id,period_start,period_end,quota\nr2,2024-01-01,2024-02-01,abc\n",
    "spend.csv": "lead_source,period_start,cost\nweb,2024-01-01,-3\n",  # negative_amount
}


def test_every_documented_problem_code_is_produced(tmp_path: Path) -> None:
    """Between MESSY, the GB/ambiguity cases and these files, every code in PROBLEMS occurs."""
    seen: set[str] = set()
    (tmp_path / "every").mkdir()
    for name, text in EVERY_CODE_FILES.items():
        write(tmp_path / "every", name, text)
    ds = sa.load(tmp_path / "every", as_of="2024-06-30")
    seen |= set(ds.quality.problems["code"])
    messy = tmp_path / "messy"
    messy.mkdir()
    write(messy, "deals.csv", MESSY)
    write(messy, "stage_events.csv", MESSY_EVENTS)
    seen |= set(sa.load(messy).quality.problems["code"])
    events = tmp_path / "events"
    events.mkdir()
    write(events, "deals.csv", DEALS)
    write(events, "stage_events.csv", EVENTS)
    seen |= set(sa.load(events).quality.problems["code"])
    assert seen == set(PROBLEMS), sorted(set(PROBLEMS) - seen)
    rep = ds.quality
    assert ("reps.csv", 2, "end_before_start") in problems_at(ds)
    assert ("activities.csv", 2, "no_reference") in problems_at(ds)
    assert ("deals.csv", 4, "open_with_close_date") in problems_at(ds)
    moved = ds.deals.set_index("deal_id").loc["C"]
    assert pd.isna(moved["closed_at"]) and moved["expected_close_at"] == T("2024-01-15", tz="UTC")
    assert rep.balanced


def test_tsv_with_bom_excel_serials_and_epoch_millis(tmp_path: Path) -> None:
    text = (
        "deal_id\tcreated_at\tclosed_at\toutcome\tamount\towner_id\n"
        "T1\t45292\t1706745600000\twon\t1 234,50\tr1\n"  # Excel serial 2024-01-01; epoch ms
        "T2\t45293.5\t\topen\t10\tr1\n"
    )
    write(tmp_path, "deals.tsv", "\ufeff" + text)
    write(tmp_path, "stage_events.csv", "deal_id,stage,entered_at\nT1,won,2024-02-01\n")
    ds = sa.load(tmp_path)
    d = ds.deals.set_index("deal_id")
    assert list(d.index) == ["T1", "T2"]  # the BOM does not leak into the first header
    assert d.loc["T1", "created_at"] == T("2024-01-01", tz="UTC")
    assert d.loc["T2", "created_at"] == T("2024-01-02 12:00", tz="UTC")
    assert d.loc["T1", "closed_at"] == T("2024-02-01", tz="UTC")
    assert d["amount"].tolist() == [1234.5, 10.0]
    assert ds.provenance.sources[0].encoding == "utf-8-sig"
