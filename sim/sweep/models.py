"""What a sweep evaluates at each parameter set: the market model by default, or another model.

The model knows nothing of sweeps. A `Model` here adapts something runnable to the three
questions the runner asks of every parameter set:

  prepare(base, values)        the run's validated input (for the market: a Scenario)
  fingerprint(prepared)        a hash of that input (for the market: the resolved scenario's)
  evaluate(prepared, seed, outcomes)   the outcomes of one run, and optionally trajectories

`version` is part of every stored run's key, so results of different model code are
never mixed. Models are found by name (`market`, `ishigami`, or any added with
`register_model`) or as `package.module:function` for a plain function
`f(values: dict, seed: int) -> float | dict[str, float]`, which workers import by name.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import math
import os
import socket
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.provenance import scenario_hash
from sim.run import run
from sim.scenario.loading import scenario_from_dict
from sim.scenario.schema import Scenario
from sim.sweep.outcomes import OutcomeRows, OutcomeSpec, extract, trajectories

# The code a market run's numbers depend on; its digest joins the package version in run keys.
MODEL_SOURCES = ("model", "record", "run.py", "sweep/outcomes.py")


@dataclass(frozen=True)
class Evaluation:
    """One run's outcomes and, when kept, its trajectories (one row per month and vendor)."""

    outcomes: OutcomeRows
    trajectories: pd.DataFrame | None = None


class Model(ABC):
    """Something a sweep can evaluate at a parameter set and a seed."""

    name: str
    uses_scenario: bool = False
    parameters: tuple[str, ...] | None = None  # the parameters it needs, if fixed
    batch_size: int = 1  # runs per Dask task: more for models much faster than Dask's ~ms per task

    @property
    @abstractmethod
    def version(self) -> str:
        """Changes whenever the model's code changes, so stored runs of old code are not reused."""

    @abstractmethod
    def prepare(self, base: Scenario | None, values: dict[str, Any]) -> Any:
        """The run's input for these parameter values (raises ScenarioError if they are invalid)."""

    @abstractmethod
    def fingerprint(self, prepared: Any) -> str:
        """A hash of the prepared input: equal inputs, equal runs."""

    @abstractmethod
    def evaluate(self, prepared: Any, seed: int, outcomes: OutcomeSpec | None) -> Evaluation:
        """Run once with `seed`; keep the outcomes asked for."""


class MarketModel(Model):
    """The Mesa market model through `sim.run`, on the base scenario with the parameters set."""

    name = "market"
    uses_scenario = True

    @property
    def version(self) -> str:
        return market_version()

    def prepare(self, base: Scenario | None, values: dict[str, Any]) -> Scenario:
        if base is None:
            raise ValueError("the market model needs a base scenario")
        return scenario_from_dict(base.model_dump(), [assignment(path, value) for path, value in values.items()])

    def fingerprint(self, prepared: Scenario) -> str:
        return scenario_hash(prepared)

    def evaluate(self, prepared: Scenario, seed: int, outcomes: OutcomeSpec | None) -> Evaluation:
        spec = outcomes or OutcomeSpec()
        result = run(prepared, seed=seed)
        return Evaluation(extract(result, spec), trajectories(result, spec.trajectory_columns))


@cache
def market_version() -> str:
    """The `sim` package version plus a digest of the code a market run's numbers depend on."""
    try:
        package = version("sim")
    except PackageNotFoundError:
        package = "unknown"
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in MODEL_SOURCES:
        target = root / name
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for path in files:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return f"{package}+{digest.hexdigest()[:12]}"


def assignment(path: str, value: Any) -> str:
    """`path=value` in the scenario loader's `--set` syntax (a YAML value in flow style; floats exact)."""
    text = yaml.safe_dump(plain(value), default_flow_style=True, width=math.inf).strip()
    return f"{path}={text.removesuffix('...').strip()}"


def plain(value: Any) -> Any:
    """Python scalars instead of numpy ones (YAML and JSON do not know numpy)."""
    return value.item() if isinstance(value, np.generic) else value


class FunctionModel(Model):
    """A plain function of the parameter values and a seed, returning a number or named numbers.

    For test functions with known answers (Ishigami) and for quick studies of formulas;
    many runs go in one Dask task, since each takes microseconds.
    """

    uses_scenario = False

    def __init__(
        self,
        name: str,
        function: Callable[[dict[str, Any], int], float | dict[str, float]],
        parameters: tuple[str, ...] | None = None,
        batch_size: int = 256,
        code_version: str | None = None,
    ) -> None:
        self.name = name
        self.function = function
        self.parameters = parameters
        self.batch_size = batch_size
        self._version = code_version or _source_digest(function)

    @property
    def version(self) -> str:
        return self._version

    def prepare(self, base: Scenario | None, values: dict[str, Any]) -> dict[str, Any]:
        return {name: plain(value) for name, value in values.items()}

    def fingerprint(self, prepared: dict[str, Any]) -> str:
        canonical = json.dumps(prepared, sort_keys=True, separators=(",", ":"), allow_nan=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def evaluate(self, prepared: dict[str, Any], seed: int, outcomes: OutcomeSpec | None) -> Evaluation:
        value = self.function(prepared, seed)
        named = value if isinstance(value, dict) else {"y": value}
        rows = OutcomeRows()
        for outcome, number in named.items():
            rows.add(outcome, outcome, number)
        return Evaluation(rows)


def _source_digest(function: Callable) -> str:
    """The function's module and name with a digest of its source, if Python can find it."""
    where = f"{getattr(function, '__module__', '?')}:{getattr(function, '__qualname__', '?')}"
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return where
    return f"{where}@{hashlib.sha256(source.encode()).hexdigest()[:12]}"


ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1


def ishigami(values: dict[str, float], seed: int) -> float:
    """Ishigami-Homma test function (a=7, b=0.1): its Sobol' indices are known exactly.

    With x1, x2, x3 uniform on [-pi, pi]: S1 = 0.314, 0.442, 0.000 and ST = 0.558, 0.442,
    0.244, which the sensitivity pipeline must recover. The seed is unused (no noise).
    """
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    return math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)


MODELS: dict[str, Model] = {
    "market": MarketModel(),
    "ishigami": FunctionModel("ishigami", ishigami, ("x1", "x2", "x3"), batch_size=512, code_version="ishigami-1"),
}


def register_model(model: Model) -> Model:
    """Make a model available by its name to sweep files in this process (in-process workers).

    Workers in other processes import models by name only: for a Dask cluster, give the
    model as `package.module:attribute` in the sweep file, importable on every worker.
    """
    MODELS[model.name] = model
    return model


def resolve_model(name: str) -> Model:
    """A registered model, or `module:attribute` naming a Model or a function of (values, seed)."""
    if name in MODELS:
        return MODELS[name]
    if ":" not in name:
        raise LookupError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}, or package.module:function")
    module_name, _, attribute = name.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except ImportError as exc:
        raise ImportError(f"cannot import {module_name!r} for model {name!r}: {exc}") from None
    except AttributeError:
        raise AttributeError(f"module {module_name!r} has no {attribute!r} (model {name!r})") from None
    if isinstance(target, Model):
        return target
    if callable(target):
        return FunctionModel(name, target)
    raise TypeError(f"{name!r} is neither a Model nor a function of (values, seed)")


# --- what a worker runs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One run to make: its key in the store, its seed and its prepared input."""

    key: str
    seed: int
    prepared: Any


@dataclass(frozen=True)
class RunRecord:
    """What came of one run: outcomes (and trajectories) if it succeeded, else the error."""

    key: str
    seed: int
    ok: bool
    elapsed_s: float
    worker: str
    model_version: str
    outcomes: OutcomeRows | None = None
    trajectories: pd.DataFrame | None = None
    error: str | None = None
    detail: str | None = None


def evaluate_batch(model: Model, jobs: list[Job], outcomes: OutcomeSpec | None) -> list[RunRecord]:
    """Run each job; a run that raises becomes a failed record and the others still run."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return [_evaluate(model, job, outcomes, worker) for job in jobs]


def _evaluate(model: Model, job: Job, outcomes: OutcomeSpec | None, worker: str) -> RunRecord:
    began = time.perf_counter()
    try:
        result = model.evaluate(job.prepared, job.seed, outcomes)
    except Exception as exc:  # any model error is recorded with its traceback, not raised
        elapsed = time.perf_counter() - began
        error, detail = f"{type(exc).__name__}: {exc}", traceback.format_exc()
        return RunRecord(job.key, job.seed, False, elapsed, worker, model.version, error=error, detail=detail)
    elapsed = time.perf_counter() - began
    return RunRecord(job.key, job.seed, True, elapsed, worker, model.version, result.outcomes, result.trajectories)
