"""The levers the web app offers, as Mesa `model_params` built from the scenario schema.

Each lever is a scenario field (its bounds read from the pydantic schema, so a slider can
never offer a value `sim validate` would refuse) or the price cut of `sim whatif`
(`--price-cut WHO=PCT%@YYYY-MM`, the same rule in sim/whatif/changes.py). Applying the
levers to a scenario validates the result exactly as the command line does; a combination
that cannot be (a price cut after the scenario's last month) is a ScenarioError whose
message names the lever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel

from sim.scenario.calendar import month_at
from sim.scenario.loading import Problem, ScenarioError, scenario_from_dict
from sim.scenario.schema import ALL_VENDORS, Scenario
from sim.whatif.changes import Changes, parse_changes

NO_CUT = "none"
MAX_CUT_PERCENT = 99  # a cut is a fractional change > -1: below 100 %
SLIDER_STEPS = 200  # a lever's range is split into about this many steps
FINEST_STEP = 1e-6


@dataclass(frozen=True)
class Bounds:
    """A field's allowed range from the schema: `low`/`high` None where the schema sets none."""

    low: float | None
    high: float | None


@dataclass(frozen=True)
class FieldLever:
    """A slider over one scenario field (dotted path)."""

    name: str
    path: str
    label: str
    integer: bool = False
    open_max: float = 4.0  # with no upper bound in the schema: this many times the scenario's value
    cap: float | None = None  # at most this many times the scenario's value, even within the schema's bound


FIELD_LEVERS = (
    FieldLever("switching_cost", "developers.switching_cost", "Switching cost"),
    FieldLever("lock_in_weight", "developers.lock_in.weight", "Lock-in weight"),
    FieldLever("gpu_supply", "serving.max_gpu_growth", "GPU supply (growth/month)"),
    FieldLever("enterprise_adoption", "enterprises.adoption_rate", "Enterprise adoption", cap=10.0),
    FieldLever("months", "months", "Months", integer=True, cap=2.0),
)
LEVERS_BY_NAME = {lever.name: lever for lever in FIELD_LEVERS}


def field_bounds(path: str, model: type[BaseModel] = Scenario) -> Bounds:
    """The ge/gt/le/lt bounds the schema puts on a field, following nested models."""
    *parents, leaf = path.split(".")
    for part in parents:
        model = model.model_fields[part].annotation
    low = high = None
    for rule in model.model_fields[leaf].metadata:
        if isinstance(rule, annotated_types.Ge | annotated_types.Gt):
            low = float(rule.ge if isinstance(rule, annotated_types.Ge) else rule.gt)
        if isinstance(rule, annotated_types.Le | annotated_types.Lt):
            high = float(rule.le if isinstance(rule, annotated_types.Le) else rule.lt)
    return Bounds(low, high)


def field_value(scenario: Scenario, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _slider(lever: FieldLever, scenario: Scenario, value: float) -> dict[str, Any]:
    """A Mesa model_params slider whose range is the schema's (capped where the schema sets no maximum)."""
    bounds = field_bounds(lever.path)
    current = field_value(scenario, lever.path)
    finite = current if math.isfinite(current) else 1.0
    low = bounds.low if bounds.low is not None else min(0.0, finite)
    high = bounds.high if bounds.high is not None else max(lever.open_max * finite, low + 1.0)
    if lever.cap is not None:
        high = min(high, lever.cap * finite)
    step = 1 if lever.integer else _step_through(finite, low, _round_step((high - low) / SLIDER_STEPS))
    kind = "SliderInt" if lever.integer else "SliderFloat"
    shown = min(max(value if math.isfinite(value) else high, low), high)
    if lever.integer:
        low, high, shown = int(low), int(high), int(shown)
    return {
        "type": kind,
        "label": with_value(lever.label, shown),
        "value": shown,
        "min": low,
        "max": high,
        "step": step,
    }


def with_value(label: str, value: float, unit: str = "") -> str:
    """A slider's label with its value: a slider alone shows where it is, not what it is set to."""
    return f"{label}: {value:.4g}{unit}"


def _round_step(raw: float) -> float:
    """A readable step (1, 2 or 5 times a power of ten) no larger than `raw`."""
    power = 10 ** math.floor(math.log10(raw))
    return max(m * power for m in (1, 2, 5) if m * power <= raw)


def _step_through(value: float, low: float, step: float) -> float:
    """The step, made finer (down to FINEST_STEP) until the scenario's own value lies on the slider's grid.

    A slider snaps to its grid at once; a value off the grid would be changed by merely
    showing it, and Reset would then apply a change nobody made. The browser's slider
    rounds to the decimals its step is written with, and writes steps below 1e-6 with an
    exponent (no decimals at all): hence the floor.
    """
    candidates = [step] + [10.0**k for k in range(math.floor(math.log10(step)), round(math.log10(FINEST_STEP)) - 1, -1)]
    for candidate in candidates:
        ratio = (value - low) / candidate
        if abs(ratio - round(ratio)) < 1e-6:
            return float(f"{candidate:.1g}")
    return FINEST_STEP


def default_levers(scenario: Scenario) -> dict[str, Any]:
    """The lever values that leave the scenario as it is."""
    values: dict[str, Any] = {lever.name: field_value(scenario, lever.path) for lever in FIELD_LEVERS}
    values.update(
        price_cut_who=NO_CUT, price_cut_percent=50, price_cut_date=month_at(scenario.start, 12 % scenario.months)
    )
    return values


def model_params(scenario: Scenario, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Mesa-style `model_params` (rendered by mesa.visualization's UserInputs) for the levers."""
    dates = [month_at(scenario.start, i) for i in range(max(scenario.months, int(values["months"])))]
    params: dict[str, dict[str, Any]] = {
        "price_cut_who": {
            "type": "Select",
            "label": "Price cut: who",
            "value": values["price_cut_who"],
            "values": [NO_CUT, ALL_VENDORS, *scenario.vendors],
        },
        "price_cut_percent": {
            "type": "SliderInt",
            "label": with_value("Price cut", int(values["price_cut_percent"]), " %"),
            "value": int(values["price_cut_percent"]),
            "min": 1,
            "max": MAX_CUT_PERCENT,
            "step": 1,
        },
        "price_cut_date": {
            "type": "Select",
            "label": "Price cut: from",
            "value": values["price_cut_date"],
            "values": dates,
        },
    }
    for lever in FIELD_LEVERS:
        params[lever.name] = _slider(lever, scenario, values[lever.name])
    return params


def apply_levers(scenario: Scenario, values: dict[str, Any]) -> Scenario:
    """The scenario with the levers applied, validated like a file; a ScenarioError names the lever at fault."""
    assignments = [
        f"{lever.path}={_yaml_number(values[lever.name], lever.integer)}"
        for lever in FIELD_LEVERS
        if values[lever.name] != field_value(scenario, lever.path)
    ]
    try:
        changed = scenario_from_dict(scenario.model_dump(), assignments) if assignments else scenario
    except ScenarioError as error:
        raise ScenarioError([_named(problem) for problem in error.problems]) from None
    if values["price_cut_who"] == NO_CUT:
        return changed
    cut = f"{values['price_cut_who']}={values['price_cut_percent']}%@{values['price_cut_date']}"
    try:
        _, with_cut = parse_changes(changed, Changes(price_cuts=[cut]))
    except ScenarioError as error:
        raise ScenarioError([Problem("Price cut", p.field, p.message) for p in error.problems]) from None
    return with_cut.model_copy(update={"name": scenario.name})


def _yaml_number(value: Any, integer: bool) -> str:
    if integer:
        return str(int(value))
    return ".inf" if value == math.inf else repr(float(value))


def _named(problem: Problem) -> Problem:
    """A schema problem reported against the lever's label rather than `<dict>`."""
    lever = next((lever for lever in FIELD_LEVERS if lever.path == problem.field), None)
    return Problem(lever.label if lever else "Levers", problem.field, problem.message)


def whatif_changes(
    price_cut: str = "",
    capacity_cap: str = "",
    switching_cost: str = "",
    sets: str = "",
    both: str = "",
    default_month: str | None = None,
) -> Changes:
    """The What-if page's form as `sim whatif` flags: each field holds one flag's value or is empty.

    `sets` and `both` hold one PATH=VALUE per line (`--set`, the what-if side only; `--both`,
    both sides alike). A price cut or capacity cap may be written shortly: "99%" means every
    vendor from `default_month`, "volcano=99%" that vendor from then (`with_defaults`).
    """
    return Changes(
        price_cuts=[with_defaults(price_cut, default_month)] if price_cut.strip() else [],
        capacity_caps=[with_defaults(capacity_cap, default_month)] if capacity_cap.strip() else [],
        switching_costs=[switching_cost.strip()] if switching_cost.strip() else [],
        sets=[line.strip() for line in sets.splitlines() if line.strip()],
        both=[line.strip() for line in both.splitlines() if line.strip()],
    )


def with_defaults(text: str, month: str | None) -> str:
    """'99%' -> 'all=99%@MONTH', 'volcano=99%' -> 'volcano=99%@MONTH'; anything else as written."""
    text = text.strip()
    if month is None or "@" in text:
        return text
    who, sep, amount = text.rpartition("=")
    return f"{who if sep else 'all'}={amount}@{month}"
