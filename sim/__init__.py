"""An agent-based simulator of AI cloud market competition (token share versus revenue share).

import sim
result = sim.run("scenarios/baseline.yaml")
result.wide("token_share")

The names below are imported when first used (PEP 562), so `import sim`, and commands such
as `sim validate` that only read scenarios, start without loading Mesa, pandas, Dask,
SALib or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.run import RunResult, build_model, run
    from sim.scenario import Scenario, ScenarioError, load_scenario, override, scenario_from_dict
    from sim.sweep import Sweep, SweepAnalysis, SweepRun, analyze_sweep, load_sweep, register_model, run_sweep
    from sim.whatif import Changes, WhatIfResult, whatif

__version__ = "0.1.0"

_HOMES = {
    "Changes": "sim.whatif.changes",
    "RunResult": "sim.run",
    "Scenario": "sim.scenario.schema",
    "ScenarioError": "sim.scenario.loading",
    "Sweep": "sim.sweep.spec",
    "SweepAnalysis": "sim.sweep.sensitivity",
    "SweepRun": "sim.sweep.runner",
    "WhatIfResult": "sim.whatif.analysis",
    "analyze_sweep": "sim.sweep.sensitivity",
    "build_model": "sim.run",
    "load_scenario": "sim.scenario.loading",
    "load_sweep": "sim.sweep.spec",
    "override": "sim.scenario.loading",
    "register_model": "sim.sweep.models",
    "run": "sim.run",
    "run_sweep": "sim.sweep.runner",
    "scenario_from_dict": "sim.scenario.loading",
    "whatif": "sim.whatif.analysis",
}

# subpackages reachable as attributes, e.g. sim.sweep.FunctionModel or sim.calibrate.calibrate
_SUBPACKAGES = ("calibrate", "model", "provenance", "record", "report", "scenario", "sweep")

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


def __getattr__(name: str) -> Any:
    """Import a public name (or subpackage) the first time it is asked for, then keep it."""
    if name in _SUBPACKAGES:
        return importlib.import_module(f"sim.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _keep_functions_over_submodules() -> None:
    """`sim.run` and `sim.whatif` are functions of the API and also submodules' names.

    Python binds a submodule to its package's attribute the first time the submodule is
    imported, which would hide the function. Importing both submodules now (neither loads
    anything heavy) and dropping those bindings leaves the names to `__getattr__` above.
    """
    for name in ("run", "whatif"):
        importlib.import_module(f"sim.{name}")
        globals().pop(name, None)


_keep_functions_over_submodules()
