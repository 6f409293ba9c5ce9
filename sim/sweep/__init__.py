"""Scenario sweeps: many runs over a design of parameter sets, on Dask, stored as they finish.

sweep = load_sweep("scenarios/sweeps/switching_grid.yaml")
done = run_sweep(sweep, workers=2)            # -> runs/switching_grid/results.parquet
analysis = analyze_sweep(done.folder)         # Sobol / Morris indices, responses, fan data
"""

from sim.sweep.models import FunctionModel, Model, register_model
from sim.sweep.runner import SweepRun, run_sweep
from sim.sweep.sensitivity import SweepAnalysis, analyze_sweep
from sim.sweep.spec import Sweep, load_sweep

__all__ = [
    "FunctionModel",
    "Model",
    "Sweep",
    "SweepAnalysis",
    "SweepRun",
    "analyze_sweep",
    "load_sweep",
    "register_model",
    "run_sweep",
]
