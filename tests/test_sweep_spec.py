"""Sweep files and designs: what a sweep runs, before anything runs.

A sweep file is refused, like a scenario, with one message per problem naming the file,
the line, the field and what was expected (`sim sweep` exits 2, never a traceback). A
valid file gives a design of the documented size and shape, every point runs with the
same seeds (common random numbers), and every run has a key from which a rerun knows it
is already done.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.cli import main
from sim.scenario.loading import ScenarioError
from sim.sweep.designs import make_design
from sim.sweep.plan import make_plan
from sim.sweep.spec import load_sweep

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHIPPED = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
BASELINE_EVENTS = len(yaml.safe_load(BASELINE.read_text(encoding="utf-8"))["events"])
TINY = "overrides: {agents.developers: 2000, agents.enterprises: 1000, months: 12}\n"


def sweep_file(tmp_path: Path, body: str, base: bool = True, name: str = "s.yaml") -> Path:
    """A sweep file on the baseline (tiny agent counts) with `body` below the base lines."""
    head = f"base: {BASELINE}\n{TINY}" if base else ""
    path = tmp_path / name
    path.write_text(head + textwrap.dedent(body), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# --- errors -----------------------------------------------------------------------------------

GRID = "design: {method: grid}\n"
MALFORMED = [
    # (body, field the message names, phrase it contains, text on the line it points to)
    (
        "parameters: {developers.switching_cost: [1, 2]}\n" + GRID + "replicate: 3\n",
        "replicate",
        "unknown field",
        "replicate:",
    ),
    (
        "parameters:\n  developers.switching_cost: {dist: gaussian, mean: 1, sd: 1}\n" + GRID,
        "parameters.developers.switching_cost",
        "unknown dist 'gaussian'",
        "gaussian",
    ),
    (
        "parameters:\n  developers.switching_cost: {dist: uniform, low: 2, high: 1}\n"
        "design: {method: random, samples: 4}\n",
        "parameters.developers.switching_cost",
        "high must be greater than low",
        "low: 2",
    ),
    (
        "parameters:\n  developers.switching_cost: 0.5\n" + GRID,
        "parameters.developers.switching_cost",
        "belongs in `overrides`",
        "0.5",
    ),
    ("parameters: {developers.switching_cost: [1, 2]}\n", "design", "required field is missing", None),
    (
        "parameters: {developers.switching_cost: [1, 2]}\ndesign:\n  method: latin\n",
        "design.method",
        "unknown method 'latin'",
        "latin",
    ),
    (
        "parameters: {developers.switching_cost: [1, 2]}\ndesign:\n  method: sobol\n  samples: 100\n",
        "design.samples",
        "must be a power of 2 for Sobol' sequences (got 100; try 64 or 128)",
        "samples: 100",
    ),
    (
        "parameters: {developers.switching_cost: [1, 2]}\ndesign:\n  method: morris\n  trajectories: 4\n  levels: 5\n",
        "design.levels",
        "must be even for Morris' design (got 5)",
        "levels: 5",
    ),
    (
        "parameters:\n  developers.switching_cst: [1, 2]\n" + GRID,
        "parameters.developers.switching_cst",
        "did you mean 'switching_cost'",
        "switching_cst",
    ),
    (
        "parameters:\n  developers.switching_cost: [0.5, -1]\n" + GRID,
        "parameters.developers.switching_cost.values.1",
        "-1 is not a valid developers.switching_cost: Input should be greater than or equal to 0",
        "switching_cost:",
    ),
    (
        "parameters:\n  developers.lock_in.rate: {dist: uniform, low: 0.01, high: 9}\n"
        "design: {method: lhs, samples: 8}\n",
        "parameters.developers.lock_in.rate.high",
        "9.0 is not a valid developers.lock_in.rate",
        "lock_in.rate",
    ),
    (
        "parameters:\n  events.nope.price: [0.001]\n" + GRID,
        "parameters.events.nope.price",
        "no event of the base scenario has id 'nope'",
        "nope",
    ),
    (
        "parameters:\n  events.99.price: [0.001]\n" + GRID,
        "parameters.events.99.price",
        f"expected an index from 0 to {BASELINE_EVENTS - 1}",
        "events.99",
    ),
    (
        "parameters:\n  developers.lock_in: {dist: uniform, low: 0, high: 1}\ndesign: {method: random, samples: 4}\n",
        "parameters.developers.lock_in",
        "is a section, not a number",
        "lock_in",
    ),
    ("parameters:\n  seed: [1, 2]\n" + GRID, "parameters.seed", "the seed is not a parameter", "seed:"),
    (
        "parameters:\n  developers.switching_cost: {dist: uniform, low: 0, high: 1}\n" + GRID,
        "parameters.developers.switching_cost",
        "the grid design needs a list of values, or `levels`",
        "switching_cost",
    ),
    (
        "parameters: {developers.switching_cost: [1]}\n" + GRID + "outcomes:\n  at: [2031-01]\n",
        "outcomes.at.0",
        "2031-01 is outside the base scenario (2024-01 to 2024-12)",
        "2031-01",
    ),
    (
        "parameters: {developers.switching_cost: [1]}\n" + GRID + "outcomes:\n  metrics: [token_shares]\n",
        "outcomes.metrics.0",
        "did you mean 'token_share'?",
        "token_shares",
    ),
    (
        "parameters: {developers.switching_cost: [1]}\n" + GRID + "replicates: 2\nseeds: [1, 2]\n",
        "seeds",
        "not both",
        None,
    ),
    (
        "parameters:\n  developers.exit_rate: [0.5]\n  developers.review_probability: [0.6]\n" + GRID,
        "parameters",
        "design point 0 (developers.exit_rate=0.5, developers.review_probability=0.6) is not a valid scenario",
        "parameters:",
    ),
    (
        "model: marcket\nparameters: {developers.switching_cost: [1]}\n" + GRID,
        "model",
        "unknown model 'marcket'",
        "marcket",
    ),
    (
        "add_events:\n  - {date: 2024-06, type: price, vendor: bytedance, change: -0.5}\n"
        "parameters: {developers.switching_cost: [1]}\n" + GRID,
        "add_events.0.vendor",
        "unknown vendor 'bytedance'",
        "bytedance",
    ),
]


@pytest.mark.parametrize(
    ("body", "field", "phrase", "at"), MALFORMED, ids=[case[1] + ":" + case[2][:24] for case in MALFORMED]
)
def test_a_malformed_sweep_file_names_the_file_line_and_field(tmp_path, body, field, phrase, at):
    path = sweep_file(tmp_path, body)
    with pytest.raises(ScenarioError) as caught:
        make_plan(load_sweep(path))
    problem = caught.value.problems[0]
    assert problem.source == str(path)
    assert problem.field == field
    assert phrase in problem.message
    if at is not None:
        assert problem.line == line_of(path, at), str(caught.value)


def test_an_override_of_the_base_is_blamed_on_its_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"base: {BASELINE}\noverrides:\n  agents.developers: -5\nparameters: {{months: [6]}}\n{GRID}")
    with pytest.raises(ScenarioError) as caught:
        load_sweep(path)
    assert str(caught.value).startswith(
        f"{path}:3: overrides.agents.developers: Input should be greater than or equal to 1"
    )


def test_the_base_scenario_file_is_found_relative_to_the_sweep_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(f"base: baseline.yaml\nparameters: {{months: [6]}}\n{GRID}")
    with pytest.raises(ScenarioError, match=rf"{path}:1: base: file not found: {tmp_path / 'baseline.yaml'}"):
        load_sweep(path)


def test_a_function_model_takes_no_scenario(tmp_path):
    path = sweep_file(tmp_path, "model: ishigami\nparameters: {x1: [0], x2: [0], x3: [0]}\n" + GRID)
    with pytest.raises(ScenarioError, match="model 'ishigami' does not read a scenario; remove `base`"):
        load_sweep(path)


@pytest.mark.parametrize("command", [["sweep"], ["sweep", "--dry-run"]])
def test_sim_sweep_exits_2_on_a_bad_file_without_a_traceback(tmp_path, capsys, command):
    path = sweep_file(tmp_path, "parameters:\n  developers.switching_cst: [1, 2]\n" + GRID)
    code = main([*command[:1], str(path), *command[1:], "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}:4: parameters.developers.switching_cst:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_sim_process_exits_2_on_a_missing_sweep_file(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    done = subprocess.run([sys.executable, "-m", "sim", "sweep", str(missing)], capture_output=True, text=True)
    assert done.returncode == 2
    assert f"{missing}: (top level): file not found" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "flags", [["--workers", "0"], ["--batch", "0"], ["--workers", "2", "--scheduler", "tcp://x:1"]]
)
def test_bad_sweep_flags_exit_2(tmp_path, capsys, flags):
    path = sweep_file(tmp_path, "parameters: {months: [6]}\n" + GRID)
    assert main(["sweep", str(path), *flags]) == 2
    assert flags[0] in capsys.readouterr().err


# --- designs ----------------------------------------------------------------------------------


def design_of(tmp_path: Path, parameters: str, design: str):
    sweep = load_sweep(
        sweep_file(tmp_path, f"parameters:\n{textwrap.indent(textwrap.dedent(parameters), '  ')}design: {design}\n")
    )
    return make_design(sweep.spec.design, sweep.parameters)


def test_a_grid_is_every_combination_with_the_first_parameter_slowest(tmp_path):
    design = design_of(
        tmp_path,
        """
        developers.switching_cost: [0.1, 0.5, 2.0]
        developers.lock_in.rate: {dist: loguniform, low: 0.01, high: 1, levels: 3}
        developers.ecosystem_weight: {dist: uniform, low: 0, high: 1, levels: 4}
        """,
        "{method: grid}",
    )
    assert design.size == 3 * 3 * 4
    assert design.unit is None
    table = design.table()
    assert list(table["developers.switching_cost"][:12]) == [0.1] * 12
    assert table["developers.lock_in.rate"].unique() == pytest.approx([0.01, 0.1, 1.0])
    assert table["developers.ecosystem_weight"].unique() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert len(table.drop(columns="point").drop_duplicates()) == design.size


SAMPLED = """
developers.switching_cost: {dist: uniform, low: 0.1, high: 2}
developers.lock_in.rate: {dist: loguniform, low: 0.01, high: 1}
developers.ecosystem_weight: {dist: normal, mean: 0.5, sd: 0.2, low: 0, high: 1}
enterprises.contract_months: [6, 12, 24]
"""


@pytest.mark.parametrize(
    ("design", "size"),
    [
        ("{method: random, samples: 50}", 50),
        ("{method: lhs, samples: 40}", 40),
        ("{method: sobol, samples: 16}", 16 * (4 + 2)),
        ("{method: sobol, samples: 16, second_order: true}", 16 * (2 * 4 + 2)),
        ("{method: morris, trajectories: 10, levels: 4}", 10 * (4 + 1)),
    ],
)
def test_each_sampling_design_has_its_documented_size_and_stays_in_range(tmp_path, design, size):
    found = design_of(tmp_path, SAMPLED, design)
    table = found.table()
    assert found.size == size == len(table)
    assert found.unit.shape == (size, 4)
    assert ((found.unit >= 0) & (found.unit <= 1)).all()
    assert table["developers.switching_cost"].between(0.1, 2).all()
    assert table["developers.lock_in.rate"].between(0.01, 1).all()
    assert table["developers.ecosystem_weight"].between(0, 1).all()
    assert set(table["enterprises.contract_months"]) <= {6, 12, 24}


def test_a_latin_hypercube_puts_one_point_in_each_slice_of_every_range(tmp_path):
    found = design_of(tmp_path, SAMPLED, "{method: lhs, samples: 40}")
    for j in range(4):
        assert sorted(np.floor(found.unit[:, j] * 40).astype(int)) == list(range(40))


def test_morris_points_sit_on_the_levels_and_each_step_moves_one_parameter(tmp_path):
    found = design_of(tmp_path, SAMPLED, "{method: morris, trajectories: 6, levels: 4}")
    assert set(np.round(found.unit.ravel() * 3, 9)) <= {0, 1, 2, 3}
    steps = np.diff(found.unit.reshape(6, 5, 4), axis=1)
    assert ((np.abs(steps) > 0).sum(axis=2) == 1).all()


def test_a_design_is_reproducible_from_its_seed(tmp_path):
    one = design_of(tmp_path, SAMPLED, "{method: sobol, samples: 8, seed: 3}")
    again = design_of(tmp_path, SAMPLED, "{method: sobol, samples: 8, seed: 3}")
    other = design_of(tmp_path, SAMPLED, "{method: sobol, samples: 8, seed: 4}")
    np.testing.assert_array_equal(one.unit, again.unit)
    assert not np.array_equal(one.unit, other.unit)


def test_integer_parameters_get_whole_numbers(tmp_path):
    found = design_of(
        tmp_path,
        "enterprises.contract_months: {dist: uniform, low: 3, high: 36, integer: true}\n",
        "{method: random, samples: 20}",
    )
    values = found.table()["enterprises.contract_months"]
    assert values.dtype == np.int64 and values.between(3, 36).all()


# --- seeds and keys ---------------------------------------------------------------------------


def test_every_point_runs_with_the_same_seeds(tmp_path):
    plan = make_plan(
        load_sweep(
            sweep_file(tmp_path, "parameters: {developers.switching_cost: [0.1, 1, 3]}\n" + GRID + "replicates: 3\n")
        )
    )
    base_seed = plan.sweep.base.seed
    by_point = {p: [r.seed for r in plan.runs if r.point == p] for p in range(3)}
    assert by_point == {p: [base_seed, base_seed + 1, base_seed + 2] for p in range(3)}
    assert len({r.key for r in plan.runs}) == 9


def test_explicit_seeds_are_used_as_given(tmp_path):
    plan = make_plan(
        load_sweep(
            sweep_file(tmp_path, "parameters: {developers.switching_cost: [0.1, 1]}\n" + GRID + "seeds: [7, 3, 11]\n")
        )
    )
    assert [r.seed for r in plan.runs] == [7, 3, 11, 7, 3, 11]


def test_a_point_that_repeats_is_one_run_per_seed(tmp_path):
    plan = make_plan(
        load_sweep(
            sweep_file(tmp_path, "parameters: {developers.switching_cost: [0.5, 0.5]}\n" + GRID + "replicates: 2\n")
        )
    )
    assert len(plan.runs) == 4
    assert len(plan.first_runs()) == 2


def test_a_run_key_changes_with_the_scenario_the_seed_and_the_outcomes(tmp_path):
    def key(body: str) -> str:
        return make_plan(load_sweep(sweep_file(tmp_path, body))).runs[0].key

    base = "parameters: {developers.switching_cost: [0.5]}\n" + GRID
    assert key(base) == key(base)
    assert key(base) != key("parameters: {developers.switching_cost: [0.6]}\n" + GRID)
    assert key(base) != key(base + "seed: 1\n")
    assert key(base) != key(base + "outcomes: {at: [2024-06]}\n")


def test_an_event_named_by_its_id_is_the_event_at_its_index(tmp_path):
    by_id = load_sweep(
        sweep_file(tmp_path, "parameters: {events.volcano_price_cut.price: [0.01]}\n" + GRID, name="a.yaml")
    )
    by_index = load_sweep(sweep_file(tmp_path, "parameters: {events.0.price: [0.01]}\n" + GRID, name="b.yaml"))
    assert by_id.parameters[0].target == "events.0.price"
    assert make_plan(by_id).fingerprints == make_plan(by_index).fingerprints
    scenario = make_plan(by_id).prepared(0)
    assert scenario.events[0].price == 0.01 and scenario.events[0].id == "volcano_price_cut"


def test_added_events_can_be_swept(tmp_path):
    body = """
    add_events:
      - {id: cut, date: 2024-09, type: price, vendor: all, change: -0.5}
    parameters: {events.cut.change: [-0.3, -0.9]}
    design: {method: grid}
    """
    plan = make_plan(load_sweep(sweep_file(tmp_path, body)))
    assert [plan.prepared(p).events[-1].change for p in range(2)] == [-0.3, -0.9]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_the_shipped_sweeps_are_valid(path):
    plan = make_plan(load_sweep(path))
    assert len(plan.runs) == plan.design.size * len(plan.sweep.seeds) > 0
    assert all(math.isfinite(v) for point in plan.design.values for v in point.values() if isinstance(v, float))
