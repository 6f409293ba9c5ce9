"""The files `sim run` leaves in its output folder, each written atomically.

trajectories.csv, market.csv, families.csv, summary.json, scenario.resolved.yaml, shares.png,
revenue_streams.png
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from sim.report.files import write_json, write_text

if TYPE_CHECKING:
    from sim.run import RunResult

SUMMARY = "summary.json"


class OutputConflict(Exception):
    """The output folder holds another scenario's results."""


def default_folder(result: RunResult, root: Path = Path("runs")) -> Path:
    return root / result.scenario.name


def check_folder(folder: Path, scenario_name: str, replace: bool = False) -> None:
    """Refuse to write over a different scenario's results (a rerun of the same one is fine).

    `replace` (--force) allows that. A path that exists but is not a folder is refused even
    then, before the run, rather than failing with a traceback when the first output is written.
    """
    if folder.exists() and not folder.is_dir():
        raise OutputConflict(f"{folder} is a file, not a folder; choose another folder with --out")
    summary = folder / SUMMARY
    if replace or not summary.exists():
        return
    try:
        existing = json.loads(summary.read_text(encoding="utf-8")).get("scenario")
    except (OSError, ValueError):
        existing = None
    if existing != scenario_name:
        raise OutputConflict(
            f"{folder} holds results of scenario {existing!r}, not {scenario_name!r}; "
            "choose another folder with --out, or pass --force to replace them"
        )


def resolved_yaml(result: RunResult) -> str:
    """The scenario with every default filled in and the seed used: rerunning it reproduces the run."""
    data = result.scenario.model_dump()
    header = (
        f"# Resolved scenario '{result.scenario.name}', seed {result.seed}, hash {result.scenario_hash[:16]}.\n"
        "# Every default is filled in; `sim run` on this file reproduces the run exactly.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_run(result: RunResult, folder: Path) -> dict[str, Path]:
    """Write every output of a run; return what was written, by kind."""
    # Imported here, not above: checking the output folder before a run needs neither
    # matplotlib nor pandas, and the command line checks it before anything is simulated.
    from sim.report.charts import save_figure, shares_figure, streams_figure
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
    write_text(written["trajectories"], result.trajectories.to_csv(index=False, float_format="%.10g"))
    write_text(written["market"], result.market.to_csv(index=False, float_format="%.10g"))
    write_text(written["families"], result.families.to_csv(index=False, float_format="%.10g"))
    write_text(written["scenario"], resolved_yaml(result))
    save_figure(shares_figure(result), written["chart"])
    save_figure(streams_figure(result), written["streams"])
    write_json(written["summary"], summarize(result))
    return written
