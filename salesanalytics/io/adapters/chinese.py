"""Chinese CRM exports (纷享销客 / Fxiaoke, 销售易 / Neocrm and similar): Chinese headers.

Deals (商机): 商机编号 or 商机名称, 销售阶段, 金额 (``金额（万元）`` multiplies by 10 000),
创建时间, 结单日期 (else 预计成交日期), 负责人, 线索来源, 商机状态 (进行中/赢单/输单/无效),
客户名称, 输单原因, 赢率. Stage history (阶段历史/阶段变更): 商机编号, 阶段, 变更时间.
Excel exports are often GB18030; the reader detects it. Times without an offset are read as
China time (``Asia/Shanghai``) unless ``timezone=`` or the mapping says otherwise. Common
default stage names of both products (验证客户, 需求确定, 方案/报价, 谈判审核, 初步沟通,
立项评估, 方案提交) are known.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..records import RawTable
from .base import Adapter, Part, Prepared, find, pick, signature_score

__all__ = ["ADAPTER", "DEAL_COLUMNS"]

SIGNATURE = (
    "商机名称",
    "商机编号",
    "商机ID",
    "销售阶段",
    "商机阶段",
    "预计成交日期",
    "负责人",
    "线索来源",
    "商机金额",
    "商机状态",
    "赢率",
    "结单日期",
    "输单原因",
    "客户名称",
    "阶段变更时间",
    "销售机会名称",
)
DEAL_COLUMNS: dict[str, list[str]] = {
    "deal_id": ["商机编号", "商机ID", "机会编号", "编号", "商机名称", "销售机会名称"],
    "created_at": ["创建时间", "创建日期", "商机创建时间"],
    "closed_at": ["结单日期", "实际成交日期", "成交日期", "赢单日期", "关闭日期"],
    "stage": ["销售阶段", "商机阶段", "阶段"],
    "outcome": ["商机状态", "状态", "阶段状态", "输赢状态", "赢单/输单"],
    "amount": ["金额", "商机金额", "预计金额", "销售金额", "金额（万元）", "商机金额（万元）"],
    "owner_id": ["负责人", "销售负责人", "所有人", "销售人员"],
    "lead_source": ["线索来源", "商机来源", "来源", "客户来源"],
    "account_id": ["客户名称", "客户", "客户编号"],
    "lost_reason": ["输单原因", "丢单原因"],
    "crm_probability": ["赢率", "成交概率", "赢单率"],
    "currency": ["币种", "货币"],
    "region": ["区域", "地区", "所属区域"],
    "industry": ["行业", "所属行业"],
    "product_line": ["产品线"],
    "pipeline": ["业务流程", "商机流程", "销售流程"],
}
"""Canonical deals column -> Chinese headers."""
EXPECTED = ["预计成交日期", "预计签单日期", "预计结单日期"]
HISTORY_COLUMNS: dict[str, list[str]] = {
    "deal_id": ["商机编号", "商机ID", "商机名称"],
    "stage": ["阶段", "变更后阶段", "新阶段", "销售阶段"],
    "entered_at": ["进入时间", "变更时间", "阶段变更时间", "修改时间", "时间"],
}
STAGE_ALIASES = {
    "需求确定": "proposal",
    "方案/报价": "proposal",
    "方案制定": "proposal",
    "报价": "proposal",
    "立项评估": "proposal",
    "方案提交": "proposal",
    "初步沟通": "contacted",
    "谈判审核": "negotiation",
    "签约": "negotiation",
}


def _is_history(raw: RawTable) -> bool:
    """A stage-history file: an entry time and a stage, but no amount and no owner."""
    has = {k: any(find(raw, c) for c in v) for k, v in HISTORY_COLUMNS.items()}
    deal_only = DEAL_COLUMNS["amount"] + DEAL_COLUMNS["owner_id"]
    return has["entered_at"] and has["stage"] and not any(find(raw, c) for c in deal_only)


def detect(raws: Sequence[RawTable]) -> tuple[int, str]:
    """Score the files as a Chinese CRM export (Chinese deal headers)."""
    score, found = signature_score(raws, SIGNATURE)
    return score, ", ".join(found[:5])


def prepare(raws: Sequence[RawTable]) -> Prepared:
    """Deals and stage history by headers; 预计成交日期 is the close date only without 结单日期."""
    parts: list[Part] = []
    notes: list[str] = []
    deals: list[RawTable] = []
    history: list[RawTable] = []
    for r in raws:
        if _is_history(r):
            history.append(r)
            parts.append(Part(r, "stage_events", "阶段历史 (stage history)"))
        elif any(find(r, c) for c in DEAL_COLUMNS["stage"] + DEAL_COLUMNS["outcome"]):
            deals.append(r)
            parts.append(Part(r, "deals", "商机 (deals)"))
        else:
            parts.append(Part(r))
    deal_cols = pick(deals, DEAL_COLUMNS)
    if "closed_at" in deal_cols.values():
        deal_cols |= pick(deals, {"expected_close_at": EXPECTED})
    else:
        expected = pick(deals, {"closed_at": EXPECTED})
        if expected:
            notes.append(
                "no actual close date column (结单日期): 预计成交日期 read as the close date of "
                "won/lost deals and the expected close date of open ones"
            )
        deal_cols |= expected
    mapping = {
        "options": {"timezone": "Asia/Shanghai"},
        "tables": {
            "deals": {"columns": deal_cols},
            "stage_events": {"columns": pick(history, HISTORY_COLUMNS)},
        },
        "stages": {"aliases": STAGE_ALIASES},
    }
    return Prepared(tuple(parts), mapping, None, tuple(notes))


ADAPTER = Adapter("chinese", detect, prepare)
