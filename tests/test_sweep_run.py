"""Running sweeps on Dask: stored as they finish, resumable, the same whatever the workers.

Most runs here use an in-process Dask cluster (one worker thread, started in milliseconds)
and the market model on a tiny, short baseline (tests/fixtures/sweeps/small_grid.yaml:
eight runs of a few hundredths of a second). One test starts the real `sim sweep`
command with two worker processes, to show the results do not depend on the workers.
Models much faster than the market (the Ishigami function, a linear function, one that
fails) check the sensitivity pipeline against known answers.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import in_process_client

from sim.cli import main
from sim.report.outputs import OutputConflict
from sim.sweep import FunctionModel, analyze_sweep, register_model, run_sweep
from sim.sweep import store as store_module
from sim.sweep.store import RunStore, compact

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sweeps"
SMALL_GRID = FIXTURES / "small_grid.yaml"
ISHIGAMI = FIXTURES / "ishigami.yaml"
BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
PUBLISHED = {  # Ishigami a=7, b=0.1: Saltelli et al. (2008), Global Sensitivity Analysis, p. 179
    "S1": {"x1": 0.314, "x2": 0.442, "x3": 0.000},
    "ST": {"x1": 0.558, "x2": 0.442, "x3": 0.244},
}
PNG = b"\x89PNG\r\n\x1a\n"
VENDORS = ("volcano", "alibaba", "baidu", "tencent", "huawei", "others")


client = pytest.fixture(scope="module")(in_process_client)


@pytest.fixture(scope="module")
def grid_run(client, tmp_path_factory):
    """The small grid, run once without interruption: the reference for the other tests."""
    return run_sweep(SMALL_GRID, tmp_path_factory.mktemp("grid") / "out", client=client, progress=False)


def results(folder: Path, name: str = "results.parquet") -> pd.DataFrame:
    return pd.read_parquet(folder / name)


def copy_of_small_grid(tmp_path: Path, replicates: int) -> Path:
    text = SMALL_GRID.read_text().replace("../../../scenarios/baseline.yaml", str(BASELINE))
    path = tmp_path / "small_grid.yaml"
    path.write_text(text.replace("replicates: 2", f"replicates: {replicates}"))
    return path


# --- one run per row, the same whatever the workers -------------------------------------------


def test_results_are_one_row_per_run_and_outcome_with_the_parameters(grid_run):
    table = results(grid_run.folder)
    runs = results(grid_run.folder, "runs.parquet")
    assert grid_run.complete and len(runs) == 8 and (runs["status"] == "ok").all()
    per_run = table.groupby(["point", "replicate"]).size()
    assert len(per_run) == 8 and per_run.nunique() == 1
    # 2 months x 2 metrics x 6 vendors + 2 market + 2 x 2 leaders + 2 metrics x 6 vendors (period) + divergence
    assert per_run.iloc[0] == 24 + 2 + 4 + 12 + 1
    assert list(table.columns[:5]) == [
        "point",
        "replicate",
        "seed",
        "developers.switching_cost",
        "events.volcano_price_cut.price",
    ]
    assert set(table["seed"]) == {20240515, 20240516}
    point3 = table[table["point"] == 3]
    assert (point3["developers.switching_cost"] == 2.0).all() and (
        point3["events.volcano_price_cut.price"] == 0.012
    ).all()


def test_outcomes_agree_with_the_runs_trajectories(grid_run):
    table = results(grid_run.folder).set_index(["point", "replicate", "outcome"])
    paths = results(grid_run.folder, "trajectories.parquet")
    run = paths[(paths["point"] == 2) & (paths["replicate"] == 1)]
    shares = run.pivot(index="date", columns="vendor", values="token_share")
    revenue = run.pivot(index="date", columns="vendor", values="revenue_share")
    assert table.loc[(2, 1, "token_share[volcano]@2024-12"), "value"] == shares.loc["2024-12", "volcano"]
    assert table.loc[(2, 1, "revenue_share[baidu]@2024-07..2024-12"), "value"] == pytest.approx(
        revenue.loc["2024-07":"2024-12", "baidu"].mean(), rel=1e-12
    )
    assert table.loc[(2, 1, "leader[token_share]@2024-06"), "label"] == shares.loc["2024-06"].idxmax()
    differ = (shares.idxmax(axis=1) != revenue.idxmax(axis=1)).sum()
    assert table.loc[(2, 1, "divergence_months"), "value"] == differ
    assert len(run) == 12 * 6


def test_the_manifest_records_the_sweep_base_design_seeds_and_versions(grid_run):
    manifest = json.loads((grid_run.folder / "manifest.json").read_text())
    assert manifest["sweep"]["text"] == SMALL_GRID.read_text()
    assert manifest["design"] == {
        "method": "grid",
        "options": {},
        "spec": {"method": "grid"},
        "points": 4,
    }
    assert manifest["seeds"] == [20240515, 20240516]
    assert "agents:\n  developers: 2000" in manifest["base"]["resolved"]
    assert manifest["model"]["version"].startswith(manifest["versions"]["sim"] + "+")
    assert manifest["status"]["state"] == "complete" and manifest["status"]["ok"] == 8
    assert (grid_run.folder / "base.resolved.yaml").exists()


def test_two_worker_processes_give_exactly_the_same_dataset_as_one(grid_run, tmp_path):
    """The real command, two worker processes, against the in-process single worker."""
    out = tmp_path / "two"
    command = [sys.executable, "-m", "sim", "sweep", str(SMALL_GRID), "--workers", "2", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert f"Results: {out / 'results.parquet'}" in done.stdout
    assert f"Next: sim analyze {out}" in done.stdout
    for name in ("results.parquet", "trajectories.parquet"):
        pd.testing.assert_frame_equal(results(out, name), results(grid_run.folder, name), check_exact=True)
    workers = results(out, "runs.parquet")["worker"]
    assert workers.nunique() <= 2 and set(workers).isdisjoint(set(results(grid_run.folder, "runs.parquet")["worker"]))


def test_compaction_gives_the_same_dataset_a_few_runs_at_a_time(grid_run, tmp_path, monkeypatch):
    """Memory is bounded by compacting a block of runs at a time; the block size changes nothing."""
    folder = tmp_path / "copy"
    shutil.copytree(grid_run.folder, folder)
    monkeypatch.setattr(store_module, "BLOCK_RUNS", 3)
    compact(folder, grid_run.plan, RunStore(folder / "runs").index(True), True)
    for name in ("results.parquet", "trajectories.parquet"):
        pd.testing.assert_frame_equal(results(folder, name), results(grid_run.folder, name), check_exact=True)


# --- resuming ---------------------------------------------------------------------------------


def test_a_rerun_does_only_the_runs_not_yet_stored(client, grid_run, tmp_path):
    """Half the runs first (one seed of two), then the whole sweep into the same folder."""
    out = tmp_path / "out"
    half = run_sweep(copy_of_small_grid(tmp_path, 1), out, client=client, progress=False)
    assert (half.executed, half.reused) == (4, 0)
    first = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    whole = run_sweep(copy_of_small_grid(tmp_path, 2), out, client=client, progress=False)
    assert (whole.executed, whole.reused) == (4, 4)
    assert {name: (out / "runs" / name).stat().st_mtime_ns for name in first} == first  # untouched
    for name in ("results.parquet", "trajectories.parquet"):
        pd.testing.assert_frame_equal(results(out, name), results(grid_run.folder, name), check_exact=True)
    again = run_sweep(copy_of_small_grid(tmp_path, 2), out, client=client, progress=False)
    assert (again.executed, again.reused) == (0, 8)


def test_unreadable_and_temporary_files_are_ignored_and_their_runs_done_again(client, grid_run, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(grid_run.folder, folder)
    runs = folder / "runs"
    victim = sorted(runs.glob("*.out.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # cut short, as by a failing disk
    (runs / "junk.out.parquet").write_bytes(b"not parquet at all")
    (runs / ".abcd.out.parquet.x1y2.part").write_bytes(b"PAR1 half a file")  # a write in flight at a crash
    again = run_sweep(copy_of_small_grid(tmp_path, 2), folder, client=client, progress=False)
    assert (again.executed, again.reused) == (1, 7)
    assert (runs / "junk.out.parquet.corrupt").exists() and (runs / f"{victim.name}.corrupt").exists()
    for name in ("results.parquet", "trajectories.parquet"):
        pd.testing.assert_frame_equal(results(folder, name), results(grid_run.folder, name), check_exact=True)


def test_a_folder_holding_another_sweep_is_refused(grid_run, tmp_path, capsys):
    other = tmp_path / "other.yaml"
    other.write_text(copy_of_small_grid(tmp_path, 2).read_text().replace("name: small_grid", "name: other"))
    with pytest.raises(OutputConflict, match="holds sweep 'small_grid', not 'other'"):
        run_sweep(other, grid_run.folder, progress=False)
    assert main(["sweep", str(other), "--out", str(grid_run.folder)]) == 2
    assert "--force" in capsys.readouterr().err


# --- failures ---------------------------------------------------------------------------------


def fragile(values: dict[str, float], seed: int) -> float:
    """Fails above 0.7, like a model that breaks in part of its parameter space."""
    if values["x"] > 0.7:
        raise ValueError(f"x = {values['x']:.3f} is above 0.7")
    return values["x"] ** 2


def test_a_run_that_raises_is_recorded_as_failed_and_the_sweep_goes_on(client, tmp_path):
    register_model(FunctionModel("fragile", fragile, ("x",)))
    path = tmp_path / "fragile.yaml"
    path.write_text(
        "model: fragile\nparameters:\n  x: {dist: uniform, low: 0, high: 1}\ndesign: {method: random, samples: 30}\n"
    )
    done = run_sweep(path, tmp_path / "out", client=client, progress=False)
    runs = results(done.folder, "runs.parquet")
    x = results(done.folder, "design.parquet")["x"]
    failing = int((x > 0.7).sum())
    assert 0 < failing < 30
    assert (done.compacted.ok, done.compacted.failed) == (30 - failing, failing) and not done.complete
    assert (runs["status"] == "failed").tolist() == (x > 0.7).tolist()
    assert runs.loc[runs["status"] == "failed", "error"].str.startswith("ValueError: x = ").all()
    stored = results(done.folder)
    assert sorted(stored["point"]) == sorted(np.flatnonzero(x <= 0.7))
    np.testing.assert_allclose(stored["value"], x[x <= 0.7] ** 2)
    assert json.loads((done.folder / "manifest.json").read_text())["status"]["state"] == "incomplete"
    failure = json.loads(next((done.folder / "runs").glob("*.failed.json")).read_text())
    assert "Traceback" in failure["traceback"] and "fragile" in failure["traceback"]
    retried = run_sweep(path, tmp_path / "out", client=client, progress=False)
    assert (retried.executed, retried.reused) == (failing, 30 - failing)  # failures are tried again


# --- sensitivity ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ishigami_run(client, tmp_path_factory):
    return run_sweep(ISHIGAMI, tmp_path_factory.mktemp("ishigami") / "out", client=client, progress=False)


def test_the_pipeline_recovers_the_published_ishigami_indices(ishigami_run):
    """Sweep file -> Saltelli design -> Dask -> store -> SALib: within 0.05 of the exact values."""
    assert len(results(ishigami_run.folder, "runs.parquet")) == 1024 * (3 + 2)
    indices = analyze_sweep(ishigami_run.folder).indices.set_index(["index", "parameter"])
    for index, expected in PUBLISHED.items():
        for parameter, value in expected.items():
            row = indices.loc[(index, parameter)]
            assert row["value"] == pytest.approx(value, abs=0.05), (index, parameter)
            assert 0 < row["conf"] < 0.1  # a 95 % interval of useful width


def linear(values: dict[str, float], seed: int) -> dict[str, float]:
    return {"y": 3 * values["x1"] + 0.5 * values["x2"], "x1_only": values["x1"]}


@pytest.fixture(scope="module")
def linear_model():
    return register_model(FunctionModel("linear", linear, ("x1", "x2", "x3")))


def linear_sweep(tmp_path: Path, design: str) -> Path:
    path = tmp_path / "linear.yaml"
    ranges = "\n".join(f"  {x}: {{dist: uniform, low: 0, high: 2}}" for x in ("x1", "x2", "x3"))
    path.write_text(f"model: linear\nparameters:\n{ranges}\ndesign: {design}\n")
    return path


def test_morris_effects_of_a_linear_function_are_its_slopes_times_the_range(client, linear_model, tmp_path):
    done = run_sweep(
        linear_sweep(tmp_path, "{method: morris, trajectories: 8}"), tmp_path / "o", client=client, progress=False
    )
    found = analyze_sweep(done.folder).indices
    mu_star = found[(found["outcome"] == "y") & (found["index"] == "mu_star")].set_index("parameter")
    assert mu_star["value"].to_dict() == pytest.approx({"x1": 6.0, "x2": 1.0, "x3": 0.0})
    sigma = found[(found["outcome"] == "y") & (found["index"] == "sigma")]["value"]
    assert sigma.abs().max() < 1e-9  # no interactions


def test_a_latin_hypercube_gives_first_order_indices_by_rbd_fast(client, linear_model, tmp_path):
    done = run_sweep(
        linear_sweep(tmp_path, "{method: lhs, samples: 300, seed: 2}"), tmp_path / "o", client=client, progress=False
    )
    found = analyze_sweep(done.folder).indices
    s1 = found[found["outcome"] == "x1_only"].set_index("parameter")["value"]
    assert s1["x1"] == pytest.approx(1.0, abs=0.1) and abs(s1["x2"]) < 0.1 and abs(s1["x3"]) < 0.1


# --- sim analyze ------------------------------------------------------------------------------


def test_sim_analyze_writes_a_report_tables_and_charts(grid_run, tmp_path, capsys):
    out = tmp_path / "analysis"
    assert main(["analyze", str(grid_run.folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "token_share[volcano]@2024-12" in printed and f"Report, tables and charts in {out}/" in printed
    report = (out / "report.md").read_text()
    for heading in ("# Sweep small_grid", "## Headline outcomes", "## Leaders", "## Charts", "## Provenance"):
        assert heading in report
    assert "common random numbers" in report and "eta²" in report and "![Fan chart](fan.png)" in report
    for chart in ("indices.png", "response.png", "fan.png"):
        assert (out / chart).read_bytes()[:8] == PNG
    indices = pd.read_csv(out / "indices.csv")
    assert list(indices.columns) == ["outcome", "parameter", "index", "value", "conf", "low", "high"]
    volcano = indices[indices["outcome"] == "token_share[volcano]@2024-12"].set_index("parameter")["value"]
    assert volcano["events.volcano_price_cut.price"] > volcano["developers.switching_cost"]  # the cut decides
    leaders = pd.read_csv(out / "leaders.csv")
    assert leaders.groupby("outcome")["share"].sum().round(9).eq(1).all()
    summary = pd.read_csv(out / "outcomes.csv")
    assert summary["noise_share"].between(0, 1).all()


def test_sim_analyze_charts_the_outcomes_asked_for(grid_run, tmp_path):
    analysis = analyze_sweep(grid_run.folder, ["revenue_share[*]@2024-07..2024-12", "hhi_tokens@*"])
    assert analysis.headline == [
        "hhi_tokens@2024-06",
        "hhi_tokens@2024-12",
        *(f"revenue_share[{v}]@2024-07..2024-12" for v in VENDORS),
    ]


def test_second_order_sobol_indices_of_an_additive_function_are_near_zero(client, linear_model, tmp_path):
    path = linear_sweep(tmp_path, "{method: sobol, samples: 256, second_order: true}")
    done = run_sweep(path, tmp_path / "o", client=client, progress=False)
    assert len(results(done.folder, "runs.parquet")) == 256 * (2 * 3 + 2)
    found = analyze_sweep(done.folder).indices
    pairs = found[(found["outcome"] == "y") & (found["index"] == "S2")]
    assert list(pairs["parameter"]) == ["x1 x x2", "x1 x x3", "x2 x x3"]
    assert pairs["value"].abs().max() < 0.05


def test_sim_analyze_of_sobol_runs_reports_s1_and_st_and_notes_the_missing_fan_chart(ishigami_run, capsys):
    assert main(["analyze", str(ishigami_run.folder), "--quiet"]) == 0
    out = ishigami_run.folder / "analysis"
    assert capsys.readouterr().out.strip() == str(out)
    report = (out / "report.md").read_text()
    assert "fan chart skipped: the sweep kept no share trajectories" in report
    assert "| `y` |" in report and "`x2`" in report
    assert not (out / "fan.png").exists() and (out / "indices.png").exists()
    assert set(pd.read_csv(out / "indices.csv")["index"]) == {"S1", "ST"}
    assert pd.read_csv(out / "outcomes.csv")["noise_share"].isna().all()  # one seed: luck cannot be measured


def test_sim_analyze_replaces_its_own_analysis_whole(grid_run, tmp_path):
    """A new analysis of the same sweep replaces the old set: no chart of the old one is left."""
    out = tmp_path / "analysis"
    assert main(["analyze", str(grid_run.folder), "--out", str(out), "--quiet"]) == 0
    (out / "stale.png").write_bytes(PNG)
    assert main(["analyze", str(grid_run.folder), "--out", str(out), "--quiet", "--confidence", "0.9"]) == 0
    assert not (out / "stale.png").exists()
    record = json.loads((out / "analysis.json").read_text())
    assert record["sweep"] == "small_grid" and record["confidence"] == 0.9 and record["versions"]["mesa"]


def test_sim_analyze_refuses_another_sweeps_analysis_unless_forced(grid_run, ishigami_run, tmp_path, capsys):
    out = tmp_path / "analysis"
    assert main(["analyze", str(grid_run.folder), "--out", str(out), "--quiet"]) == 0
    before = (out / "report.md").read_bytes()
    assert main(["analyze", str(ishigami_run.folder), "--out", str(out), "--quiet"]) == 2
    assert "pass --force to replace them" in capsys.readouterr().err
    assert (out / "report.md").read_bytes() == before
    assert main(["analyze", str(ishigami_run.folder), "--out", str(out), "--quiet", "--force"]) == 0
    ishigami = json.loads((ishigami_run.folder / "manifest.json").read_text())["sweep"]["name"]
    assert json.loads((out / "analysis.json").read_text())["sweep"] == ishigami


def test_an_analysis_written_before_analysis_json_is_replaced_only_with_force(grid_run, tmp_path, capsys):
    out = tmp_path / "analysis"
    out.mkdir()
    for name in ("report.md", "indices.csv", "fan.png"):
        (out / name).write_text("an earlier analysis")
    assert main(["analyze", str(grid_run.folder), "--out", str(out), "--quiet"]) == 2
    assert "pass --force to replace them" in capsys.readouterr().err
    assert (out / "report.md").read_text() == "an earlier analysis"
    assert main(["analyze", str(grid_run.folder), "--out", str(out), "--quiet", "--force"]) == 0
    assert (out / "analysis.json").is_file() and (out / "report.md").read_text() != "an earlier analysis"


def test_a_sweep_reached_through_a_symbolic_link_is_analysed_in_its_own_folder(grid_run, tmp_path):
    link = tmp_path / "linked_sweep"
    link.symlink_to(grid_run.folder, target_is_directory=True)
    assert main(["analyze", str(link), "--quiet"]) == 0
    assert (grid_run.folder / "analysis" / "analysis.json").is_file()


def test_sim_analyze_writes_nothing_when_its_report_cannot_be_written(grid_run, tmp_path, monkeypatch, capsys):
    out = tmp_path / "analysis"
    assert main(["analyze", str(grid_run.folder), "--out", str(out), "--quiet"]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sim.sweep.report.markdown", full_disk)
    assert main(["analyze", str(grid_run.folder), "--out", str(out), "--quiet", "--confidence", "0.8"]) == 2
    assert "what it held before is unchanged" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def interrupted(folder: Path) -> Path:
    """A folder whose sweep started again (manifest: running) beside an earlier sweep's results."""
    (folder / "manifest.json").write_text(json.dumps({"status": {"state": "running"}}))
    (folder / "results.parquet").write_bytes(b"")
    return folder


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda tmp: tmp, "not a sweep output folder (no manifest.json)"),
        (lambda tmp: (tmp / "manifest.json").write_text("{}") and tmp, "the sweep has not finished"),
        (lambda tmp: interrupted(tmp), "the sweep has not finished (it is running or was interrupted)"),
    ],
)
def test_sim_analyze_refuses_a_folder_that_is_not_a_finished_sweep(tmp_path, capsys, make, phrase):
    folder = make(tmp_path)
    assert main(["analyze", str(folder)]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err


def test_an_outcome_missing_at_some_points_gets_a_note_not_an_index(client, tmp_path):
    """A point whose every run failed leaves a hole Sobol' cannot fill: the report says so."""
    register_model(FunctionModel("fragile", fragile, ("x",)))
    path = tmp_path / "s.yaml"
    path.write_text(
        "model: fragile\nparameters:\n  x: {dist: uniform, low: 0, high: 1}\ndesign: {method: sobol, samples: 8}\n"
    )
    done = run_sweep(path, tmp_path / "o", client=client, progress=False)
    analysis = analyze_sweep(done.folder)
    assert analysis.indices.empty
    assert any(note.startswith("y: no indices") for note in analysis.notes)
    assert any("runs failed (" in note and "ValueError" in note for note in analysis.notes)
    assert math.isfinite(analysis.summary.set_index("outcome").loc["y", "mean"])


@pytest.mark.parametrize("table", ["results.parquet", "design.parquet"])
def test_sim_analyze_of_a_sweep_with_a_truncated_table_names_the_file_and_exits_2(table, grid_run, tmp_path, capsys):
    broken = tmp_path / "sweep"
    shutil.copytree(grid_run.folder, broken)
    whole = (broken / table).read_bytes()
    (broken / table).write_bytes(whole[: len(whole) // 3])
    assert main(["analyze", str(broken), "--out", str(tmp_path / "analysis")]) == 2
    err = capsys.readouterr().err
    assert table in err and "truncated or corrupt" in err and "Traceback" not in err
    assert not (tmp_path / "analysis").exists()
