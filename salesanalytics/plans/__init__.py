"""Commission plans: the plan specification, crediting, the payout kernel and backtests."""

from .backtest import Backtest, evaluate
from .curve import PayoutCurve, payout_curve
from .kernel import KernelInputs, Payouts, payout
from .parse import plan_from_dict, plan_to_dict
from .spec import (
    Band,
    Clawback,
    Commission,
    Crediting,
    Draw,
    Eligibility,
    Plan,
    PlanError,
    QuotaBonus,
    QuotaRule,
    RateCard,
    Spiff,
    TeamPool,
    Tier,
)

__all__ = [
    "Backtest",
    "Band",
    "Clawback",
    "Commission",
    "Crediting",
    "Draw",
    "Eligibility",
    "KernelInputs",
    "PayoutCurve",
    "Payouts",
    "Plan",
    "PlanError",
    "QuotaBonus",
    "QuotaRule",
    "RateCard",
    "Spiff",
    "TeamPool",
    "Tier",
    "evaluate",
    "payout",
    "payout_curve",
    "plan_from_dict",
    "plan_to_dict",
]
