"""The files `sim run` leaves in its output folder, written as one set (see sim.report.folders).

trajectories.csv, market.csv, families.csv, summary.json, scenario.resolved.yaml, shares.png,
revenue_streams.png
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from sim.provenance import scenario_hash
from sim.report.files import write_json, write_text
from sim.report.folders import Identity, OutputConflict

if TYPE_CHECKING:
    from sim.report.painter import Painter
    from sim.run import RunResult
    from sim.scenario.schema import Scenario

__all__ = ["SUMMARY", "OutputConflict", "default_folder", "resolved_yaml", "run_identity", "save_run"]

SUMMARY = "summary.json"


def default_folder(result: RunResult, root: Path = Path("runs")) -> Path:
    return root / result.scenario.name


def run_identity(scenario: Scenario) -> Identity:
    """A run's outputs are of a scenario, whatever its seed: compared by the resolved scenario's hash."""
    return Identity(SUMMARY, "scenario_hash", scenario_hash(scenario), scenario.name)


def resolved_yaml(result: RunResult) -> str:
    """The scenario with every default filled in and the seed used: rerunning it reproduces the run."""
    data = result.scenario.model_dump()
    header = (
        f"# Resolved scenario '{result.scenario.name}', seed {result.seed}, hash {result.scenario_hash[:16]}.\n"
        "# Every default is filled in; `sim run` on this file reproduces the run exactly.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_run(result: RunResult, folder: Path, painter: Painter | None = None) -> dict[str, Path]:
    """Write every output of a run into `folder`; return what was written, by kind.

    The command line writes into a claimed folder's staging copy (sim.report.folders), so
    the set appears whole or not at all. With a `painter` the charts are drawn in its
    processes while the tables are written here; either way they are complete on return.
    """
    from sim.report.summary import summarize

    folder.mkdir(parents=True, exist_ok=True)
    written = {
        "trajectories": folder / "trajectories.csv",
        "market": folder / "market.csv",
        "families": folder / "families.csv",
        "scenario": folder / "scenario.resolved.yaml",
        "chart": folder / "shares.png",
        "streams": folder / "revenue_streams.png",
        "summary": folder / SUMMARY,
    }
    charts = {kind: written[kind] for kind in ("chart", "streams")}
    wait_for_charts = painter.save_charts(result, charts) if painter else _draw_here(result, charts)
    try:
        write_text(written["trajectories"], result.trajectories.to_csv(index=False, float_format="%.10g"))
        write_text(written["market"], result.market.to_csv(index=False, float_format="%.10g"))
        write_text(written["families"], result.families.to_csv(index=False, float_format="%.10g"))
        write_text(written["scenario"], resolved_yaml(result))
        write_json(written["summary"], summarize(result))
    except BaseException:
        # the painters finish (or fail) before the folder is given up, so none writes into it later
        with contextlib.suppress(Exception):
            wait_for_charts()
        raise
    wait_for_charts()
    return written


def _draw_here(result: RunResult, paths: dict[str, Path]) -> Callable[[], None]:
    """Draw the charts in this process; matplotlib is imported only now, so that checking the
    output folder before a run needs it not."""
    from sim.report.chart_data import ChartData
    from sim.report.charts import save_chart

    data = ChartData.of(result)
    for kind, path in paths.items():
        save_chart(kind, data, path)
    return lambda: None
