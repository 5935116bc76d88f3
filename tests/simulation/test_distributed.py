"""Simulation chunks on a dask.distributed LocalCluster give the local run's results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesanalytics.plans import Commission, Plan, Tier
from salesanalytics.simulation import AttainmentScenario, LogNormal, Population, simulate

distributed = pytest.importorskip("distributed")


def _scenario() -> AttainmentScenario:
    reps, months = 25, 12
    pop = Population(
        pd.DataFrame({"rep_id": [f"R{i}" for i in range(reps)], "role": "AE"}),
        pd.date_range("2025-01-01", periods=months, freq="MS", tz="UTC").as_unit("us"),
        np.full((reps, months), 10_000.0),
        np.ones((reps, months)),
        np.zeros(reps),
        np.full(reps, 24_000.0),
    )
    return AttainmentScenario(pop, LogNormal(1.0, 0.3), rho=0.3, month_sd=0.2)


def test_local_cluster_matches_local_run() -> None:
    plans = [
        Plan("a", commission=Commission((Tier(0, 1, 0.05), Tier(1, float("inf"), 0.1)))),
        Plan("b", commission=Commission((Tier(0, float("inf"), 0.06),))),
    ]
    scenario = _scenario()
    local = simulate(plans, scenario, trials=256, seed=4, chunk_size=64)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = simulate(plans, scenario, trials=256, seed=4, chunk_size=64, executor=client)
    pd.testing.assert_frame_equal(local.per_trial, remote.per_trial)
    pd.testing.assert_frame_equal(local.per_rep, remote.per_rep)
    pd.testing.assert_frame_equal(local.cost_summary(), remote.cost_summary())
