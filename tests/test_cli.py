"""The `sim` command end to end, in a real process: what `sim run` writes and prints.

Runs use the baseline with few agents (3,000 developers, 600 enterprises) so that each
takes a couple of seconds, most of it Python start-up. The same command is reachable as
`python -m sim` and as the `sim` console script installed beside the interpreter.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from PIL import Image

from sim.provenance import scenario_hash
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
SMALL = ["--set", "agents.developers=3000", "--set", "agents.enterprises=600"]
SIM_SCRIPT = Path(sys.executable).parent / "sim"
LAUNCHERS = {"python -m sim": [sys.executable, "-m", "sim"], "sim script": [str(SIM_SCRIPT)]}

OUTPUT_FILES = {
    "trajectories.csv",
    "market.csv",
    "families.csv",
    "summary.json",
    "scenario.resolved.yaml",
    "shares.png",
    "revenue_streams.png",
}
FAMILY_COLUMNS = ["step", "date", "family", "vendor", "mode", "tokens_per_day"]
VENDOR_COLUMNS = [
    "step",
    "date",
    "vendor",
    "token_share",
    "revenue_share",
    "api_tokens_per_day",
    "headline_tokens_per_day",
    "private_tokens_per_day",
    "first_party_tokens_per_day",
    "revenue",
    "maas_revenue",
    "iaas_revenue",
    "paas_revenue",
    "price",
    "unit_cost",
    "gross_margin",
    "maas_margin",
    "iaas_margin",
    "gpus",
    "service_level",
    "iaas_service_level",
    "developers",
    "enterprises_api",
    "enterprises_private",
]
MARKET_COLUMNS = [
    "step",
    "date",
    "revenue",
    "maas_revenue",
    "iaas_revenue",
    "paas_revenue",
    "hhi_tokens",
    "hhi_revenue",
    "mean_price",
    "revenue_per_million_tokens",
    "switching_rate",
]
SHARES = ("token_share", "revenue_share")


@dataclass(frozen=True)
class Run:
    """A finished `sim` process and the folder it wrote to."""

    code: int
    out: str
    err: str
    folder: Path

    def rows(self, name: str) -> list[dict[str, str]]:
        with (self.folder / name).open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def header(self, name: str) -> list[str]:
        with (self.folder / name).open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle))

    def summary(self) -> dict:
        return json.loads((self.folder / "summary.json").read_text(encoding="utf-8"))

    def resolved(self) -> dict:
        return yaml.safe_load((self.folder / "scenario.resolved.yaml").read_text(encoding="utf-8"))

    def bytes(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()


def sim(*args: str | Path, launcher: str = "python -m sim", folder: Path | None = None) -> Run:
    """Run `sim ARGS` in a new process, with a fixed terminal width so tables print alike everywhere."""
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(
        [*LAUNCHERS[launcher], *map(str, args)], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr, folder or Path())


def sim_run(scenario: Path, folder: Path, *args: str, launcher: str = "python -m sim") -> Run:
    run = sim("run", scenario, *SMALL, "--out", folder, *args, launcher=launcher, folder=folder)
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    return run


def month_after(start: str, months: int) -> str:
    year, month = divmod(int(start[:4]) * 12 + int(start[5:7]) - 1 + months, 12)
    return f"{year:04d}-{month + 1:02d}"


def by_date(rows: list[dict[str, str]], column: str) -> dict[str, dict[str, float]]:
    """{date: {vendor: value}} from trajectory rows."""
    table: dict[str, dict[str, float]] = {}
    for row in rows:
        table.setdefault(row["date"], {})[row["vendor"]] = float(row[column])
    return table


@pytest.fixture(scope="module")
def baseline() -> dict:
    return yaml.safe_load(BASELINE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return sim_run(BASELINE, tmp_path_factory.mktemp("default") / "baseline")


@pytest.fixture(scope="module")
def seed7_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return sim_run(BASELINE, tmp_path_factory.mktemp("seed7") / "baseline", "--seed", "7", "--quiet")


# --- what a run writes -----------------------------------------------------------------------


def test_run_writes_the_seven_outputs_and_nothing_else(default_run):
    assert {p.name for p in default_run.folder.iterdir()} == OUTPUT_FILES


def test_run_leaves_no_temporary_part_files(default_run, seed7_run):
    for folder in (default_run.folder, seed7_run.folder):
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize("chart", ["shares.png", "revenue_streams.png"])
def test_the_charts_are_real_pngs(default_run, chart):
    path = default_run.folder / chart
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG"
        assert image.size[0] > 400 and image.size[1] > 200


def test_tokens_by_model_family_add_up_to_each_vendors_tokens(default_run, baseline):
    """families.csv splits every served token by model family, host vendor and mode: summed over
    families, the API, private and first-party rows give the vendors' token columns."""
    assert default_run.header("families.csv") == FAMILY_COLUMNS
    rows = default_run.rows("families.csv")
    assert {r["family"] for r in rows} <= set(baseline["families"])
    assert {r["mode"] for r in rows} == {"api", "private", "first_party"}
    summed: dict[tuple[str, str, str], float] = {}
    for r in rows:
        key = (r["date"], r["vendor"], r["mode"])
        summed[key] = summed.get(key, 0.0) + float(r["tokens_per_day"])
    columns = {
        "api": "api_tokens_per_day",
        "private": "private_tokens_per_day",
        "first_party": "first_party_tokens_per_day",
    }
    for mode, column in columns.items():
        for date, vendors in by_date(default_run.rows("trajectories.csv"), column).items():
            for vendor, tokens in vendors.items():
                assert summed.get((date, vendor, mode), 0.0) == pytest.approx(tokens, rel=1e-6), (date, vendor, mode)
    # tokens bought outside the vendors (DeepSeek's own API) are that family's, hosted by "outside"
    for month in default_run.rows("market.csv"):
        outside = summed.get((month["date"], "outside", "api"), 0.0)
        assert outside == pytest.approx(float(month["outside_tokens_per_day"]), rel=1e-6)


def test_trajectories_have_one_row_per_month_and_vendor_with_the_documented_columns(default_run, baseline):
    assert set(VENDOR_COLUMNS) <= set(default_run.header("trajectories.csv"))
    rows = default_run.rows("trajectories.csv")
    months = [month_after(str(baseline["start"]), i) for i in range(baseline["months"])]
    assert sorted({(r["date"], r["vendor"]) for r in rows}) == sorted(
        (m, v) for m in months for v in baseline["vendors"]
    )
    assert len(rows) == len(months) * len(baseline["vendors"])
    assert sorted({(int(r["step"]), r["date"]) for r in rows}) == list(enumerate(months))


def test_shares_in_each_month_sum_to_one(default_run):
    rows = default_run.rows("trajectories.csv")
    for column in SHARES:
        for date, shares in by_date(rows, column).items():
            assert sum(shares.values()) == pytest.approx(1.0, abs=1e-6), (column, date)


def test_market_table_has_one_row_per_month_with_concentration_price_and_switching(default_run, baseline):
    assert set(MARKET_COLUMNS) <= set(default_run.header("market.csv"))
    rows = default_run.rows("market.csv")
    assert [r["date"] for r in rows] == [month_after(str(baseline["start"]), i) for i in range(baseline["months"])]
    for row in rows:
        assert 0 < float(row["hhi_tokens"]) <= 1 and 0 < float(row["hhi_revenue"]) <= 1
        assert 0 <= float(row["switching_rate"]) <= 1
        assert float(row["mean_price"]) > 0


def test_market_concentration_is_the_sum_of_squared_shares(default_run):
    vendors, market = default_run.rows("trajectories.csv"), default_run.rows("market.csv")
    for column, hhi in (("token_share", "hhi_tokens"), ("revenue_share", "hhi_revenue")):
        shares = by_date(vendors, column)
        for row in market:
            assert float(row[hhi]) == pytest.approx(sum(s * s for s in shares[row["date"]].values()), rel=1e-6)


# --- the summary -----------------------------------------------------------------------------


def test_summary_records_seed_scenario_hash_and_versions(default_run, baseline):
    summary = default_run.summary()
    assert summary["scenario"] == baseline["name"]
    assert summary["seed"] == baseline["seed"]
    assert summary["scenario_hash"] == scenario_hash(load_scenario(default_run.folder / "scenario.resolved.yaml"))
    assert re.fullmatch(r"[0-9a-f]{64}", summary["scenario_hash"])
    for package in ("mesa", "numpy", "pandas", "pydantic"):
        assert summary["versions"][package] == version(package)


def test_summary_final_and_whole_period_shares_match_the_trajectories(default_run):
    """A share over the run is the ratio of the run's sums of tokens or revenue (brief v2)."""
    summary, rows = default_run.summary(), default_run.rows("trajectories.csv")
    for column, quantity in (("token_share", "api_tokens_per_day"), ("revenue_share", "revenue")):
        table, amounts = by_date(rows, column), by_date(rows, quantity)
        final = table[max(table)]
        sums = {v: sum(month[v] for month in amounts.values()) for v in final}
        expected = {v: sums[v] / sum(sums.values()) for v in final}
        assert summary["final"][column] == pytest.approx(final, abs=1e-6)
        assert summary["period_share"][column] == pytest.approx(expected, abs=1e-6)


def test_summary_leaders_and_divergence_months_match_the_trajectories(default_run):
    summary, rows = default_run.summary(), default_run.rows("trajectories.csv")
    leaders = {column: {date: max(s, key=s.get) for date, s in by_date(rows, column).items()} for column in SHARES}
    for column in SHARES:
        monthly = leaders[column]
        assert summary["leaders"][column]["final"] == monthly[max(monthly)]
        counts = {v: list(monthly.values()).count(v) for v in set(monthly.values())}
        assert summary["leaders"][column]["months_leading"] == counts
    tokens, revenue = leaders["token_share"], leaders["revenue_share"]
    assert summary["divergence_months"] == sorted(d for d in tokens if tokens[d] != revenue[d])


# --- reproducing and varying a run -----------------------------------------------------------


def test_running_the_resolved_scenario_reproduces_the_run_byte_for_byte(default_run, tmp_path):
    rerun = sim_run(default_run.folder / "scenario.resolved.yaml", tmp_path / "rerun", launcher="sim script")
    assert rerun.bytes("trajectories.csv") == default_run.bytes("trajectories.csv")
    assert rerun.bytes("market.csv") == default_run.bytes("market.csv")
    assert rerun.bytes("families.csv") == default_run.bytes("families.csv")
    assert rerun.summary()["scenario_hash"] == default_run.summary()["scenario_hash"]


def test_the_resolved_scenario_carries_the_overrides_and_every_default(default_run):
    resolved = default_run.resolved()
    assert (resolved["agents"]["developers"], resolved["agents"]["enterprises"]) == (3000, 600)
    assert "review_probability" in resolved["developers"] and "lock_in" in resolved["developers"]
    assert "extends" not in resolved


def test_seed_option_is_recorded_and_changes_the_results(default_run, seed7_run, baseline):
    assert baseline["seed"] != 7
    assert seed7_run.summary()["seed"] == 7
    assert seed7_run.resolved()["seed"] == 7
    assert seed7_run.summary()["scenario_hash"] == default_run.summary()["scenario_hash"], "the seed is not hashed"
    assert seed7_run.bytes("trajectories.csv") != default_run.bytes("trajectories.csv")
    assert by_date(seed7_run.rows("trajectories.csv"), "token_share") != by_date(
        default_run.rows("trajectories.csv"), "token_share"
    )


def test_set_months_runs_that_many_months(baseline, tmp_path):
    run = sim_run(BASELINE, tmp_path / "short", "--set", "months=12", "--quiet")
    start = str(baseline["start"])
    assert [r["date"] for r in run.rows("market.csv")] == [month_after(start, i) for i in range(12)]
    assert {r["date"] for r in run.rows("trajectories.csv")} == {month_after(start, i) for i in range(12)}
    assert run.summary()["period"] == {"start": start, "end": month_after(start, 11)}
    assert run.resolved()["months"] == 12


# --- what the terminal shows -----------------------------------------------------------------


def test_run_prints_a_table_of_each_vendors_final_shares(default_run, baseline):
    rows = default_run.rows("trajectories.csv")
    tokens, revenue = by_date(rows, "token_share"), by_date(rows, "revenue_share")
    final = max(tokens)
    lines = default_run.out.splitlines()
    for vendor in baseline["vendors"]:
        row = [line for line in lines if re.search(rf"\b{vendor}\b", line)]
        assert len(row) == 1, f"one table row for {vendor} in:\n{default_run.out}"
        assert f"{100 * tokens[final][vendor]:.1f} %" in row[0]
        assert f"{100 * revenue[final][vendor]:.1f} %" in row[0]
    assert str(default_run.folder) in default_run.out


def test_quiet_run_prints_only_the_output_folder(seed7_run):
    assert seed7_run.out == f"{seed7_run.folder}\n"
    assert seed7_run.err == ""


# --- the other commands ----------------------------------------------------------------------


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_validate_prints_ok_for_a_valid_scenario(launcher):
    assert SIM_SCRIPT.exists(), "the `sim` console script is installed beside the interpreter"
    result = sim("validate", BASELINE, launcher=launcher)
    assert (result.code, result.out, result.err) == (0, f"{BASELINE}: ok\n", "")


@pytest.mark.parametrize(
    ("file", "kind"),
    [
        ("sweeps/sobol_baseline.yaml", "sweep"),
        ("calibration/baseline.yaml", "calibration"),
        ("calibration/compare.yaml", "compare"),
        ("robust/price_policies.yaml", "policies"),
    ],
)
def test_validate_reads_each_kind_of_file_with_its_own_loader(file, kind):
    from sim.cli import main

    path = SCENARIOS / file
    code = main(["validate", str(path)])
    assert code == 0
    from sim.cli import file_kind

    assert file_kind(path) == kind


def test_validate_names_a_calibration_files_field_and_refuses_set_on_it(tmp_path, capsys):
    from sim.cli import main

    bad = tmp_path / "calibration.yaml"
    bad.write_text(
        (SCENARIOS / "calibration" / "baseline.yaml")
        .read_text(encoding="utf-8")
        .replace("base: ../baseline.yaml", f"base: {SCENARIOS / 'baseline.yaml'}")
        .replace("file: ../../data/targets.yaml", f"file: {SCENARIOS.parent / 'data' / 'targets.yaml'}")
        .replace(
            "developers.usage_growth:           {low: 0.0, high: 0.25}", "developers.usage_groth: {low: 0, high: 1}"
        ),
        encoding="utf-8",
    )
    assert main(["validate", str(bad)]) == 2
    message = capsys.readouterr().err
    assert "usage_groth" in message and "Traceback" not in message
    assert main(["validate", str(SCENARIOS / "calibration" / "baseline.yaml"), "--set", "months=12"]) == 2
    assert "applies to scenario and sweep files, not to a calibration file" in capsys.readouterr().err


def test_schema_prints_a_json_schema_of_the_scenario():
    result = sim("schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["type"] == "object"
    assert {"vendors", "developers", "enterprises", "events", "start", "months"} <= set(schema["properties"])
    assert {"name", "start", "months", "vendors"} <= set(schema["required"])
    assert schema["additionalProperties"] is False, "unknown keys are errors, so editors flag typos"
    assert_refs_resolve(schema)


def assert_refs_resolve(schema: dict) -> None:
    """Every `$ref` in the schema points at a definition the schema contains."""
    text = json.dumps(schema)
    refs = set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text))
    assert refs, "the scenario's sections are shared definitions"
    assert refs <= set(schema["$defs"])
    assert "$ref" not in text.replace('"$ref": "#/$defs/', "")


def test_the_app_outside_a_project_folder_says_what_it_needs_and_exits_2(tmp_path, monkeypatch, capsys):
    from sim.cli import main

    monkeypatch.chdir(tmp_path)  # no scenarios/ here
    assert main(["app"]) == 2
    assert "no scenario to open here" in capsys.readouterr().err


def test_the_app_on_a_port_in_use_says_so_in_one_line_and_exits_2(capsys):
    import socket

    from sim.cli import main

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", str(ROOT / "scenarios" / "baseline.yaml"), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{port} is already in use" in err and len(err.splitlines()) == 1


def test_the_run_table_writes_prices_without_exponents():
    """After a 99 % cut a token costs millionths of a yuan: the table still reads as a plain number."""
    from sim.report.tables import plain_price

    assert [plain_price(p) for p in (0.12, 0.000825, 8.25e-06, 0.0035)] == ["0.12", "0.000825", "0.00000825", "0.0035"]


@pytest.mark.parametrize("value", ["fortran", "NUMPY", "numpy "])
def test_a_bad_sim_kernel_is_one_line_and_exit_2_before_anything_runs(value, capsys, monkeypatch, tmp_path):
    """An unknown SIM_KERNEL is refused, not quietly read as `auto`."""
    from sim.cli import main

    monkeypatch.setenv("SIM_KERNEL", value)
    assert main(["run", str(ROOT / "scenarios" / "baseline.yaml"), *SMALL, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"environment: SIM_KERNEL: expected one of auto, numba, numpy (got {value!r})"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["", "auto", "numpy"])
def test_sim_kernel_may_be_unset_auto_or_numpy(value, capsys, monkeypatch):
    from sim.cli import main

    monkeypatch.setenv("SIM_KERNEL", value)
    assert main(["validate", str(ROOT / "scenarios" / "baseline.yaml")]) == 0
