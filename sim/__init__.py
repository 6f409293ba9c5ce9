"""An agent-based simulator of AI cloud market competition (token share versus revenue share).

import sim
result = sim.run("scenarios/baseline.yaml")
result.wide("token_share")
"""

from sim.run import RunResult, build_model, run
from sim.scenario import Scenario, ScenarioError, load_scenario, override, scenario_from_dict
from sim.sweep import Sweep, SweepAnalysis, SweepRun, analyze_sweep, load_sweep, register_model, run_sweep
from sim.whatif import Changes, WhatIfResult, whatif

__version__ = "0.1.0"

__all__ = [
    "Changes",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Sweep",
    "SweepAnalysis",
    "SweepRun",
    "WhatIfResult",
    "analyze_sweep",
    "build_model",
    "load_scenario",
    "load_sweep",
    "override",
    "register_model",
    "run",
    "run_sweep",
    "scenario_from_dict",
    "whatif",
]
