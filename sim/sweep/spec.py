"""Sweep files: the schema, loading, and errors that name the file, the line and the field.

A sweep file says which model to evaluate (the market model by default, on a base
scenario), which parameters to vary and how (a list of values or a distribution), the
design that picks the parameter sets, the seeds every set runs with, and the outcomes to
keep. It is validated as strictly as a scenario: an unknown key is an error, never a
silent default, and every problem is reported as `FILE:LINE: FIELD: what was expected`
through the scenario loader's `Problem` and `ScenarioError`, so the CLI handles both alike.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from sim.record.trajectories import MARKET_COLUMNS, VENDOR_COLUMNS
from sim.scenario.calendar import month_at, month_index
from sim.scenario.loading import (
    FileFields,
    Problem,
    ScenarioError,
    field_message,
    load_scenario,
    quoted,
    read_yaml_mapping,
    scenario_from_dict,
)
from sim.scenario.schema import Scenario, Strict
from sim.sweep.models import Model, assignment, resolve_model
from sim.sweep.outcomes import OutcomeSpec

DOCS = "see docs/sweeps.md for the fields allowed here"


# --- parameters -------------------------------------------------------------------------------


class Values(Strict):
    """An explicit list of values; sampling designs pick among them with equal chance."""

    values: list[Any] = Field(min_length=1)


class _Continuous(Strict):
    """Shared by the distributions: `levels` points for a grid, `integer` to round draws."""

    levels: int | None = Field(None, ge=2, le=10_000, description="grid points (grid design only)")
    integer: bool = Field(False, description="round every value to a whole number (for integer fields)")


class _Range(_Continuous):
    """A finite range from low to high."""

    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> _Range:
        if self.high <= self.low:
            raise ValueError(f"high must be greater than low (got low {self.low:g}, high {self.high:g})")
        return self


class Uniform(_Range):
    """Every value between low and high equally likely."""

    dist: Literal["uniform"]


class LogUniform(_Range):
    """Every order of magnitude between low and high equally likely (for rates and costs)."""

    dist: Literal["loguniform"]
    low: float = Field(gt=0, allow_inf_nan=False)


class Normal(_Continuous):
    """A normal distribution, optionally truncated to [low, high]."""

    dist: Literal["normal"]
    mean: float = Field(allow_inf_nan=False)
    sd: float = Field(gt=0, allow_inf_nan=False)
    low: float = -math.inf
    high: float = math.inf

    @model_validator(mode="after")
    def _ordered(self) -> Normal:
        if self.high <= self.low:
            raise ValueError(f"high must be greater than low (got low {self.low:g}, high {self.high:g})")
        return self


DISTRIBUTIONS = ("uniform", "loguniform", "normal")


def _as_parameter(value: Any) -> Any:
    """Accept the shorthand `[v1, v2]` for `{values: [...]}`; say plainly what else is allowed."""
    if isinstance(value, list):
        return {"values": value}
    expected = f"a list of values or a distribution {{dist: {' | '.join(DISTRIBUTIONS)}, ...}}"
    if not isinstance(value, dict):
        raise ValueError(f"expected {expected} (got {quoted(value)}); a fixed value belongs in `overrides`")
    if "values" not in value and value.get("dist") not in DISTRIBUTIONS:
        got = f"unknown dist {quoted(value['dist'])}" if "dist" in value else "no `values` and no `dist`"
        raise ValueError(f"expected {expected}; {got}")
    return value


def _parameter_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "list" if "values" in value else str(value.get("dist"))
    return "list" if isinstance(value, Values) else str(getattr(value, "dist", ""))


ParameterSpec = Annotated[
    Annotated[Values, Tag("list")]
    | Annotated[Uniform, Tag("uniform")]
    | Annotated[LogUniform, Tag("loguniform")]
    | Annotated[Normal, Tag("normal")],
    Discriminator(_parameter_tag),
    BeforeValidator(_as_parameter),
]


# --- designs ----------------------------------------------------------------------------------


class Grid(Strict):
    """Every combination of every parameter's values (a distribution needs `levels`)."""

    method: Literal["grid"]


class RandomDesign(Strict):
    """Independent random draws: plain Monte Carlo."""

    method: Literal["random"]
    samples: int = Field(ge=2, le=10_000_000, description="parameter sets")
    seed: int = Field(0, ge=0, description="seed of the design (not of the runs)")


class LatinHypercube(Strict):
    """Stratified random draws: every parameter's range is covered evenly (scipy.stats.qmc)."""

    method: Literal["lhs"]
    samples: int = Field(ge=2, le=10_000_000)
    seed: int = Field(0, ge=0)
    optimization: Literal["random-cd", "lloyd"] | None = Field(None, description="scipy's LHS optimisation")


class Sobol(Strict):
    """Saltelli's scheme for Sobol' indices (SALib): samples x (D + 2) sets, or x (2D + 2) with second order."""

    method: Literal["sobol"]
    samples: int = Field(ge=2, le=2**24, description="base sample N, a power of 2")
    second_order: bool = Field(False, description="also estimate the pairwise (second-order) indices")
    seed: int = Field(0, ge=0)

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, samples: int) -> int:
        if samples & (samples - 1):
            below = 2 ** int(math.log2(samples))
            raise ValueError(f"must be a power of 2 for Sobol' sequences (got {samples}; try {below} or {2 * below})")
        return samples


class Morris(Strict):
    """Morris elementary effects (SALib): trajectories x (D + 1) sets on a grid of `levels`."""

    method: Literal["morris"]
    trajectories: int = Field(ge=2, le=100_000)
    levels: int = Field(4, ge=2, le=100, description="grid levels per parameter, even")
    seed: int = Field(0, ge=0)

    @field_validator("levels")
    @classmethod
    def _even(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError(f"must be even for Morris' design (got {levels})")
        return levels


DesignSpec = Annotated[Grid | RandomDesign | LatinHypercube | Sobol | Morris, Field(discriminator="method")]


# --- the sweep file ---------------------------------------------------------------------------


class SweepSpec(Strict):
    """The sweep file as written."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="output folder name (default: file)")
    description: str = ""
    model: str = Field("market", description="registered model name or module:function")
    base: str | None = Field(None, description="base scenario file, relative to the sweep file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted path: value, applied to the base")
    add_events: list[dict[str, Any]] = Field(default_factory=list, description="events appended to the base")
    parameters: dict[str, ParameterSpec] = Field(min_length=1)
    design: DesignSpec
    replicates: int = Field(1, ge=1, le=100_000, description="seeds every parameter set runs with")
    seed: int | None = Field(None, ge=0, lt=2**63, description="first seed (default: the base scenario's)")
    seeds: list[int] | None = Field(None, min_length=1, description="explicit seeds instead of replicates")
    outcomes: OutcomeSpec | None = None

    @model_validator(mode="after")
    def _one_way_to_give_seeds(self) -> SweepSpec:
        if self.seeds is not None and {"replicates", "seed"} & self.model_fields_set:
            raise ValueError("seeds: give either `seeds` or `replicates` (with an optional first `seed`), not both")
        if self.seeds is not None and len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds: every seed must differ")
        if self.seeds is not None and not all(0 <= s < 2**63 for s in self.seeds):
            raise ValueError("seeds: expected whole numbers from 0 to 2**63-1")
        if self.seed is not None and self.seed + self.replicates > 2**63:
            raise ValueError("seed: the last replicate's seed (seed + replicates - 1) must be below 2**63")
        return self


@dataclass(frozen=True)
class Parameter:
    """A varied parameter: its name in the sweep file and results, where it goes, how it varies."""

    name: str
    target: str  # the dotted path the model receives (an event id resolved to its index)
    spec: Values | Uniform | LogUniform | Normal


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: the file, the model, the resolved base scenario and the parameters."""

    path: Path
    text: str
    spec: SweepSpec
    model: Model
    base: Scenario | None
    parameters: list[Parameter]
    seeds: list[int]
    outcomes: OutcomeSpec | None
    cli_overrides: list[str] = field(default_factory=list)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name or _stem_name(self.path)

    def problem(self, loc: tuple[str, ...], message: str) -> Problem:
        """A problem in this sweep file at `loc` (e.g. ("parameters", "x1", "low")), with its line."""
        return FileFields(self.path, self.lines).problem(loc, message)


def _stem_name(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem) or "sweep"


# --- loading ----------------------------------------------------------------------------------


def load_sweep(path: str | Path, overrides: list[str] | None = None) -> Sweep:
    """Read and validate a sweep file; `overrides` (`--set PATH=VALUE`) apply to the base scenario last.

    Everything that can be checked before running is checked here: the schema, the model,
    the base scenario, every parameter's path and every listed value (or a distribution's
    bounds) against the base scenario, the seeds and the outcomes' months and columns.
    """
    path = Path(path)
    text, data, lines = _read(path)
    located = FileFields(path, lines)
    spec = _validate_spec(data, located)
    model = _model(spec, located)
    if model.uses_scenario:
        base = _base_scenario(path, spec, overrides or [], located)
        parameters = [_scenario_parameter(name, p, base, located) for name, p in spec.parameters.items()]
        outcomes = _outcomes(spec.outcomes or OutcomeSpec(), base, located)
    else:
        _check_function_model(spec, model, overrides or [], located)
        base, outcomes = None, None
        parameters = [Parameter(name, name, p) for name, p in spec.parameters.items()]
    _check_design_fits(spec, parameters, located)
    seeds = _seeds(spec, base)
    return Sweep(path, text, spec, model, base, parameters, seeds, outcomes, list(overrides or []), lines)


def _read(path: Path) -> tuple[str, dict[str, Any], dict[tuple[str, ...], int]]:
    return read_yaml_mapping(path, "sweep")


def _validate_spec(data: dict[str, Any], at: FileFields) -> SweepSpec:
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _user_location(err["loc"], data)
            message = _message(err)
            if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
                loc = (*loc, str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
            if not loc and (match := re.match(r"^(\w+): (.+)$", message, re.DOTALL)):
                loc, message = (match.group(1),), match.group(2)
            problems.append(at.problem(loc, message))
        raise ScenarioError(problems) from None


_TAGS = ("list", *DISTRIBUTIONS)


def _user_location(loc: tuple, data: Any) -> tuple[str, ...]:
    """The error's path as written in the file, without the union tags pydantic inserts."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and (part in _TAGS or part == node.get("method")):
            continue
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return tuple(parts)


def _message(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "union_tag_invalid":
        expected = err.get("ctx", {}).get("expected_tags", "")
        return f"unknown method {err['ctx'].get('tag')!r}; expected one of {expected}"
    if kind == "union_tag_not_found":
        return "required field `method` is missing (grid, random, lhs, sobol or morris)"
    return field_message(err, DOCS)


def _model(spec: SweepSpec, at: FileFields) -> Model:
    try:
        return resolve_model(spec.model)
    except (LookupError, ImportError, AttributeError, TypeError) as exc:
        raise at.error(("model",), str(exc)) from None


def _base_scenario(path: Path, spec: SweepSpec, cli: list[str], at: FileFields) -> Scenario:
    if spec.base is None:
        raise at.error(("base",), "required field is missing: the base scenario file, relative to this file")
    base_path = path.parent / spec.base
    if not base_path.exists():
        raise at.error(("base",), f"file not found: {base_path}")
    file_overrides = [assignment(key, value) for key, value in spec.overrides.items()]
    try:
        scenario = load_scenario(base_path, [*file_overrides, *cli])
    except ScenarioError as error:
        raise ScenarioError([_override_problem(p, spec, cli, at) for p in error.problems]) from None
    if spec.add_events:
        scenario = _with_events(scenario, spec.add_events, at)
    return scenario


def _override_problem(problem: Problem, spec: SweepSpec, cli: list[str], at: FileFields) -> Problem:
    """Blame a bad override on its line in the sweep file (a command-line `--set` stays `--set`)."""
    cli_paths = {item.partition("=")[0].strip() for item in cli}
    if problem.source != "--set" or problem.field in cli_paths or problem.field not in spec.overrides:
        return problem
    loc = ("overrides", problem.field)
    return at.problem(loc, problem.message)


def _with_events(scenario: Scenario, events: list[dict[str, Any]], at: FileFields) -> Scenario:
    data = scenario.model_dump()
    first = len(data["events"])
    data["events"] = data["events"] + events
    try:
        return scenario_from_dict(data)
    except ScenarioError as error:
        problems = []
        for p in error.problems:
            parts = p.field.split(".")
            if parts[0] == "events" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) >= first:
                loc = ("add_events", str(int(parts[1]) - first), *parts[2:])
                problems.append(at.problem(loc, p.message))
            else:
                problems.append(at.problem(("add_events",), f"{p.field}: {p.message}"))
        raise ScenarioError(problems) from None


# --- parameters of the market model -----------------------------------------------------------


def _scenario_parameter(
    name: str, spec: Values | Uniform | LogUniform | Normal, base: Scenario, at: FileFields
) -> Parameter:
    """Resolve the path (an event id to its index), check it exists, and try each value on the base."""
    loc = ("parameters", name)
    data = base.model_dump()
    target = _resolve_event_ids(name, base, at)
    if target.split(".")[0] == "seed":
        raise at.error(loc, "the seed is not a parameter: runs take their seeds from `replicates` or `seeds`")
    node = _node_at(data, target.split("."), name, at)
    if not isinstance(spec, Values) and isinstance(node, dict | list):
        raise at.error(
            loc, f"{target} is a section, not a number; a distribution gives numbers (fields: {_fields(node)})"
        )
    for key, value in _trial_values(spec):
        try:
            scenario_from_dict(data, [assignment(target, value)])
        except ScenarioError as error:
            reason = "; ".join(p.message for p in error.problems)
            raise at.error((*loc, *key), f"{quoted(value)} is not a valid {target}: {reason}") from None
    return Parameter(name, target, spec)


def _resolve_event_ids(name: str, base: Scenario, at: FileFields) -> str:
    """`events.<id>.field` -> `events.<index>.field` in the resolved base (ids are stabler than indices)."""
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "events" or parts[1].lstrip("-").isdigit():
        return name
    ids = [event.id for event in base.events]
    if parts[1] not in ids:
        known = ", ".join(i for i in ids if i) or "none"
        raise at.error(("parameters", name), f"no event of the base scenario has id {parts[1]!r} (ids: {known})")
    return ".".join(["events", str(ids.index(parts[1])), *parts[2:]])


def _node_at(data: Any, keys: list[str], name: str, at: FileFields) -> Any:
    node = data
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth]) or "the scenario"
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.lstrip("-").isdigit() and -len(node) <= int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, list):
            raise at.error(
                ("parameters", name),
                f"{where} has {len(node)} entries; expected an index from 0 to {len(node) - 1}, got {key!r}",
            )
        elif isinstance(node, dict):
            close = difflib.get_close_matches(key, [str(k) for k in node], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (fields: {_fields(node)})"
            raise at.error(("parameters", name), f"{where} has no field {key!r}{hint}")
        else:
            raise at.error(("parameters", name), f"{where} is a value, not a section")
    return node


def _fields(node: dict | list) -> str:
    return ", ".join(str(k) for k in node) if isinstance(node, dict) else f"{len(node)} entries"


def _trial_values(spec: Values | Uniform | LogUniform | Normal) -> list[tuple[tuple[str, ...], Any]]:
    """Values to try on the base before running: every listed value, or a distribution's finite bounds."""
    if isinstance(spec, Values):
        return [(("values", str(i)), v) for i, v in enumerate(spec.values)]
    trials = [(("mean",), spec.mean)] if isinstance(spec, Normal) else []
    trials += [((end,), getattr(spec, end)) for end in ("low", "high") if math.isfinite(getattr(spec, end))]
    return [(key, round(value) if spec.integer else value) for key, value in trials]


def _outcomes(spec: OutcomeSpec, base: Scenario, at: FileFields) -> OutcomeSpec:
    """Check months and columns against the base; fill in the default month (the last)."""
    last = month_at(base.start, base.months - 1)

    def check_month(month: str, loc: tuple[str, ...]) -> None:
        if not 0 <= month_index(base.start, month) < base.months:
            raise at.error(loc, f"{month} is outside the base scenario ({base.start} to {last})")

    for i, month in enumerate(spec.at):
        check_month(month, ("outcomes", "at", str(i)))
    for i, period in enumerate(spec.periods):
        check_month(period.start, ("outcomes", "periods", str(i), "from"))
        check_month(period.end, ("outcomes", "periods", str(i), "to"))
    _check_columns(spec.metrics, VENDOR_COLUMNS, ("outcomes", "metrics"), at)
    _check_columns(spec.market, MARKET_COLUMNS, ("outcomes", "market"), at)
    _check_columns(spec.trajectory_columns, VENDOR_COLUMNS, ("outcomes", "trajectories"), at)
    return spec.model_copy(update={"at": list(spec.at) or [last]})


def _check_columns(names: list[str], known: dict, loc: tuple[str, ...], at: FileFields) -> None:
    for i, name in enumerate(names):
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise at.error((*loc, str(i)), f"unknown column {name!r}; {hint}expected one of: {', '.join(known)}")


# --- other models, designs and seeds ----------------------------------------------------------


def _check_function_model(spec: SweepSpec, model: Model, cli: list[str], at: FileFields) -> None:
    """A model that reads no scenario takes no base, overrides, events or scenario outcomes."""
    for key in ("base", "overrides", "add_events", "outcomes"):
        if key in spec.model_fields_set:
            raise at.error((key,), f"model {model.name!r} does not read a scenario; remove `{key}`")
    if cli:
        raise ScenarioError([Problem("--set", cli[0], f"model {model.name!r} does not read a scenario")])
    expected = model.parameters
    if expected is None:
        return
    for name in spec.parameters:
        if name not in expected:
            raise at.error(
                ("parameters", name), f"model {model.name!r} has no parameter {name!r}; expected: {', '.join(expected)}"
            )
    missing = [name for name in expected if name not in spec.parameters]
    if missing:
        raise at.error(("parameters",), f"model {model.name!r} needs every parameter; missing: {', '.join(missing)}")


def _check_design_fits(spec: SweepSpec, parameters: list[Parameter], at: FileFields) -> None:
    design = spec.design
    for p in parameters:
        if isinstance(design, Grid) and not isinstance(p.spec, Values) and p.spec.levels is None:
            raise at.error(
                ("parameters", p.name), "the grid design needs a list of values, or `levels` for a distribution"
            )
        if (
            isinstance(design, Morris)
            and isinstance(p.spec, Normal)
            and not (math.isfinite(p.spec.low) and math.isfinite(p.spec.high))
        ):
            raise at.error(
                ("parameters", p.name), "Morris' design needs bounded ranges: give this normal `low` and `high`"
            )
    if isinstance(design, Sobol) and design.second_order and len(parameters) < 2:
        raise at.error(("design", "second_order"), "second-order indices need at least two parameters")


def _seeds(spec: SweepSpec, base: Scenario | None) -> list[int]:
    """The seeds every parameter set runs with: common random numbers across the sweep."""
    if spec.seeds is not None:
        return list(spec.seeds)
    first = spec.seed if spec.seed is not None else (base.seed if base is not None else 0)
    return [first + r for r in range(spec.replicates)]
