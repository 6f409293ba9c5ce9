"""Shared helpers: small, fast variants of the shipped scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
SMALL = ["agents.developers=3000", "agents.enterprises=600"]


def small(name: str = "baseline", *overrides: str) -> Scenario:
    """A shipped scenario with few agents, plus any dotted-path overrides."""
    return sim.load_scenario(SCENARIOS / f"{name}.yaml", [*SMALL, *overrides])


MEDIUM = ["agents.developers=20000", "agents.enterprises=8000"]


def volcano_token_share_h1_2025(result: sim.RunResult) -> float:
    """Volcano's share of external API tokens over H1 2025, the ratio of the period's sums."""
    tokens = result.wide("api_tokens_per_day").loc["2025-01":"2025-06"].sum()
    return float(tokens["volcano"] / tokens.sum())


@pytest.fixture(scope="session")
def small_baseline() -> Scenario:
    return small()


def in_process_client():
    """An in-process Dask cluster: one worker thread, no start-up cost (modules make it their fixture)."""
    import logging

    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster, set_as_default=False) as dask,
    ):
        yield dask
