"""Running a scenario: validated scenario -> Mesa model -> recorded trajectories.

This is the Python API notebooks use:

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml", ["months=48"])
    result = sim.run(scenario, seed=7)
    result.trajectories           # long DataFrame, one row per month and vendor
    result.wide("token_share")    # month x vendor
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sim.provenance import scenario_hash, versions
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario

if TYPE_CHECKING:  # imported where used: `import sim` then loads neither Mesa nor pandas
    import pandas as pd

    from sim.model.market import MarketModel, Mode
    from sim.record.trajectories import Trajectories


@dataclass(frozen=True)
class RunResult:
    """One run: the resolved scenario (seed included), its recorded trajectories and provenance."""

    scenario: Scenario
    seed: int
    record: Trajectories
    mode: Mode = "batched"
    versions: dict[str, str] = field(default_factory=versions)

    @property
    def trajectories(self) -> pd.DataFrame:
        """Per month and vendor (long format); columns defined in docs/ODD.md."""
        return self.record.vendors

    @property
    def market(self) -> pd.DataFrame:
        """Per month for the whole market: totals, HHI, mean price, switching rate."""
        return self.record.market

    @property
    def families(self) -> pd.DataFrame:
        """Tokens per day by model family, host vendor and mode (families.csv)."""
        return self.record.families

    @property
    def vendor_ids(self) -> list[str]:
        return self.record.vendor_ids

    @property
    def scenario_hash(self) -> str:
        return scenario_hash(self.scenario)

    def wide(self, column: str) -> pd.DataFrame:
        """One column as a month x vendor table."""
        return self.record.wide(column)


def _outside_family(scenario: Scenario) -> str | None:
    outside = scenario.developers.outside_option
    return outside.family if outside is not None else None


def build_model(scenario: Scenario, seed: int | None = None, mode: Mode = "batched") -> MarketModel:
    """The Mesa model for a scenario, before its first step (for stepping by hand).

    Its `datacollector` is the recorder's (sim/record/collector.py): after each month it
    holds every vendor's token and revenue share and the market totals, for Mesa's tools.
    A scenario whose agents cannot fit in the memory available is refused first
    (ScenarioError, with both figures), before any population is allocated.
    """
    from sim.model.market import MarketModel
    from sim.model.memory import check_memory
    from sim.record.collector import market_datacollector

    check_memory(scenario, mode)
    model = MarketModel(scenario, seed=seed, mode=mode)
    model.datacollector = market_datacollector(model.vendors.ids)
    return model


def run(
    scenario: Scenario | str | Path, seed: int | None = None, mode: Mode = "batched", progress: bool = False
) -> RunResult:
    """Run a scenario (or a scenario file) to the end and record it.

    `seed` overrides the scenario's own; the result's scenario carries the seed used, so
    saving it and running it again reproduces this run exactly. `progress` shows a bar of
    months simulated (worth it in the slow reference mode or with millions of agents).
    Outputs that break an invariant (a share outside [0, 1], a NaN) raise ImplausibleRun.
    """
    from tqdm import tqdm

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if seed is not None:
        scenario = scenario.model_copy(update={"seed": seed})
    model = build_model(scenario, mode=mode)
    for _ in tqdm(range(scenario.months), desc=scenario.name, unit="month", disable=not progress, leave=False):
        model.step()
    return recorded_run(model, scenario, mode)


def recorded_run(model: MarketModel, scenario: Scenario, mode: Mode = "batched") -> RunResult:
    """A model stepped to the end, recorded and checked: the result `run` returns, for callers that
    step a model themselves (e.g. continuing a copy of a shared past)."""
    from sim.record.trajectories import check_invariants, record

    recorded = record(model.ledger, model.vendors.ids, scenario.start, model.families.ids, _outside_family(scenario))
    check_invariants(recorded)
    return RunResult(scenario=scenario, seed=scenario.seed, record=recorded, mode=mode)
