"""From YAML files and `--set` overrides to a validated Scenario, or a ScenarioError naming every problem.

Loading directives (not part of a resolved scenario):
  extends: other.yaml        start from another file (path relative to this one) and override it
  add_events: [...]          append events to the inherited list instead of replacing it
  drop_events: [id, ...]     remove inherited events by their `id`
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.scenario.schema import Scenario

DIRECTIVES = ("extends", "add_events", "drop_events")
MAX_EXTENDS_DEPTH = 16


@dataclass
class Problem:
    """One thing wrong with a scenario: where it is and what was expected."""

    source: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.source + (f":{self.line}" if self.line else "")
        return f"{where}: {self.field or '(top level)'}: {self.message}"


@dataclass
class ScenarioError(Exception):
    """A scenario that cannot be used; carries every problem found, not just the first."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass
class _Layer:
    """One YAML file's raw mapping and the line of each field, for error messages."""

    path: Path
    data: dict[str, Any]
    lines: dict[tuple[str, ...], int]


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Read a scenario file (following `extends`), apply `--set` overrides, and validate."""
    path = Path(path)
    layers = _read_chain(path)
    merged = _merge_layers(layers)
    set_paths = apply_overrides(merged, overrides or [])
    return _validate(merged, layers, set_paths)


def scenario_from_dict(data: dict[str, Any], overrides: list[str] | None = None) -> Scenario:
    """Validate a scenario given as a mapping (e.g. built in a notebook)."""
    merged = copy.deepcopy(data)
    set_paths = apply_overrides(merged, overrides or [])
    return _validate(merged, [_Layer(Path("<dict>"), merged, {})], set_paths)


def override(scenario: Scenario, *assignments: str, **values: Any) -> Scenario:
    """A copy of `scenario` with dotted-path assignments ("agents.developers=5000") or keyword values."""
    data = scenario.model_dump()
    items = list(assignments) + [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}" for k, v in values.items()]
    return scenario_from_dict(data, items)


def apply_overrides(data: dict[str, Any], assignments: list[str]) -> list[tuple[str, ...]]:
    """Apply `path.to.field=yaml-value` assignments in place; return the paths set."""
    paths = []
    for assignment in assignments:
        dotted, value = _parse_assignment(assignment)
        keys = tuple(dotted.split("."))
        _assign(data, keys, value, assignment)
        paths.append(keys)
    return paths


def _parse_assignment(assignment: str) -> tuple[str, Any]:
    dotted, sep, text = assignment.partition("=")
    dotted = dotted.strip()
    if not sep or not dotted or any(not part for part in dotted.split(".")):
        raise ScenarioError([Problem("--set", assignment, "expected PATH=VALUE, e.g. agents.developers=5000")])
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem("--set", dotted, f"value is not valid YAML: {exc}")]) from None
    return dotted, value


def _assign(data: Any, keys: tuple[str, ...], value: Any, assignment: str) -> None:
    node = data
    for depth, key in enumerate(keys[:-1]):
        node = _child(node, key, keys[: depth + 1], assignment, create=True)
    last = keys[-1]
    if isinstance(node, list):
        index = _list_index(node, last, keys, assignment)
        node[index] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError([Problem("--set", ".".join(keys), f"{'.'.join(keys[:-1])} is a value, not a section")])


def _child(node: Any, key: str, prefix: tuple[str, ...], assignment: str, create: bool) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, key, prefix, assignment)]
    if not isinstance(node, dict):
        raise ScenarioError([Problem("--set", ".".join(prefix), f"{'.'.join(prefix[:-1])} is a value, not a section")])
    if key not in node or node[key] is None:
        node[key] = {}
    return node[key]


def _list_index(node: list, key: str, prefix: tuple[str, ...], assignment: str) -> int:
    if not key.lstrip("-").isdigit() or not -len(node) <= int(key) < len(node):
        raise ScenarioError(
            [Problem("--set", ".".join(prefix), f"expected a list index from 0 to {len(node) - 1}, got {key!r}")]
        )
    return int(key)


# --- reading files ---------------------------------------------------------------------------


def _read_chain(path: Path) -> list[_Layer]:
    """The file and every file it extends, base first."""
    chain: list[_Layer] = []
    seen: set[Path] = set()
    current: Path | None = path
    while current is not None:
        resolved = current.resolve()
        if resolved in seen or len(chain) >= MAX_EXTENDS_DEPTH:
            raise ScenarioError([Problem(str(current), "extends", "files extend each other in a loop")])
        seen.add(resolved)
        layer = _read_file(current)
        chain.append(layer)
        parent = layer.data.get("extends")
        if parent is not None and not isinstance(parent, str):
            raise ScenarioError([Problem(str(current), "extends", "expected a file path", layer.lines.get(("extends",)))])
        current = (current.parent / parent) if parent else None
    return list(reversed(chain))


def _read_file(path: Path) -> _Layer:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(str(path), "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), "", f"cannot read the file: {exc}")]) from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([Problem(str(path), "", f"not valid YAML: {reason}", line)]) from None
    if not isinstance(data, dict):
        raise ScenarioError([Problem(str(path), "", "expected a mapping of scenario fields at the top level")])
    return _Layer(path, data, _field_lines(node))


def _field_lines(node: yaml.Node | None, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Map each field path to its line in the file, so errors can point at it."""
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = prefix + (str(key_node.value),)
            lines[path] = key_node.start_mark.line + 1
            lines.update(_field_lines(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = prefix + (str(i),)
            lines[path] = item.start_mark.line + 1
            lines.update(_field_lines(item, path))
    return lines


def _merge_layers(layers: list[_Layer]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        data = copy.deepcopy(layer.data)
        data.pop("extends", None)
        added = data.pop("add_events", None) or []
        dropped = data.pop("drop_events", None) or []
        merged = _deep_merge(merged, data)
        events = merged.get("events") or []
        if dropped:
            events = _drop_events(events, dropped, layer)
        merged["events"] = list(events) + list(added)
    return merged


def _drop_events(events: list, dropped: list, layer: _Layer) -> list:
    known = {e.get("id") for e in events if isinstance(e, dict)}
    missing = [d for d in dropped if d not in known]
    if missing:
        raise ScenarioError(
            [Problem(str(layer.path), "drop_events", f"no inherited event has id {missing[0]!r}", layer.lines.get(("drop_events",)))]
        )
    return [e for e in events if not (isinstance(e, dict) and e.get("id") in dropped)]


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in `top` replaces what `base` had."""
    result = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


# --- validation ------------------------------------------------------------------------------


def _validate(data: dict[str, Any], layers: list[_Layer], set_paths: list[tuple[str, ...]]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError([_problem(err, data, layers, set_paths) for err in exc.errors()]) from None


def _problem(err: dict, data: dict, layers: list[_Layer], set_paths: list[tuple[str, ...]]) -> Problem:
    loc = _user_location(err["loc"], data)
    message = _message(err)
    for keys in set_paths:
        if loc and (loc[: len(keys)] == keys or keys[: len(loc)] == loc):
            return Problem("--set", ".".join(keys), message)
    source, line = _locate(loc, layers)
    return Problem(source, ".".join(loc), message, line)


def _user_location(loc: tuple, data: Any) -> tuple[str, ...]:
    """The error's field path as the user wrote it.

    Pydantic inserts a discriminated union's tag (e.g. the event `type`) into the location;
    the user never wrote it as a key, so it is dropped.
    """
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and part in {node.get(k) for k in _TAG_KEYS}:
            continue
        parts.append(str(part))
        node = _step_into(node, part)
    return tuple(parts)


_TAG_KEYS = ("type", "dist", "policy")


def _step_into(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
        return node[part]
    return None


def _message(err: dict) -> str:
    kind = err.get("type", "")
    text = err.get("msg", "invalid")
    if text.startswith("Value error, "):
        text = text[len("Value error, "):]
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see `sim schema` for the fields allowed here)"
    if kind == "missing":
        return "required field is missing"
    if "input" in err and kind not in ("model_type", "dict_type") and not isinstance(err["input"], dict):
        return f"{text} (got {err['input']!r})"
    return text


def _locate(loc: tuple[str, ...], layers: list[_Layer]) -> tuple[str, int | None]:
    """The top-most file that mentions the field (or its nearest parent), with the line."""
    for depth in range(len(loc), 0, -1):
        for layer in reversed(layers):
            line = layer.lines.get(loc[:depth])
            if line is not None:
                return str(layer.path), line
    return str(layers[-1].path), None
