"""Firms behave as firms (brief rule 8): capex follows margins and utilisation, sustained token
losses are paid by a named subsidy or answered by prices, first-party demand is served before
the API when GPUs are short, and serving efficiency stays inside the cited disclosure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import MEDIUM, SCENARIOS, SHIPPED, small, volcano_token_share_h1_2025

import sim
from sim.model.gpus import API_STREAM, FIRST_PARTY, investment_appetite, wanted_growth
from sim.model.pricing import loss_floor_price
from sim.model.vendors import VendorBook
from sim.run import build_model
from sim.scenario.calendar import DAYS_PER_MONTH, month_index


def _longest_run(flags: pd.Series) -> int:
    """The most consecutive True values."""
    longest = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        longest = max(longest, current)
    return longest


@pytest.fixture(scope="module")
def price_drop() -> sim.RunResult:
    return sim.run(small("price_drop_99"), seed=1)


# --- sustained losses ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_no_vendor_sells_tokens_below_minus_100_percent_for_more_than_six_months_without_a_subsidy(path):
    scenario = sim.load_scenario(path, ["agents.developers=3000", "agents.enterprises=600"])
    margins = sim.run(scenario, seed=2).wide("maas_margin")
    for vendor, spec in scenario.vendors.items():
        if spec.losses.subsidy > 0:
            continue
        months = _longest_run(margins[vendor] < -1.0)
        assert months <= 6, f"{path.stem}: {vendor} sold tokens below -100 % for {months} months in a row"


def test_after_a_99_percent_cut_unsubsidised_vendors_raise_prices_to_their_loss_floor(price_drop):
    """The test above is not vacuous: the cut takes margins far below -100 %, and prices respond."""
    margins, held = price_drop.wide("maas_margin"), price_drop.wide("holds_loss_floor")
    assert (margins.loc["2026-01"] < -1.0).all()
    assert (held.loc["2026-12"] == 1.0).all()
    assert (held.loc["2025-12"] == 0.0).all()  # the baseline's own price war never ran that long that deep
    prices, costs = price_drop.wide("price"), price_drop.wide("unit_cost")
    discount = pd.Series({v: s.contract_discount for v, s in price_drop.scenario.vendors.items()})
    floor = costs.loc["2026-12"] / (2.0 * (1.0 - discount))  # the floor of -100 %: price >= cost / 2, after discount
    np.testing.assert_allclose(prices.loc["2026-12"], floor, rtol=1e-9)  # 1 % of the list is far below it


def test_the_loss_floor_price_earns_exactly_the_floor_margin_on_contract_tokens():
    price = loss_floor_price(unit_cost=0.002, floor=-1.0, contract_discount=0.1)
    contract = price * (1 - 0.1)
    assert 1.0 - 0.002 / contract == pytest.approx(-1.0)


def test_a_named_subsidy_pays_for_token_losses_until_it_runs_out(price_drop):
    unsubsidised = price_drop.trajectories.query("vendor == 'volcano'").set_index("date")
    losses = (unsubsidised["maas_cost"] - unsubsidised["maas_revenue"]).clip(lower=0.0)
    budget = float(losses.loc[:"2026-02"].sum())  # enough for the May 2024 war and about two months of the cut
    scenario = small("price_drop_99", f"vendors.volcano.losses.subsidy={budget}")
    result = sim.run(scenario, seed=1)
    t = result.trajectories[result.trajectories["vendor"] == "volcano"].set_index("date")
    loss = (t["maas_cost"] - t["maas_revenue"]).clip(lower=0.0)
    left_before = budget - t["subsidy_drawn"].cumsum().shift(fill_value=0.0)
    np.testing.assert_allclose(t["subsidy_drawn"], np.minimum(loss, left_before), rtol=1e-9, atol=1e-6)
    assert t["subsidy_drawn"].sum() == pytest.approx(budget)  # the cut's losses use it all up
    spent = t.index[t["subsidy_drawn"].cumsum() >= budget * (1 - 1e-12)][0]
    first_held = t.index[t["holds_loss_floor"] == 1.0][0]
    held_without = price_drop.wide("holds_loss_floor")["volcano"]
    assert first_held > held_without[held_without == 1.0].index[0]  # the backer bought time
    assert month_index("2024-01", first_held) == month_index("2024-01", spent) + 6


def test_an_unlimited_subsidy_lets_a_vendor_sell_below_cost_for_as_long_as_it_likes():
    result = sim.run(small("price_drop_99", "vendors.volcano.losses.subsidy=.inf"), seed=1)
    volcano = result.trajectories[result.trajectories["vendor"] == "volcano"].set_index("date")
    assert (volcano.loc["2026-01":, "maas_margin"] < -1.0).all()
    assert (volcano["holds_loss_floor"] == 0.0).all()


# --- capex follows margins and utilisation -----------------------------------------------------------


def test_investment_appetite_falls_with_the_margin_from_all_demand_to_none():
    appetite = investment_appetite(np.array([0.5, 0.0, -0.25, -1.0, -40.0]))
    np.testing.assert_allclose(appetite, [1.0, 1.0, 0.75, 0.0, 0.0])


def test_a_vendor_whose_margin_falls_buys_fewer_gpus_than_one_whose_margin_rises_all_else_equal():
    scenario = small("baseline", "vendors.baidu.gpus=1.084e5", "vendors.baidu.imported_chips=0.9")
    book = VendorBook(scenario)
    volcano, baidu = book.index("volcano"), book.index("baidu")
    demand = np.zeros((book.count, 3))
    demand[[volcano, baidu]] = [4.4e7, 3.0e6, 3.0e6]  # first party, IaaS, API: a little above their fleets
    book.last_gpu_demand = demand
    book.last_gross_margin = np.zeros(book.count)
    book.last_gross_margin[volcano], book.last_gross_margin[baidu] = -0.6, 0.3  # falling vs rising
    before = book.gpus.copy()
    book.grow(1, scenario.serving)
    assert book.gpus[volcano] - before[volcano] < book.gpus[baidu] - before[baidu]
    assert book.gpus[volcano] > before[volcano]  # its own apps' demand is still provided for


def test_capex_follows_utilisation_a_fleet_with_room_to_spare_buys_nothing():
    gpus = np.array([1000.0, 1000.0])
    demand = np.array([[0.0, 100_000.0, 100_000.0], [0.0, 300_000.0, 300_000.0]])  # 40 % and 120 % of the hours
    growth = wanted_growth(gpus, demand, np.ones(2), usable_hours=500.0, utilisation=0.8)
    assert growth[0] == 0.0
    assert growth[1] == pytest.approx(600_000.0 / (500.0 * 0.8) / 1000.0 - 1.0)


def test_capex_plans_for_demand_growing_as_it_grew_last_month_within_what_a_fleet_can_do():
    from sim.model.gpus import expected_demand

    last = np.array([[100.0, 50.0, 0.0], [100.0, 50.0, 10.0]])
    before = np.array([[80.0, 50.0, 0.0], [200.0, 10.0, 0.0]])
    expected = expected_demand(last, before, most=0.25)
    np.testing.assert_allclose(expected[0], [125.0, 50.0, 0.0])  # +25 %, flat, nothing
    np.testing.assert_allclose(expected[1], [100.0, 62.5, 10.0])  # falling demand is not extrapolated down;
    # a five-fold rise is capped at the fastest fleet growth; a new stream is taken as it is


def test_a_vendor_losing_on_everything_after_the_cut_buys_no_gpus_for_its_customers_unless_backed():
    """After the cut Volcano's gross margin is far below -100 %: it buys no GPUs for its customers
    although they ask for four times the tokens, only for its own apps. With the apps' demand held
    flat its fleet stops growing; with a backer paying its losses it keeps buying."""
    flat_apps = ["vendors.volcano.first_party.users_growth=0", "vendors.volcano.first_party.tokens_per_user_growth=0"]
    run = sim.run(small("price_drop_99", *flat_apps), seed=1)
    gpus, margin = run.wide("gpus")["volcano"], run.wide("gross_margin")["volcano"]
    assert margin.loc["2026-01":"2026-06"].max() < -1.0
    assert gpus.loc["2026-06"] <= gpus.loc["2026-01"] * 1.001
    backed = sim.run(small("price_drop_99", *flat_apps, "vendors.volcano.losses.subsidy=.inf"), seed=1)
    assert backed.wide("gpus")["volcano"].loc["2026-06"] > 1.1 * gpus.loc["2026-06"]


# --- rationing by quotas ------------------------------------------------------------------------------


def test_first_party_demand_is_served_before_the_api_when_gpus_are_short():
    scenario = small("baseline", *[f"vendors.{v}.gpus=3000" for v in ("volcano", "alibaba", "baidu")])
    model = build_model(scenario, seed=3)
    model.run()
    short = 0
    for accounts in model.ledger:
        asked, served = accounts.gpu_demand, accounts.gpu_hours
        level = np.divide(served, asked, out=np.ones_like(served), where=asked > 0)
        rationed = level[:, API_STREAM] < 0.999
        short += int(rationed.sum())
        assert (level[rationed, FIRST_PARTY] >= level[rationed, API_STREAM]).all()
    assert short > 0, "the squeeze must ration some vendor's API"


# --- costs from data --------------------------------------------------------------------------------------


def test_tokens_per_gpu_hour_stay_inside_the_cited_serving_disclosure():
    scenario = sim.load_scenario(SCENARIOS / "baseline.yaml", ["agents.developers=3000", "agents.enterprises=600"])
    ceiling = scenario.serving.tokens_per_gpu_hour_ceiling
    assert 1.5e7 < ceiling < 1.8e7  # DeepSeek's input and output rates, blended like prices
    served = sim.run(scenario, seed=1).wide("tokens_per_gpu_hour")
    assert served.to_numpy().max() <= ceiling
    unbounded = sim.run(sim.override(scenario, "serving.tokens_per_gpu_hour_ceiling=.inf"), seed=1)
    assert unbounded.wide("tokens_per_gpu_hour").to_numpy().max() > 1.5 * ceiling  # the ceiling binds


# --- competing explanations ------------------------------------------------------------------------------


def test_gravity_from_external_tokens_only_takes_bytedance_s_apps_out_of_doubao_s_pull():
    base = sim.load_scenario(SCENARIOS / "baseline.yaml", MEDIUM)
    external = sim.override(base, "developers.ecosystem_source=external_tokens")

    share = volcano_token_share_h1_2025
    assert share(sim.run(external, seed=1)) < share(sim.run(base, seed=1)) - 0.05


# --- private deployments ---------------------------------------------------------------------------------


def test_a_private_deployment_runs_the_gpu_hours_it_pays_for_full():
    """Rented GPU-hours are paid whether used or not, so a private deployment's marginal token is
    free: it serves GPU-hours x its tokens per GPU-hour. Switched off, it serves only what the
    enterprise needs, on the same GPU-hours and the same bill."""
    scenario = small("baseline")
    fills, needs = sim.run(scenario, seed=1), sim.run(sim.override(scenario, "enterprises.private_fills=false"), seed=1)
    t = fills.trajectories
    private_rate = t["tokens_per_gpu_hour"] * scenario.serving.private_efficiency
    served = t["private_gpu_hours"] * private_rate / DAYS_PER_MONTH
    self_hosted = t["self_hosted_tokens_per_day"]
    np.testing.assert_allclose(t["private_tokens_per_day"] - self_hosted, served, rtol=1e-9)
    late = slice("2024-12", "2025-12")
    assert (fills.wide("private_tokens_per_day").loc[late].sum(axis=1)
            > 3 * needs.wide("private_tokens_per_day").loc[late].sum(axis=1)).all()  # fmt: skip
    np.testing.assert_allclose(fills.wide("iaas_private_revenue").loc[:"2024-06"],
                               needs.wide("iaas_private_revenue").loc[:"2024-06"], rtol=1e-9)  # fmt: skip


# --- capacity on offer ------------------------------------------------------------------------------------


def test_gpus_on_offer_are_the_fleet_less_what_others_used_and_never_nothing():
    from sim.model.labs import gpus_on_offer

    on_offer = gpus_on_offer(np.array([1000.0, 1000.0]), np.array([250_000.0, 900_000.0]), usable_hours=500.0)
    np.testing.assert_allclose(on_offer, [500.0, 10.0])  # the second is full: 1 % can always be carved out


@pytest.mark.parametrize(
    ("field", "stream"),
    [("lab_choice.capacity_weight", "iaas_lab_revenue"), ("enterprises.weights.capacity", "iaas_private_revenue")],
)
def test_with_capacity_weighed_customers_move_to_the_vendor_with_spare_gpus(field, stream):
    """Alibaba's fleet is the largest and far from full in 2024: weighing capacity moves its
    customers' GPU rental (labs' clusters, enterprises' private deployments) to it. (A weight
    of 2: the large-account channel already sends the largest enterprises elsewhere.)"""
    base = small("baseline")
    weighed = sim.run(sim.override(base, f"{field}=2.0"), seed=1)
    plain = sim.run(base, seed=1)

    def alibaba_share(result: sim.RunResult) -> float:
        revenue = result.wide(stream).loc["2024-06":"2025-06"].sum()
        return float(revenue["alibaba"] / revenue.sum())

    assert alibaba_share(weighed) > alibaba_share(plain) + 0.03


# --- the vendors' businesses: large accounts, sovereignty buyers, internal-first GPUs ----------------


def _procurement_case(**tastes_changes):
    """Two vendors, one large and one small CIO, both needing sovereignty or not, to read utilities from."""
    from dataclasses import replace

    from sim.model.procurement import EnterpriseOffer, ProcurementTastes

    two = np.ones(2)
    offer = EnterpriseOffer(
        trust=two * 0.5, integration=two * 0.5, api_quality=two * 0.0, private_quality=0.0,
        owns_open_family=np.zeros(2), contract_price=two * 0.001, gpu_hour_price=two * 10.0,
        platform_fee=two * 100.0, log_api_service=np.zeros(2), log_iaas_service=np.zeros(2),
        log_gpus_on_offer=np.zeros(2), ecosystem_share=np.array([0.8, 0.2]),
        domestic_chip_share=np.array([0.1, 0.9]), active=np.ones(2, dtype=bool),
        api_tokens_per_size=two * 1e5, private_tokens_per_size=1e5, private_tokens_per_gpu_hour=two * 1e6,
        reserved_gpu_hours=100.0, private_fills=True, finetune_gpu_hours=0.0, budget=1e9,
    )  # fmt: skip
    tastes = ProcurementTastes(
        trust=1.0, integration=1.0, quality=0.5, price=0.5, service=1.0, capacity=0.0,
        large_account_volume=0.0, large_account_size=30.0, domestic_chips=0.0,
        private_preference=0.0, sovereignty_bonus=1.0, own_model_edge=0.0, migration_cost=0.0,
    )  # fmt: skip
    return offer, replace(tastes, **tastes_changes)


def _utility_gain(**tastes_changes) -> np.ndarray:
    """[CIO, option] utility with the change less without it; CIOs: small, large, small sovereign."""
    from sim.model.procurement import option_utilities

    incumbent, sovereign = np.zeros(3, dtype=np.int64), np.array([False, False, True])
    size = np.array([1.0, 50.0, 1.0])
    offer, plain = _procurement_case()
    _, changed = _procurement_case(**tastes_changes)
    return option_utilities(incumbent, sovereign, size, offer, changed) - option_utilities(
        incumbent, sovereign, size, offer, plain
    )


def test_a_large_account_weighs_each_vendor_s_ecosystem_share_and_a_small_firm_does_not():
    gain = _utility_gain(large_account_volume=5.0)
    np.testing.assert_allclose(gain[1], [4.0, 4.0, 1.0, 1.0])  # 5 x share, on both modes of each vendor
    np.testing.assert_allclose(gain[[0, 2]], 0.0)


def test_a_buyer_needing_sovereignty_weighs_each_vendor_s_domestic_chips_and_no_one_else_does():
    gain = _utility_gain(domestic_chips=2.0)
    np.testing.assert_allclose(gain[2], [0.2, 0.2, 1.8, 1.8])
    np.testing.assert_allclose(gain[:2], 0.0)


def _platform_share(result: sim.RunResult, vendor: str) -> float:
    revenue = result.wide("paas_revenue").loc["2025-01":"2025-06"].sum()
    return float(revenue[vendor] / revenue.sum())


def test_the_large_account_channel_moves_platform_revenue_to_the_token_leader():
    """Switched on, account teams win large firms for the vendor with the most public tokens
    (Volcano), and their platform contracts with them; switched off, that revenue is not there."""
    base = small("baseline", "enterprises.large_accounts.volume_weight=0")
    channel = sim.run(sim.override(base, "enterprises.large_accounts.volume_weight=10"), seed=1)
    plain = sim.run(base, seed=1)
    assert _platform_share(channel, "volcano") > _platform_share(plain, "volcano") + 0.03


def test_domestic_procurement_rules_move_sovereignty_buyers_to_the_vendor_on_domestic_chips():
    base = small("baseline")
    rules = sim.run(sim.override(base, "enterprises.weights.domestic_chips=3"), seed=1)
    none = sim.run(sim.override(base, "enterprises.weights.domestic_chips=0"), seed=1)
    assert _platform_share(rules, "huawei") > _platform_share(none, "huawei") + 0.02


def test_an_internal_first_vendor_stops_buying_gpus_for_customers_and_rations_them_when_its_apps_grow():
    """Tencent's policy from 2025 (customer_capex 0.5): with its apps' demand growing its fleet
    stays short, the apps keep their GPUs and paying customers are the ones rationed."""
    base = small("baseline", "vendors.tencent.first_party.users_growth=0.3",
                 "vendors.tencent.first_party.users_ceiling=3e8")  # fmt: skip
    policy = sim.run(base, seed=1)
    index = next(i for i, event in enumerate(base.events) if event.id == "tencent_internal_first")
    without = sim.run(sim.override(base, f"events.{index}.customer_capex=1.0"), seed=1)
    late = slice("2026-03", "2026-12")
    assert policy.wide("gpus")["tencent"].iloc[-1] < 0.8 * without.wide("gpus")["tencent"].iloc[-1]
    rented = policy.wide("iaas_service_level")["tencent"].loc[late]
    assert (rented < without.wide("iaas_service_level")["tencent"].loc[late]).all()
    apps = policy.wide("first_party_tokens_per_day")["tencent"] / without.wide("first_party_tokens_per_day")["tencent"]
    assert (apps.loc[late] > rented).all()  # its apps are served first
