"""Invariants that hold in every month of every shipped scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SHIPPED, SMALL

import sim
from sim.model.developers import NOT_ADOPTED
from sim.record.trajectories import MARKET_COLUMNS, VENDOR_COLUMNS
from sim.scenario.calendar import DAYS_PER_MONTH

VENDORS = ("volcano", "alibaba", "baidu", "tencent", "huawei", "others")


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


def test_tokens_and_revenue_add_up_across_streams(shipped_run):
    t = shipped_run.trajectories
    np.testing.assert_allclose(t.api_tokens_per_day, t.developer_tokens_per_day + t.enterprise_api_tokens_per_day)
    np.testing.assert_allclose(t.headline_tokens_per_day, t.api_tokens_per_day + t.first_party_tokens_per_day)
    np.testing.assert_allclose(t.revenue, t.maas_revenue + t.iaas_revenue + t.paas_revenue)
    np.testing.assert_allclose(t.maas_revenue, t.maas_developer_revenue + t.maas_enterprise_revenue)
    iaas = t.iaas_lab_revenue + t.iaas_private_revenue + t.iaas_finetune_revenue + t.iaas_self_host_revenue
    np.testing.assert_allclose(t.iaas_revenue, iaas)
    market = shipped_run.market
    for column in ("revenue", "maas_revenue", "iaas_revenue", "paas_revenue", "api_tokens_per_day"):
        np.testing.assert_allclose(market[column], t.groupby("step")[column].sum().to_numpy(), rtol=1e-12)


def test_revenue_is_a_price_times_a_served_quantity(shipped_run):
    """Tokens at the price each class pays, GPU-hours at the IaaS price; costs are GPU-hours used
    times the GPU-hour cost. No revenue without something served."""
    t = shipped_run.trajectories
    thousands_a_month = DAYS_PER_MONTH / 1000
    np.testing.assert_allclose(t.maas_developer_revenue, t.developer_tokens_per_day * thousands_a_month * t.price)
    np.testing.assert_allclose(
        t.maas_enterprise_revenue, t.enterprise_api_tokens_per_day * thousands_a_month * t.contract_price
    )
    np.testing.assert_allclose(t.iaas_lab_revenue, t.lab_gpu_hours * t.gpu_hour_price)
    np.testing.assert_allclose(t.iaas_private_revenue, t.private_gpu_hours * t.gpu_hour_price)
    np.testing.assert_allclose(t.iaas_finetune_revenue, t.finetune_gpu_hours * t.gpu_hour_price)
    np.testing.assert_allclose(t.iaas_self_host_revenue, t.self_host_gpu_hours * t.gpu_hour_price)
    np.testing.assert_allclose(t.maas_cost, t.gpu_hours_api * t.gpu_hour_cost)
    np.testing.assert_allclose(t.iaas_cost, t.gpu_hours_iaas * t.gpu_hour_cost)
    np.testing.assert_allclose(t.first_party_cost, t.gpu_hours_first_party * t.gpu_hour_cost)
    iaas_hours = t.lab_gpu_hours + t.private_gpu_hours + t.finetune_gpu_hours + t.self_host_gpu_hours
    np.testing.assert_allclose(t.gpu_hours_iaas, iaas_hours)
    np.testing.assert_allclose(t.unit_cost, 1000 * t.gpu_hour_cost / t.tokens_per_gpu_hour)
    assert (t.maas_revenue > 0).any() and (t.iaas_revenue > 0).any() and (t.paas_revenue > 0).any()


def test_served_gpu_hours_never_exceed_the_gpus_and_carry_the_tokens_served(shipped_run):
    t = shipped_run.trajectories
    usable_hours = shipped_run.scenario.serving.usable_hours
    np.testing.assert_allclose(t.gpu_hours_available, t.gpus * usable_hours * t.active)
    used = t.gpu_hours_first_party + t.gpu_hours_iaas + t.gpu_hours_api
    assert (used <= t.gpu_hours_available * (1 + 1e-9)).all()
    np.testing.assert_allclose(t.gpu_utilisation * t.gpu_hours_available, used, rtol=1e-9, atol=1e-6)
    # API and first-party tokens run at the vendor's tokens per GPU-hour
    np.testing.assert_allclose(t.api_tokens_per_day * DAYS_PER_MONTH / t.tokens_per_gpu_hour, t.gpu_hours_api)
    np.testing.assert_allclose(
        t.first_party_tokens_per_day * DAYS_PER_MONTH / t.tokens_per_gpu_hour, t.gpu_hours_first_party
    )
    for column in ("service_level", "iaas_service_level"):
        assert t[column].between(0, 1).all(), column


def usage(growth: float, ceiling: float, month: int) -> float:
    """Use per buyer relative to the start: (1 + g)^t, saturating logistically at `ceiling` times."""
    rise = (1 + growth) ** month
    return rise if np.isinf(ceiling) else ceiling * rise / (ceiling - 1 + rise)


@pytest.mark.parametrize("name", ["baseline", "chip_controls"])
def test_vendor_totals_equal_the_sum_over_their_agents(name):
    """What the books say per vendor is what the Mesa agents add up to, month after month.

    Each agent's quantities are worked out here from the scenario's demand rules: a developer
    of size x using an API at price p asks tokens_per_day * x * (p / p_ref)^-e * u(t), with u the
    growth of use per buyer (`usage`); a
    CIO buying tokens asks the same with its own parameters at the contract price, and buys
    at most its budget's worth (tokens and platform fee scale down together); the vendor
    serves every API customer the same fraction of what it asked (its service level)."""
    scenario = sim.load_scenario(SHIPPED[[p.stem for p in SHIPPED].index(name)], [*SMALL, "months=20"])
    dev, ent = scenario.developers, scenario.enterprises
    model = sim.build_model(scenario)
    developer_agents, cio_agents = model.developer_agents, model.enterprise_agents
    for _ in range(scenario.months):
        model.step()
        books, month = model.ledger[-1], model.month
        devs = pd.DataFrame(
            {
                "vendor": [a.vendor for a in developer_agents],
                "self_hosting": [a.self_hosting for a in developer_agents],
                "represents": [a.represents for a in developer_agents],
                "size": [a.size for a in developer_agents],
            }
        )
        cios = pd.DataFrame(
            {
                "vendor": [c.vendor for c in cio_agents],
                "mode": [c.mode for c in cio_agents],
                "represents": [c.represents for c in cio_agents],
                "size": [c.size for c in cio_agents],
            }
        )
        for i, vendor in enumerate(model.vendors.ids):
            spec = scenario.vendors[vendor]
            price, contract = books.price[i], books.contract_price[i]
            mine = devs[devs.vendor == vendor]
            assert books.developers[i] == pytest.approx(mine.represents.sum(), rel=1e-9)
            assert books.developers_self_hosting[i] == pytest.approx(
                mine.represents[mine.self_hosting].sum(), rel=1e-9, abs=1e-9
            )
            api = mine[~mine.self_hosting]
            asked = dev.tokens_per_day * (price / dev.reference_price) ** -dev.demand_elasticity
            asked *= usage(dev.usage_growth, dev.usage_ceiling, month) * (api.represents * api["size"]).sum()
            assert books.developer_api_tokens[i] == pytest.approx(asked * books.service_level[i], rel=1e-6)
            for mode, column in (("api", books.enterprises_api), ("private", books.enterprises_private)):
                theirs = cios[(cios.vendor == vendor) & (cios["mode"] == mode)]
                assert column[i] == pytest.approx(theirs.represents.sum())
            buyers = cios[(cios.vendor == vendor) & (cios["mode"] == "api")]
            tokens = ent.tokens_per_day * usage(ent.usage_growth, ent.usage_ceiling, month) * buyers["size"]
            tokens *= (contract / dev.reference_price) ** -ent.demand_elasticity
            bill = tokens * DAYS_PER_MONTH / 1000 * contract + buyers["size"] * spec.platform_fee
            affordable = np.minimum(1.0, buyers["size"] * ent.budget / bill) * buyers.represents
            served = (tokens * affordable).sum() * books.service_level[i]
            assert books.enterprise_api_tokens[i] == pytest.approx(served, rel=1e-6, abs=1e-6)
            assert books.maas_enterprise_revenue[i] == pytest.approx(
                served * DAYS_PER_MONTH / 1000 * contract, rel=1e-6, abs=1e-6
            )
        assert books.developers_adopted == pytest.approx(devs.represents[devs.vendor.notna()].sum(), rel=1e-9)


def test_the_ecosystem_share_is_measured_alike_before_the_first_month_and_after_every_month():
    """In a market where nothing moves (no adoption, reviews, exits, events, own apps, enterprises or
    rationing; developers too small to self-host) the ecosystem share developers see stays put:
    the share set before the first month is measured as every later month's."""
    frozen = [
        "events=[]",
        "developers.review_probability=0",
        "developers.exit_rate=0",
        "developers.adoption.innovation=0",
        "developers.adoption.imitation=0",
        "developers.self_hosting.min_size=1.0e9",
        "developers.outside_option=null",
        "enterprises.initially_adopted=0",
        "enterprises.adoption_rate=0",
    ]
    for vendor in VENDORS:
        frozen += [f"vendors.{vendor}.first_party=null", f"vendors.{vendor}.gpus=1.0e12"]
    model = sim.build_model(sim.load_scenario(SHIPPED[0].parent / "baseline.yaml", [*SMALL, *frozen]))
    shares = [model.vendors.last_ecosystem_share.copy()]
    for _ in range(3):
        model.step()
        shares.append(model.vendors.last_ecosystem_share.copy())
    np.testing.assert_allclose(shares[2:], [shares[1]] * 2, rtol=1e-9)  # nothing moves from month to month
    np.testing.assert_allclose(shares[0], shares[1], rtol=1e-9)


def test_agent_weights_add_up_to_the_real_population(small_baseline):
    model = sim.build_model(small_baseline)
    developers = sum(a.represents for a in model.developer_agents)
    enterprises = sum(c.represents for c in model.enterprise_agents)
    # size-weighted sampling: weights are E[X]/x, unbiased, so the sums are close to the populations
    assert developers == pytest.approx(small_baseline.developers.population, rel=0.05)
    assert enterprises == pytest.approx(small_baseline.enterprises.population, rel=0.05)


def test_size_weighted_sampling_is_unbiased_for_totals_and_steadies_token_shares():
    """Mean totals (tokens, and revenue by stream) agree between weighted and equal sampling
    across seeds; weighted sampling gives every agent about the same token volume, so token
    shares vary less from seed to seed."""
    seeds, totals, shares = range(12), {}, {}
    columns = ["revenue", "maas_revenue", "iaas_revenue", "paas_revenue", "api_tokens_per_day"]
    for sampling in ("size_weighted", "equal"):
        scenario = sim.load_scenario(
            SHIPPED[0].parent / "baseline.yaml", [*SMALL, "months=3", f"agents.sampling={sampling}"]
        )
        runs = [sim.run(scenario, seed=s) for s in seeds]
        totals[sampling] = np.array([r.market[columns].iloc[-1].to_numpy() for r in runs])
        shares[sampling] = np.array([r.wide("token_share").iloc[-1].to_numpy() for r in runs])
    weighted, equal = totals["size_weighted"], totals["equal"]
    spread = np.sqrt(weighted.var(axis=0, ddof=1) / len(seeds) + equal.var(axis=0, ddof=1) / len(seeds))
    assert np.all(np.abs(weighted.mean(axis=0) - equal.mean(axis=0)) < 4 * spread)
    assert shares["size_weighted"].std(axis=0).mean() < shares["equal"].std(axis=0).mean()


def test_adoption_states_are_consistent(small_baseline):
    model = sim.build_model(small_baseline)
    model.run()
    population = model.developers
    assert (population.tenure[population.vendor == NOT_ADOPTED] == 0).all()
    sellers = model.vendors.count + (small_baseline.developers.outside_option is not None)  # vendors + outside
    assert (population.vendor < sellers).all()
    assert ((model.enterprises.vendor >= 0) == (model.enterprises.mode >= 0)).all()
