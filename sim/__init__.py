"""An agent-based simulator of AI cloud market competition (token share versus revenue share).

import sim
result = sim.run("scenarios/baseline.yaml")
result.wide("token_share")
"""

from sim.run import RunResult, build_model, run
from sim.scenario import Scenario, ScenarioError, load_scenario, override, scenario_from_dict
from sim.whatif import Changes, WhatIfResult, whatif

__version__ = "0.1.0"

__all__ = [
    "Changes",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "WhatIfResult",
    "build_model",
    "load_scenario",
    "override",
    "run",
    "scenario_from_dict",
    "whatif",
]
