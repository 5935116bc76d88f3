"""The stage model: ordered open stages, won/lost semantics, aliases and pipeline variants.

A :class:`StageModel` says which stages a deal moves through, in which order, which stage
means *won* and which *lost*, and how CRM labels (``"Closed Won"``, HubSpot ids such as
``closedwon``, Chinese labels such as ``赢单``) map onto canonical stage names. Labels are
matched after :func:`label_key` normalisation (case-folded, punctuation and spaces removed),
so ``"Closed - Won"``, ``"closed won"`` and ``"closedwon"`` are the same label.

The default model mirrors the five-step workflow of the source playbook::

    lead -> contacted -> proposal -> negotiation -> won      (lost is terminal from anywhere)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_ALIASES", "StageModel", "label_key"]

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def label_key(label: str) -> str:
    """Normalise a stage label for matching: NFKC, case-folded, without spaces/punctuation.

    Examples
    --------
    >>> label_key("Closed - Won"), label_key("closedwon"), label_key(" 赢单 ")
    ('closedwon', 'closedwon', '赢单')
    """
    return _NON_WORD.sub("", unicodedata.normalize("NFKC", str(label)).casefold())


DEFAULT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        # step 1: market & lead management
        "new": "lead",
        "prospecting": "lead",
        "prospect": "lead",
        "qualified": "lead",
        "线索": "lead",
        "新线索": "lead",
        "潜在客户": "lead",
        "线索管理": "lead",
        # step 2: customer development & first contact
        "contacted": "contacted",
        "contactmade": "contacted",
        "qualification": "contacted",
        "appointmentscheduled": "contacted",
        "qualifiedtobuy": "contacted",
        "firstcontact": "contacted",
        "初步接洽": "contacted",
        "初步接触": "contacted",
        "客户开发": "contacted",
        "验证客户": "contacted",
        # step 3: needs analysis & solution proposal
        "needsanalysis": "proposal",
        "valueproposition": "proposal",
        "iddecisionmakers": "proposal",
        "perceptionanalysis": "proposal",
        "proposalpricequote": "proposal",
        "presentationscheduled": "proposal",
        "decisionmakerboughtin": "proposal",
        "demoscheduled": "proposal",
        "proposalmade": "proposal",
        "solution": "proposal",
        "需求分析": "proposal",
        "方案呈现": "proposal",
        "需求分析与方案呈现": "proposal",
        "方案报价": "proposal",
        "需求确认": "proposal",
        # step 4: negotiation & closing
        "negotiation": "negotiation",
        "negotiationreview": "negotiation",
        "negotiationsstarted": "negotiation",
        "contractsent": "negotiation",
        "commit": "negotiation",
        "商务谈判": "negotiation",
        "商务谈判与成交": "negotiation",
        "谈判": "negotiation",
        "合同签订": "negotiation",
        # terminal
        "closedwon": "won",
        "win": "won",
        "赢单": "won",
        "成交": "won",
        "已成交": "won",
        "closedlost": "lost",
        "lose": "lost",
        "loss": "lost",
        "输单": "lost",
        "丢单": "lost",
        "失败": "lost",
        "无效": "lost",
    }
)
"""Built-in aliases of the default model (keys are :func:`label_key` forms)."""


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class StageModel:
    """Ordered open stages plus a won and a lost stage, with label aliases.

    Parameters
    ----------
    stages
        Open stages in process order.
    won, lost
        Canonical names of the terminal stages.
    aliases
        CRM label -> canonical stage. Keys are matched after :func:`label_key`; a
        canonical stage name always matches itself.
    pipelines
        Per-pipeline variants (pipeline name -> model). Deals of a pipeline not listed use
        this model.
    probabilities
        Optional default win probability per stage (the CRM's configured value).

    Examples
    --------
    >>> m = StageModel.default()
    >>> m.stages
    ('lead', 'contacted', 'proposal', 'negotiation')
    >>> m.canonical("Closed Won"), m.canonical("赢单"), m.canonical("Negotiation/Review")
    ('won', 'won', 'negotiation')
    >>> m.canonical("Dancing") is None
    True
    """

    stages: tuple[str, ...]
    won: str = "won"
    lost: str = "lost"
    aliases: Mapping[str, str] = field(default_factory=dict)
    pipelines: Mapping[str, StageModel] = field(default_factory=dict)
    probabilities: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        stages = tuple(str(s) for s in self.stages)
        if not stages:
            raise ValueError("a StageModel needs at least one open stage")
        names = (*stages, self.won, self.lost)
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be distinct: {names}")
        keyed = {label_key(k): str(v) for k, v in dict(self.aliases).items()}
        unknown = sorted({v for v in keyed.values() if v not in names})
        if unknown:
            raise ValueError(
                f"aliases point to unknown stage(s) {unknown}; canonical stages are {list(names)}"
            )
        for p in self.probabilities.values():
            if not 0.0 <= float(p) <= 1.0:
                raise ValueError(f"stage probabilities must lie in [0, 1], got {p}")
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "aliases", _frozen(keyed))
        object.__setattr__(self, "pipelines", _frozen(self.pipelines))
        object.__setattr__(self, "probabilities", _frozen(self.probabilities))

    @classmethod
    def default(cls) -> StageModel:
        """The five-step workflow: lead, contacted, proposal, negotiation, then won / lost."""
        return cls(
            stages=("lead", "contacted", "proposal", "negotiation"),
            aliases=DEFAULT_ALIASES,
            probabilities={"lead": 0.1, "contacted": 0.2, "proposal": 0.5, "negotiation": 0.8},
        )

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> StageModel:
        """Build a model from a mapping such as the ``[stages]`` table of a mapping file.

        Keys: ``order`` (list of open stages), ``won``, ``lost``, ``aliases`` (table),
        ``probabilities`` (table), ``pipelines`` (table of nested specs). When ``order`` is
        absent, the default model's stages are kept and the aliases added to it.

        Examples
        --------
        >>> m = StageModel.from_dict({"aliases": {"Angebot": "proposal"}})
        >>> m.canonical("angebot")
        'proposal'
        """
        allowed = {"order", "won", "lost", "aliases", "probabilities", "pipelines"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(
                f"unknown key(s) in stage model: {sorted(unknown)}; allowed: {sorted(allowed)}"
            )
        base = cls.default()
        aliases = dict(spec.get("aliases", {}))
        if "order" in spec:
            model = cls(
                stages=tuple(spec["order"]),
                won=spec.get("won", "won"),
                lost=spec.get("lost", "lost"),
                aliases=aliases,
                probabilities=spec.get("probabilities", {}),
            )
        else:
            model = base.with_aliases(aliases)
            if "probabilities" in spec:
                model = replace(model, probabilities=spec["probabilities"])
        pipelines = {name: cls.from_dict(sub) for name, sub in spec.get("pipelines", {}).items()}
        return replace(model, pipelines=pipelines) if pipelines else model

    # ------------------------------------------------------------------ queries
    @property
    def terminal(self) -> tuple[str, str]:
        """``(won, lost)``."""
        return (self.won, self.lost)

    @property
    def all_stages(self) -> tuple[str, ...]:
        """Open stages, then won, then lost."""
        return (*self.stages, self.won, self.lost)

    def for_pipeline(self, pipeline: str | None) -> StageModel:
        """The variant for ``pipeline`` (this model when there is none)."""
        if pipeline is None:
            return self
        return self.pipelines.get(pipeline, self)

    def canonical(self, label: object) -> str | None:
        """The canonical stage of one label, or ``None`` when it is unknown."""
        if label is None or (isinstance(label, float) and np.isnan(label)):
            return None
        key = label_key(str(label))
        for name in self.all_stages:
            if label_key(name) == key:
                return name
        return self.aliases.get(key)

    def position(self, stage: str) -> float:
        """Index of an open stage; ``len(stages)`` for won; NaN for lost and unknown."""
        if stage in self.stages:
            return float(self.stages.index(stage))
        if stage == self.won:
            return float(len(self.stages))
        return float("nan")

    def positions(self, stages: pd.Series) -> np.ndarray:
        """Vectorised :meth:`position` over canonical stage names (float array)."""
        order = {s: float(i) for i, s in enumerate((*self.stages, self.won))}
        return stages.map(order).to_numpy(dtype="float64", na_value=np.nan)

    def normalize(
        self, labels: pd.Series, pipelines: pd.Series | None = None
    ) -> tuple[pd.Series, np.ndarray]:
        """Map raw labels to canonical stages, per pipeline variant where one exists.

        Returns the canonical names (``str`` dtype, missing where unknown) and a boolean
        mask of labels that were present but unknown. Work is per distinct label, so it is
        fast on millions of rows.

        Examples
        --------
        >>> import pandas as pd
        >>> names, unknown = StageModel.default().normalize(pd.Series(["Closed Lost", "x", None]))
        >>> names.tolist()[0], unknown.tolist()
        ('lost', [False, True, False])
        """
        labels = labels.reset_index(drop=True)
        out = pd.Series(np.nan, index=labels.index, dtype="str")
        if pipelines is None or not self.pipelines:
            groups: Iterable[tuple[str | None, pd.Index]] = [(None, labels.index)]
        else:
            pipelines = pipelines.reset_index(drop=True)
            groups = [
                (str(p) if p in self.pipelines else None, idx)
                for p, idx in labels.groupby(pipelines.fillna(""), sort=False).groups.items()
            ]
        for pipeline, idx in groups:
            model = self.for_pipeline(pipeline)
            sub = labels.loc[idx]
            lookup = {u: model.canonical(u) for u in pd.unique(sub.dropna())}
            out.loc[idx] = sub.map(lookup)
        unknown = (labels.notna() & out.isna()).to_numpy()
        return out, unknown

    def with_aliases(self, aliases: Mapping[str, str]) -> StageModel:
        """A new model with extra aliases (later ones win).

        Examples
        --------
        >>> StageModel.default().with_aliases({"Demo": "proposal"}).canonical("demo")
        'proposal'
        """
        return replace(self, aliases={**self.aliases, **dict(aliases)})
