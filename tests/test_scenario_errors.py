"""A bad scenario is refused with one clear message, never a traceback.

For every malformed scenario file and every malformed `--set`, both `sim validate` and
`sim run` exit with code 2 and print, on stderr, where the problem is and what it is:

    FILE:LINE: FIELD.PATH: what is wrong        (a problem in a file, at the field's line)
    --set: FIELD.PATH: what is wrong            (a problem in an override)

The malformed files live in tests/fixtures/malformed/; most extend the baseline and break
one thing, which their first line describes. The cases run `sim.cli.main` in-process (the
`sim` command is `sys.exit(main())`) to stay fast; a few run the real command to show the
process itself exits 2 without a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
MALFORMED = Path(__file__).resolve().parent / "fixtures" / "malformed"
SMALL = ["--set", "agents.developers=3000", "--set", "agents.enterprises=600"]
FAST = [*SMALL, "--set", "months=12"]
BAD_INPUT = 2


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class FileCase:
    """A malformed file, the field path the message must name, and a phrase it must contain.

    `at` is text on the line the message must point to (None: no line is given); `reported_in`
    is the file the message must name when that is not the file given to `sim`.
    """

    file: str
    field: str | None
    phrase: str
    at: str | None = None
    reported_in: str | None = None


@dataclass(frozen=True)
class SetCase:
    """A malformed `--set`, the field path the message must name, and a phrase it must contain."""

    assignment: str
    field: str
    phrase: str


FILE_CASES = {
    "yaml syntax error": FileCase("yaml_syntax.yaml", None, "not valid YAML", at="description:"),
    "top level not a mapping": FileCase("top_level_list.yaml", None, "mapping"),
    "missing required field": FileCase("missing_required.yaml", "vendors.newco.price", "missing", at="newco:"),
    "misspelt section": FileCase("typo_top_level.yaml", "vendor", "unknown field", at="vendor:"),
    "misspelt field": FileCase("typo_field.yaml", "vendors.volcano.pricee", "unknown field", at="pricee:"),
    "wrong type": FileCase("wrong_type.yaml", "months", "integer", at="months:"),
    "negative price": FileCase("negative_price.yaml", "vendors.volcano.price", "greater than 0", at="price:"),
    "share above 1": FileCase(
        "share_out_of_range.yaml", "vendors.alibaba.incumbency", "less than or equal to 1", at="incumbency:"
    ),
    "bad date format": FileCase("bad_date.yaml", "start", "YYYY-MM", at="start:"),
    "event before the start": FileCase(
        "event_before_start.yaml", "add_events.0.date", "before the scenario starts", at="2023-06"
    ),
    "event for an unknown vendor": FileCase(
        "event_unknown_vendor.yaml", "add_events.0.vendor", "bytedance", at="bytedance"
    ),
    "price cut of 150 %": FileCase("price_cut_150.yaml", "add_events.0.change", "greater than -1", at="change:"),
    "unknown event type": FileCase("unknown_event_type.yaml", "add_events.0.type", "merger", at="type:"),
    "unknown distribution": FileCase("unknown_distribution.yaml", "developers.size.dist", "gamma", at="dist:"),
    "unknown pricing policy": FileCase(
        "unknown_pricing_policy.yaml", "vendors.volcano.pricing.0.policy", "undercut", at="policy:"
    ),
    "extends a missing file": FileCase("extends_missing.yaml", "extends", "no_such_base.yaml", at="extends:"),
    "extends loop": FileCase(
        "extends_loop_a.yaml", "extends", "loop", at="extends:", reported_in="extends_loop_b.yaml"
    ),
    "drop_events names an unknown id": FileCase(
        "drop_unknown_event.yaml", "drop_events.0", "volcano_price_war", at="drop_events:"
    ),
    "exit_rate + review_probability > 1": FileCase(
        "exit_plus_review.yaml", "developers", "exit_rate + review_probability", at="developers:"
    ),
    "events not a list": FileCase("events_not_a_list.yaml", "events", "list", at="events:"),
    "two events with one id": FileCase(
        "duplicate_event_id.yaml", "add_events.0.id", "already the id of events.0", at="volcano_price_cut"
    ),
    "a name a spreadsheet runs as a formula": FileCase(
        "formula_name.yaml", "vendors.volcano.name", "formula", at="HYPERLINK"
    ),
    "a name with a NUL character": FileCase(
        "control_character_name.yaml", "vendors.volcano.name", "control characters", at="Vol"
    ),
    "add_events not a list": FileCase("add_events_not_a_list.yaml", "add_events", "list", at="add_events:"),
    "no vendor holds cloud contracts": FileCase("no_incumbent.yaml", "vendors", "incumbency", at="vendors:"),
    "error inherited from an extended file": FileCase(
        "inherits_negative_price.yaml",
        "vendors.volcano.price",
        "greater than 0",
        at="price:",
        reported_in="negative_price.yaml",
    ),
    "quality event for an unknown model family": FileCase(
        "event_unknown_family.yaml", "add_events.0.family", "unknown model family 'gpt5'", at="gpt5"
    ),
    "vendor without a model family": FileCase(
        "vendor_without_family.yaml", "vendors.newco", "owns exactly one model family", at="newco:"
    ),
    "model family of an unknown vendor": FileCase(
        "family_unknown_owner.yaml", "families.doubao.owner", "unknown vendor 'bytedance'", at="bytedance"
    ),
    "GPU allocation not an order of the streams": FileCase(
        "allocation_not_an_order.yaml", "vendors.volcano", "first_party, iaas and api once each", at="volcano:"
    ),
    "file does not exist": FileCase("does_not_exist.yaml", None, "not found"),
}

SET_CASES = {
    "missing '='": SetCase("months12", "months12", "PATH=VALUE"),
    "empty path": SetCase("=12", "=12", "PATH=VALUE"),
    "unknown field": SetCase("agents.developer=5000", "agents.developer", "unknown field"),
    "unknown vendor": SetCase("vendors.bytedance.price=0.1", "vendors.bytedance.price", "not in the scenario"),
    "value not valid YAML": SetCase("months=[12", "months", "not valid YAML"),
    "wrong type": SetCase("months=twelve", "months", "integer"),
    "out of bounds": SetCase("vendors.volcano.price=-0.5", "vendors.volcano.price", "greater than 0"),
    "list index out of range": SetCase("events.99.price=0.1", "events.99", "list index"),
    "list index not a number": SetCase("events.first.price=0.1", "events.first", "list index"),
    "path through a value": SetCase("months.value=12", "months.value", "months is a value"),
    "a value for a section": SetCase("agents=5000", "agents", "dictionary"),
}

COMMANDS = ("validate", "run")


# --- helpers ---------------------------------------------------------------------------------


def sim(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Outcome:
    """Run the `sim` command in-process and capture what it prints."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def sim_process(*args: str | Path) -> Outcome:
    """Run the real `sim` command in a new Python process."""
    done = subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def command_args(command: str, scenario: Path, tmp_path: Path) -> list[str | Path]:
    """`sim validate FILE` or `sim run FILE --out ...` (with few agents, in case it wrongly runs)."""
    if command == "run":
        return ["run", scenario, "--out", tmp_path / "out", *SMALL]
    return ["validate", scenario]


def line_of(path: Path, text: str) -> int:
    """The number of the first line of `path` containing `text`, counting from 1."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def expected_location(case: FileCase) -> str:
    """The start of the message: FILE, or FILE:LINE, then the field path when there is one."""
    source = MALFORMED / (case.reported_in or case.file)
    where = f"{source}:{line_of(source, case.at)}" if case.at else str(source)
    return f"{where}: {case.field}: " if case.field else f"{where}: "


def assert_refused(outcome: Outcome, location: str, phrase: str) -> None:
    assert outcome.code == BAD_INPUT, outcome
    assert "Traceback" not in outcome.err + outcome.out
    assert location in outcome.err, f"expected {location!r} in:\n{outcome.err}"
    assert phrase.lower() in outcome.err.lower(), f"expected {phrase!r} in:\n{outcome.err}"


# --- malformed files and overrides -----------------------------------------------------------


def test_there_are_at_least_15_malformed_files_and_6_malformed_overrides():
    assert len(FILE_CASES) >= 15
    assert len(SET_CASES) >= 6


def test_every_malformed_fixture_file_is_used():
    used = {c.file for c in FILE_CASES.values()} | {c.reported_in for c in FILE_CASES.values()}
    assert {p.name for p in MALFORMED.glob("*.yaml")} <= used


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", FILE_CASES.values(), ids=FILE_CASES.keys())
def test_a_malformed_file_is_refused_with_its_file_line_and_field(command, case, capsys, tmp_path):
    outcome = sim(capsys, *command_args(command, MALFORMED / case.file, tmp_path))
    assert_refused(outcome, expected_location(case), case.phrase)
    assert not (tmp_path / "out").exists(), "nothing is written for a bad scenario"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", SET_CASES.values(), ids=SET_CASES.keys())
def test_a_malformed_override_is_refused_naming_set_and_the_field(command, case, capsys, tmp_path):
    outcome = sim(capsys, *command_args(command, BASELINE, tmp_path), "--set", case.assignment)
    assert_refused(outcome, f"--set: {case.field}: ", case.phrase)
    assert not (tmp_path / "out").exists(), "nothing is written for a bad override"


def test_the_real_command_validates_every_malformed_file_and_reports_each():
    files = sorted({MALFORMED / c.file for c in FILE_CASES.values()})
    outcome = sim_process("validate", *files)
    for case in FILE_CASES.values():
        assert_refused(outcome, expected_location(case), case.phrase)


@pytest.mark.parametrize(
    "args",
    [
        [MALFORMED / "yaml_syntax.yaml"],
        [MALFORMED / "events_not_a_list.yaml"],
        [BASELINE, "--set", "months12"],
    ],
    ids=["yaml syntax error", "events not a list", "missing '=' in --set"],
)
def test_the_real_run_command_exits_2_without_a_traceback(args, tmp_path):
    outcome = sim_process("run", *args, "--out", tmp_path / "out")
    assert outcome.code == BAD_INPUT
    assert outcome.err.strip()
    assert "Traceback" not in outcome.err + outcome.out
    assert not (tmp_path / "out").exists()


def test_an_error_points_at_the_line_of_the_field_in_a_full_scenario_file(capsys, tmp_path):
    """A copy of the baseline with huawei's price made negative: the message gives that line."""
    text = BASELINE.read_text(encoding="utf-8").splitlines(keepends=True)
    number = _line_in_section(text, "  huawei:", "    price:")
    text[number - 1] = text[number - 1].replace("price: ", "price: -", 1)
    scenario = tmp_path / "negative_huawei_price.yaml"
    scenario.write_text("".join(text), encoding="utf-8")
    outcome = sim(capsys, "validate", scenario)
    assert_refused(outcome, f"{scenario}:{number}: vendors.huawei.price: ", "greater than 0")


def test_every_problem_in_a_file_is_reported_not_just_the_first(capsys, tmp_path):
    scenario = tmp_path / "two_problems.yaml"
    scenario.write_text(f"extends: {BASELINE}\nmonths: 0\nvendors:\n  baidu:\n    trust: 2\n", encoding="utf-8")
    outcome = sim(capsys, "validate", scenario)
    assert_refused(outcome, f"{scenario}:2: months: ", "greater than or equal to 1")
    assert_refused(outcome, f"{scenario}:5: vendors.baidu.trust: ", "less than or equal to 1")


def test_field_errors_and_disagreeing_sections_are_reported_together(capsys, tmp_path):
    """A field out of range does not hide the checks of the whole scenario (unknown vendors,
    repeated ids), and those checks report every problem, not the first."""
    scenario = tmp_path / "field_and_whole_scenario_problems.yaml"
    scenario.write_text(
        f"extends: {BASELINE}\n"
        "vendors:\n"
        "  volcano:\n"
        "    price: -0.1\n"
        "events:\n"
        "  - {id: a, date: 2024-04, type: entry, vendor: others}\n"
        "  - {id: a, date: 2024-09, type: exit, vendor: tencnt}\n"
        "  - {date: 2024-10, type: exit, vendor: bidu}\n",
        encoding="utf-8",
    )
    outcome = sim(capsys, "validate", scenario)
    assert_refused(outcome, f"{scenario}:4: vendors.volcano.price: ", "greater than 0")
    assert_refused(outcome, f"{scenario}:7: events.1.vendor: ", "unknown vendor 'tencnt'")
    assert_refused(outcome, f"{scenario}:7: events.1.id: ", "already the id of events.0")
    assert_refused(outcome, f"{scenario}:8: events.2.vendor: ", "unknown vendor 'bidu'")
    assert len(outcome.err.strip().splitlines()) == 4, outcome.err


def test_a_whole_scenario_check_on_a_field_in_error_is_left_to_that_fields_message(capsys, tmp_path):
    """An event whose vendor is not text is one problem, not also an 'unknown vendor'."""
    scenario = tmp_path / "event_vendor_not_text.yaml"
    scenario.write_text(
        f"extends: {BASELINE}\nevents:\n  - {{id: a, date: 2024-04, type: exit, vendor: [1]}}\n"
        "  - {id: a, date: 2024-09, type: exit, vendor: tencent}\n",
        encoding="utf-8",
    )
    outcome = sim(capsys, "validate", scenario)
    assert_refused(outcome, f"{scenario}:3: events.0.vendor: ", "valid string")
    assert_refused(outcome, f"{scenario}:4: events.1.id: ", "already the id of events.0")
    assert "unknown vendor" not in outcome.err, outcome.err


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
@pytest.mark.parametrize("where", ["vendors.volcano", "families.qwen"])
def test_a_name_a_spreadsheet_would_run_as_a_formula_is_refused_at_its_line(prefix, where, capsys, tmp_path):
    section, key = where.split(".")
    scenario = tmp_path / "formula_name.yaml"
    scenario.write_text(f"extends: {BASELINE}\n{section}:\n  {key}:\n    name: '{prefix}SUM(1+1)'\n", encoding="utf-8")
    outcome = sim(capsys, "validate", scenario)
    assert_refused(outcome, f"{scenario}:4: {where}.name: ", "a spreadsheet would run it as a formula")


def _line_in_section(lines: list[str], section: str, field: str) -> int:
    start = next(i for i, line in enumerate(lines) if line.rstrip() == section)
    return next(i for i in range(start, len(lines)) if lines[i].startswith(field)) + 1


# --- valid scenarios -------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_scenario_validates_ok(scenario, capsys):
    outcome = sim(capsys, "validate", scenario)
    assert outcome == Outcome(0, f"{scenario}: ok\n", "")


def test_validate_checks_every_file_given_and_fails_if_any_is_bad(capsys):
    outcome = sim(capsys, "validate", BASELINE, MALFORMED / "negative_price.yaml")
    assert outcome.code == BAD_INPUT
    assert f"{BASELINE}: ok" in outcome.out
    assert "vendors.volcano.price" in outcome.err


# --- the output folder -----------------------------------------------------------------------


def run_into(capsys: pytest.CaptureFixture[str], folder: Path, *args: str) -> Outcome:
    return sim(capsys, "run", BASELINE, "--out", folder, "--quiet", *FAST, *args)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def test_run_refuses_a_folder_holding_another_scenarios_results_and_leaves_it_unchanged(capsys, tmp_path):
    folder = tmp_path / "results"
    assert run_into(capsys, folder).code == 0
    before = snapshot(folder)
    outcome = run_into(capsys, folder, "--set", "name=another_scenario", "--seed", "1")
    assert_refused(outcome, str(folder), "another_scenario")
    assert "baseline" in outcome.err and "--force" in outcome.err
    assert snapshot(folder) == before


def test_run_with_force_replaces_another_scenarios_results(capsys, tmp_path):
    folder = tmp_path / "results"
    assert run_into(capsys, folder).code == 0
    before = snapshot(folder)
    assert run_into(capsys, folder, "--set", "name=another_scenario", "--seed", "1", "--force").code == 0
    assert summary_of(folder)["scenario"] == "another_scenario"
    assert summary_of(folder)["seed"] == 1
    after = snapshot(folder)
    assert set(after) == set(before)
    assert after["trajectories.csv"] != before["trajectories.csv"]


def test_run_may_rewrite_the_same_scenarios_results(capsys, tmp_path):
    folder = tmp_path / "results"
    assert run_into(capsys, folder).code == 0
    assert run_into(capsys, folder, "--seed", "1").code == 0
    assert summary_of(folder)["seed"] == 1


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "with --force"])
def test_run_refuses_an_output_path_that_is_a_file(force, capsys, tmp_path):
    target = tmp_path / "results"
    target.write_text("not a folder\n", encoding="utf-8")
    outcome = run_into(capsys, target, *force)
    assert_refused(outcome, str(target), "not a folder")
    assert target.read_text(encoding="utf-8") == "not a folder\n"
