"""Starting the web app's server: Solara on 127.0.0.1, with nothing that calls outside.

Solara would otherwise check PyPI for a newer version at start and send usage telemetry;
both are switched off here, and its front-end assets come from the `solara-assets`
package (docs/app.md). The page module is sim/app/app.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

APP_MODULE = "sim.app.app"
HOST = "127.0.0.1"


def local_url(port: int) -> str:
    return f"http://{HOST}:{port}/"


def configure(scenario: Path | None, scenarios: Path, runs: Path) -> None:
    """Environment the page module and Solara read at import: set before either is imported."""
    from sim.app.app_settings import RUNS_ENV, SCENARIO_ENV, SCENARIOS_ENV

    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["MPLBACKEND"] = "Agg"
    os.environ[SCENARIOS_ENV] = str(scenarios.resolve())
    os.environ[RUNS_ENV] = str(runs.resolve())
    if scenario is not None:
        os.environ[SCENARIO_ENV] = str(scenario.resolve())


def serve(scenario: Path | None, port: int, say: Callable[[str], None]) -> int:
    """Serve until interrupted; returns the server's exit status."""
    configure(scenario, Path("scenarios"), Path("runs"))
    from solara.__main__ import cli as solara_cli

    say(f"sim app: open {local_url(port)} in a browser (Ctrl-C stops the server)")
    arguments = ["run", APP_MODULE, "--host", HOST, "--port", str(port), "--production"]
    arguments += ["--no-open", "--no-check-version", "--log-level", "warning"]
    try:
        solara_cli.main(arguments, prog_name="solara", standalone_mode=False)
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0
