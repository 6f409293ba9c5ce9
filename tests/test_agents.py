"""Vendors, developers and CIOs are real Mesa agents, views of the arrays the model owns."""

from __future__ import annotations

import mesa
import pandas as pd
import pytest
from conftest import small

import sim
from sim.model import DeveloperAgent, EnterpriseAgent, MarketModel, VendorAgent
from sim.record import record


def test_every_actor_is_a_mesa_agent_that_mesa_sees(small_baseline):
    model = sim.build_model(small_baseline)
    counts = {VendorAgent: 6, DeveloperAgent: 3000, EnterpriseAgent: 600}
    assert {kind: len(agents) for kind, agents in model.agents_by_type.items()} == counts
    assert len(model.agents) == sum(counts.values())
    assert all(isinstance(agent, mesa.Agent) for agent in model.agents)


def test_agents_show_their_state_in_the_models_own_terms(small_baseline):
    model = sim.build_model(small_baseline)
    for _ in range(12):
        model.step()
    adopted = [d for d in model.developer_agents if d.vendor is not None]
    assert adopted and all(d.vendor in small_baseline.vendors for d in adopted)
    assert all(0 <= d.lock_in < 1 for d in adopted)
    assert {c.mode for c in model.enterprise_agents if c.vendor} <= {"api", "private"}
    volcano = model.vendor_agents[0]
    assert volcano.vendor_id == "volcano" and volcano.price == model.vendors.posted[0]


def test_a_developer_reads_and_writes_its_own_row(small_baseline):
    model = sim.build_model(small_baseline)
    model.step()
    agent = next(d for d in model.developer_agents if d.vendor is not None)
    model.developers.tenure[agent.row] = 7
    assert agent.tenure == 7
    utilities = agent.utilities()
    assert set(utilities) == set(small_baseline.vendors)


def test_creating_the_views_late_or_early_changes_nothing():
    scenario = small("baseline", "months=10")
    lazy = sim.build_model(scenario, seed=4)
    eager = MarketModel(scenario, seed=4, agent_views="eager")
    for month in range(scenario.months):
        if month == 5:
            assert len(lazy.developer_agents) == 3000  # the views appear mid-run
        lazy.step()
        eager.step()
    lazy_table = record(lazy.ledger, lazy.vendors.ids, scenario.start).vendors
    eager_table = record(eager.ledger, eager.vendors.ids, scenario.start).vendors
    pd.testing.assert_frame_equal(lazy_table, eager_table, check_exact=True)


def test_a_cio_shows_the_options_it_weighs(small_baseline):
    model = sim.build_model(small_baseline)
    model.step()
    cio = next(c for c in model.enterprise_agents if c.vendor is not None)
    utilities = cio.utilities()
    assert len(utilities) == 2 * len(small_baseline.vendors)
    best_api = max((u, v) for (v, mode), u in utilities.items() if mode == "api")
    assert best_api[0] > float("-inf")
    assert isinstance(cio.sovereign, bool)
    # the migration cost sits on both options of its current vendor
    own = utilities[(cio.vendor, "api")]
    model.frictions.migration_cost += 1.0
    model.enterprise_month = model._enterprise_month()
    assert cio.utilities()[(cio.vendor, "api")] == pytest.approx(own + 1.0)
