"""Every event type and every pricing policy does what the scenario says, in the month it says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import small

import sim

VENDORS = ("volcano", "alibaba", "baidu", "tencent", "huawei", "others")
NO_POLICIES = [f"vendors.{v}.pricing=[]" for v in VENDORS]


def run(*overrides: str) -> sim.RunResult:
    return sim.run(small("baseline", "events=[]", *overrides))


# --- price events ----------------------------------------------------------------------------


def test_a_price_event_sets_or_scales_the_list_price_from_its_month():
    result = run(
        *NO_POLICIES,
        "events=[{date: 2024-03, type: price, vendor: baidu, change: -0.5},"
        " {date: 2024-06, type: price, vendor: all, price: 0.01}]",
    )
    prices = result.wide("price")
    assert prices.loc["2024-02", "baidu"] == pytest.approx(0.12)
    assert prices.loc["2024-03", "baidu"] == pytest.approx(0.06)
    assert prices.loc["2024-05", "volcano"] == pytest.approx(0.12)
    np.testing.assert_allclose(prices.loc["2024-06"], 0.01)
    # enterprises pay the list price less their negotiated discount
    discount = small().vendors["baidu"].contract_discount
    contract = result.wide("contract_price")
    assert contract.loc["2024-03", "baidu"] == pytest.approx(0.06 * (1 - discount))


def test_a_gpu_hour_price_event_scales_the_iaas_price_and_leaves_token_prices_alone():
    """`stream: gpu_hour` changes the AI IaaS price, which then keeps its monthly trend."""
    result = run(*NO_POLICIES, "events=[{date: 2024-06, type: price, stream: gpu_hour, vendor: alibaba, change: -0.5}]")
    plain = run(*NO_POLICIES)
    ratio = result.wide("gpu_hour_price") / plain.wide("gpu_hour_price")
    np.testing.assert_allclose(ratio.loc[:"2024-05", "alibaba"], 1.0)
    np.testing.assert_allclose(ratio.loc["2024-06":, "alibaba"], 0.5)
    np.testing.assert_allclose(ratio.drop(columns="alibaba"), 1.0)
    np.testing.assert_array_equal(result.wide("price"), plain.wide("price"))
    # IaaS revenue is GPU-hours served times that price
    alibaba = result.trajectories[result.trajectories.vendor == "alibaba"]
    streams = ["lab_gpu_hours", "private_gpu_hours", "finetune_gpu_hours", "self_host_gpu_hours"]
    iaas_hours = alibaba[streams].sum(axis=1)
    np.testing.assert_allclose(alibaba.iaas_revenue, iaas_hours * alibaba.gpu_hour_price, rtol=1e-12)


def test_a_gpu_hour_price_set_by_an_event_is_the_price_in_its_month():
    """As for token prices: a price an event sets is the price of its month, then the trend runs."""
    result = run(*NO_POLICIES, "events=[{date: 2024-06, type: price, stream: gpu_hour, vendor: alibaba, price: 8.0}]")
    trend = small().vendors["alibaba"].gpu_price_trend
    alibaba = result.wide("gpu_hour_price")["alibaba"]
    assert alibaba.loc["2024-06"] == pytest.approx(8.0)
    assert alibaba.loc["2024-09"] == pytest.approx(8.0 * (1 + trend) ** 3)


def test_a_gpu_hour_trend_event_changes_how_fast_the_price_moves_from_the_next_month():
    """The public rental path has a steep phase and a slow one: `trend` switches between them."""
    event = "events=[{date: 2024-06, type: price, stream: gpu_hour, vendor: alibaba, trend: 0.02}]"
    result, plain = run(*NO_POLICIES, event), run(*NO_POLICIES)
    alibaba, before = result.wide("gpu_hour_price")["alibaba"], plain.wide("gpu_hour_price")["alibaba"]
    np.testing.assert_allclose(alibaba.loc[:"2024-06"], before.loc[:"2024-06"])
    np.testing.assert_allclose(alibaba.loc["2024-07":].to_numpy() / alibaba.loc["2024-06":"2026-11"].to_numpy(), 1.02)
    np.testing.assert_array_equal(result.wide("gpu_hour_price")["volcano"], plain.wide("gpu_hour_price")["volcano"])


def test_a_trend_is_only_for_the_gpu_hour_price():
    with pytest.raises(sim.ScenarioError, match="trend applies to the GPU-hour price only"):
        small("baseline", "events=[{date: 2024-06, type: price, vendor: alibaba, trend: 0.02}]")


# --- model families --------------------------------------------------------------------------


def test_a_quality_release_draws_developers_to_the_vendor_selling_that_family():
    before = run().wide("developers").loc["2024-12"]
    after = (
        run("events=[{date: 2024-02, type: quality, family: hunyuan, change: 2.0}]").wide("developers").loc["2024-12"]
    )
    assert after["tencent"] > 2 * before["tencent"]
    assert after.drop("tencent").sum() < before.drop("tencent").sum()


def test_private_deployment_needs_open_weights_and_a_third_party_release_enables_it():
    """With every family closed nobody deploys privately or self-hosts; opening DeepSeek's weights
    lets enterprises deploy it privately, and every vendor's API sells it from that month."""
    result = run("families.qwen.open_weights=false", "events=[{date: 2024-07, type: open_weights, family: deepseek}]")
    private = result.wide("enterprises_private").sum(axis=1)
    assert (private.loc[:"2024-06"] == 0).all()
    assert (result.wide("developers_self_hosting").loc[:"2024-06"] == 0).all().all()
    assert (result.wide("private_tokens_per_day").loc[:"2024-06"] == 0).all().all()
    assert private.loc["2024-12"] > 0
    assert result.wide("private_gpu_hours").loc["2024-12"].sum() > 0
    families = result.families
    deepseek = families[(families.family == "deepseek") & (families.vendor != "outside")]  # hosted by vendors
    assert (deepseek.date >= "2024-07").all()
    assert set(deepseek[deepseek["mode"] == "api"].vendor) == set(VENDORS)
    assert "2024-12" in set(deepseek[deepseek["mode"] == "private"].date)


# --- supply, cost and efficiency -------------------------------------------------------------


def test_a_supply_shock_caps_the_growth_of_imported_gpus_and_raises_their_cost():
    """Export controls act on the imported part of the fleet. A vendor far short of GPUs grows its
    fleet as fast as it can (serving.max_gpu_growth a month); once its imported chips may grow only 1 % a
    month, a fraction `domestic_substitution` of the imported chips it is blocked from buying
    is bought as domestic chips instead. The GPU-hour cost rises by the change times the
    imported fraction."""
    short = ("months=18", "vendors.volcano.gpus=200", "serving.max_gpu_growth=0.1")
    scenario = small("baseline", *short)
    vendor, substitution = scenario.vendors["volcano"], scenario.serving.domestic_substitution
    result = run(
        *short,
        "events=[{date: 2024-06, type: supply, vendor: volcano, capacity_growth_cap: 0.01, gpu_hour_cost_change: 0.5}]",
    )
    t = result.trajectories[result.trajectories.vendor == "volcano"]
    growth = scenario.serving.max_gpu_growth
    # every GPU-hour is used each month, so the fleet it wants is at least 1 / target_utilisation
    # times what it has: more than the fastest growth allows
    assert (t.gpu_utilisation > 1 - 1e-9).all() and 1 / scenario.serving.target_utilisation > 1 + growth
    imported, domestic = [vendor.gpus * vendor.imported_chips], [vendor.gpus * (1 - vendor.imported_chips)]
    for month in range(1, len(t)):
        allowed = growth if month < 5 else min(growth, 0.01)
        imported.append(imported[-1] * (1 + allowed))
        domestic.append(domestic[-1] * (1 + growth) + substitution * (growth - allowed) * imported[-2])
    np.testing.assert_allclose(t.gpus, np.add(imported, domestic), rtol=1e-12)
    assert 0 < substitution < 1 and growth > 0.01
    cost = t.set_index("date").gpu_hour_cost
    assert cost.loc["2024-05"] == pytest.approx(vendor.gpu_hour_cost)
    assert cost.loc["2024-06"] == pytest.approx(vendor.gpu_hour_cost * (1 + 0.5 * vendor.imported_chips))
    np.testing.assert_allclose(t.unit_cost, 1000 * t.gpu_hour_cost / t.tokens_per_gpu_hour, rtol=1e-12)


def test_a_supply_shock_on_imported_chips_barely_touches_a_vendor_on_domestic_chips():
    """Huawei runs mostly on its own chips: scope `imported` (the default) against scope `all`.
    (Fleets are held fixed, so that the shocks are all that changes Huawei's.)"""
    huawei = small().vendors["huawei"]
    shocks = (
        "[{date: 2024-04, type: supply, vendor: huawei, gpu_hour_cost_change: 1.0, scope: SCOPE},"
        " {date: 2024-06, type: supply, vendor: huawei, capacity_change: -0.5, scope: SCOPE}]"
    )
    fixed = "serving.max_gpu_growth=0"
    imported = run(fixed, "events=" + shocks.replace("SCOPE", "imported")).wide("gpus")["huawei"]
    everything = run(fixed, "events=" + shocks.replace("SCOPE", "all")).wide("gpus")["huawei"]
    np.testing.assert_allclose(imported.loc[:"2024-05"], huawei.gpus)
    np.testing.assert_allclose(imported.loc["2024-06":], huawei.gpus * (1 - 0.5 * huawei.imported_chips))
    np.testing.assert_allclose(everything.loc["2024-06":], huawei.gpus * 0.5)
    cost = {
        scope: run(fixed, "events=" + shocks.replace("SCOPE", scope)).wide("gpu_hour_cost")["huawei"]
        for scope in ("imported", "all")
    }
    assert cost["imported"].loc["2024-04"] == pytest.approx(huawei.gpu_hour_cost * (1 + huawei.imported_chips))
    assert cost["all"].loc["2024-04"] == pytest.approx(2 * huawei.gpu_hour_cost)
    assert cost["imported"].loc["2024-03"] == cost["all"].loc["2024-03"] == pytest.approx(huawei.gpu_hour_cost)


def test_an_efficiency_event_scales_tokens_per_gpu_hour_and_cuts_the_unit_cost():
    """Within the cited ceiling (lifted here: tests/test_firms.py checks it binds), an efficiency
    event multiplies tokens per GPU-hour."""
    unbounded = "serving.tokens_per_gpu_hour_ceiling=.inf"
    result = run(unbounded, "events=[{date: 2024-06, type: efficiency, vendor: huawei, change: 0.5}]")
    plain = run(unbounded)
    ratio = result.wide("tokens_per_gpu_hour") / plain.wide("tokens_per_gpu_hour")
    np.testing.assert_allclose(ratio.loc[:"2024-05"], 1.0)
    np.testing.assert_allclose(ratio.loc["2024-06":, "huawei"], 1.5)
    np.testing.assert_allclose(ratio.loc[:, ratio.columns != "huawei"], 1.0)
    cost = result.wide("unit_cost") / plain.wide("unit_cost")
    np.testing.assert_allclose(cost.loc["2024-06":, "huawei"], 1 / 1.5)
    everyone = run(unbounded, "events=[{date: 2024-06, type: efficiency, change: -0.2}]")
    ratio = everyone.wide("tokens_per_gpu_hour") / plain.wide("tokens_per_gpu_hour")
    np.testing.assert_allclose(ratio.loc["2024-06":], 0.8)


# --- GPUs running short ----------------------------------------------------------------------

SHORT = ("months=12", "vendors.volcano.price=0.001", "serving.max_gpu_growth=0")


def served_fractions(tight: sim.RunResult, loose: sim.RunResult, vendor: str, order: list[str]) -> np.ndarray:
    """Fraction of each stream's demand served, [months, streams in the vendor's order].

    API and IaaS are the recorded service levels; the own apps' demand does not depend on
    anyone's choices, so their fraction is what was served against a run with GPUs to spare.
    """
    own_apps = tight.wide("first_party_tokens_per_day") / loose.wide("first_party_tokens_per_day")
    streams = {"first_party": own_apps, "api": tight.wide("service_level"), "iaas": tight.wide("iaas_service_level")}
    return np.column_stack([streams[s][vendor].to_numpy() for s in order])


def short_months(result: sim.RunResult, vendor: str) -> np.ndarray:
    """Months in which the vendor's GPUs are all used and some stream is not fully served."""
    t = result.trajectories[result.trajectories.vendor == vendor]
    used = (t.gpu_hours_first_party + t.gpu_hours_api + t.gpu_hours_iaas).to_numpy()
    assert (used <= t.gpu_hours_available.to_numpy() * (1 + 1e-12)).all()
    return np.flatnonzero(used >= t.gpu_hours_available.to_numpy() * (1 - 1e-9))


@pytest.fixture(scope="module")
def plenty() -> sim.RunResult:
    """Volcano at a very low price with GPUs to spare: every stream is fully served."""
    loose = run(*SHORT, "vendors.volcano.gpus=1.0e9")
    assert (loose.wide("service_level")["volcano"] == 1).all()
    assert (loose.wide("iaas_service_level")["volcano"] == 1).all()
    return loose


def test_short_gpus_serve_earlier_streams_a_larger_fraction_by_the_priority_ratio(plenty):
    """When a vendor's GPUs are short, stream k of its allocation order is served min(1, lambda w_k)
    of its demand, each stream's weight `priority_ratio` times the next one's, and lambda uses up
    the GPU-hours there are. Volcano serves its own apps, then the API, then rented GPUs."""
    ratio = small().serving.priority_ratio
    assert 1 < ratio < np.inf
    tight = run(*SHORT, "vendors.volcano.gpus=2000")
    order = list(small().vendors["volcano"].allocation)
    assert order == ["first_party", "api", "iaas"]
    months = short_months(tight, "volcano")
    assert months.size >= 6
    checked = 0
    for served in served_fractions(tight, plenty, "volcano", order)[months]:
        assert served[0] >= served[1] >= served[2] and served[2] < 1
        for k in range(2):
            if served[k] < 1 - 1e-9:  # both partly served: their fractions are in the ratio
                assert served[k] == pytest.approx(ratio * served[k + 1], rel=1e-9)
                checked += 1
    assert checked > 0
    # a rationed API loses developers to vendors that serve them
    assert tight.wide("developers").iloc[-1]["volcano"] < plenty.wide("developers").iloc[-1]["volcano"]


def test_a_priority_ratio_of_one_serves_every_stream_alike_and_an_infinite_one_is_strict_priority(plenty):
    alike = run(*SHORT, "vendors.volcano.gpus=2000", "serving.priority_ratio=1")
    order = ["first_party", "api", "iaas"]
    months = short_months(alike, "volcano")
    assert months.size >= 6
    for served in served_fractions(alike, plenty, "volcano", order)[months]:
        np.testing.assert_allclose(served, served[0], rtol=1e-9)
        assert served[0] < 1

    reversed_order = ["iaas", "api", "first_party"]
    strict = run(
        *SHORT,
        "vendors.volcano.gpus=30000",
        f"vendors.volcano.allocation={reversed_order}",
        "serving.priority_ratio=.inf",
    )
    months = short_months(strict, "volcano")
    assert months.size > 0
    for served in served_fractions(strict, plenty, "volcano", reversed_order)[months]:
        first_short = np.flatnonzero(served < 1 - 1e-9)[0]
        np.testing.assert_allclose(served[:first_short], 1.0, rtol=1e-9)
        assert (served[first_short + 1 :] < 1e-5).all()  # later streams get (almost) nothing


# --- entry, exit and switching ---------------------------------------------------------------


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
    assert (result.wide("enterprises_private").loc["2024-09":, "tencent"] == 0).all()
    assert (result.wide("token_share").loc["2024-09":, "tencent"] == 0).all()
    assert (result.wide("revenue").loc["2024-09":, "tencent"] == 0).all()
    assert (result.wide("gpu_hours_available").loc["2024-09":, "tencent"] == 0).all()


def test_lower_switching_costs_mean_more_switching():
    sticky = run("events=[{date: 2024-02, type: price, vendor: baidu, change: -0.9}]")
    loose = run(
        "events=[{date: 2024-02, type: price, vendor: baidu, change: -0.9},"
        " {date: 2024-02, type: switching, switching_cost: 0.0, lock_in_weight: 0.0}]"
    )
    assert loose.market["switching_rate"].iloc[2:].mean() > sticky.market["switching_rate"].iloc[2:].mean()


# --- pricing policies ------------------------------------------------------------------------


def test_match_cheapest_follows_the_cheapest_rival_after_its_lag():
    result = run(
        *NO_POLICIES,
        "vendors.baidu.pricing=[{policy: match_cheapest, ratio: 2.0, lag: 2}]",
        "events=[{date: 2024-05, type: price, vendor: volcano, price: 0.001}]",
    )
    baidu = result.wide("price")["baidu"]
    assert baidu.loc["2024-06"] == pytest.approx(0.12)
    assert baidu.loc["2024-07"] == pytest.approx(0.002)


def test_defend_share_cuts_below_its_target_and_holds_last_months_price_at_or_above_it():
    """Each month: if last month's token share was below target, the price is cut by `step` from
    last month's; at or above target it holds at last month's level (a list-price rise is not
    passed on). Either way it never exceeds this month's list price."""
    target, step = 0.3, 0.2
    result = run(
        *NO_POLICIES,
        "months=18",
        f"vendors.tencent.pricing=[{{policy: defend_share, target: {target}, step: {step}}}]",
        "events=[{date: 2024-10, type: price, vendor: tencent, price: 0.5}]",
    )
    posted = result.wide("price")["tencent"]
    share = result.wide("token_share")["tencent"].to_numpy()
    list_price = pd.Series(0.12, index=posted.index)
    list_price.loc["2024-10":] = 0.5
    below = share[:-1] < target
    assert below[:3].all(), "the cut branch is reached"
    assert (~below[list_price.index[1:] >= "2024-10"]).any(), "the hold branch is reached after the rise"
    expected = np.minimum(list_price.to_numpy()[1:], posted.to_numpy()[:-1] * np.where(below, 1 - step, 1.0))
    assert posted.iloc[0] == pytest.approx(0.12)
    np.testing.assert_allclose(posted.to_numpy()[1:], expected, rtol=1e-12)
    np.testing.assert_allclose(posted.iloc[1:4], 0.12 * (1 - step) ** np.arange(1, 4))
    assert posted.loc["2024-10":].max() < 0.12, "the rise to 0.5 is never passed on"


def test_margin_floor_keeps_price_above_unit_cost():
    result = run(
        *NO_POLICIES,
        "vendors.huawei.pricing=[{policy: margin_floor, margin: 0.5}]",
        "events=[{date: 2024-03, type: price, vendor: huawei, price: 0.0001}]",
    )
    t = result.trajectories[result.trajectories.vendor == "huawei"]
    assert (t.price >= 1.5 * t.unit_cost - 1e-15).all()
    np.testing.assert_allclose(t.price[t.step >= 2], 1.5 * t.unit_cost[t.step >= 2], rtol=1e-12)


def test_policies_apply_in_order():
    both = "[{policy: match_cheapest, ratio: 1.0}, {policy: margin_floor, margin: 0.0}]"
    result = run(
        *NO_POLICIES,
        f"vendors.alibaba.pricing={both}",
        "events=[{date: 2024-02, type: price, vendor: volcano, price: 0.0001}]",
    )
    t = result.trajectories[(result.trajectories.vendor == "alibaba") & (result.trajectories.step >= 1)]
    assert (t.price == np.maximum(0.0001, t.unit_cost)).all()
    assert (t.unit_cost > 0.0001).all()  # so the order matters: matching last would price at 0.0001
