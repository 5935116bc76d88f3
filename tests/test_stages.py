"""The stage model: aliases, order, pipeline variants, validation."""

from __future__ import annotations

import pandas as pd
import pytest

from salesanalytics.stages import StageModel, label_key


def test_default_model_mirrors_the_five_steps() -> None:
    m = StageModel.default()
    assert m.all_stages == ("lead", "contacted", "proposal", "negotiation", "won", "lost")
    labels = {
        "Prospecting": "lead",
        "线索": "lead",
        "Qualification": "contacted",
        "初步接洽": "contacted",
        "Proposal/Price Quote": "proposal",
        "需求分析与方案呈现": "proposal",
        "Negotiation/Review": "negotiation",
        "商务谈判": "negotiation",
        "Closed Won": "won",
        "closedwon": "won",
        "赢单": "won",
        "Closed Lost": "lost",
        "输单": "lost",
        "CONTRACT SENT": "negotiation",
    }
    for label, stage in labels.items():
        assert m.canonical(label) == stage, label
    assert m.canonical("won") == "won" and m.canonical(None) is None
    assert m.position("lead") == 0 and m.position("won") == 4
    assert pd.isna(m.position("lost"))


def test_label_key() -> None:
    assert label_key("Closed – Won ") == label_key("closed_won") == "closedwon"
    assert label_key("ＡＢＣ") == "abc"  # full-width forms are NFKC-normalised


def test_pipeline_variants_and_normalize() -> None:
    renewals = StageModel(stages=("due", "quoted"), aliases={"Renewal Quote": "quoted"})
    m = StageModel.default().with_aliases({"Demo": "proposal"})
    m = StageModel(m.stages, aliases=m.aliases, pipelines={"renewals": renewals})
    labels = pd.Series(["Demo", "Renewal Quote", "Renewal Quote", None, "Zzz"])
    pipes = pd.Series(["sales", "renewals", "sales", "sales", "renewals"])
    names, unknown = m.normalize(labels, pipes)
    assert names.iloc[:2].tolist() == ["proposal", "quoted"]
    assert names.iloc[2:].isna().all()
    assert unknown.tolist() == [False, False, True, False, True]


def test_invalid_models_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        StageModel(stages=("a", "won"))
    with pytest.raises(ValueError, match="unknown stage"):
        StageModel(stages=("a",), aliases={"x": "b"})
    with pytest.raises(ValueError, match="unknown key"):
        StageModel.from_dict({"oder": ["a"]})
    m = StageModel.from_dict(
        {"order": ["线索", "方案"], "won": "赢单", "lost": "输单", "aliases": {"Demo": "方案"}}
    )
    assert m.canonical("demo") == "方案" and m.won == "赢单"
