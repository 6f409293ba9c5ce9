"""Property tests: random mutations of the shipped scenarios end in a valid run or a clear refusal.

Hypothesis generates the mutations (derandomized, so every run of the suite tries the same
cases): a `--set` of any field of a shipped scenario to an odd value, and random edits of
a shipped file's text. Each must end in a validated scenario whose run meets the output
invariants, or in a ScenarioError (exit 2) or ImplausibleRun (exit 2): never another
exception, a traceback, a hang or runaway memory.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
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
