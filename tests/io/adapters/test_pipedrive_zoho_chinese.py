"""Pipedrive (deals + deal flow), Zoho (deals + stage history) and Chinese CRM exports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import salesanalytics as sa
from salesanalytics.funnel import stage_reach

EXPORTS = Path(__file__).resolve().parents[2] / "data" / "exports"
T = pd.Timestamp
SH = "Asia/Shanghai"


def test_pipedrive_deals_and_flow() -> None:
    ds = sa.load(EXPORTS / "pipedrive")
    assert ds.provenance.detected.startswith("pipedrive")
    assert ds.provenance.fidelity == "full_history"
    d = ds.deals.set_index("deal_id")
    assert d["outcome"].tolist() == ["won", "lost", "open"]
    assert d["stage"].tolist() == ["won", "proposal", "contacted"]
    assert d.loc["301", "pipedrive_stage"] == "Negotiations Started"
    assert d.loc["301", "closed_at"] == T("2024-02-10 15:00", tz="UTC")  # won time
    assert d.loc["302", "closed_at"] == T("2024-01-25 12:00", tz="UTC")  # lost time
    assert d.loc["302", "lost_reason"] == "Too expensive"
    ev = ds.stage_events
    assert ev[ev["deal_id"] == "301"]["stage"].tolist() == [
        "lead",
        "proposal",
        "negotiation",
        "won",
    ]
    p = ds.quality.problems
    deleted = p[p["code"] == "unknown_outcome"]
    assert deleted[["line", "value"]].values.tolist() == [[5, "deleted"]]
    assert any("2 other change(s) ignored" in n for n in ds.quality.notes)
    assert ds.quality.balanced


def test_pipedrive_without_flow_is_current_state(tmp_path: Path) -> None:
    src = EXPORTS / "pipedrive" / "deals-export.csv"
    (tmp_path / "deals-export.csv").write_bytes(src.read_bytes())
    ds = sa.load(tmp_path)
    assert ds.provenance.fidelity == "current_state"
    # won deals count through every stage, lost ones as far as they got
    reach = stage_reach(ds).table["reached"]
    assert reach.loc[["lead", "proposal", "won"]].tolist() == [3, 2, 1]


def test_zoho_deals_and_stage_history() -> None:
    ds = sa.load(EXPORTS / "zoho")
    assert ds.provenance.detected.startswith("zoho")
    d = ds.deals.set_index("deal_id")
    assert d["outcome"].tolist() == ["won", "lost", "open"]  # Closed-Lost to Competition
    assert d.loc["zcrm_4001", "owner_id"] == "Ana Ortiz"
    assert d.loc["zcrm_4001", "closed_at"] == T("2024-03-01", tz="UTC")
    assert d.loc["zcrm_4002", "lost_reason"] == "Price"
    assert d.loc["zcrm_4003", "crm_probability"] == 0.5
    ev = ds.stage_events
    assert ev[ev["deal_id"] == "zcrm_4001"]["stage"].tolist() == [
        "contacted",
        "proposal",
        "negotiation",
        "won",
    ]
    assert ds.quality.n_rejected == 0 and ds.quality.balanced


def test_chinese_gb18030_export() -> None:
    ds = sa.load(EXPORTS / "chinese")
    assert ds.provenance.detected.startswith("chinese")
    assert {s.encoding for s in ds.provenance.sources} == {"gb18030"}
    assert ds.provenance.timezone == SH
    d = ds.deals.set_index("deal_id")
    assert d["amount"].tolist() == [125000.0, 30000.0, 8000.0, 10000.0]  # 万元
    assert d["outcome"].tolist() == ["won", "open", "lost", "lost"]  # 无效 is lost
    assert d["stage"].tolist() == ["won", "proposal", "lost", "contacted"]
    assert d.loc["SJ-001", "created_at"] == T("2024-03-04 16:00", tz="UTC")
    assert d.loc["SJ-002", "expected_close_at"] == T("2024-06-29 16:00", tz="UTC")
    assert d.loc["SJ-003", "lost_reason"] == "价格" and d.loc["SJ-001", "account_id"] == "华东物流"
    assert d.loc["SJ-001", "crm_probability"] == 1.0
    ev = ds.stage_events
    assert ev[ev["deal_id"] == "SJ-001"]["stage"].tolist() == [
        "contacted",
        "proposal",
        "negotiation",
        "won",
    ]
    assert ds.quality.n_rejected == 0


def test_chinese_mixed_encodings_and_expected_date_fallback(tmp_path: Path) -> None:
    deals = (EXPORTS / "chinese" / "商机导出.csv").read_bytes().decode("gb18030")
    deals = (
        "\n".join(
            ",".join(c for i, c in enumerate(line.split(",")) if i != 8)
            for line in deals.splitlines()
        )
        + "\n"
    )  # drop 结单日期
    (tmp_path / "商机导出.csv").write_bytes(deals.encode("utf-8-sig"))
    (tmp_path / "阶段历史.csv").write_bytes((EXPORTS / "chinese" / "阶段历史.csv").read_bytes())
    ds = sa.load(tmp_path)
    assert {s.encoding for s in ds.provenance.sources} == {"gb18030", "utf-8-sig"}
    assert any("预计成交日期 read as the close date" in n for n in ds.quality.notes)
    d = ds.deals.set_index("deal_id")
    assert d.loc["SJ-003", "closed_at"] == T("2024-03-30 16:00", tz="UTC")  # 预计成交日期
    assert pd.isna(d.loc["SJ-002", "closed_at"])
    assert ds.quality.n_rejected == 0
