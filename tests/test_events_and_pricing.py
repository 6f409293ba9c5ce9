"""Every event type and every pricing policy does what the scenario says, in the month it says."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small

import sim

NO_POLICIES = [f"vendors.{v}.pricing=[]" for v in ("alibaba", "baidu", "tencent", "huawei", "others")]


def run(*overrides: str) -> sim.RunResult:
    return sim.run(small("baseline", "events=[]", *overrides))


def test_a_price_event_sets_or_scales_the_list_price_from_its_month():
    result = run(
        *NO_POLICIES,
        "events=[{date: 2024-03, type: price, vendor: baidu, change: -0.5},"
        " {date: 2024-06, type: price, vendor: all, price: 0.01}]",
    )
    prices = result.wide("price")
    assert prices.loc["2024-02", "baidu"] == pytest.approx(0.12)
    assert prices.loc["2024-03", "baidu"] == pytest.approx(0.06)
    np.testing.assert_allclose(prices.loc["2024-06"], 0.01)


def test_a_quality_release_draws_developers():
    before = run()
    after = run("events=[{date: 2024-02, type: quality, vendor: tencent, change: 2.0}]")
    assert after.wide("developers").loc["2024-12", "tencent"] > 2 * before.wide("developers").loc["2024-12", "tencent"]


def test_private_deployment_needs_open_weights_and_a_third_party_release_enables_it():
    closed = [f"vendors.{v}.open_weights=false" for v in ("volcano", "alibaba", "baidu", "tencent", "huawei", "others")]
    result = run(*closed, "events=[{date: 2024-07, type: open_weights}]")
    private = result.wide("enterprises_private").sum(axis=1)
    assert (private.loc[:"2024-06"] == 0).all()
    assert private.loc["2024-12"] > 0


def test_a_vendor_that_exits_loses_every_customer_and_one_that_enters_gains_some():
    result = run(
        "vendors.others.active=false",
        "events=[{date: 2024-04, type: entry, vendor: others}, {date: 2024-09, type: exit, vendor: tencent}]",
    )
    developers = result.wide("developers")
    assert (developers.loc[:"2024-03", "others"] == 0).all()
    assert developers.loc["2024-06", "others"] > 0
    assert (developers.loc["2024-09":, "tencent"] == 0).all()
    assert (result.wide("enterprises_api").loc["2024-09":, "tencent"] == 0).all()
    assert (result.wide("token_share").loc["2024-09":, "tencent"] == 0).all()


def test_a_supply_shock_caps_capacity_growth_and_raises_cost():
    result = run(
        "events=[{date: 2024-06, type: supply, vendor: volcano, capacity_growth_cap: 0.01, unit_cost_change: 0.5}]"
    )
    capacity = result.wide("capacity_tokens_per_day")["volcano"].to_numpy()
    growth = capacity[1:] / capacity[:-1] - 1
    assert growth[:4] == pytest.approx([0.35] * 4)
    assert np.all(growth[5:] <= 0.01 + 1e-12)
    cost = result.wide("unit_cost")["volcano"]
    assert cost.loc["2024-07"] > cost.loc["2024-05"]


def test_rationing_serves_every_stream_the_same_fraction_and_developers_leave():
    tight = run("vendors.volcano.capacity=1.0e9", "vendors.volcano.capacity_growth=0", "vendors.volcano.price=0.001")
    loose = run("vendors.volcano.price=0.001")
    service = tight.wide("service_level")["volcano"]
    assert (service < 1).any()
    assert (tight.wide("headline_tokens_per_day")["volcano"] <= 1.0e9 * (1 + 1e-9)).all()
    assert tight.wide("developers").iloc[-1]["volcano"] < loose.wide("developers").iloc[-1]["volcano"]


def test_lower_switching_costs_mean_more_switching():
    sticky = run("events=[{date: 2024-02, type: price, vendor: baidu, change: -0.9}]")
    loose = run(
        "events=[{date: 2024-02, type: price, vendor: baidu, change: -0.9},"
        " {date: 2024-02, type: switching, switching_cost: 0.0, lock_in_weight: 0.0}]"
    )
    assert loose.market["switching_rate"].iloc[2:].mean() > sticky.market["switching_rate"].iloc[2:].mean()


def test_match_cheapest_follows_the_cheapest_rival_after_its_lag():
    result = run(
        *NO_POLICIES,
        "vendors.baidu.pricing=[{policy: match_cheapest, ratio: 2.0, lag: 2}]",
        "events=[{date: 2024-05, type: price, vendor: volcano, price: 0.001}]",
    )
    baidu = result.wide("price")["baidu"]
    assert baidu.loc["2024-06"] == pytest.approx(0.12)
    assert baidu.loc["2024-07"] == pytest.approx(0.002)


def test_defend_share_cuts_price_each_month_below_its_target():
    result = run(*NO_POLICIES, "vendors.tencent.pricing=[{policy: defend_share, target: 0.9, step: 0.2}]")
    tencent = result.wide("price")["tencent"].to_numpy()
    np.testing.assert_allclose(tencent[1:4], 0.12 * 0.8 ** np.arange(1, 4))


def test_margin_floor_keeps_price_above_unit_cost():
    result = run(
        *NO_POLICIES,
        "vendors.huawei.pricing=[{policy: margin_floor, margin: 0.5}]",
        "events=[{date: 2024-03, type: price, vendor: huawei, price: 0.0001}]",
    )
    t = result.trajectories[result.trajectories.vendor == "huawei"]
    assert (t.price >= 1.5 * t.unit_cost - 1e-15).all()
    assert t.price.iloc[-1] > 0.0001


def test_policies_apply_in_order():
    both = "[{policy: match_cheapest, ratio: 1.0}, {policy: margin_floor, margin: 0.0}]"
    result = run(
        *NO_POLICIES,
        f"vendors.alibaba.pricing={both}",
        "events=[{date: 2024-02, type: price, vendor: volcano, price: 0.0001}]",
    )
    t = result.trajectories[(result.trajectories.vendor == "alibaba") & (result.trajectories.step >= 1)]
    assert (t.price == np.maximum(0.0001, t.unit_cost)).all()
