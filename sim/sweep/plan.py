"""The plan: every run of a sweep, each with the key its result is stored under.

A run is a design point with a seed. Every point runs with the same seeds (common random
numbers): differences between points then come from the parameters, not from luck, which
sharpens comparisons and sensitivity estimates alike. A run's key is a hash of the model,
the model's version, the fingerprint of the run's input (for the market model: the
resolved scenario's hash), the seed and the outcomes kept; equal keys are equal runs, so a
rerun, or a point that repeats, reuses what is stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from sim.scenario.loading import Problem, ScenarioError
from sim.sweep.designs import Design, make_design
from sim.sweep.models import Model
from sim.sweep.outcomes import OutcomeSpec
from sim.sweep.spec import Sweep

MAX_REPORTED = 5


@dataclass(frozen=True)
class PlannedRun:
    point: int
    replicate: int
    seed: int
    key: str


class Work(Protocol):
    """What the runner needs to evaluate planned runs: a sweep's plan, or a calibration's round."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> Model: ...

    @property
    def outcomes(self) -> OutcomeSpec | None: ...

    @property
    def model_version(self) -> str: ...

    def prepared(self, point: int) -> Any: ...


@dataclass(frozen=True)
class Plan:
    """The sweep, its design, each point's input fingerprint, and every run in order."""

    sweep: Sweep
    design: Design
    fingerprints: list[str]
    runs: list[PlannedRun]
    model_version: str

    @property
    def name(self) -> str:
        return self.sweep.name

    @property
    def model(self) -> Model:
        return self.sweep.model

    @property
    def outcomes(self) -> OutcomeSpec | None:
        return self.sweep.outcomes

    def prepared(self, point: int) -> Any:
        """The model's input at a point (prepared again when submitted, to keep memory small)."""
        return self.sweep.model.prepare(self.sweep.base, targets(self.sweep, self.design.values[point]))

    def first_runs(self) -> dict[str, PlannedRun]:
        """Each distinct key once, with the first run that has it, in plan order."""
        first: dict[str, PlannedRun] = {}
        for planned in self.runs:
            first.setdefault(planned.key, planned)
        return first


def targets(sweep: Sweep, values: dict[str, Any]) -> dict[str, Any]:
    """Parameter values keyed by the path the model receives."""
    return {p.target: values[p.name] for p in sweep.parameters}


def outcomes_digest(sweep: Sweep) -> str:
    return json.dumps(sweep.outcomes.model_dump(mode="json"), sort_keys=True) if sweep.outcomes else ""


def run_key(model: str, version: str, fingerprint: str, seed: int, outcomes: str) -> str:
    canonical = json.dumps([model, version, fingerprint, seed, outcomes], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def make_plan(sweep: Sweep) -> Plan:
    """Draw the design, validate every point's input, and key every run.

    A point the model refuses (e.g. two parameters together break a scenario rule) is a
    problem in the sweep file, reported before anything runs rather than as failed runs.
    """
    design = make_design(sweep.spec.design, sweep.parameters)
    model, version, digest = sweep.model, sweep.model.version, outcomes_digest(sweep)
    fingerprints: list[str] = []
    problems: list[Problem] = []
    for point, values in enumerate(design.values):
        try:
            prepared = model.prepare(sweep.base, targets(sweep, values))
        except ScenarioError as error:
            problems.append(_point_problem(sweep, point, values, error))
            fingerprints.append("")
            continue
        fingerprints.append(model.fingerprint(prepared))
    if problems:
        raise ScenarioError(_summarised(problems, sweep))
    runs = [
        PlannedRun(point, replicate, seed, run_key(model.name, version, fingerprints[point], seed, digest))
        for point in range(design.size)
        for replicate, seed in enumerate(sweep.seeds)
    ]
    return Plan(sweep, design, fingerprints, runs, version)


def _point_problem(sweep: Sweep, point: int, values: dict[str, Any], error: ScenarioError) -> Problem:
    where = ", ".join(f"{name}={value!r}" for name, value in values.items())
    reasons = "; ".join(f"{p.field}: {p.message}" for p in error.problems)
    return sweep.problem(("parameters",), f"design point {point} ({where}) is not a valid scenario: {reasons}")


def _summarised(problems: list[Problem], sweep: Sweep) -> list[Problem]:
    shown = problems[:MAX_REPORTED]
    if len(problems) > MAX_REPORTED:
        more = len(problems) - MAX_REPORTED
        shown.append(sweep.problem(("parameters",), f"... and {more} more invalid design points; narrow the ranges"))
    return shown
