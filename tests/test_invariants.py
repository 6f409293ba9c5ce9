"""Invariants that hold in every month of every shipped scenario."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHIPPED, SMALL

import sim
from sim.model.developers import NOT_ADOPTED
from sim.record.trajectories import MARKET_COLUMNS, VENDOR_COLUMNS


@pytest.fixture(scope="module", params=[p.stem for p in SHIPPED])
def shipped_run(request):
    scenario = sim.load_scenario(SHIPPED[[p.stem for p in SHIPPED].index(request.param)], SMALL)
    return sim.run(scenario)


def test_shares_are_fractions_that_sum_to_one_once_the_market_exists(shipped_run):
    for metric in ("token_share", "revenue_share"):
        shares = shipped_run.wide(metric)
        assert ((shares >= 0) & (shares <= 1)).all().all(), metric
        totals = shares.sum(axis=1)
        exists = (
            shipped_run.market.set_index("date")["api_tokens_per_day" if metric == "token_share" else "revenue"] > 0
        )
        np.testing.assert_allclose(totals[exists], 1.0, atol=1e-9)


def test_no_value_is_nan_or_infinite(shipped_run):
    numeric = shipped_run.trajectories.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy()).all()
    market = shipped_run.market.drop(columns=["mean_price"]).select_dtypes("number")
    assert np.isfinite(market.to_numpy()).all()
    assert np.isfinite(shipped_run.market["mean_price"].dropna()).all()


def test_every_documented_column_is_recorded_for_every_month_and_vendor(shipped_run):
    trajectories = shipped_run.trajectories
    assert set(VENDOR_COLUMNS) <= set(trajectories.columns)
    assert set(MARKET_COLUMNS) <= set(shipped_run.market.columns)
    months, vendors = shipped_run.scenario.months, len(shipped_run.scenario.vendors)
    assert len(trajectories) == months * vendors
    assert len(shipped_run.market) == months


def test_tokens_add_up_across_streams(shipped_run):
    t = shipped_run.trajectories
    np.testing.assert_allclose(t.api_tokens_per_day, t.developer_tokens_per_day + t.enterprise_api_tokens_per_day)
    np.testing.assert_allclose(t.headline_tokens_per_day, t.api_tokens_per_day + t.first_party_tokens_per_day)
    np.testing.assert_allclose(t.revenue, t.api_revenue + t.enterprise_api_revenue + t.private_revenue)


def test_served_tokens_never_exceed_capacity(shipped_run):
    t = shipped_run.trajectories
    served = t.headline_tokens_per_day + t.private_tokens_per_day
    assert (served <= t.capacity_tokens_per_day * (1 + 1e-9)).all()


@pytest.mark.parametrize("name", ["baseline", "chip_controls"])
def test_vendor_totals_equal_the_sum_over_their_agents(name):
    """What the books say per vendor is what the Mesa agents add up to, month after month."""
    scenario = sim.load_scenario(SHIPPED[[p.stem for p in SHIPPED].index(name)], [*SMALL, "months=20"])
    model = sim.build_model(scenario)
    for _ in range(scenario.months):
        model.step()
        books = model.ledger[-1]
        for i, vendor in enumerate(model.vendors.ids):
            devs = [a for a in model.developer_agents if a.vendor == vendor]
            assert books.developers[i] == pytest.approx(sum(a.represents for a in devs), rel=1e-9)
            assert books.developer_api_tokens[i] == pytest.approx(sum(a.tokens_per_day for a in devs), rel=1e-6)
            for mode, column in (("api", books.enterprises_api), ("private", books.enterprises_private)):
                cios = [c for c in model.enterprise_agents if c.vendor == vendor and c.mode == mode]
                assert column[i] == pytest.approx(sum(c.represents for c in cios), rel=1e-9)
            api_cios = [c for c in model.enterprise_agents if c.vendor == vendor and c.mode == "api"]
            assert books.enterprise_revenue[i] == pytest.approx(
                sum(c.represents * c.budget for c in api_cios), rel=1e-6
            )


def test_agent_weights_add_up_to_the_real_population(small_baseline):
    model = sim.build_model(small_baseline)
    developers = sum(a.represents for a in model.developer_agents)
    enterprises = sum(c.represents for c in model.enterprise_agents)
    # size-weighted sampling: weights are E[X]/x, unbiased, so the sums are close to the populations
    assert developers == pytest.approx(small_baseline.developers.population, rel=0.05)
    assert enterprises == pytest.approx(small_baseline.enterprises.population, rel=0.05)


def test_size_weighted_sampling_is_unbiased_for_totals():
    """Mean total demand and spend agree between weighted and equal sampling, across seeds."""
    totals = {}
    for sampling in ("size_weighted", "equal"):
        runs = [
            sim.run(
                sim.load_scenario(
                    SHIPPED[0].parent / "baseline.yaml", [*SMALL, "months=3", f"agents.sampling={sampling}"]
                ),
                seed=s,
            )
            for s in range(12)
        ]
        totals[sampling] = np.array([[r.market.revenue.iloc[-1], r.market.api_tokens_per_day.iloc[-1]] for r in runs])
    weighted, equal = totals["size_weighted"], totals["equal"]
    spread = np.sqrt(weighted.var(axis=0, ddof=1) / 12 + equal.var(axis=0, ddof=1) / 12)
    assert np.all(np.abs(weighted.mean(axis=0) - equal.mean(axis=0)) < 4 * spread)
    assert np.all(weighted.std(axis=0) < equal.std(axis=0))  # and less noisy


def test_adoption_states_are_consistent(small_baseline):
    model = sim.build_model(small_baseline)
    model.run()
    population = model.developers
    assert (population.tenure[population.vendor == NOT_ADOPTED] == 0).all()
    assert (population.vendor < model.vendors.count).all()
    assert ((model.enterprises.vendor >= 0) == (model.enterprises.mode >= 0)).all()
