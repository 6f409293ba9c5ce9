"""The market model: vendors, developers and enterprise CIOs stepping month by month.

Order within a month (docs/ODD.md, "Process overview and scheduling"):
  1. scheduled events take effect;
  2. GPU fleets, serving efficiency, GPU-hour prices, own apps and labs grow; vendors post
     token prices (list schedule, then reactive policies);
  3. the month's random draws are made for every developer and CIO;
  4. labs re-split their GPU rental at renewal; developers adopt, exit, or review and maybe
     switch; CIOs adopt or renew;
  5. every stream is served within each vendor's GPUs and billed (`ledger`);
  6. shares and service levels are fed back for next month's choices.
Everyone acts on last month's shares, so the order in which agents act does not matter.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from typing import Literal

import mesa
import numpy as np

from sim.model.accounting import MonthAccounts, close_month, share_of
from sim.model.adoption import adoption_hazard, market_potential
from sim.model.agents import DeveloperAgent, EnterpriseAgent, LabAgent, VendorAgent
from sim.model.demand import demand_multiplier, developer_tokens, usage_trend
from sim.model.developer_choice import DeveloperMonth, DeveloperOffer, DeveloperTastes
from sim.model.developer_kernel import Kernel
from sim.model.developers import DeveloperPopulation
from sim.model.enterprises import EnterprisePopulation
from sim.model.events import Frictions, Market, apply_event
from sim.model.families import FamilyBook
from sim.model.labs import LabOffer, LabPopulation, gpus_on_offer
from sim.model.outside import outside_price
from sim.model.procurement import EnterpriseMonth, EnterpriseOffer, ProcurementTastes
from sim.model.vendors import VendorBook
from sim.scenario.calendar import month_at, month_index
from sim.scenario.schema import Scenario

Mode = Literal["batched", "reference"]
MODES: tuple[Mode, ...] = ("batched", "reference")


class MarketModel(mesa.Model):
    """China's AI cloud market as a Mesa model built from a validated Scenario.

    mode="batched" runs each population's rule on all its rows at once (fast);
    mode="reference" steps every agent one at a time through Mesa's `shuffle_do`.
    Both run the same rule code and give identical results for the same seed.

    The agents' state lives in arrays; each Mesa agent is a view of one row. The batched
    mode never needs the view objects, so by default (`agent_views="lazy"`) they are
    created, and registered with Mesa, the first time anyone asks for them: through
    `model.agents`, `model.agents_by_type`, `model.developer_agents` and the like. Pass
    `agent_views="eager"` to create them up front; the reference mode always does.

    In the batched mode the developers' and the CIOs' months run compiled
    with numba when it is installed (`kernel="auto"`, sim/model/developer_kernel.py and
    enterprise_kernel.py), or as the numpy rule (`kernel="numpy"`): the same trajectories
    either way, bit for bit.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        mode: Mode = "batched",
        agent_views: Literal["lazy", "eager"] = "lazy",
        kernel: Kernel = "auto",
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if agent_views not in ("lazy", "eager"):
            raise ValueError(f"agent_views must be 'lazy' or 'eager', got {agent_views!r}")
        self.seed_used = scenario.seed if seed is None else seed
        super().__init__(rng=self.seed_used)
        self.spec = scenario  # Mesa reserves `model.scenario` for its own Scenario objects
        self.mode = mode
        self.month = 0
        self.ledger: list[MonthAccounts] = []
        self.datacollector: mesa.DataCollector | None = None  # the recorder's, attached by sim.run.build_model
        self.vendors = VendorBook(scenario)
        self.families = FamilyBook(scenario)
        self.labs = LabPopulation(scenario)
        dev, ent = scenario.developers, scenario.enterprises
        self.frictions = Frictions(dev.switching_cost, dev.lock_in.rate, dev.lock_in.weight, ent.migration_cost)
        self.market = Market(self.vendors, self.families, self.frictions)
        self.events_by_month = defaultdict(list)
        for event in scenario.events:
            self.events_by_month[month_index(scenario.start, event.date)].append(event)

        weighted = scenario.agents.sampling == "size_weighted"
        self.developers = DeveloperPopulation(scenario.agents.developers, dev, self.rng, weighted, kernel)
        self.enterprises = EnterprisePopulation(
            scenario.agents.enterprises, ent, self.vendors.incumbency, self.rng, weighted, kernel
        )
        self._views: dict[str, list] | None = None
        if mode == "reference" or agent_views == "eager":
            self._create_agents()
        self._seed_initial_adopters()
        if mode == "batched":
            self.developers.load_kernel(self.developer_month)
            self.enterprises.load_kernel(self.enterprise_month)

    # --- the Mesa agents: views of the population arrays -------------------------------------

    def _create_agents(self) -> dict[str, list]:
        if self._views is not None:
            return self._views
        self._views = {}  # set first: registering an agent must not come back here
        gc_was_enabled = gc.isenabled()
        gc.disable()  # creating many small objects: the cyclic collector only slows this down
        try:
            self._views["vendors"] = [VendorAgent(self, i) for i in range(self.vendors.count)]
            self._views["labs"] = [LabAgent(self, row) for row in range(self.labs.count)]
            self._views["developers"] = [DeveloperAgent(self, row) for row in range(self.developers.count)]
            self._views["enterprises"] = [EnterpriseAgent(self, row) for row in range(self.enterprises.count)]
        finally:
            if gc_was_enabled:
                gc.enable()
        return self._views

    @property
    def vendor_agents(self) -> list[VendorAgent]:
        return self._create_agents()["vendors"]

    @property
    def lab_agents(self) -> list[LabAgent]:
        return self._create_agents()["labs"]

    @property
    def developer_agents(self) -> list[DeveloperAgent]:
        return self._create_agents()["developers"]

    @property
    def enterprise_agents(self) -> list[EnterpriseAgent]:
        return self._create_agents()["enterprises"]

    @property
    def agents(self):
        """Mesa's set of all agents (created on first use)."""
        self._create_agents()
        return super().agents

    @property
    def agents_by_type(self):
        """Mesa's agent sets by class (created on first use)."""
        self._create_agents()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        self._create_agents()
        return super().agent_types

    def _seed_initial_adopters(self) -> None:
        """Before month one: some developers and CIOs already buy, chosen by the usual rules."""
        self._apply_events(0)
        for i in range(self.vendors.count):
            self.vendors.set_price(i, 0)  # initial adopters see month-0 prices, policies applied
        self.developer_month = self._developer_month()
        self.enterprise_month = self._enterprise_month()
        dev, ent = self.spec.developers, self.spec.enterprises
        tenure = self.rng.integers(0, 12, self.developers.count)
        self.developers.seed_adopters(dev.initially_adopted, self.developer_month, tenure)
        months_left = self.rng.integers(1, ent.contract_months + 1, self.enterprises.count)
        self.enterprises.seed_adopters(ent.initially_adopted, self.enterprise_month, months_left)
        sizes = self.developers.tally(self.vendors.count + 1)[1][: self.vendors.count].sum(axis=1)
        api = developer_tokens(sizes, self.vendors.posted, 0, dev)  # before month one: initial adopters' tokens
        self.vendors.last_ecosystem_share = self.families.owned_share(
            self.families.gravity_tokens(dev.ecosystem_source, api, self.vendors.first_party_demand)
        )

    # --- the month ---------------------------------------------------------------------------

    @property
    def date(self) -> str:
        return month_at(self.spec.start, self.month)

    def step(self) -> None:
        """Advance the market one month."""
        if self.steps > self.spec.months:
            raise RuntimeError(f"the scenario has {self.spec.months} months and all of them have been simulated")
        self.month = self.steps - 1
        if self.month > 0:
            self.vendors.follow_gpu_price_trend()
            self._apply_events(self.month)
            self.labs.grow()
        self.vendors.grow(self.month, self.spec.serving)
        self._set_prices()
        self.developer_month = self._developer_month()
        self.enterprise_month = self._enterprise_month()
        self.lab_offer = self._lab_offer()
        self._step_populations()
        purchases = self.enterprises.purchases(self.enterprise_month.offer, self.vendors.count)
        accounts = close_month(
            self.month,
            self.spec,
            self.vendors,
            self.families,
            self.developers,
            self.enterprises,
            purchases,
            self.labs,
            self.outside_price,
        )
        self.ledger.append(accounts)
        self._feed_back(accounts)
        if self.datacollector is not None:
            self.datacollector.collect(self)
        if self.month + 1 >= self.spec.months:
            self.running = False

    def run(self) -> None:
        """Step through every month of the scenario."""
        while self.running and self.steps < self.spec.months:
            self.step()

    def _apply_events(self, month: int) -> None:
        for event in self.events_by_month.get(month, []):
            apply_event(event, self.market)

    def _set_prices(self) -> None:
        if self.mode == "reference":
            self.agents_by_type[VendorAgent].shuffle_do("step")
        else:
            for i in range(self.vendors.count):
                self.vendors.set_price(i, self.month)

    def _step_populations(self) -> None:
        self.developers.begin_month()
        self.enterprises.begin_month()
        if self.mode == "reference":
            if self.labs.count:
                self.agents_by_type[LabAgent].shuffle_do("step")
            self.agents_by_type[DeveloperAgent].shuffle_do("step")
            self.agents_by_type[EnterpriseAgent].shuffle_do("step")
        else:
            self.labs.step_rows(slice(0, self.labs.count), self.lab_offer, self.month, self.vendor_left_labs())
            self.developers.step_all(self.developer_month)
            self.enterprises.step_all(self.enterprise_month)

    def vendor_left_labs(self) -> bool:
        """Whether a vendor some lab rents from has left the market (labs then re-split at once)."""
        return bool((self.labs.split[:, ~self.vendors.active] > 0).any())

    def _feed_back(self, accounts: MonthAccounts) -> None:
        book = self.vendors
        book.last_token_share = share_of(accounts.api_tokens)
        family_tokens = self.families.gravity_tokens(
            self.spec.developers.ecosystem_source,
            accounts.api_tokens,
            accounts.first_party_tokens,
            accounts.private_tokens + accounts.self_hosted_tokens,
        )
        book.last_ecosystem_share = self.families.owned_share(family_tokens)
        book.last_api_service = accounts.service_level
        book.last_iaas_service = accounts.iaas_service_level
        book.gpu_demand_before, book.last_gpu_demand = book.last_gpu_demand, accounts.gpu_demand
        book.last_gross_margin = accounts.gross_margin
        book.record_losses(accounts.maas_revenue, accounts.maas_cost, accounts.subsidy_drawn, accounts.maas_margin)

    # --- what agents see this month ---------------------------------------------------------

    def _developer_month(self) -> DeveloperMonth:
        """What developers see: the V vendors' offers and, as column V, the outside option."""
        book, dev, friction = self.vendors, self.spec.developers, self.frictions
        outside = dev.outside_option
        if outside is not None:
            outside_quality = self.families.quality[self.families.index(outside.family)]
            outside_terms = (outside_price(outside, self.spec.start, self.month), outside_quality, True)
        else:
            outside_terms = (1.0, 0.0, False)
        self.outside_price = outside_terms[0]
        offer = DeveloperOffer(
            log_price=np.log(np.append(book.posted, outside_terms[0])),
            quality=np.append(self.families.api_quality(), outside_terms[1]),
            ecosystem_share=np.append(book.last_ecosystem_share, 0.0),
            log_service=np.append(_log_service(book.last_api_service), 0.0),
            active=np.append(book.active, outside_terms[2]),
            stickiness=np.append(book.stickiness, 1.0),
            log_self_host_cost=np.append(np.log(book.self_host_cost(self.spec.serving.private_efficiency)), 0.0),
            open_quality=self.families.private_quality(),
            log_iaas_service=np.append(_log_service(book.last_iaas_service), 0.0),
            hosts=np.append(book.active, False),
            appeal=np.append(np.zeros(book.count), outside.appeal if outside is not None else 0.0),
        )
        tastes = DeveloperTastes(
            dev.ecosystem_weight,
            dev.reliability_weight,
            friction.switching_cost,
            friction.lock_in_rate,
            friction.lock_in_weight,
            dev.self_hosting.min_size,
            dev.self_hosting.effort,
        )
        cheapest = float(book.posted[book.active].min())
        potential = market_potential(
            dev.adoption.potential, dev.adoption.potential_elasticity, dev.reference_price, cheapest
        )
        hazard = adoption_hazard(
            dev.adoption.innovation,
            dev.adoption.imitation,
            self.developers.adopters(),
            potential * self.developers.count,
        )
        n = self.developers.count
        return DeveloperMonth(
            offer=offer,
            tastes=tastes,
            potential=potential,
            hazard=hazard,
            exit_rate=dev.exit_rate,
            review_probability=dev.review_probability,
            event_draws=self.rng.random(n, dtype=np.float32),
            choice_draws=self.rng.random(n, dtype=np.float32),
        )

    def _enterprise_month(self) -> EnterpriseMonth:
        book, ent, serving = self.vendors, self.spec.enterprises, self.spec.serving
        reference = self.spec.developers.reference_price
        trend = usage_trend(ent.usage_growth, self.month, ent.usage_ceiling)
        private_tpgh = book.self_host_tokens_per_gpu_hour(serving.private_efficiency)
        offer = EnterpriseOffer(
            trust=book.trust.copy(),
            integration=book.integration.copy(),
            api_quality=self.families.api_quality(),
            private_quality=self.families.private_quality(),
            owns_open_family=self.families.owns_open_family(),
            contract_price=book.contract_price,
            gpu_hour_price=book.gpu_hour_price.copy(),
            platform_fee=book.platform_fee.copy(),
            log_api_service=_log_service(book.last_api_service),
            log_iaas_service=_log_service(book.last_iaas_service),
            log_gpus_on_offer=np.log(self._gpus_on_offer()),
            ecosystem_share=book.last_ecosystem_share.copy(),
            domestic_chip_share=book.domestic_chip_share(),
            active=book.active.copy(),
            api_tokens_per_size=ent.tokens_per_day
            * trend
            * demand_multiplier(book.contract_price, reference, ent.demand_elasticity),
            private_tokens_per_size=ent.tokens_per_day * trend,
            private_tokens_per_gpu_hour=private_tpgh,
            reserved_gpu_hours=ent.private_min_gpus * serving.usable_hours,
            private_fills=ent.private_fills,
            finetune_gpu_hours=ent.finetune_gpu_hours,
            budget=ent.budget,
        )
        w = ent.weights
        tastes = ProcurementTastes(
            w.trust,
            w.integration,
            w.quality,
            w.price,
            w.service,
            w.capacity,
            ent.large_accounts.volume_weight,
            ent.large_accounts.min_size,
            w.domestic_chips,
            ent.private_preference,
            ent.sovereignty_bonus,
            ent.own_model_edge,
            self.frictions.migration_cost,
        )
        n = self.enterprises.count
        return EnterpriseMonth(
            offer=offer,
            tastes=tastes,
            adoption_rate=adoption_hazard(
                ent.adoption_rate,
                ent.imitation,
                self.enterprises.adopters(),
                ent.potential * self.enterprises.count,
            ),
            potential=ent.potential,
            contract_months=ent.contract_months,
            event_draws=self.rng.random(n, dtype=np.float32),
            choice_draws=self.rng.random(n),
        )

    def _gpus_on_offer(self) -> np.ndarray:
        """Each vendor's GPUs not used last month by its own apps and its customers other than labs.

        Labs and CIOs see the same figure. The labs' clusters count as on offer: labs renew
        them at their contracts' end, and a vendor can rent them to whoever pays."""
        book = self.vendors
        others = book.last_gpu_demand.sum(axis=1) - self.labs.gpu_hours()  # last month, less the labs' own
        return gpus_on_offer(book.gpus, np.maximum(others, 0.0), self.spec.serving.usable_hours)

    def _lab_offer(self) -> LabOffer:
        book = self.vendors
        return LabOffer(
            log_gpu_price=np.log(book.gpu_hour_price),
            log_iaas_service=_log_service(book.last_iaas_service),
            log_gpus_on_offer=np.log(self._gpus_on_offer()),
            active=book.active.copy(),
        )


def _log_service(level: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(level, 1e-12))
