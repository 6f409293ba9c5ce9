"""Scenario files: the schema, loading with `extends` and `--set` overrides, and errors."""

from sim.scenario.loading import Problem, ScenarioError, load_scenario, override, scenario_from_dict
from sim.scenario.schema import Scenario

__all__ = ["Problem", "Scenario", "ScenarioError", "load_scenario", "override", "scenario_from_dict"]
