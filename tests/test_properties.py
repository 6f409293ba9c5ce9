"""Property tests: random mutations of the shipped scenarios end in a valid run or a clear refusal.

Hypothesis generates the mutations (derandomized, so every run of the suite tries the same
cases): a `--set` of any field of a shipped scenario to an odd value, and random edits of
a shipped file's text. Each must end in a validated scenario whose run meets the output
invariants, or in a ScenarioError (exit 2) or ImplausibleRun (exit 2): never another
exception, a traceback, a hang or runaway memory.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.record.trajectories import ImplausibleRun

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
TINY = ["agents.developers=400", "agents.enterprises=150", "months=5"]


def property_settings(examples: int) -> settings:
    """Derandomized (the same cases on every run), no example database, no per-case deadline."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def leaves(node: object, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every field path of a resolved scenario, sections included."""
    paths = [".".join(prefix)] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += leaves(value, (*prefix, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            paths += leaves(value, (*prefix, str(i)))
    return paths


FIELDS = {path: leaves(sim.load_scenario(path).model_dump()) for path in SHIPPED}
ODD_VALUES = [
    "0",
    "-1",
    "1e15",
    "-1e15",
    "1e16",
    "1e-300",
    ".inf",
    "-.inf",
    ".nan",
    "true",
    "null",
    "[]",
    "{}",
    "''",
    "2024-02-30",
    "2024-13",
    "9" * 50,
    "[1, [2, [3]]]",
    "&a [*a]",
    "{dist: fixed, value: -1}",
    "{dist: uniform, low: 1, high: 0}",
    "{policy: margin_floor, margin: 1e6}",
    '"\\ud800"',
    "x" * 300,
]
PLAUSIBLE_VALUES = ["0.5", "1", "2", "0.01", "100", "0.9", "3", "false", "2025-06"]
values = st.one_of(
    st.sampled_from(PLAUSIBLE_VALUES),
    st.sampled_from(ODD_VALUES),
    st.floats(allow_nan=True, allow_infinity=True).map(repr).map(lambda t: {"inf": ".inf", "-inf": "-.inf"}.get(t, t)),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(max_size=20),
)


@st.composite
def assignments(draw: st.DrawFn) -> tuple[Path, str]:
    path = draw(st.sampled_from(SHIPPED))
    return path, f"{draw(st.sampled_from(FIELDS[path]))}={draw(values)}"


@property_settings(80)
@given(assignments())
def test_any_set_of_any_field_ends_in_a_valid_run_or_a_clear_refusal(case):
    path, assignment = case
    try:
        scenario = sim.load_scenario(path, [assignment, *TINY])
    except sim.ScenarioError as error:
        assert all(p.source and p.message for p in error.problems)
        assert len(str(error)) < 20_000
        event("refused: ScenarioError")
        return
    try:
        result = sim.run(scenario)
    except ImplausibleRun:
        event("refused: ImplausibleRun")
        return
    event("ran")
    assert len(result.trajectories) == scenario.months * len(scenario.vendors)


EDIT_CHARACTERS = st.text(alphabet=st.sampled_from(list("&*!|>{}[]:,-#'\"\n\t ?%@`0123456789.eE\\ü\u2028")), max_size=8)


@st.composite
def edited_files(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SHIPPED)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 12)))
        text = text[:start] + draw(EDIT_CHARACTERS) + text[end:]
    return text


@property_settings(150)
@given(edited_files())
def test_any_edit_of_a_shipped_file_validates_or_is_refused_with_a_message(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "edited.yaml"
        path.write_text(text.replace("extends: baseline.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}"))
        code = main(["validate", str(path)])
    event(f"exit {code}")
    assert code in (0, 2)


def test_the_generated_fields_cover_every_shipped_scenario():
    assert all(len(fields) > 100 for fields in FIELDS.values())
    assert yaml.safe_load(SHIPPED[0].read_text(encoding="utf-8"))


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# --- the error-message path is total ------------------------------------------------------------
#
# Whatever value a file holds, at whatever field, loading ends in a scenario or a ScenarioError
# (exit 2) whose message is one line per problem: building the message never fails, whatever it
# quotes (a 4,300-digit integer, a list where a tag is expected, NaN, bytes, deep nesting).

BASELINE = ROOT / "scenarios" / "baseline.yaml"
BASE_DATA = sim.load_scenario(BASELINE).model_dump(mode="json")
BASE_FIELDS = leaves(BASE_DATA)
LONGEST_READABLE = 10**4300 - 1  # 4,300 digits: the most Python turns into text, and YAML reads
# Integers that fit a mapping built in Python but have no decimal text at all (str() raises)
BEYOND_TEXT = st.integers(min_value=4301, max_value=6000).map(lambda digits: 10**digits)
LIMIT_INTEGERS = st.sampled_from([LONGEST_READABLE, -LONGEST_READABLE, 10**4299])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    LIMIT_INTEGERS,
    st.floats(),
    st.text(max_size=30),
    st.binary(max_size=30),
)
KEYS = st.one_of(st.text(max_size=8), st.integers(), st.booleans())


def yaml_like(scalars: st.SearchStrategy) -> st.SearchStrategy:
    """Any value a YAML file can hold: scalars, and lists and mappings of them, nested."""
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
        max_leaves=12,
    )


def put(data: dict, path: str | tuple[str, ...], value: object) -> dict:
    """`data` with the value at a field path, dotted or as keys (list items by index)."""
    keys = path.split(".") if isinstance(path, str) else path
    node = data
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value
    return data


def assert_one_line_per_problem(error: sim.ScenarioError) -> None:
    text = str(error)
    lines = text.split("\n")
    assert len(lines) == len(error.problems), text[:2000]
    assert all(line.strip() and len(line) < 2000 for line in lines), text[:2000]


KNOWN_BREAKERS = [  # values that once broke the message itself
    ("months", LONGEST_READABLE),
    ("events.0.type", [1]),
    ("events.0.type", {"a": [1]}),
    ("developers.size.dist", [[1, {"x": float("nan")}]]),
    ("name", b"\x00\xff binary"),
    ("vendors", {"v\nw": {"name": "\u2028"}}),
]


def examples(*cases: tuple[str, object]):
    """Hypothesis's @example for each (field, value), so the known cases always run."""

    def decorate(test):
        for field, value in cases:
            test = example(field, value)(test)
        return test

    return decorate


@property_settings(200)
@examples(*KNOWN_BREAKERS, ("name", 10**4301), ("events.0.id", [10**5000]))
@given(st.sampled_from(BASE_FIELDS), yaml_like(SCALARS | BEYOND_TEXT))
def test_any_value_at_any_field_is_a_scenario_or_a_one_line_message(field, value):
    data = put(copy.deepcopy(BASE_DATA), field, value)
    with _unprintable_integers_unreported():
        try:
            sim.scenario_from_dict(data)
        except sim.ScenarioError as error:
            assert_one_line_per_problem(error)
            event("refused")
        else:
            event("valid")


@contextlib.contextmanager
def _unprintable_integers_unreported():
    """pydantic finalises some of its objects for an integer of thousands of digits late, and
    Python then reports the finalisation by printing the integer, which its 4,300-digit limit
    refuses; under pytest that report fails the test. Only that report is dropped here: the
    message the test checks is built with the limit in force, and every other report goes on."""
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        try:
            repr(unraisable.object)
            text = str(unraisable.exc_value)
        except ValueError as refused:
            text = str(refused)
        if "integer string conversion" in text:
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        gc.collect()
        sys.unraisablehook = previous


FILE_FIELDS = [*BASE_FIELDS, "add_events", "drop_events", "extends", "surprise"]


@property_settings(200)
@examples(*KNOWN_BREAKERS)
@given(st.sampled_from(FILE_FIELDS), yaml_like(SCALARS))
def test_any_value_written_in_a_file_is_a_scenario_or_a_one_line_message(field, value):
    """The whole baseline written out with one field replaced, loaded as a file (lines and all)."""
    text = yaml.safe_dump(put(copy.deepcopy(BASE_DATA), field, value), allow_unicode=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            sim.load_scenario(path)
        except sim.ScenarioError as error:
            assert_one_line_per_problem(error)
            event("refused")
        else:
            event("valid")


@property_settings(100)
@given(st.binary(min_size=1, max_size=2000), st.sampled_from(["scenario", "calibration", "sweep"]))
def test_a_file_of_random_bytes_is_one_line_naming_it(content, kind):
    from sim.calibrate import load_calibration
    from sim.sweep.spec import load_sweep

    load = {"scenario": sim.load_scenario, "calibration": load_calibration, "sweep": load_sweep}[kind]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{kind}.yaml"
        path.write_bytes(content)
        with pytest.raises(sim.ScenarioError) as caught:
            load(path)
    assert_one_line_per_problem(caught.value)
    assert str(path) in str(caught.value)


CALIBRATION = {
    "base": str(BASELINE),
    "overrides": {"agents.developers": 2000},
    "targets": {"file": str(ROOT / "data" / "targets.yaml"), "use": ["external_api_tokens_h1_2025"]},
    "parameters": {"developers.usage_growth": {"low": 0.0, "high": 0.2, "scale": "linear"}},
    "seeds": [1, 2],
    "search": {"initial": 8, "budget": 8, "batch": 4},
    "ensemble": {"rounds": 1, "per_round": 8},
    "until": "2025-06",
}
SWEEP = {
    **yaml.safe_load((ROOT / "tests" / "fixtures" / "sweeps" / "small_grid.yaml").read_text(encoding="utf-8")),
    "base": str(BASELINE),
}


def key_paths(node: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field of a file's mapping as its keys (calibration keys hold dots: agents.developers)."""
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += key_paths(value, (*prefix, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            paths += key_paths(value, (*prefix, str(i)))
    return paths


SPEC_FIELDS = [
    (kind, path) for kind, data in (("calibration", CALIBRATION), ("sweep", SWEEP))
    for path in [*key_paths(data), ("surprise",)]
]  # fmt: skip


@property_settings(150)
@given(st.sampled_from(SPEC_FIELDS), yaml_like(SCALARS))
def test_any_value_in_a_calibration_or_sweep_file_is_valid_or_a_one_line_message(case, value):
    from sim.calibrate import load_calibration
    from sim.sweep.spec import load_sweep

    kind, field = case
    data = put(copy.deepcopy({"calibration": CALIBRATION, "sweep": SWEEP}[kind]), field, value)
    load = {"calibration": load_calibration, "sweep": load_sweep}[kind]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{kind}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        try:
            load(path)
        except sim.ScenarioError as error:
            assert_one_line_per_problem(error)
            event(f"{kind} refused")
        else:
            event(f"{kind} valid")
