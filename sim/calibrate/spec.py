"""Calibration files: the schema, loading, and errors that name the file, the line and the field.

A calibration file names a base scenario (or a test function), the free parameters with
their bounds, the public figures to fit (targets by id from a targets file, or inline
values for a test function), the seeds every candidate runs with (common random numbers),
the search budget and the ensemble to keep. It is validated as strictly as scenarios and
sweep files: an unknown key, a parameter path the scenario lacks, reversed bounds, an
unknown target id or a target outside the scenario's months are errors before anything
runs, each reported as `FILE:LINE: FIELD: what was expected`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from sim.scenario.calendar import month_index, parse_month
from sim.scenario.loading import (
    FileFields,
    Problem,
    ScenarioError,
    load_scenario,
    read_yaml_mapping,
    scenario_from_dict,
)
from sim.scenario.schema import Scenario, Strict
from sim.sweep.models import Model, assignment, resolve_model
from sim.targets import MOMENTS, load_targets, target_problem, target_span

DOCS = "see docs/calibration.md for the fields allowed here"
WILDCARD = "*"


class Prior(Strict):
    """What is believed about a parameter before the figures, within its bounds.

    `uniform` is flat on the search scale (log-uniform for a log-scaled parameter);
    `normal` (mean, sd) and `lognormal` (median, sigma) are in the parameter's own units;
    `beta` (a, b) is on the search range mapped to 0..1. Each is truncated to the bounds.
    """

    dist: Literal["uniform", "normal", "lognormal", "beta"] = "uniform"
    mean: float | None = Field(None, allow_inf_nan=False, description="normal: mean")
    sd: float | None = Field(None, gt=0, allow_inf_nan=False, description="normal: standard deviation")
    median: float | None = Field(None, gt=0, allow_inf_nan=False, description="lognormal: median")
    sigma: float | None = Field(None, gt=0, allow_inf_nan=False, description="lognormal: sd of log(value)")
    a: float | None = Field(None, gt=0, allow_inf_nan=False, description="beta: first shape")
    b: float | None = Field(None, gt=0, allow_inf_nan=False, description="beta: second shape")

    @model_validator(mode="after")
    def _complete(self) -> Prior:
        needed = {"uniform": (), "normal": ("mean", "sd"), "lognormal": ("median", "sigma"), "beta": ("a", "b")}
        wanted = needed[self.dist]
        missing = [name for name in wanted if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.dist} prior needs {' and '.join(wanted)} (missing: {', '.join(missing)})")
        settings = ("mean", "sd", "median", "sigma", "a", "b")
        extra = [name for name in settings if name not in wanted and getattr(self, name) is not None]
        if extra:
            takes = " and ".join(wanted) or "no settings"
            raise ValueError(f"a {self.dist} prior takes {takes}, not {', '.join(extra)}")
        return self


class FreeParameter(Strict):
    """A parameter the figures are asked to pin down: its range, its scale, its prior, where it goes."""

    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    scale: Literal["linear", "log"] = Field("linear", description="log: search evenly in log(value)")
    prior: Prior = Field(default_factory=Prior, description="belief before the figures (default: uniform)")
    paths: list[str] | None = Field(None, min_length=1, description="scenario paths it sets (default: its name)")
    mode: Literal["set", "multiply"] = Field("set", description="multiply: scale each path's base value")

    @model_validator(mode="after")
    def _ordered(self) -> FreeParameter:
        if self.high <= self.low:
            raise ValueError(f"high must be greater than low (got low {self.low:g}, high {self.high:g})")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"a log scale needs a positive low bound (got {self.low:g})")
        if self.prior.dist == "lognormal" and self.low < 0:
            raise ValueError(f"a lognormal prior needs a low bound of 0 or more (got {self.low:g})")
        return self

    def value(self, unit: float) -> float:
        """The value at a unit coordinate (0 = low, 1 = high) on the parameter's scale."""
        if self.scale == "log":
            return math.exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        return self.low + unit * (self.high - self.low)

    def unit(self, value: float) -> float:
        if self.scale == "log":
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)


class InlineTarget(Strict):
    """A figure for a test function's output: its value and how far a fit may be from it."""

    value: float = Field(allow_inf_nan=False)
    tolerance: float = Field(gt=0, allow_inf_nan=False)
    rule: Literal["absolute", "relative", "factor", "at_least", "at_most"] = "absolute"


class TargetsSpec(Strict):
    file: str | None = Field(None, description="targets file, relative to the calibration file")
    also: str | None = Field(
        None,
        description="a second targets file whose every figure is fitted too (e.g. data/checks.yaml: "
        "to ask whether one parameter set fits the out-of-sample figures as well)",
    )
    use: list[str] | None = Field(None, min_length=1, description="target ids to fit (default: every one)")
    weights: dict[str, float] = Field(default_factory=dict, description="target id: weight of its squared misses")
    values: dict[str, InlineTarget] = Field(default_factory=dict, description="a test function's outputs to fit")


class SearchSpec(Strict):
    initial: int = Field(128, ge=4, le=65_536, description="space-filling Sobol' points before the optimiser")
    budget: int = Field(256, ge=0, le=100_000, description="optimiser candidates after the initial points")
    batch: int = Field(16, ge=1, le=4096, description="candidates proposed and evaluated at a time")
    seed: int = Field(0, ge=0, lt=2**32, description="seed of the samplers (not of the model)")


class EnsembleSpec(Strict):
    size: int = Field(100, ge=1, le=100_000, description="plausible sets a what-if uses")
    rounds: int = Field(3, ge=0, le=100, description="refocusing rounds of history matching")
    posterior_rounds: int = Field(
        0, ge=0, le=100, description="rounds drawn round the weighted posterior so far (population Monte Carlo)"
    )
    per_round: int = Field(256, ge=1, le=100_000, description="candidates drawn in each round")
    cutoff: float = Field(1.0, gt=0, allow_inf_nan=False, description="largest |scaled miss| of a plausible set")


class CalibrationSpec(Strict):
    """The calibration file as written."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="output folder name (default: file)")
    description: str = ""
    model: str = Field("market", description="registered model name or module:function")
    base: str | None = Field(None, description="base scenario file, relative to the calibration file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted path: value, for the search only")
    parameters: dict[str, FreeParameter] = Field(min_length=1)
    targets: TargetsSpec
    seeds: list[int] = Field([1], min_length=1, max_length=1000)
    search: SearchSpec = Field(default_factory=SearchSpec)
    ensemble: EnsembleSpec = Field(default_factory=EnsembleSpec)
    until: str | None = Field(None, description="fit only figures whose data ends by this month (YYYY-MM)")

    @model_validator(mode="after")
    def _distinct_seeds(self) -> CalibrationSpec:
        if len(set(self.seeds)) != len(self.seeds) or not all(0 <= s < 2**63 for s in self.seeds):
            raise ValueError("seeds: expected distinct whole numbers from 0 to 2**63-1")
        return self


@dataclass(frozen=True)
class Parameter:
    """A free parameter resolved on the base: the scenario paths it sets and their base values."""

    name: str
    spec: FreeParameter
    paths: tuple[str, ...]
    base_values: tuple[float, ...] = ()  # for `multiply`

    def assignments(self, value: float) -> dict[str, float]:
        if self.spec.mode == "multiply":
            return {path: base * value for path, base in zip(self.paths, self.base_values, strict=True)}
        return dict.fromkeys(self.paths, value)


@dataclass(frozen=True)
class Calibration:
    """A validated calibration: the model, the base, the free parameters and the figures to fit."""

    path: Path
    text: str
    spec: CalibrationSpec
    model: Model
    base: Scenario | None
    parameters: list[Parameter]
    targets: list[dict[str, Any]]  # targets file entries (market) or inline figures (test functions)
    targets_file: Path | None
    until: str | None
    lines: dict[tuple[str, ...], int] = field(default_factory=dict, repr=False)
    also_file: Path | None = None  # a second targets file, every figure of which is fitted too

    @property
    def name(self) -> str:
        return self.spec.name or (re.sub(r"[^A-Za-z0-9_.-]", "_", self.path.stem) or "calibration")

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def values(self, unit: list[float]) -> dict[str, float]:
        """Parameter values at unit coordinates (to 12 significant digits: no float dust in scenarios)."""
        return {p.name: float(f"{p.spec.value(u):.12g}") for p, u in zip(self.parameters, unit, strict=True)}

    def assignments(self, values: dict[str, float]) -> dict[str, float]:
        """Scenario path: value, for a set of parameter values."""
        out: dict[str, float] = {}
        for parameter in self.parameters:
            out.update(parameter.assignments(values[parameter.name]))
        return out

    def targets_digest(self) -> str:
        return hashlib.sha256(json.dumps(self.targets, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def problem(self, loc: tuple[str, ...], message: str) -> Problem:
        return FileFields(self.path, self.lines).problem(loc, message)


def load_calibration(path: str | Path, until: str | None = None) -> Calibration:
    """Read and validate a calibration file; `until` (YYYY-MM) overrides the file's own."""
    path = Path(path)
    text, data, lines = read_yaml_mapping(path, "calibration")
    at = FileFields(path, lines)
    spec = _validate(data, at)
    try:
        model = resolve_model(spec.model)
    except (LookupError, ImportError, AttributeError, TypeError) as exc:
        raise at.error(("model",), str(exc)) from None
    until = _until(until if until is not None else spec.until, "--until" if until is not None else None, at)
    if model.uses_scenario:
        base = _base(path, spec, at)
        parameters = [_scenario_parameter(name, p, base, at) for name, p in spec.parameters.items()]
        targets_file, targets = _market_targets(path, spec, base, at)
        also_file, also = _also_targets(path, spec, base, targets, at)
        targets = targets + also
    else:
        base, targets_file, also_file = None, None, None
        parameters = [_function_parameter(name, p, model, at) for name, p in spec.parameters.items()]
        targets = _inline_targets(spec, at)
        _check_outputs(model, parameters, targets, spec.seeds[0], at)
    _check_weights(spec, targets, at)
    calibration = Calibration(path, text, spec, model, base, parameters, targets, targets_file, until, lines, also_file)
    _check_something_is_fitted(calibration, at)
    return calibration


def _validate(data: dict[str, Any], at: FileFields) -> CalibrationSpec:
    return at.validated(CalibrationSpec, data, DOCS)


def _until(value: str | None, flag: str | None, at: FileFields) -> str | None:
    if value is None:
        return None
    try:
        return parse_month(str(value)[:40])
    except ValueError as error:
        if flag:
            raise ScenarioError([Problem(flag, "", str(error))]) from None
        raise at.error(("until",), str(error)) from None


def _base(path: Path, spec: CalibrationSpec, at: FileFields) -> Scenario:
    if spec.base is None:
        raise at.error(("base",), "required field is missing: the base scenario file, relative to this file")
    base_path = path.parent / spec.base
    if not base_path.is_file():
        raise at.error(("base",), f"file not found: {base_path}")
    try:
        return load_scenario(base_path, [assignment(key, value) for key, value in spec.overrides.items()])
    except ScenarioError as error:
        problems = [
            Problem(str(path), f"overrides.{p.field}", p.message, at.line(("overrides", p.field)))
            if p.source == "--set"
            else p
            for p in error.problems
        ]
        raise ScenarioError(problems) from None


# --- parameters -------------------------------------------------------------------------------


def expand(pattern: str, data: dict[str, Any]) -> list[str]:
    """Dotted paths matching `pattern` in the scenario (`*` matches every key of a section).

    Event ids stand for their index (`events.<id>.price`), as in sweep files.
    """
    found = [""]
    for key in pattern.split("."):
        following = []
        for prefix in found:
            node = _at(data, prefix)
            if key == WILDCARD and isinstance(node, dict):
                following += [_join(prefix, str(k)) for k in node]
            elif isinstance(node, list) and prefix == "events" and not key.lstrip("-").isdigit():
                ids = [event.get("id") for event in node]
                if key in ids:
                    following.append(_join(prefix, str(ids.index(key))))
            elif (isinstance(node, dict) and key in node) or (
                isinstance(node, list) and key.isdigit() and int(key) < len(node)
            ):
                following.append(_join(prefix, key))
        found = following
    return found


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _at(data: Any, path: str) -> Any:
    node = data
    for key in path.split(".") if path else []:
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _scenario_parameter(name: str, spec: FreeParameter, base: Scenario, at: FileFields) -> Parameter:
    """Expand the paths on the base, check each is a number, and try both bounds on the base."""
    data = base.model_dump()
    loc = ("parameters", name)
    paths: list[str] = []
    for pattern in spec.paths or [name]:
        matched = expand(pattern, data)
        if not matched:
            raise at.error(loc, f"the base scenario has no field {pattern!r}")
        paths += matched
    numbers = [_at(data, p) for p in paths]
    for path, value in zip(paths, numbers, strict=True):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise at.error(loc, f"{path} is {type(value).__name__}, not a number")
    parameter = Parameter(name, spec, tuple(paths), tuple(float(v) for v in numbers))
    for bound in ("low", "high"):
        sets = [assignment(path, value) for path, value in parameter.assignments(getattr(spec, bound)).items()]
        try:
            scenario_from_dict(data, sets)
        except ScenarioError as error:
            reason = "; ".join(f"{p.field}: {p.message}" for p in error.problems)
            raise at.error((*loc, bound), f"{getattr(spec, bound)!r} is not valid here: {reason}") from None
    return parameter


def _function_parameter(name: str, spec: FreeParameter, model: Model, at: FileFields) -> Parameter:
    if spec.paths is not None or spec.mode != "set":
        raise at.error(("parameters", name), "a test function takes its parameters by name: no `paths` or `mode`")
    if model.parameters is not None and name not in model.parameters:
        raise at.error(("parameters", name), f"model {model.name!r} takes {', '.join(model.parameters)}")
    return Parameter(name, spec, (name,))


# --- targets ------------------------------------------------------------------------------------


def _market_targets(
    path: Path, spec: CalibrationSpec, base: Scenario, at: FileFields
) -> tuple[Path, list[dict[str, Any]]]:
    if spec.targets.values:
        raise at.error(("targets", "values"), "inline values are for test functions; the market fits a targets file")
    if spec.targets.file is None:
        raise at.error(("targets", "file"), "required field is missing: the targets file, relative to this file")
    file = path.parent / spec.targets.file
    entries = _read_targets(file, at)
    known = {t.get("id"): t for t in entries if isinstance(t, dict)}
    chosen = spec.targets.use or list(known)
    for i, target_id in enumerate(chosen):
        if target_id not in known:
            raise at.error(("targets", "use", str(i)), f"{file} has no target {target_id!r} (ids: {', '.join(known)})")
        if target_id not in MOMENTS:
            raise at.error(("targets", "use", str(i)), f"no moment is defined for target {target_id!r}")
        loc = ("targets", "use", str(i)) if spec.targets.use else ("targets", "file")
        _check_measurable(known[target_id], file, base, loc, at)
        _check_inside(known[target_id], base, loc, at)
    return file, [known[t] for t in chosen]


def _also_targets(
    path: Path, spec: CalibrationSpec, base: Scenario, chosen: list[dict[str, Any]], at: FileFields
) -> tuple[Path | None, list[dict[str, Any]]]:
    """Every figure of the second targets file, none of which may share an id with the first's."""
    if spec.targets.also is None:
        return None, []
    file = path.parent / spec.targets.also
    if not file.is_file():
        raise at.error(("targets", "also"), f"file not found: {file}")
    entries = load_targets(file)
    taken = {t["id"] for t in chosen}
    for target in entries:
        if target["id"] in taken:
            raise at.error(("targets", "also"), f"{file}: target {target['id']!r} is also in the first targets file")
        _check_measurable(target, file, base, ("targets", "also"), at)
        _check_inside(target, base, ("targets", "also"), at)
    return file, entries


def _read_targets(file: Path, at: FileFields) -> list[dict[str, Any]]:
    """The targets file through the one safe reader (its own errors name it, its line and field)."""
    if not file.is_file():
        raise at.error(("targets", "file"), f"file not found: {file}")
    return load_targets(file)


def _check_measurable(target: dict[str, Any], file: Path, base: Scenario, loc: tuple[str, ...], at: FileFields) -> None:
    """The vendors a fitted target names, or its moments read, must be the base scenario's.

    Checked here, before any run, because every run would otherwise fail measuring it and the
    calibration would end with nothing fitted. (The rest of a target's shape is checked as the
    targets file is read.)
    """
    found = target_problem(target, list(base.vendors))
    if found is not None:
        where, message = found
        raise at.error(loc, f"{file}: target {target['id']!r}: {where}: {message}")


def _check_inside(target: dict[str, Any], base: Scenario, loc: tuple[str, ...], at: FileFields) -> None:
    first, last = target_span(target)
    months = (month_index(base.start, first), month_index(base.start, last))
    if months[0] < 0 or months[1] >= base.months:
        raise at.error(
            loc,
            f"target {target['id']!r} describes {first} to {last}; the base scenario runs "
            f"{base.start} for {base.months} months",
        )


def _inline_targets(spec: CalibrationSpec, at: FileFields) -> list[dict[str, Any]]:
    if spec.targets.file is not None or spec.targets.use is not None:
        raise at.error(("targets",), "a test function is fitted to inline `values`, not to a targets file")
    if not spec.targets.values:
        raise at.error(("targets", "values"), "required: the test function's outputs to fit, with tolerances")
    return [{"id": name, **target.model_dump()} for name, target in spec.targets.values.items()]


def _check_outputs(
    model: Model, parameters: list[Parameter], targets: list[dict[str, Any]], seed: int, at: FileFields
) -> None:
    """Each inline figure must be an output the test function gives, asked once before any run.

    A name it does not give would fail every run and leave nothing fitted. The function is
    called at the middle of every range; if it raises there, its outputs are not known and
    the runs report it instead.
    """
    middle = {p.name: p.spec.value(0.5) for p in parameters}
    try:
        outputs = list(dict.fromkeys(model.evaluate(model.prepare(None, middle), seed, None).outcomes.outcome))
    except Exception:  # the function's own failure, whatever it is, is the runs' to report
        return
    for target in targets:
        if target["id"] not in outputs:
            message = f"model {model.name!r} gives no output {target['id']!r}; its outputs: {', '.join(outputs)}"
            raise at.error(("targets", "values", target["id"]), message)


def _check_weights(spec: CalibrationSpec, targets: list[dict[str, Any]], at: FileFields) -> None:
    ids = {t["id"] for t in targets}
    for target_id, weight in spec.targets.weights.items():
        if target_id not in ids:
            raise at.error(("targets", "weights", target_id), f"not a fitted target (fitted: {', '.join(ids)})")
        if not (math.isfinite(weight) and weight > 0):
            raise at.error(("targets", "weights", target_id), f"expected a positive number, got {weight!r}")


def _check_something_is_fitted(calibration: Calibration, at: FileFields) -> None:
    if calibration.until is None or calibration.base is None:
        return
    ends = [target_span(t)[1] for t in calibration.targets]
    if not any(month_index(end, calibration.until) >= 0 for end in ends):
        raise at.error(("until",), f"no target's data ends by {calibration.until}: nothing would be fitted")
