"""Vendors, labs, developers and CIOs are real Mesa agents, views of the arrays the model owns."""

from __future__ import annotations

import math

import mesa
import numpy as np
import pandas as pd
import pytest
from conftest import small

import sim
from sim.model import DeveloperAgent, EnterpriseAgent, MarketModel, VendorAgent
from sim.model.agents import LabAgent
from sim.record import record


def api_quality(scenario: sim.Scenario, vendor: str) -> float:
    """Quality a vendor's API offers: log-sum-exp over its own family and every open-weight family."""
    families = scenario.families.values()
    return math.log(sum(math.exp(f.quality) for f in families if f.owner == vendor or f.open_weights))


def test_every_actor_is_a_mesa_agent_that_mesa_sees(small_baseline):
    model = sim.build_model(small_baseline)
    counts = {
        VendorAgent: len(small_baseline.vendors),
        LabAgent: len(small_baseline.labs),
        DeveloperAgent: small_baseline.agents.developers,
        EnterpriseAgent: small_baseline.agents.enterprises,
    }
    assert counts[LabAgent] > 0
    assert {kind: len(agents) for kind, agents in model.agents_by_type.items()} == counts
    assert len(model.agents) == sum(counts.values())
    assert all(isinstance(agent, mesa.Agent) for agent in model.agents)


def test_agents_show_their_state_in_the_models_own_terms(small_baseline):
    model = sim.build_model(small_baseline)
    for _ in range(12):
        model.step()
    sellers = set(small_baseline.vendors) | ({"outside"} if small_baseline.developers.outside_option else set())
    adopted = [d for d in model.developer_agents if d.vendor is not None]
    assert adopted and {d.vendor for d in adopted} <= sellers
    customers = [d for d in adopted if d.vendor in small_baseline.vendors]
    rate = small_baseline.developers.lock_in.rate
    for d in customers:
        stickiness = small_baseline.vendors[d.vendor].stickiness
        assert d.lock_in == pytest.approx(1 - math.exp(-rate * stickiness * d.tenure), abs=1e-12)
    assert max(d.tenure for d in customers) >= 12 and max(d.lock_in for d in customers) > 0.5
    assert all(d.lock_in == 0 for d in model.developer_agents if d.vendor is None)
    cios = model.enterprise_agents
    assert {c.mode for c in cios if c.vendor} == {"api", "private"}
    assert all(c.mode is None for c in cios if c.vendor is None)
    assert {c.incumbent for c in cios} <= set(small_baseline.vendors)
    for i, vendor in enumerate(model.vendor_agents):
        assert vendor.vendor_id == model.vendors.ids[i]
        assert vendor.price == model.vendors.posted[i] and vendor.gpus == model.vendors.gpus[i]
        assert vendor.gpu_hour_price == model.vendors.gpu_hour_price[i] and vendor.active
        unit_cost = 1000 * model.vendors.gpu_hour_cost[i] / model.vendors.tokens_per_gpu_hour[i]
        assert vendor.unit_cost == pytest.approx(unit_cost)


def test_a_developer_buying_outside_the_vendors_shows_its_lock_in(small_baseline):
    """A developer on the outside option (stickiness 1) accrues lock-in with it like any vendor's customer."""
    if small_baseline.developers.outside_option is None:
        pytest.skip("the baseline has no outside option")
    model = sim.build_model(small_baseline)
    for _ in range(12):
        model.step()
    outside = [d for d in model.developer_agents if d.vendor == "outside"]
    assert outside and max(d.tenure for d in outside) > 0
    rate = small_baseline.developers.lock_in.rate
    assert [d.lock_in for d in outside] == pytest.approx([1 - math.exp(-rate * d.tenure) for d in outside])


def test_a_lab_splits_its_gpus_by_price_equity_ties_and_service(small_baseline):
    """At its first renewal a lab's split is the logit of -w_price log(GPU-hour price) + investor bonus
    (every IaaS service level is still 1)."""
    model = sim.build_model(small_baseline)
    model.step()
    tastes, vendors = small_baseline.lab_choice, small_baseline.vendors
    for lab in model.lab_agents:
        spec = small_baseline.labs[lab.lab_id]
        utility = {
            v: -tastes.price_weight * math.log(vendor.gpu_hour_price) + tastes.investor_bonus * (v in spec.investors)
            for v, vendor in vendors.items()
        }
        total = sum(math.exp(u) for u in utility.values())
        assert lab.split == pytest.approx({v: math.exp(u) / total for v, u in utility.items()}, rel=1e-9)
        assert lab.gpus == pytest.approx(spec.gpus)


def test_a_developer_reads_and_writes_its_own_row(small_baseline):
    """An agent's state is its row of the arrays, and its utilities are the model's formula:
    -beta log(price) + gamma * quality + eta * ecosystem share + rho * log(service), plus the
    switching cost on its current vendor."""
    model = sim.build_model(small_baseline, seed=3)
    model.step()
    agent = next(d for d in model.developer_agents if d.vendor in small_baseline.vendors)
    model.developers.tenure[agent.row] = 7
    assert agent.tenure == 7
    ids = list(small_baseline.vendors)
    sellers = [*ids, "outside"] if small_baseline.developers.outside_option else ids
    utilities = agent.utilities()
    assert set(sellers) <= set(utilities)
    assert set(utilities) - set(sellers) <= {"outside", *(f"{s}/self-host" for s in [*ids, "outside"])}

    offer, dev = model.developer_month.offer, small_baseline.developers
    frictions = model.frictions
    for i, vendor in enumerate(ids):
        expected = (
            -agent.price_sensitivity * math.log(model.vendors.posted[i])
            + agent.quality_sensitivity * api_quality(small_baseline, vendor)
            + dev.ecosystem_weight * offer.ecosystem_share[i]
            + dev.reliability_weight * offer.log_service[i]
        )
        if vendor == agent.vendor:
            lock_in = 1 - math.exp(-frictions.lock_in_rate * small_baseline.vendors[vendor].stickiness * 7)
            expected += frictions.switching_cost + frictions.lock_in_weight * lock_in
        assert utilities[vendor] == pytest.approx(expected, rel=1e-5, abs=1e-5), vendor

    other = next(i for i, v in enumerate(ids) if v != agent.vendor)
    model.developers.vendor[agent.row] = other
    assert agent.vendor == ids[other]


def test_creating_the_views_late_or_early_changes_nothing():
    scenario = small("baseline", "months=10")
    lazy = sim.build_model(scenario, seed=4)
    eager = MarketModel(scenario, seed=4, agent_views="eager")
    for month in range(scenario.months):
        if month == 5:
            assert len(lazy.developer_agents) == 3000  # the views appear mid-run
        lazy.step()
        eager.step()
    lazy_table = record(lazy.ledger, lazy.vendors.ids, scenario.start, lazy.families.ids).vendors
    eager_table = record(eager.ledger, eager.vendors.ids, scenario.start, eager.families.ids).vendors
    pd.testing.assert_frame_equal(lazy_table, eager_table, check_exact=True)


def test_a_cio_shows_the_options_it_weighs(small_baseline):
    model = sim.build_model(small_baseline)
    model.step()
    model.enterprise_month = model._enterprise_month()  # what CIOs would weigh next month
    cio = next(c for c in model.enterprise_agents if c.vendor is not None)
    utilities = cio.utilities()
    assert set(utilities) == {(v, mode) for v in small_baseline.vendors for mode in ("api", "private")}
    assert all(np.isfinite(u) for u in utilities.values()), "an open-weight family exists: private options too"
    assert cio.sovereign == bool(model.enterprises.sovereign[cio.row])
    # sovereignty adds its bonus to every private option, and the domestic-procurement rule its
    # weight times the vendor's domestic-chip share to both options of every vendor
    model.enterprises.sovereign[cio.row] = not cio.sovereign
    flipped = cio.utilities()
    sign = 1 if cio.sovereign else -1
    bonus = small_baseline.enterprises.sovereignty_bonus
    domestic = dict(zip(model.vendors.ids, model.enterprise_month.offer.domestic_chip_share, strict=True))
    rule = small_baseline.enterprises.weights.domestic_chips
    for (vendor, mode), utility in utilities.items():
        added = rule * domestic[vendor] + (bonus if mode == "private" else 0.0)
        assert flipped[(vendor, mode)] == pytest.approx(utility + sign * added)
    model.enterprises.sovereign[cio.row] = not cio.sovereign
    # the migration cost sits on both options of its current vendor, and only there
    model.frictions.migration_cost += 1.0
    model.enterprise_month = model._enterprise_month()
    raised = cio.utilities()
    for (vendor, mode), utility in utilities.items():
        assert raised[(vendor, mode)] == pytest.approx(utility + (1.0 if vendor == cio.vendor else 0.0))


COLUMNS = {  # attribute: (array holder, array, type)
    VendorAgent: {
        "price": ("vendors", "posted", float),
        "unit_cost": ("vendors", "unit_cost", float),
        "gpus": ("vendors", "gpus", float),
        "gpu_hour_price": ("vendors", "gpu_hour_price", float),
        "active": ("vendors", "active", bool),
    },
    LabAgent: {"gpus": ("labs", "gpus", float)},
    DeveloperAgent: {
        "tenure": ("developers", "tenure", int),
        "size": ("developers", "size", float),
        "represents": ("developers", "weight", float),
        "price_sensitivity": ("developers", "price_sensitivity", float),
        "quality_sensitivity": ("developers", "quality_sensitivity", float),
    },
    EnterpriseAgent: {
        "months_left": ("enterprises", "months_left", int),
        "size": ("enterprises", "size", float),
        "represents": ("enterprises", "weight", float),
        "sovereign": ("enterprises", "sovereign", bool),
    },
}


def test_every_attribute_an_agent_reads_from_an_array_is_that_array_at_its_row(small_baseline):
    model = sim.build_model(small_baseline)
    for _ in range(6):
        model.step()
    for kind, columns in COLUMNS.items():
        agents = list(model.agents_by_type[kind])[:50]
        assert agents
        for agent in agents:
            for name, (holder, column, python_type) in columns.items():
                value = getattr(agent, name)
                expected = getattr(getattr(model, holder), column)[agent.row]
                assert type(value) is python_type and value == python_type(expected), (kind.__name__, name)


def test_an_agent_cannot_set_what_it_reads_from_the_arrays(small_baseline):
    model = sim.build_model(small_baseline)
    developer = model.developer_agents[0]
    before = developer.tenure
    with pytest.raises(AttributeError, match=r"tenure is read from model\.developers\.tenure"):
        developer.tenure = before + 99
    assert developer.tenure == before == int(model.developers.tenure[developer.row])
