"""Scenario discovery and robust policies: where an outcome holds, and which policy holds up.

PRIM must find a box planted in synthetic data, CART must split on the inputs that define it,
and the feature scores must rank the Ishigami function's inputs in their known Sobol' order.
A policy worse than another in every plausible set must have the most regret and meet no
threshold the others meet. Conditions are checked against what the results hold: a wrong
metric, vendor or month, or a condition no case or every case meets, is one line and exit
code 2, and nothing is written. No market model runs here: the sweep is the Ishigami
function's, the ensemble what-if and the calibration folder are written by the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, in_process_client

from sim.cli import main
from sim.discover.cases import load_cases
from sim.discover.conditions import parse_condition
from sim.discover.methods import cart, feature_scores, find_boxes
from sim.discover.robust import compare, load_robust
from sim.scenario.loading import ScenarioError
from sim.sweep import run_sweep

ISHIGAMI = ROOT / "tests" / "fixtures" / "sweeps" / "ishigami.yaml"
S1_ORDER = ["x2", "x1", "x3"]  # Ishigami a=7, b=0.1: S1 = 0.442, 0.314, 0.000 (x3 acts only with x1)
TOLERANCE = 0.05

client = pytest.fixture(scope="module")(in_process_client)


@pytest.fixture(scope="module")
def ishigami(client, tmp_path_factory) -> Path:
    """The Ishigami sweep of the sensitivity tests with 256 Sobol' samples: 1,280 runs in a second."""
    folder = tmp_path_factory.mktemp("ishigami")
    sweep = folder / "ishigami.yaml"
    sweep.write_text(ISHIGAMI.read_text(encoding="utf-8").replace("samples: 1024", "samples: 256"), encoding="utf-8")
    return run_sweep(sweep, folder / "out", client=client, progress=False).folder


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, np.ndarray]:
    """Four uniform inputs; the outcome happens exactly when x1 > 0.6 and x2 < 0.3."""
    rng = np.random.default_rng(20240515)
    inputs = pd.DataFrame(rng.uniform(size=(3000, 4)), columns=["x1", "x2", "x3", "x4"])
    return inputs, ((inputs["x1"] > 0.6) & (inputs["x2"] < 0.3)).to_numpy()


def refused(capsys, *argv: str | Path) -> str:
    """Run `sim ARGV`, expect exit code 2 and one line of message; return it."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1, captured.err
    return captured.err


# --- the grammar ------------------------------------------------------------------------------------


def test_a_condition_reads_outcome_names_as_sweeps_write_them():
    condition = parse_condition("token_share[volcano]@2026-12 > 0.5 and revenue[all]@2025-01..2025-06 < -20%")
    first, second = condition.clauses
    assert (first.metric, first.vendor, first.period, first.op, first.value) == (
        "token_share",
        "volcano",
        "2026-12",
        ">",
        0.5,
    )
    assert first.outcome == "token_share[volcano]@2026-12"
    assert second.value == pytest.approx(-0.2) and second.period == "2025-01..2025-06"
    leader = parse_condition("whatif.leader[revenue_share]@2026-12 != alibaba").clauses[0]
    assert (leader.side, leader.vendor, leader.value) == ("whatif", "revenue_share", "alibaba")
    assert parse_condition("y>=3").clauses[0].holds(np.array([2.0, 3.0, np.nan])).tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("", "the condition is empty"),
        ("token_share[volcano]@2026-12 >> 0.5", "expected OUTCOME OP VALUE"),
        ("token_share[volcano]@2026-12 > 0.5 or y < 1", "only 'and' joins clauses"),
        ("token_share[volcano]@2026-12 > volcano", "only == and != compare with a name"),
        ("leader[token_share]@2026-12 > 0.5", "a leader is a vendor"),
        ("token_share[volcano]@2026-13 > 0.5", "2026-13 is not a month"),
        ("token_share[volcano]@2026-06..2026-01 > 0.5", "ends before it starts"),
        ("__import__('os').system('true') > 1", "no parentheses"),
        ("y > 1; import os", "cannot read"),
    ],
)
def test_a_malformed_condition_says_what_was_expected(text, phrase):
    with pytest.raises(ScenarioError, match=r"^--where: ") as caught:
        parse_condition(text)
    assert phrase in str(caught.value)


# --- PRIM, CART and feature scores ------------------------------------------------------------------


def test_prim_recovers_a_planted_box(planted):
    inputs, met = planted
    box = find_boxes(inputs, met)[0]
    limits = {limit.parameter: limit for limit in box.limits}
    assert set(limits) == {"x1", "x2"}, "only the inputs that define the outcome are restricted"
    assert limits["x1"].low == pytest.approx(0.6, abs=TOLERANCE) and limits["x1"].high is None
    assert limits["x2"].high == pytest.approx(0.3, abs=TOLERANCE) and limits["x2"].low is None
    assert box.density > 0.9 and box.coverage > 0.9
    assert limits["x1"].p_low < 1e-6 and limits["x2"].p_high < 1e-6, "both restrictions are significant"


def test_the_chosen_box_is_the_densest_step_covering_half_and_any_other_step_can_be_asked_for(planted):
    inputs, met = planted
    chosen = find_boxes(inputs, met)[0]
    trajectory = chosen.trajectory
    assert chosen.coverage >= 0.5
    assert chosen.density == pytest.approx(trajectory.loc[trajectory["coverage"] >= 0.5, "density"].max())
    earlier = find_boxes(inputs, met, step=3)[0]
    assert earlier.step == 3 and earlier.coverage >= chosen.coverage and earlier.density <= chosen.density


def test_carts_first_splits_are_on_the_inputs_that_define_the_box(planted):
    inputs, met = planted
    tree = cart(inputs, met)
    assert tree.splits[0][1] in {"x1", "x2"}
    assert {name for depth, name, _ in tree.splits if depth <= 1} == {"x1", "x2"}
    assert tree.accuracy > 0.97
    best = tree.leaves[0]
    assert best.density > 0.9 and best.coverage > 0.9


def test_feature_scores_rank_the_inputs_that_matter_first(planted):
    inputs, met = planted
    scores = feature_scores(inputs, met)
    assert list(scores.index[:2]) == ["x2", "x1"] or list(scores.index[:2]) == ["x1", "x2"]
    assert scores[["x1", "x2"]].min() > 3 * scores[["x3", "x4"]].max()
    assert scores.sum() == pytest.approx(1.0)


def test_on_the_ishigami_sweep_the_feature_ranking_is_the_sobol_order(ishigami):
    cases = load_cases(ishigami)
    condition = parse_condition("y > 3.5")  # about half the runs: above the function's median
    scores = feature_scores(cases.inputs, cases.meets(condition))
    assert list(scores.index) == S1_ORDER


# --- the command ------------------------------------------------------------------------------------


def test_sim_discover_writes_the_report_boxes_and_charts(ishigami, tmp_path, capsys):
    out = tmp_path / "found"
    assert main(["discover", str(ishigami), "--where", "y > 3.5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "runs meet y > 3.5" in printed and "Box 1:" in printed and "Feature scores: x2" in printed
    report = (out / "discover.md").read_text(encoding="utf-8")
    assert "sampled space, not the world" in report and "(density)" in report and "(coverage)" in report
    assert "## CART" in report and "## Feature scores" in report
    record = json.loads((out / "boxes.json").read_text(encoding="utf-8"))
    assert record["condition"] == "y > 3.5" and record["boxes"][0]["trajectory"]
    for chart in ("tradeoff.png", "boxes.png"):
        assert (out / chart).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("condition", "phrase"),
    [
        ("z > 1", "unknown outcome 'z'; the sweep recorded y"),
        ("y[volcano] > 1", "unknown vendor 'volcano' for y"),
        ("y@2026-12 > 1", "y is recorded once per run, not by month"),
        ("y > 100", "no run meets it"),
        ("y > -100", "every run meets it"),
        ("y >> 1", "expected OUTCOME OP VALUE"),
    ],
)
def test_a_condition_the_sweep_cannot_answer_exits_2_and_writes_nothing(ishigami, tmp_path, capsys, condition, phrase):
    out = tmp_path / "found"
    message = refused(capsys, "discover", ishigami, "--where", condition, "--out", out)
    assert message.startswith("--where: ") and phrase in message
    assert not out.exists()
    assert not any(p.name.startswith("discover-") for p in ishigami.iterdir())


def test_a_box_step_past_the_trajectory_and_a_folder_of_other_results_are_refused(ishigami, tmp_path, capsys):
    out = tmp_path / "found"
    assert "expected a step of the first box's trajectory" in refused(
        capsys, "discover", ishigami, "--where", "y > 3.5", "--box", "9999", "--out", out
    )
    assert not out.exists()
    assert "not a finished sweep" in refused(capsys, "discover", tmp_path, "--where", "y > 1")


def test_the_command_line_refuses_a_bad_condition_in_a_fresh_process(ishigami, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sim", "discover", str(ishigami), "--where", "token_share[volcano]@2026-12 > 0.5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (
        done.stderr.strip()
        == "--where: token_share[volcano]@2026-12 > 0.5: unknown outcome 'token_share'; the sweep recorded y"
    )


# --- ensemble what-ifs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def whatif_folder(tmp_path_factory) -> Path:
    """An ensemble what-if's folder as `sim whatif --ensemble` writes it, with a known answer:
    Volcano's revenue falls more than 20 % exactly in the sets whose elasticity is above 0.6."""
    folder = tmp_path_factory.mktemp("whatif")
    rng = np.random.default_rng(3)
    elasticity = rng.uniform(0.3, 0.9, 200)
    lab_gpus = rng.uniform(0.2, 5.0, 200)
    rows = []
    for s, (e, g) in enumerate(zip(elasticity, lab_gpus, strict=True)):
        fall = 0.3 if e > 0.6 else 0.1
        for vendor, base_revenue, share in (("volcano", 100.0, 0.5), ("alibaba", 300.0, 0.5)):
            after = base_revenue * (1 - fall) if vendor == "volcano" else base_revenue
            rows.append((s, e, g, "2026-12", vendor, "revenue", base_revenue, after))
            rows.append(
                (s, e, g, "2026-12", vendor, "token_share", share, share + (0.1 if vendor == "volcano" else -0.1))
            )
    columns = ["set", "developers.demand_elasticity", "lab_gpus", "date", "vendor", "metric", "baseline", "whatif"]
    pd.DataFrame(rows, columns=columns).to_parquet(folder / "sets.parquet")
    record = {"name": "baseline", "identity": "abc", "changes": ["--price-cut all=99%@2026-01"], "ensemble": "runs/x",
              "parameters": ["developers.demand_elasticity", "lab_gpus"]}  # fmt: skip
    (folder / "whatif.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_an_ensemble_whatif_is_read_as_each_sets_effect(whatif_folder):
    cases = load_cases(whatif_folder)
    assert cases.unit == "plausible sets" and list(cases.inputs.columns) == ["developers.demand_elasticity", "lab_gpus"]

    def outcome(text: str) -> np.ndarray:
        return cases.outcome(parse_condition(text).clauses[0], text)

    volcano = outcome("revenue[volcano]@2026-12 < 0")
    assert set(np.round(volcano, 9)) == {-0.3, -0.1}, "a level's effect is its relative change"
    assert outcome("token_share[volcano]@2026-12 > 0") == pytest.approx(0.1), "a share's effect is its difference"
    market = outcome("revenue[all]@2026-12 < 0")
    assert set(np.round(market, 9)) == {-0.075, -0.025}, "the market's total changes by the sum's relative change"
    assert outcome("whatif.revenue[volcano]@2026-12 > 0").max() == pytest.approx(90.0)
    text = "leader[token_share]@2026-12 == volcano"
    assert set(cases.leader(parse_condition(text).clauses[0], text)) == {"volcano"}, "a leader is the what-if side's"


def test_discovery_on_an_ensemble_whatif_finds_the_sets_where_revenue_falls(whatif_folder, tmp_path, capsys):
    out = tmp_path / "found"
    assert main(["discover", str(whatif_folder), "--where", "revenue[volcano]@2026-12 < -20%", "--out", str(out)]) == 0
    record = json.loads((out / "boxes.json").read_text(encoding="utf-8"))
    limits = {limit["input"]: limit for limit in record["boxes"][0]["limits"]}
    assert set(limits) == {"developers.demand_elasticity"}
    assert limits["developers.demand_elasticity"]["low"] == pytest.approx(0.6, abs=TOLERANCE)
    assert "plausible sets" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("condition", "phrase"),
    [
        ("revenue[tencent]@2026-12 < 0", "unknown vendor 'tencent'; vendors: volcano, alibaba"),
        ("revenue[volcano]@2027-06 < 0", "unknown month 2027-06; the what-if recorded 2026-12 to 2026-12"),
        ("gross_margin[volcano]@2026-12 < 0", "unknown outcome 'gross_margin'; the what-if recorded revenue"),
        ("token_share[all]@2026-12 < 0", "does not add up to a market total"),
        ("token_share[volcano]@2026-12 < 0", "no plausible set meets it"),
    ],
)
def test_a_condition_the_whatif_cannot_answer_exits_2(whatif_folder, tmp_path, capsys, condition, phrase):
    assert phrase in refused(capsys, "discover", whatif_folder, "--where", condition, "--out", tmp_path / "o")
    assert not (tmp_path / "o").exists()


# --- robust policies --------------------------------------------------------------------------------


def test_a_policy_dominated_in_every_set_meets_no_threshold_and_has_the_most_regret():
    rng = np.random.default_rng(11)
    sets = np.arange(30)
    futures = rng.uniform(0.4, 0.6, len(sets))  # what each set allows, whatever the policy
    rows = []
    for policy, edge in (("bold", 0.15), ("steady", 0.1), ("dominated", -0.35)):
        for s, future in zip(sets, futures, strict=True):
            noise = rng.uniform(0, 0.04)
            rows.append((policy, s, future + edge + noise, 1.0 - future - edge - noise))
    values = pd.DataFrame(rows, columns=["policy", "set", "share >= 0.3", "cost <= 0.7"])
    criteria = [parse_condition("share >= 0.3").clauses[0], parse_condition("cost <= 0.7").clauses[0]]
    criteria = [
        c.__class__(**{**c.__dict__, "text": text}) for c, text in zip(criteria, values.columns[2:], strict=True)
    ]
    table, overall = compare(values, criteria)
    for _, rows in table.groupby("criterion"):
        rows = rows.set_index("policy")
        assert rows.loc["dominated", "satisficing"] == 0
        assert (rows["satisficing"].drop("dominated") == 1).all()
        assert rows["regret_max"].idxmax() == "dominated" and rows["regret_median"].idxmax() == "dominated"
        assert (rows["regret_max"] >= 0).all()
    assert overall.set_index("policy").loc["dominated", "every"] == 0


@pytest.fixture
def calibration_folder(tmp_path: Path) -> Path:
    """The two files `sim calibrate` leaves that a policies file reads: three plausible sets."""
    folder = tmp_path / "calibration"
    folder.mkdir()
    (folder / "calibration.json").write_text("{}", encoding="utf-8")
    pd.DataFrame({"set": [0, 1, 2], "set.developers.demand_elasticity": [0.4, 0.5, 0.6]}).to_parquet(
        folder / "ensemble.parquet"
    )
    return folder


def policies_file(tmp_path: Path, calibration: Path, **changes) -> Path:
    spec = {
        "name": "trial",
        "base": str(ROOT / "scenarios" / "baseline.yaml"),
        "ensemble": str(calibration),
        "vendor": "volcano",
        "criteria": ["token_share[volcano]@2026-12 >= 0.5"],
        "policies": {"hold": {}, "cut": {"add_events": [{"date": "2026-01", "type": "price", "vendor": "volcano",
                                                          "change": -0.9}]}},
    }  # fmt: skip
    spec.update(changes)
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_a_policies_file_runs_each_policy_under_each_set(tmp_path, calibration_folder):
    robust = load_robust(policies_file(tmp_path, calibration_folder))
    assert robust.policies == ["hold", "cut"] and robust.set_ids == [0, 1, 2]
    cut = robust.scenarios[("cut", 2)]
    assert cut.developers.demand_elasticity == 0.6 and cut.events[-1].change == -0.9
    assert len(robust.scenarios[("hold", 2)].events) == len(cut.events) - 1
    assert robust.outcomes.at == ["2026-12"] and robust.outcomes.metrics == ["token_share"]


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"vendor": "bytedance"}, "vendor: unknown vendor 'bytedance'"),
        ({"criteria": ["token_share[volcano]@2030-12 >= 0.5"]}, "criteria.0: 2030-12 is outside the base scenario"),
        ({"criteria": ["leader[token_share]@2026-12 == volcano"]}, "criteria.0: a criterion compares an outcome"),
        ({"policies": {"a": {}, "b": {"set": {"vendors.alibaba.price": 0.1}}}}, "a policy of volcano sets its own"),
        ({"policies": {"a": {}, "b": {"add_events": [{"date": "2026-01", "type": "switching", "switching_cost": 0}]}}},
         "policies.b.add_events.0: a policy of volcano adds price, supply, efficiency events"),
        ({"policies": {"only": {}}}, "policies: "),
    ],
)  # fmt: skip
def test_a_bad_policies_file_names_the_field_and_exits_2(tmp_path, calibration_folder, capsys, changes, phrase):
    path = policies_file(tmp_path, calibration_folder, **changes)
    message = refused(capsys, "robust", path, "--out", tmp_path / "o")
    assert message.startswith(f"{path}:") and phrase in message
    assert not (tmp_path / "o").exists()
