"""From YAML files and `--set` overrides to a validated Scenario, or a ScenarioError naming every problem.

Loading directives (not part of a resolved scenario):
  extends: other.yaml        start from another file (path relative to this one) and override it
  add_events: [...]          append events to the inherited list instead of replacing it
  drop_events: [id, ...]     remove inherited events by their `id`
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from sim.scenario.schema import CHECKS_LATER, PARTIAL, Scenario, consistency_problems
from sim.scenario.yaml_input import InputRefused, check_path_text, parse_yaml, read_regular_file

DIRECTIVES = ("extends", "add_events", "drop_events")
MAX_EXTENDS_DEPTH = 16

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass
class Problem:
    """One thing wrong with a scenario: where it is and what was expected."""

    source: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = _capped(self.source) + (f":{self.line}" if self.line else "")
        return f"{where}: {_capped(self.field) or '(top level)'}: {_capped(self.message)}"


MAX_QUOTED_CHARS = 200


def _capped(text: str) -> str:
    """Text safe to print, on one line, and short: a message never echoes a whole input back.

    Lone surrogates (undecodable bytes of a path or argument) are shown escaped, since a
    terminal cannot print them, and so are line breaks (a key or a path may hold one): each
    problem is one line, which scripts and readers rely on.
    """
    text = _one_line(_printable_text(str(text)))
    if len(text) <= MAX_QUOTED_CHARS:
        return text
    return f"{text[:MAX_QUOTED_CHARS]}... ({len(text) - MAX_QUOTED_CHARS:,} more characters)"


def quoted(value: Any, limit: int = MAX_QUOTED_CHARS) -> str:
    """A value as a message quotes it, whatever it holds: its repr on one line, cut to `limit`.

    repr itself can fail on what a YAML file holds (an integer past Python's 4,300-digit limit
    raises ValueError, even inside a list) and can be long; a message about a value must never
    fail or spill over lines because of the value.
    """
    try:
        text = repr(value)
    except ValueError:
        text = _described(value)
    except Exception:  # a value whose repr raises anything at all still gets a message
        text = f"<{type(value).__name__}>"
    text = _one_line(_printable_text(text))
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


# Every character str.splitlines breaks a line at, shown escaped instead
_LINE_BREAKS = {code: repr(chr(code))[1:-1] for code in (10, 11, 12, 13, 28, 29, 30, 0x85, 0x2028, 0x2029)}


def _one_line(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def _described(value: Any) -> str:
    """Words for a value whose repr fails: a huge integer by its size, a container by its length."""
    if isinstance(value, int):
        return f"<an integer of about {max(1, round(value.bit_length() * 0.30103)):,} digits>"
    if isinstance(value, dict | list | tuple | set):
        return f"<a {type(value).__name__} of {len(value)} items holding a huge integer>"
    return f"<{type(value).__name__}>"


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


@dataclass
class _Sources:
    """Where merged scenario data came from, so each problem points at the file and line to fix.

    `event_origins[i]` is the file and the path in it (`events.2` or `add_events.0`) of the
    i-th merged event: `add_events` and `drop_events` shift indices, so the merged index alone
    would name the wrong file and line. `before_overrides` is the data before `--set`.
    """

    layers: list[_Layer]
    event_origins: list[tuple[_Layer, tuple[str, ...]]]
    before_overrides: dict[str, Any]


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Read a scenario file (following `extends`), apply `--set` overrides, and validate."""
    path = Path(path)
    layers = _read_chain(path)
    merged, origins = _merge_layers(layers)
    before = copy.deepcopy(merged)
    set_paths = apply_overrides(merged, overrides or [])
    return _validate(merged, _Sources(layers, origins, before), set_paths)


def scenario_from_dict(data: dict[str, Any], overrides: list[str] | None = None) -> Scenario:
    """Validate a scenario given as a mapping (e.g. built in a notebook)."""
    merged = copy.deepcopy(data)
    before = copy.deepcopy(merged)
    set_paths = apply_overrides(merged, overrides or [])
    return _validate(merged, _Sources([_Layer(Path("<dict>"), merged, {})], [], before), set_paths)


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
    if not _printable(assignment):
        raise ScenarioError([Problem("--set", _printable_text(dotted), "contains bytes that are not UTF-8 text")])
    try:
        value = parse_yaml(text)[0] if text.strip() else None
    except InputRefused as refused:
        raise ScenarioError([Problem("--set", dotted, f"value is {refused.message} (got {text!r})")]) from None
    return dotted, value


def _printable(text: str) -> bool:
    """False for text holding lone surrogates (bytes a command line could not decode)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable_text(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
    """The file and every file it extends, base first.

    A bad `extends` (not a path, a missing file, a loop) is reported in the file that holds
    it, at its line: that is the file to fix, not the one it points to.
    """
    chain = [_read_file(path)]
    while (parent := _parent_path(chain[-1])) is not None:
        if any(_same_file(parent, layer.path) for layer in chain):
            names = " -> ".join(layer.path.name for layer in chain)
            raise _extends_problem(chain[-1], f"files extend each other in a loop: {names} -> {parent.name}")
        if len(chain) >= MAX_EXTENDS_DEPTH:
            raise _extends_problem(chain[-1], f"more than {MAX_EXTENDS_DEPTH} files extend one another")
        try:
            text = read_regular_file(parent)
        except InputRefused as refused:
            raise _extends_problem(chain[-1], f"{refused.message}: {parent}") from None
        chain.append(_Layer(parent, *parse_yaml_mapping(parent, text, "scenario")))
    return list(reversed(chain))


def _parent_path(layer: _Layer) -> Path | None:
    parent = layer.data.get("extends")
    if parent is not None and not isinstance(parent, str):
        raise _extends_problem(layer, f"expected a file path (got {quoted(parent)})")
    if parent and (reason := check_path_text(parent)):
        raise _extends_problem(layer, f"{reason}: {parent!r}")
    return layer.path.parent / parent if parent else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):
        return a.absolute() == b.absolute()


def _extends_problem(layer: _Layer, message: str) -> ScenarioError:
    return ScenarioError([Problem(str(layer.path), "extends", message, layer.lines.get(("extends",)))])


def _read_file(path: Path) -> _Layer:
    _, data, lines = read_yaml_mapping(path, "scenario")
    return _Layer(path, data, lines)


def read_yaml_mapping(path: Path, kind: str) -> tuple[str, dict[str, Any], dict[tuple[str, ...], int]]:
    """A YAML file's text, its top-level mapping and each field's line; a ScenarioError otherwise.

    Shared by scenario and sweep files so both refuse the same things alike: anything but a
    regular file, files over the size limit, deep nesting, runaway aliases, bad YAML.
    """
    try:
        text = read_regular_file(path)
    except InputRefused as refused:
        raise ScenarioError([Problem(str(path), "", refused.message, refused.line)]) from None
    return (text, *parse_yaml_mapping(path, text, kind))


def parse_yaml_mapping(path: Path, text: str, kind: str) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """The top-level mapping of a file's text and each field's line; a ScenarioError otherwise."""
    try:
        data, node = parse_yaml(text)
    except InputRefused as refused:
        raise ScenarioError([Problem(str(path), "", refused.message, refused.line)]) from None
    if not isinstance(data, dict):
        raise ScenarioError([Problem(str(path), "", f"expected a mapping of {kind} fields at the top level")])
    return data, field_lines(node)


def field_lines(node: yaml.Node | None, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Map each field path to its line in the file, so errors can point at it."""
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, str(key_node.value))
            lines[path] = key_node.start_mark.line + 1
            lines.update(field_lines(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, str(i))
            lines[path] = item.start_mark.line + 1
            lines.update(field_lines(item, path))
    return lines


def _merge_layers(layers: list[_Layer]) -> tuple[dict[str, Any], list[tuple[_Layer, tuple[str, ...]]]]:
    """Merge the files, base first; return the data and the origin of each merged event.

    The event directives are checked here: anything but a list (of ids, for `drop_events`)
    is reported at its line instead of crashing the merge.
    """
    merged: dict[str, Any] = {}
    origins: list[tuple[_Layer, tuple[str, ...]]] = []
    for layer in layers:
        data = copy.deepcopy(layer.data)
        data.pop("extends", None)
        added = _directive(layer, data.pop("add_events", None), "add_events", "events", dict)
        dropped = _directive(layer, data.pop("drop_events", None), "drop_events", "event ids", str)
        merged = _deep_merge(merged, data)
        if isinstance(data.get("events"), list):
            origins = [(layer, ("events", str(i))) for i in range(len(data["events"]))]
        if merged.get("events") is None:
            merged["events"] = []
        if not isinstance(merged["events"], list):
            continue  # validation reports `events` itself at its line
        kept = _kept_events(merged["events"], dropped, layer)
        merged["events"] = [merged["events"][i] for i in kept] + added
        origins = [origins[i] for i in kept] + [(layer, ("add_events", str(i))) for i in range(len(added))]
    return merged, origins


def _directive(layer: _Layer, value: Any, name: str, what: str, item_type: type) -> list:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, item_type) for item in value):
        return value
    line = layer.lines.get((name,))
    raise ScenarioError([Problem(str(layer.path), name, f"expected a list of {what} (got {quoted(value)})", line)])


def _kept_events(events: list, dropped: list[str], layer: _Layer) -> list[int]:
    """Indices of the inherited events that `drop_events` keeps; every id dropped must exist."""
    known = {e.get("id") for e in events if isinstance(e, dict) and isinstance(e.get("id"), str)}
    for j, event_id in enumerate(dropped):
        if event_id not in known:
            line = layer.lines.get(("drop_events", str(j)), layer.lines.get(("drop_events",)))
            ids = ", ".join(sorted(str(k) for k in known if k is not None)) or "none"
            message = f"no inherited event has id {event_id!r} (ids: {ids})"
            raise ScenarioError([Problem(str(layer.path), f"drop_events.{j}", message, line)])
    return [i for i, e in enumerate(events) if not (isinstance(e, dict) and e.get("id") in dropped)]


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


def _validate(data: dict[str, Any], sources: _Sources, set_paths: list[tuple[str, ...]]) -> Scenario:
    """The scenario, or every problem in it at once: the fields in error, and the ways its
    sections disagree (an event naming an unknown vendor, two events with one id), these
    also when other fields are in error, as far as the fields they read are valid."""
    try:
        scenario, errors = Scenario.model_validate(data, context={CHECKS_LATER: True}), []
    except ValidationError as exc:
        scenario, errors = None, exc.errors()
    inconsistent = consistency_problems(scenario) if scenario is not None else _partial_problems(data, errors)
    errors += [{"type": "value_error", "loc": (), "msg": problem} for problem in inconsistent]
    if errors:
        raise ScenarioError([_placed(err, data, sources, set_paths) for err in errors]) from None
    assert scenario is not None
    return scenario


def _partial_problems(data: dict[str, Any], errors: list[Any]) -> list[str]:
    """The whole-scenario problems of a scenario with fields in error: checked on its valid
    fields alone, leaving out any about a field already in error (its error says enough)."""
    try:
        partial = Scenario.model_validate(data, context={CHECKS_LATER: True, PARTIAL: True})
        problems = consistency_problems(partial, partial=True)
    except Exception:  # a file may hold anything; the field errors are reported in any case
        return []
    in_error = [_user_location(err["loc"], data) for err in errors]

    def about_a_field_in_error(problem: str) -> bool:
        match = _FIELD_PREFIX.match(problem)
        field = tuple(match.group(1).split(".")) if match else None
        return field is not None and any(_overlaps(field, loc) for loc in in_error)

    return [problem for problem in problems if not about_a_field_in_error(problem)]


def _placed(err: dict, data: dict, sources: _Sources, set_paths: list[tuple[str, ...]]) -> Problem:
    """The problem at its file, line and field; if placing it fails on what the file holds,
    the problem as pydantic words it, in the top file, so the message itself never fails."""
    try:
        return _problem(err, data, sources, set_paths)
    except Exception:  # any value a file can hold must still give a message
        field = ".".join(part if isinstance(part, str) else quoted(part) for part in err.get("loc", ()))
        return Problem(str(sources.layers[-1].path), field, str(err.get("msg", "invalid value")))


def _problem(err: dict, data: dict, sources: _Sources, set_paths: list[tuple[str, ...]]) -> Problem:
    """The problem, blamed on the last `--set` that wrote the field (a later one wins), else on a file."""
    loc, message = _field_and_message(err, data)
    for keys in reversed(set_paths):
        if loc and _overlaps(loc, keys):
            return Problem("--set", ".".join(keys), message)
        new = _new_section(loc, keys, sources.before_overrides)
        if new:
            added = f"adds {'.'.join(new)}, which is not in the scenario; {'.'.join(loc)}: {message}"
            return Problem("--set", ".".join(keys), added)
    return _in_file(loc, message, sources)


def _field_and_message(err: dict, data: dict) -> tuple[tuple[str, ...], str]:
    """The field path the problem is about, and what is wrong with it.

    An unknown tag (`type`, `dist`, `policy`) is reported at the tag's own field. Checks of
    the whole scenario raise at the top level but name their field first ("events.3.vendor:
    unknown vendor"); that name becomes the path, so the file and line can be found.
    """
    loc = _user_location(err["loc"], data)
    message = field_message(err)
    if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
    if not loc and (match := _FIELD_PREFIX.match(message)) and match.group(1).split(".")[0] in data:
        return tuple(match.group(1).split(".")), match.group(2)
    return loc, message


_FIELD_PREFIX = re.compile(r"^([A-Za-z_]\w*(?:\.\w+)*): (.+)$", re.DOTALL)


def _overlaps(loc: tuple[str, ...], keys: tuple[str, ...]) -> bool:
    return loc[: len(keys)] == keys or keys[: len(loc)] == loc


def _new_section(loc: tuple[str, ...], keys: tuple[str, ...], before: dict[str, Any]) -> tuple[str, ...]:
    """The part of both paths that `--set` created (e.g. a misspelt vendor), or () if the files had it."""
    common: list[str] = []
    for a, b in zip(loc, keys, strict=False):
        if a != b:
            break
        common.append(a)
    node: Any = before
    for depth, key in enumerate(common):
        node = _step_into(node, int(key) if isinstance(node, list) and key.lstrip("-").isdigit() else key)
        if node is None:
            return tuple(common[: depth + 1])
    return ()


def _in_file(loc: tuple[str, ...], message: str, sources: _Sources) -> Problem:
    """The problem in the file to fix, with the field path as written there and its line."""
    layers, written = sources.layers, loc
    origins = sources.event_origins
    if len(loc) >= 2 and loc[0] == "events" and loc[1].isdigit() and int(loc[1]) < len(origins):
        layer, prefix = origins[int(loc[1])]
        layers, written = [layer], prefix + loc[2:]
    source, line = _locate(written, layers)
    return Problem(source, ".".join(written), message, line)


def _user_location(loc: tuple, data: Any) -> tuple[str, ...]:
    """The error's field path as the user wrote it.

    Pydantic inserts a discriminated union's tag (e.g. the event `type`) into the location;
    the user never wrote it as a key, so it is dropped.
    """
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and any(_same(part, node.get(k)) for k in _TAG_KEYS):
            continue
        parts.append(part if isinstance(part, str) else quoted(part))
        node = _step_into(node, part)
    return tuple(parts)


def _same(part: Any, tag: Any) -> bool:
    """Whether a location part is the tag's value (a tag may hold a list or a mapping: unhashable)."""
    return isinstance(tag, str) and part == tag


_TAG_KEYS = ("type", "dist", "policy")


def _step_into(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
        return node[part]
    return None


SCHEMA_DOCS = "see `sim schema` for the fields allowed here"


def field_message(err: dict, docs: str = SCHEMA_DOCS) -> str:
    """A pydantic error in the words of someone editing the file: what was expected, and what
    was given when it is a single value (`docs` says where the allowed fields are listed)."""
    kind = err.get("type", "")
    text = err.get("msg", "invalid").removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"unknown field (check the spelling; {docs})"
    if kind == "missing":
        return "required field is missing"
    if "input" in err and kind not in ("model_type", "dict_type") and not isinstance(err["input"], dict):
        got = f"got {quoted(err['input'])}"
        return text if got in text else f"{text} ({got})"
    return text


@dataclass(frozen=True)
class FileFields:
    """A YAML file's fields by path, with their lines: a problem found in the file names the
    file, the field as written and its line (or the nearest parent's the file mentions)."""

    path: Path
    lines: dict[tuple[str, ...], int]

    def line(self, loc: tuple[str, ...]) -> int | None:
        for depth in range(len(loc), 0, -1):
            if loc[:depth] in self.lines:
                return self.lines[loc[:depth]]
        return None

    def problem(self, loc: tuple[str, ...], message: str) -> Problem:
        return Problem(str(self.path), ".".join(loc), message, self.line(loc))

    def error(self, loc: tuple[str, ...], message: str) -> ScenarioError:
        return ScenarioError([self.problem(loc, message)])

    def validated(self, model: type[ModelT], data: dict[str, Any], docs: str) -> ModelT:
        """`data` validated as `model`, or a ScenarioError naming each field at its line in this file."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            problems = [self.problem(tuple(map(str, e["loc"])), field_message(e, docs)) for e in exc.errors()]
            raise ScenarioError(problems) from None


def _locate(loc: tuple[str, ...], layers: list[_Layer]) -> tuple[str, int | None]:
    """The top-most file that mentions the field (or its nearest parent), with the line."""
    for depth in range(len(loc), 0, -1):
        for layer in reversed(layers):
            line = layer.lines.get(loc[:depth])
            if line is not None:
                return str(layer.path), line
    return str(layers[-1].path), None
