"""Limits where theory has a closed form: the simulation must agree within sampling error.

Each check builds a stripped-down market from the baseline, so that only the mechanism
under test is at work, and compares with the formula. Tolerances are a few standard
errors of the sampling noise at the population size used, so they shrink as N grows.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

import sim

VENDORS = ("volcano", "alibaba", "baidu", "tencent", "huawei", "others")


def stripped(developers: int, *overrides: str) -> sim.Scenario:
    """The baseline with no events, fixed tastes, unlimited capacity and no feedback terms."""
    base = [
        f"agents.developers={developers}",
        "agents.enterprises=500",
        "events=[]",
        "developers.price_sensitivity={dist: fixed, value: 1.0}",
        "developers.quality_sensitivity={dist: fixed, value: 1.0}",
        "developers.size={dist: fixed, value: 1.0}",
        "developers.ecosystem_weight=0",
        "developers.reliability_weight=0",
        "developers.exit_rate=0",
    ]
    for vendor in VENDORS:
        base += [f"vendors.{vendor}.pricing=[]", f"vendors.{vendor}.capacity=1.0e18"]
    return sim.load_scenario(SCENARIOS / "baseline.yaml", base + list(overrides))


def developer_shares(result: sim.RunResult) -> np.ndarray:
    """Share of adopted developers per vendor and month, [months, vendors]."""
    counts = result.wide("developers").to_numpy()
    return counts / counts.sum(axis=1, keepdims=True)


def logit_shares(scenario: sim.Scenario) -> np.ndarray:
    utilities = np.array([-np.log(v.price) + v.quality for v in scenario.vendors.values()])
    weights = np.exp(utilities - utilities.max())
    return weights / weights.sum()


@pytest.mark.parametrize("developers", [2_000, 40_000])
def test_without_frictions_developer_shares_equal_logit_shares(developers):
    scenario = stripped(
        developers,
        "developers.switching_cost=0",
        "developers.lock_in.weight=0",
        "developers.review_probability=1",
        "developers.initially_adopted=1",
    )
    expected = logit_shares(scenario)
    shares = developer_shares(sim.run(scenario, seed=1))[3:]
    standard_error = np.sqrt(expected * (1 - expected) / developers)
    # every developer re-chooses every month: monthly shares are independent draws
    assert np.all(np.abs(shares - expected) < 4.5 * standard_error)
    assert np.all(np.abs(shares.mean(axis=0) - expected) < 4.5 * standard_error / np.sqrt(len(shares)))


def test_logit_limit_error_shrinks_with_population():
    errors = []
    for developers in (1_000, 30_000):
        scenario = stripped(
            developers,
            "developers.switching_cost=0",
            "developers.lock_in.weight=0",
            "developers.review_probability=1",
            "developers.initially_adopted=1",
            "months=12",
        )
        shares = developer_shares(sim.run(scenario, seed=2))
        errors.append(np.sqrt(np.mean((shares - logit_shares(scenario)) ** 2)))
    assert errors[1] < errors[0] / 2  # sqrt(30) ~ 5.5 times smaller in expectation


def bass_curve(innovation: float, imitation: float, months: int) -> np.ndarray:
    """Discrete-time Bass diffusion: F(t+1) = F(t) + (p + q F(t)) (1 - F(t)), F(0) = 0."""
    adopted, curve = 0.0, []
    for _ in range(months):
        adopted += (innovation + imitation * adopted) * (1 - adopted)
        curve.append(adopted)
    return np.array(curve)


def test_adoption_with_a_constant_market_potential_follows_the_bass_curve():
    developers, potential = 60_000, 0.5
    scenario = stripped(
        developers,
        "developers.initially_adopted=0",
        f"developers.adoption.potential={potential}",
        "developers.adoption.potential_elasticity=0",
        "developers.adoption.innovation=0.02",
        "developers.adoption.imitation=0.4",
    )
    result = sim.run(scenario, seed=3)
    simulated = result.market["developers_adopted"].to_numpy() / (scenario.developers.population * potential)
    expected = bass_curve(0.02, 0.4, scenario.months)
    pool = developers * potential
    assert np.max(np.abs(simulated - expected)) < 5 * np.sqrt(0.25 / pool) + 0.01


def test_with_infinite_switching_cost_nobody_ever_switches_and_shares_never_change():
    scenario = stripped(
        5_000,
        "developers.switching_cost=.inf",
        "developers.review_probability=1",
        "developers.initially_adopted=1",
        "developers.adoption.potential=1",
        "developers.adoption.potential_elasticity=0",
        "enterprises.migration_cost=.inf",
        "enterprises.initially_adopted=1",
        "enterprises.contract_months=3",
        "events=[{date: 2024-06, type: price, vendor: volcano, change: -0.99}]",
    )
    result = sim.run(scenario, seed=4)
    assert (result.trajectories["switches_out"] == 0).all()
    developers = result.wide("developers").to_numpy()
    assert (developers == developers[0]).all()
    enterprises = (result.wide("enterprises_api") + result.wide("enterprises_private")).to_numpy()
    assert (enterprises == enterprises[0]).all()


def test_identical_vendors_split_the_market_evenly():
    twins = []
    for vendor in VENDORS:
        twins += [
            f"vendors.{vendor}.price=0.01",
            f"vendors.{vendor}.quality=0",
            f"vendors.{vendor}.trust=0.5",
            f"vendors.{vendor}.integration=0.5",
            f"vendors.{vendor}.incumbency=0.2",
            f"vendors.{vendor}.stickiness=1",
            f"vendors.{vendor}.open_weights=false",
            f"vendors.{vendor}.first_party_tokens=0",
            f"vendors.{vendor}.unit_cost=0.004",
        ]
    developers, enterprises = 60_000, 30_000
    scenario = stripped(
        developers, *twins, f"agents.enterprises={enterprises}", "months=12", "developers.ecosystem_weight=1.0"
    )
    result = sim.run(scenario, seed=5)
    even = 1 / len(VENDORS)
    dev_shares = developer_shares(result)[-1]
    adopted = result.market["developers_adopted"].iloc[-1] / scenario.developers.population * developers
    assert np.all(np.abs(dev_shares - even) < 4.5 * np.sqrt(even * (1 - even) / adopted))
    cio = (result.wide("enterprises_api") + result.wide("enterprises_private")).to_numpy()[-1]
    cio_shares = cio / cio.sum()
    cio_adopted = result.market["enterprises_adopted"].iloc[-1] / scenario.enterprises.population * enterprises
    assert np.all(np.abs(cio_shares - even) < 4.5 * np.sqrt(even * (1 - even) / cio_adopted))
