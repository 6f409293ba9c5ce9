"""Each command loads only what it uses, so `sim validate` starts at once; the API stays whole."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

import sim

HEAVY = ("mesa", "dask", "distributed", "SALib", "matplotlib")
DISCOVERY = ("ema_workbench", "sklearn", "statsmodels", "seaborn")  # sim discover's analysis libraries


def modules_after(*argv: str, code: int = 0) -> set[str]:
    """Top-level packages loaded by a fresh interpreter that ran `sim ARGV...` (via the CLI's main),
    which must end with exit code `code`."""
    program = (
        "import json, sys\n"
        "from sim.cli import main\n"
        f"code = main({list(argv)!r})\n"
        "sys.stdout.flush()\n"
        "print('MODULES=' + json.dumps(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == code, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES="))
    return {name.split(".")[0] for name in json.loads(line.removeprefix("MODULES="))}


@pytest.mark.parametrize("argv", [("validate", "scenarios/baseline.yaml"), ("schema",)], ids=["validate", "schema"])
def test_validate_and_schema_load_no_model_sweep_or_chart_libraries(argv):
    loaded = modules_after(*argv)
    assert "sim" in loaded and "pydantic" in loaded, "the command ran"
    assert not loaded & {*HEAVY, *DISCOVERY}, f"`sim {' '.join(argv)}` loaded {sorted(loaded & {*HEAVY, *DISCOVERY})}"


def test_run_loads_mesa_but_not_dask(tmp_path):
    argv = ("run", "scenarios/baseline.yaml", "--set", "agents.developers=2000", "--set", "agents.enterprises=200")
    loaded = modules_after(*argv, "--set", "months=3", "--quiet", "--out", str(tmp_path))
    assert "mesa" in loaded, "the run built the model"
    assert (tmp_path / "shares.png").stat().st_size > 0, "the run drew its charts"
    assert "matplotlib" not in loaded, "the charts were drawn by the painter processes, not by the command"
    assert not loaded & {"dask", "distributed", "SALib", *DISCOVERY}


def test_discover_checks_its_condition_before_loading_any_analysis_library(tmp_path):
    """A question the results cannot answer is refused before PRIM, CART or charts are imported."""
    loaded = modules_after("discover", str(tmp_path), "--where", "token_share[volcano]@2026-12 > 0.5", code=2)
    assert "sim" in loaded, "the command ran"
    assert not loaded & {*DISCOVERY, "matplotlib", "dask", "distributed"}, sorted(loaded & {*DISCOVERY, "matplotlib"})


def test_the_app_loads_no_discovery_library_until_the_discover_panel_runs():
    """`sim app` imports its pages at start; PRIM's and CART's libraries (seconds) wait for a Run."""
    program = "import json, sys\nimport sim.app.app\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES="))
    loaded = {name.split(".")[0] for name in json.loads(line.removeprefix("MODULES="))}
    assert "solara" in loaded, "the app's pages were imported"
    assert not loaded & set(DISCOVERY), sorted(loaded & set(DISCOVERY))


def test_every_public_name_is_there_when_asked_for():
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    assert set(sim.__all__) <= set(dir(sim))
    assert sim.sweep.FunctionModel is not None, "subpackages stay reachable as attributes"
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = sim.nonexistent


def test_run_and_whatif_stay_functions_whatever_is_imported_first():
    """Both names are also submodules; importing those submodules must not hide the functions."""
    program = (
        "import sim.whatif.analysis, sim.whatif.changes, sim.run, sim.cli\n"
        "import sim\n"
        "from sim import run, whatif\n"
        "assert callable(sim.run) and callable(sim.whatif), (sim.run, sim.whatif)\n"
        "assert run is sim.run and whatif is sim.whatif\n"
        "assert sim.run.__module__ == 'sim.run' and sim.whatif.__module__ == 'sim.whatif.analysis'\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=ROOT)


def test_the_whatif_module_loads_scipy_stats_only_when_an_interval_is_computed():
    """The app imports the what-if module at start; scipy.stats alone would add half a second."""
    program = (
        "import sys, numpy as np\n"
        "import importlib\n"
        "analysis = importlib.import_module('sim.whatif.analysis')\n"
        "assert 'scipy.stats' not in sys.modules, 'loaded at import'\n"
        "interval = analysis.paired_interval(np.array([[1.0], [2.0], [4.0]]), 0.95)\n"
        "assert 'scipy.stats' in sys.modules and interval.low[0] < interval.high[0]\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, cwd=ROOT)
