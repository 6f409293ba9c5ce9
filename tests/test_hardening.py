"""Hostile input, odd output folders and misleading what-ifs end in a clear refusal, never a traceback.

Every case runs the `sim` command (in-process, as `sys.exit(main())` does) and expects exit
code 2, a message naming the file or flag (and the line when there is one) and the
problem, no traceback, and a short message whatever the size of the input.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import in_process_client

import sim
from sim.calibrate import calibrate
from sim.cli import main
from sim.record.trajectories import ImplausibleRun, check_invariants
from sim.report.colors import vendor_colors
from sim.report.files import write_atomically
from sim.report.folders import Identity, OutputConflict, claimed_folder
from sim.report.outputs import save_run
from sim.sweep import run_sweep
from sim.whatif.analysis import whatif
from sim.whatif.changes import Changes

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
FAST = ["--set", "agents.developers=2000", "--set", "agents.enterprises=400", "--set", "months=6"]
BOTH = [flag if flag != "--set" else "--both" for flag in FAST]  # a what-if's --set is one side only
BAD_INPUT = 2
MAX_MESSAGE = 2000


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def sim_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Outcome:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def assert_refused(outcome: Outcome, *phrases: str) -> None:
    assert outcome.code == BAD_INPUT, outcome
    assert "Traceback" not in outcome.err + outcome.out
    assert len(outcome.err) < MAX_MESSAGE, f"{len(outcome.err)} characters of message"
    for phrase in phrases:
        assert phrase.lower() in outcome.err.lower(), f"expected {phrase!r} in:\n{outcome.err}"


# --- malformed scenario files ----------------------------------------------------------------

LAUGHS = "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10) if i else ', '.join(['lol'] * 10)}]\n" for i in range(9)
)

FILES = {
    # name: (file text, line the message must point to or None, phrase)
    "month 13": (f"extends: {BASELINE}\nstart: 2024-13-01\n", 2, "not a date in the calendar"),
    "30 February": (
        f"extends: {BASELINE}\nadd_events:\n  - {{type: exit, vendor: others, date: 2024-02-30}}\n",
        3,
        "not a date in the calendar",
    ),
    "year 0": (f"extends: {BASELINE}\nstart: 0000-01-01\n", 2, "not a date in the calendar"),
    "integer past Python's digit limit": (f"extends: {BASELINE}\nmonths: {'9' * 5000}\n", 2, "too long"),
    "nesting 1000 deep": (f"extends: {BASELINE}\ndescription: {'[' * 1000}{']' * 1000}\n", 2, "nested more than"),
    "billion laughs": (LAUGHS, None, "aliases"),
    "duplicate key": (f"extends: {BASELINE}\nmonths: 12\nmonths: 13\n", 3, "duplicate key 'months' (first at line 2)"),
    "unhashable event id": (
        f"extends: {BASELINE}\nadd_events:\n  - {{id: [a, b], type: exit, vendor: others, date: 2025-01}}\n",
        None,
        "add_events.0.id",
    ),
    "extends a name too long": (f"extends: {'a' * 5000}.yaml\n", 1, "too long"),
    "extends with a NUL byte": ('extends: "a\\0b.yaml"\n', 1, "NUL"),
    "extends a folder": ("extends: .\n", 1, "folder"),
    "lone surrogate in a name": (f'extends: {BASELINE}\nname: "x\\ud800"\n', 2, "surrogate"),
    "lone surrogate in an id": (f'extends: {BASELINE}\nvendors:\n  "v\\udc80": {{name: a}}\n', 3, "surrogate"),
    "whole input echoed back": (f"extends: {BASELINE}\nname: {'x' * 5000} y\n", 2, "more characters"),
    "YAML 1.1 boolean where a number is meant": (f"extends: {BASELINE}\nmonths: yes\n", 2, "integer"),
}


@pytest.mark.parametrize("name", list(FILES))
def test_a_malformed_file_is_refused_at_its_line(name, capsys, tmp_path):
    text, line, phrase = FILES[name]
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    outcome = sim_cli(capsys, "validate", path)
    where = f"{path}:{line}:" if line else str(path)
    assert_refused(outcome, where, phrase)


def test_only_regular_files_are_read(capsys, tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for path, phrase in ((fifo, "a pipe"), (Path("/dev/zero"), "a device"), (tmp_path, "a folder")):
        assert_refused(sim_cli(capsys, "validate", path), str(path), phrase)


def test_a_file_over_the_size_limit_is_refused_before_parsing(capsys, tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 1_100_000 + "\n", encoding="utf-8")
    assert_refused(sim_cli(capsys, "validate", path), str(path), "larger than")


def test_sweep_files_are_read_by_the_same_safe_reader(capsys, tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    assert_refused(sim_cli(capsys, "sweep", path, "--dry-run"), str(path), "aliases")
    path.write_text("name: a\nname: b\n", encoding="utf-8")
    assert_refused(sim_cli(capsys, "sweep", path, "--dry-run"), f"{path}:2:", "duplicate key")


def test_a_targets_file_that_is_not_a_list_of_known_targets_is_refused(capsys, tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("targets: {a: 1}\n", encoding="utf-8")
    assert_refused(sim_cli(capsys, "targets", BASELINE, "--targets", path, *FAST), str(path), "list of targets")


def test_numbers_written_with_an_exponent_are_numbers():
    scenario = sim.load_scenario(BASELINE, ["developers.population=2.5e6"])
    assert scenario.developers.population == 2_500_000.0


# --- malformed --set values ------------------------------------------------------------------

SETS = {
    # assignment: phrase (the message must also name the field)
    "months=true": "integer",
    "months=12.5": "integer",
    "developers.tokens_per_day=1e308": "at most",
    "vendors.volcano.price=.inf": "finite",
    "families.doubao.quality=.nan": "finite",
    "enterprises.population=.inf": "finite",
    "developers.switching_cost=.nan": "greater than or equal to 0",
    "developers.size={dist: fixed, value: -1}": "more than 0",
    "enterprises.size={dist: uniform, low: -5, high: 1}": "more than 0",
    "developers.size={dist: uniform, low: .nan, high: 1}": "finite",
    "developers.size={dist: uniform, low: 2, high: 1}": "high must be >= low",
    "start=2024-02-30": "not a date in the calendar",
    "vendors.volcano.first_party.users_ceiling=1": "ceiling",
    f"name={'x' * 300}": "at most 80",
    'vendors.volcano.name="a\\ud800"': "surrogate",
    "description=" + LAUGHS.replace("\n", "; "): "valid YAML",
    "description=[" + ", ".join(["&a [1, 2]"] + ["*a"] * 60_000) + "]": "aliases",
}


@pytest.mark.parametrize("assignment", list(SETS), ids=[a[:50] for a in SETS])
def test_a_malformed_set_is_refused_naming_it(assignment, capsys):
    outcome = sim_cli(capsys, "validate", BASELINE, "--set", assignment)
    assert_refused(outcome, "--set", assignment.partition("=")[0], SETS[assignment])


def test_infinity_stays_allowed_where_a_field_means_never():
    scenario = sim.load_scenario(BASELINE, ["developers.switching_cost=.inf", "enterprises.migration_cost=.inf"])
    assert scenario.developers.switching_cost == float("inf")


# --- outputs are checked before they are written ---------------------------------------------


@pytest.fixture(scope="module")
def tiny_run() -> sim.RunResult:
    return sim.run(sim.load_scenario(BASELINE, [*FAST[1::2]]))


@pytest.mark.parametrize(
    ("column", "value", "phrase"),
    [
        ("token_share", -0.2, "outside [0, 1]"),
        ("revenue", np.nan, "not a finite number"),
        ("revenue_share", 0.9, "sums"),
    ],
)
def test_outputs_that_break_an_invariant_are_refused(tiny_run, column, value, phrase):
    vendors = tiny_run.record.vendors.copy()
    vendors.loc[vendors.index[0], column] = value
    with pytest.raises(ImplausibleRun, match=phrase.replace("[", r"\[").replace("]", r"\]")):
        check_invariants(type(tiny_run.record)(vendors, tiny_run.market, tiny_run.vendor_ids, tiny_run.families))


def test_a_real_run_meets_the_invariants(tiny_run):
    check_invariants(tiny_run.record)


# --- charts take any vendors ------------------------------------------------------------------


def many_vendors(count: int, name: str = "Vendor {i}") -> sim.Scenario:
    data = sim.load_scenario(BASELINE, [*FAST[1::2]]).model_dump()
    template = data["vendors"]["others"]
    family = data["families"][next(f for f, v in data["families"].items() if v["owner"] == "others")]
    for i in range(count):
        data["vendors"][f"v{i}"] = {**template, "name": name.format(i=i), "color": None, "incumbency": 0.0}
        data["families"][f"f{i}"] = {**family, "name": f"Family {i}", "owner": f"v{i}"}
    return sim.scenario_from_dict(data)


def test_every_vendor_gets_its_own_colour_past_the_palette():
    colors = vendor_colors(many_vendors(40))
    assert len(colors) == 46
    assert len(set(colors.values())) == len(colors)


def test_a_run_with_many_vendors_and_formula_like_names_writes_its_charts(tmp_path):
    result = sim.run(many_vendors(34, name="Vendor $x^{{ {i}"))
    written = save_run(result, tmp_path / "out")
    assert written["chart"].stat().st_size > 0 and written["streams"].stat().st_size > 0


# --- output folders -------------------------------------------------------------------------


def run_into(capsys, folder: Path, *args: str) -> Outcome:
    return sim_cli(capsys, "run", BASELINE, "--out", folder, "--quiet", *FAST, *args)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_an_output_folder_below_a_file_is_refused_before_the_run(capsys, tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert_refused(run_into(capsys, tmp_path / "file" / "out"), "which is a file")


def test_a_dangling_symbolic_link_is_refused(capsys, tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    assert_refused(run_into(capsys, tmp_path / "link"), "symbolic link to nothing")
    assert not (tmp_path / "nowhere").exists()


def test_a_folder_inside_another_runs_outputs_is_refused(capsys, tmp_path):
    assert run_into(capsys, tmp_path / "run").code == 0
    assert_refused(run_into(capsys, tmp_path / "run" / "inner"), "inside the outputs")


def test_a_folder_holding_other_files_is_refused_even_with_force(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert_refused(run_into(capsys, tmp_path, "--force"), "not empty")
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_an_output_name_too_long_is_refused_before_the_run(capsys, tmp_path):
    assert_refused(run_into(capsys, tmp_path / ("x" * 300)), "too long")


def test_an_edited_scenario_with_the_same_name_does_not_replace_results_without_force(capsys, tmp_path):
    folder = tmp_path / "baseline"
    assert run_into(capsys, folder).code == 0
    before = snapshot(folder)
    assert_refused(run_into(capsys, folder, "--set", "developers.review_probability=0.3"), "edited", "--force")
    assert snapshot(folder) == before
    assert run_into(capsys, folder, "--set", "developers.review_probability=0.3", "--force").code == 0
    assert snapshot(folder) != before


def test_a_folder_being_written_by_another_process_is_refused(tmp_path):
    identity = Identity("summary.json", "scenario_hash", "abc", "x")
    with (
        claimed_folder(tmp_path / "out", identity),
        pytest.raises(OutputConflict, match="another sim process"),
        claimed_folder(tmp_path / "out", identity),
    ):
        pass


def test_a_finished_run_leaves_no_temporary_files_or_folders(capsys, tmp_path):
    assert run_into(capsys, tmp_path / "out").code == 0
    assert run_into(capsys, tmp_path / "out", "--seed", "3").code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_a_run_killed_at_any_moment_leaves_one_whole_run(capsys, tmp_path):
    """kill -9 during a run into a folder holding an earlier run: the folder holds either run, whole."""
    old_args, new_args = ["--seed", "1"], ["--seed", "2"]
    folder, reference = tmp_path / "out", tmp_path / "reference"
    assert run_into(capsys, reference, *new_args).code == 0
    new = snapshot(reference)
    assert run_into(capsys, folder, *old_args).code == 0
    old = snapshot(folder)
    command = [sys.executable, "-m", "sim", "run", BASELINE, "--out", folder, "--quiet", *FAST, *new_args]
    rng = np.random.default_rng(0)
    seen = set()
    for delay in rng.uniform(0.5, 6.0, size=6):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        now = snapshot(folder)
        assert now in (old, new), "a mix of two runs"
        seen.add("new" if now == new else "old")
        if now == new:
            assert run_into(capsys, folder, *old_args).code == 0
    assert "old" in seen


# --- what-ifs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> sim.Scenario:
    return sim.load_scenario(BASELINE, [*FAST[1::2]])


def test_sides_are_matched_by_vendor_id_not_position(small, tmp_path):
    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    data["vendors"] = dict(reversed(list(data["vendors"].items())))
    reordered = tmp_path / "reordered.yaml"
    reordered.write_text(yaml.safe_dump(data), encoding="utf-8")
    changes = Changes(against=reordered, both=FAST[1::2])
    result = whatif(small, changes, replicates=2, workers=1, progress=False)
    assert result.table["difference"].abs().max() == 0


@pytest.mark.parametrize(
    ("flags", "phrase"),
    [
        (["--set", "months=7"], "months are compared one by one"),
        (["--set", "start=2024-02"], "months are compared one by one"),
        (["--replicates", "1001"], "--replicates"),
        (["--replicates", "1"], "--replicates"),
        (["--price-cut", "all=50%@2024-03-99"], "not a day in the calendar"),
    ],
)
def test_a_whatif_that_cannot_be_compared_is_refused(flags, phrase, capsys, tmp_path):
    outcome = sim_cli(capsys, "whatif", BASELINE, *BOTH, *flags, "--out", tmp_path / "w", "--quiet")
    assert_refused(outcome, phrase)
    assert not (tmp_path / "w").exists()


def test_a_whatif_side_adding_a_vendor_is_refused_with_the_reason(small):
    vendor = yaml.safe_dump(small.vendors["others"].model_dump(), default_flow_style=True).strip()
    changes = Changes(sets=[f"vendors.newco={vendor}", "families.newco_llm={name: N, owner: newco, quality: 0}"])
    with pytest.raises(sim.ScenarioError, match="added: newco"):
        whatif(small, changes, replicates=2, workers=1, progress=False)


def test_a_change_that_alters_nothing_says_so_and_suggests_a_test(small):
    result = whatif(small, Changes(capacity_caps=["huawei=50%@2024-03"]), replicates=2, workers=1, progress=False)
    headlines = result.headlines()
    assert headlines[0].startswith("No effect")
    assert "not a finding" in headlines[0]
    assert "absorbed" in headlines[1] and "below zero" in headlines[1]


def test_a_price_cut_overridden_by_a_reactive_policy_names_the_policy(small):
    floor = "vendors.alibaba.pricing=[{policy: margin_floor, margin: 1000}]"
    result = whatif(
        small, Changes(price_cuts=["alibaba=50%@2024-03"], both=[floor]), replicates=2, workers=1, progress=False
    )
    if result.no_effect:
        assert "margin_floor" in result.headlines()[1]
        assert "vendors.alibaba.pricing=[]" in result.headlines()[1]
    else:
        assert not np.array_equal(result.samples["baseline"], result.samples["whatif"])


def test_a_whatif_folder_holding_another_whatif_needs_force(capsys, tmp_path):
    folder = tmp_path / "w"
    first = ["whatif", BASELINE, *BOTH, "--replicates", "2", "--workers", "1", "--out", folder, "--quiet"]
    assert sim_cli(capsys, *first, "--price-cut", "all=50%@2024-03").code == 0
    provenance = json.loads((folder / "whatif.json").read_text(encoding="utf-8"))
    assert provenance["changes"][-1] == "--price-cut all=50%@2024-03"
    assert_refused(sim_cli(capsys, *first, "--price-cut", "all=20%@2024-03"), str(folder), "--force")
    assert sim_cli(capsys, *first, "--price-cut", "all=20%@2024-03", "--force").code == 0
    table = pd.read_csv(folder / "whatif.csv")
    assert len(table) > 0


def test_a_write_that_fails_midway_leaves_the_previous_set_and_no_temporary_folder(capsys, tmp_path):
    folder = tmp_path / "out"
    assert run_into(capsys, folder).code == 0
    before = snapshot(folder)

    def disk_full(staging: Path) -> None:
        (staging / "summary.json").write_text("{}", encoding="utf-8")
        raise OSError(28, "No space left on device")

    identity = Identity("summary.json", "scenario_hash", json.loads(before["summary.json"])["scenario_hash"], "x")
    with claimed_folder(folder, identity) as claim, pytest.raises(OutputConflict, match="No space left"):
        claim.commit(disk_full)
    assert snapshot(folder) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("content", ["truncated", "empty", "random", "text column"])
def test_a_corrupt_ensemble_file_is_a_message_naming_it_not_a_traceback(content, tmp_path):
    """sim whatif --ensemble reads a calibration's ensemble.parquet: whatever the file holds,
    the answer is a ScenarioError naming it (exit 2 from the command line)."""
    from sim.whatif.ensemble import read_ensemble

    good = pd.DataFrame({"set.developers.tokens_per_day": [5000.0, 6000.0], "distance": [1.0, 2.0]})
    whole = tmp_path / "whole.parquet"
    good.to_parquet(whole)
    (tmp_path / "calibration.json").write_text("{}")
    path = tmp_path / "ensemble.parquet"
    if content == "truncated":
        path.write_bytes(whole.read_bytes()[:100])
    elif content == "empty":
        path.write_bytes(b"")
    elif content == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        good.astype({"set.developers.tokens_per_day": str}).to_parquet(path)
    with pytest.raises(sim.ScenarioError) as caught:
        read_ensemble(tmp_path)
    assert "ensemble.parquet" in str(caught.value)


# --- full disks, read-only and unwritable folders (sweeps and calibrations) ----------------------

FIXTURE_SWEEPS = ROOT / "tests" / "fixtures" / "sweeps"
client = pytest.fixture(scope="module")(in_process_client)


def ishigami_sweep(tmp_path: Path, samples: int = 16) -> Path:
    """The Ishigami sweep, small: a model that costs nothing, so the tests time only the writes."""
    path = tmp_path / "ishigami.yaml"
    text = (FIXTURE_SWEEPS / "ishigami.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("samples: 1024", f"samples: {samples}"), encoding="utf-8")
    return path


def trade_off_calibration(tmp_path: Path) -> Path:
    """The calibration with a known answer (sim.calibrate.known), with a small search."""
    spec = {
        "name": "trade_off",
        "model": "trade_off",
        "parameters": {name: {"low": 0.0, "high": 1.0} for name in ("x1", "x2", "x3")},
        "targets": {"values": {"total": {"value": 1.0, "tolerance": 0.05}, "first": {"value": 0.3, "tolerance": 0.1}}},
        "search": {"initial": 16, "budget": 8, "batch": 8},
        "ensemble": {"rounds": 1, "per_round": 16},
    }
    path = tmp_path / "trade_off.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def refuse(code: int, when: Callable[[Path], bool]) -> Callable[..., None]:
    """A stand-in for a write function that fails with `code` when writing to a path `when` picks.

    It writes a few bytes first, as a disk that fills midway does, so the test also shows the
    partial file is removed.
    """

    def write(table, where, *args, **kwargs) -> None:
        if when(Path(where)):
            Path(where).write_bytes(b"PAR1 partial")
            raise OSError(code, os.strerror(code))
        return WRITE_TABLE(table, where, *args, **kwargs)

    return write


WRITE_TABLE = pq.write_table


def leftovers(folder: Path) -> list[Path]:
    """Temporary files and folders a write left behind."""
    return [p for p in folder.parent.rglob(".*") if p.name.endswith((".part", ".lock")) or "staging" in p.name]


def assert_one_line(message: str, *phrases: str) -> None:
    assert message.count("\n") <= 1 and message.strip(), repr(message)
    assert "Traceback" not in message
    for phrase in phrases:
        assert phrase in message, f"expected {phrase!r} in {message!r}"


def permissions_enforced() -> bool:
    """Whether this process is refused a folder it may not write (root, with its usual powers, is not)."""
    if os.geteuid() != 0:
        return True
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o555)
        try:
            Path(folder, "probe").touch()
        except PermissionError:
            return True
        finally:
            os.chmod(folder, 0o755)
    return False


IGNORES_PERMISSIONS = pytest.mark.skipif(
    not permissions_enforced(), reason="this user writes in folders whatever their permissions (root)"
)


def test_a_sweep_whose_disk_fills_while_storing_runs_keeps_the_runs_stored_and_resumes(client, tmp_path, monkeypatch):
    out = tmp_path / "out"
    batches = iter(range(1000))
    monkeypatch.setattr(
        "sim.sweep.store.pq.write_table",
        refuse(errno.ENOSPC, lambda p: ".out.parquet." in p.name and next(batches) >= 2),
    )
    with pytest.raises(OutputConflict) as caught:
        run_sweep(ishigami_sweep(tmp_path), out, client=client, progress=False, batch_size=8)
    assert_one_line(str(caught.value), "No space left on device", ".out.parquet", "are kept", "run the same command")
    assert len(list((out / "runs").glob("*.out.parquet"))) == 2
    assert not (out / "results.parquet").exists() and not leftovers(out)
    monkeypatch.undo()
    done = run_sweep(ishigami_sweep(tmp_path), out, client=client, progress=False, batch_size=8)
    assert done.reused == 16 and done.complete


def test_a_sweep_whose_disk_fills_while_compacting_keeps_the_previous_results(client, tmp_path, monkeypatch):
    out = tmp_path / "out"
    run_sweep(ishigami_sweep(tmp_path), out, client=client, progress=False)
    before = (out / "results.parquet").read_bytes()

    def full(*args, **kwargs) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("sim.sweep.store._write_blocks", full)
    with pytest.raises(OutputConflict, match=r"cannot write .*results\.parquet: No space left on device; runs"):
        run_sweep(ishigami_sweep(tmp_path), out, client=client, progress=False)
    assert (out / "results.parquet").read_bytes() == before and not leftovers(out)


def test_sim_sweep_on_a_read_only_file_system_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr("sim.report.files.tempfile.mkstemp", read_only)
    out = tmp_path / "out"
    outcome = sim_cli(capsys, "sweep", ishigami_sweep(tmp_path), "--out", out, "--quiet")
    assert_refused(outcome, "Read-only file system", str(out / "sweep.yaml"))
    assert_one_line(outcome.err)


def test_sim_calibrate_whose_disk_fills_at_the_report_keeps_its_runs_and_resumes(capsys, client, tmp_path, monkeypatch):
    path, out = trade_off_calibration(tmp_path), tmp_path / "out"

    def half_written(temporary: Path) -> None:
        temporary.write_text("# Calibration", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("sim.calibrate.report.write_text", lambda where, text: write_atomically(where, half_written))
    with pytest.raises(OutputConflict) as caught:
        calibrate(path, out, client=client, progress=False)
    assert_one_line(str(caught.value), str(out / "fit.md"), "No space left on device", "are kept")
    assert not (out / "fit.md").exists() and not leftovers(out)
    assert json.loads((out / "calibration.json").read_text())["status"]["state"] == "running"
    monkeypatch.undo()
    done = calibrate(path, out, client=client, progress=False)
    assert done.record["status"]["runs_executed"] == 0 and (out / "fit.md").is_file()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_sim_calibrate_refused_its_first_write_is_one_line_and_exit_2(code, capsys, tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("sim.report.files.tempfile.mkstemp", refused)
    out = tmp_path / "out"
    outcome = sim_cli(capsys, "calibrate", trade_off_calibration(tmp_path), "--out", out, "--quiet")
    assert_refused(outcome, os.strerror(code), str(out / "calibration.yaml"))
    assert_one_line(outcome.err)
    assert not leftovers(out)


@IGNORES_PERMISSIONS
@pytest.mark.parametrize("command", ["calibrate", "sweep"])
def test_an_out_folder_in_a_folder_that_may_not_be_written_is_refused(command, capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    inputs = {"calibrate": trade_off_calibration, "sweep": ishigami_sweep}[command](tmp_path)
    locked.chmod(0o555)
    try:
        outcome = sim_cli(capsys, command, inputs, "--out", locked / "out", "--quiet")
        assert_refused(outcome, str(locked), "Permission denied", "nothing was written")
        assert_one_line(outcome.err)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


@IGNORES_PERMISSIONS
def test_a_sweep_folder_made_read_only_keeps_its_runs(client, capsys, tmp_path):
    out = tmp_path / "out"
    run_sweep(ishigami_sweep(tmp_path), out, client=client, progress=False)
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    out.chmod(0o555)
    try:
        with pytest.raises(OutputConflict, match="Permission denied") as caught:
            run_sweep(ishigami_sweep(tmp_path, samples=32), out, client=client, progress=False)
        assert_one_line(str(caught.value), str(out))
        assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    finally:
        out.chmod(0o755)


# --- late failures: figures the model cannot produce are refused before any run ------------------

TARGET = {"id": "token_share_h1_2025", "period": ["2025-01", "2025-06"], "values": {"volcano": 0.49}, "tolerance": 0.05}
UNMEASURABLE = {
    # name: (changes to TARGET or a whole target, field, phrase of what was expected)
    "a vendor the scenario lacks": ({"values": {"bytedance": 0.49}}, "values.bytedance", "its vendors: volcano"),
    "a period that is not two months": ({"period": ["2025-01"]}, "period", "[first month, last month]"),
    "no period": ({"period": None}, "period", "YYYY-MM"),
    "a figure that is not a number": ({"values": {"volcano": "half"}}, "values.volcano", "a finite number"),
    "a tolerance that is not a number": ({"tolerance": "small"}, "tolerance", "a positive number"),
    "a revenue period it does not have": (
        {"id": "ai_cloud_market_revenue", "values": {"year_2023": 1.0e10}},
        "values.year_2023",
        "one or more of year_2024, h1_2025",
    ),
    "a key it does not read": (
        {
            "id": "external_api_tokens_2024",
            "period": ["2024-01", "2024-12"],
            "values": {"total": 3.0e11},
            "tolerance": "within a factor of 1.5",
        },
        "values.total",
        "expected total_per_day",
    ),
    "a factor that is a number": (
        {
            "id": "external_api_tokens_2024",
            "period": ["2024-01", "2024-12"],
            "values": {"total_per_day": 3.0e11},
            "tolerance": 1.5,
        },
        "tolerance",
        "within a factor of X",
    ),
    "a month that is not one": (
        {"id": "volcano_headline_path", "values": {"2024-13": 4.0e12}, "tolerance": "within a factor of 1.5"},
        "values.2024-13",
        "a month YYYY-MM",
    ),
}


def targets_file(tmp_path: Path, change: dict) -> Path:
    target = {**TARGET, **change} if "id" not in change else change
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": [{k: v for k, v in target.items() if v is not None}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(UNMEASURABLE))
def test_a_calibration_fitting_a_figure_the_model_cannot_measure_is_refused_before_any_run(name, capsys, tmp_path):
    change, field, phrase = UNMEASURABLE[name]
    targets = targets_file(tmp_path, change)
    spec = {
        "base": str(BASELINE),
        "targets": {"file": str(targets)},
        "parameters": {"developers.usage_growth": {"low": 0.0, "high": 0.2}},
    }
    path = tmp_path / "calibration.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    outcome = sim_cli(capsys, "calibrate", path, "--out", tmp_path / "out", "--quiet")
    assert_refused(outcome, str(targets), field, phrase)
    assert_one_line(outcome.err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", list(UNMEASURABLE))
def test_sim_targets_refuses_a_figure_it_cannot_measure_before_running(name, capsys, tmp_path, monkeypatch):
    change, field, phrase = UNMEASURABLE[name]
    monkeypatch.setattr(importlib.import_module("sim.run"), "run", lambda *a, **k: pytest.fail("the scenario ran"))
    outcome = sim_cli(capsys, "targets", BASELINE, "--targets", targets_file(tmp_path, change), *FAST)
    assert_refused(outcome, field, phrase)
    assert_one_line(outcome.err)


def test_a_test_function_calibration_naming_an_output_it_does_not_give_is_refused(capsys, tmp_path):
    path = trade_off_calibration(tmp_path)
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["targets"]["values"]["totl"] = spec["targets"]["values"].pop("total")
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    outcome = sim_cli(capsys, "calibrate", path, "--out", tmp_path / "out", "--quiet")
    assert_refused(outcome, str(path), "targets.values.totl", "no output 'totl'", "its outputs: total, first")
    assert_one_line(outcome.err)
    assert not (tmp_path / "out").exists()


def test_every_target_id_says_what_it_must_hold_and_the_shipped_files_hold_it():
    from sim.targets import MOMENTS, SHAPES, load_targets

    assert SHAPES.keys() == MOMENTS.keys()
    vendors = list(sim.load_scenario(BASELINE).vendors)
    for name in ("targets.yaml", "checks.yaml"):
        assert load_targets(ROOT / "data" / name, vendors)


# --- values that broke the error path itself ------------------------------------------------------

HOSTILE = {
    # name: (what follows `extends` in the file, line, phrase)
    "an integer of 4,300 digits": (f"months: {'9' * 4300}\n", 2, "less than or equal to 600"),
    "a list where a tag is expected": (
        "add_events:\n  - {type: [1], vendor: others, date: 2025-01}\n",
        3,
        "does not match any of the expected tags",
    ),
    "nested lists with NaN": ("name: [[1, {a: .nan}], [[[]]]]\n", 2, "valid string"),
    "a key holding a line break": ('developers:\n  "a\\nb": 1\n', 3, "developers.a\\nb: unknown field"),
    "binary data": ("name: !!binary aGVsbG8=\n", 2, "valid string"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_value_gets_a_one_line_message(name, capsys, tmp_path):
    text, line, phrase = HOSTILE[name]
    path = tmp_path / "scenario.yaml"
    path.write_text(f"extends: {BASELINE}\n{text}", encoding="utf-8")
    outcome = sim_cli(capsys, "validate", path)
    assert_refused(outcome, f"{path}:{line}:" if line else str(path), phrase)
    assert_one_line(outcome.err)


@pytest.mark.parametrize(
    "content",
    [np.random.default_rng(1).bytes(3000), b"name: a\x00b\nmodel: [\n", b"\xef\xbb\xbfname: \x85\x1c\n"],
    ids=["random", "NUL", "line separators"],
)
def test_a_binary_calibration_file_gets_a_one_line_message(content, capsys, tmp_path):
    path = tmp_path / "calibration.yaml"
    path.write_bytes(content)
    outcome = sim_cli(capsys, "calibrate", path, "--out", tmp_path / "out", "--quiet")
    assert_refused(outcome, str(path))
    assert_one_line(outcome.err)
    assert not (tmp_path / "out").exists()


# --- resources: a run that cannot fit in memory is refused before it allocates ---------------------


def test_a_run_with_more_agents_than_memory_holds_is_refused_with_both_figures(capsys, tmp_path, monkeypatch):
    from sim.model import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 200_000_000)
    outcome = sim_cli(capsys, "run", BASELINE, "--set", "agents.developers=20000000", "--out", tmp_path / "out")
    assert_refused(outcome, "20,000,000 developer", "need about 1.", "GB of memory; 0.20 GB is available")
    assert_one_line(outcome.err)
    assert not (tmp_path / "out").exists()


def test_the_estimate_reads_the_populations_arrays_and_stays_under_the_bound():
    from sim.model import memory

    scenario = sim.load_scenario(BASELINE, [*FAST[1::2]])
    per_developer, per_enterprise = memory.agent_bytes(scenario)
    model = sim.build_model(scenario)
    held = {
        name: sum(a.nbytes for a in vars(getattr(model, name)).values() if isinstance(a, np.ndarray)) / count
        for name, count in (("developers", 2000), ("enterprises", 400))
    }
    assert held["developers"] <= per_developer and held["enterprises"] <= per_enterprise
    assert memory.WORKING_FACTOR * max(per_developer, per_enterprise) < memory.BOUND_PER_AGENT / 2


def test_a_run_that_fits_is_not_probed(monkeypatch):
    from sim.model import memory

    monkeypatch.setattr(memory, "agent_bytes", lambda scenario: pytest.fail("probed a run that fits"))
    monkeypatch.setattr(memory, "available_bytes", lambda: 10**12)
    assert memory.check_memory(sim.load_scenario(BASELINE)).fits
    assert memory.memory_need(sim.load_scenario(BASELINE, ["agents.developers=20000000"]), "reference").fits


def test_the_memory_available_is_read_from_the_system():
    from sim.model import memory

    available = memory.available_bytes()
    assert available is None or available > 0
