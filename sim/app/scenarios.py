"""Scenarios the web app can explore: the shipped ones and uploads, validated like `sim validate`.

An upload is written, under its own file name, to a fresh temporary folder beside copies of
the shipped scenarios (so `extends: baseline.yaml` works as it does in scenarios/), loaded
with the same `load_scenario` the command line uses, and the folder is removed. Problems
read as `sim validate` prints them for a file in the current folder:
`broken.yaml:14: vendors.volcano.price: Input should be greater than 0 (got -0.1)`.
Nothing outside the temporary folder is written.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sim.scenario.loading import Problem, ScenarioError, load_scenario
from sim.scenario.schema import Scenario

MAX_UPLOAD_BYTES = 2_000_000
DEFAULT_NAME = "upload.yaml"


def shipped_scenarios(folder: Path) -> dict[str, Path]:
    """Scenario files in a folder by file name, sorted (baseline first when present)."""
    files = sorted(folder.glob("*.yaml"), key=lambda p: (p.stem != "baseline", p.name))
    return {path.name: path for path in files}


def upload_name(name: str | None) -> str:
    """The upload's own file name without any folder part (a browser may send a path)."""
    base = Path((name or "").replace("\\", "/")).name
    return base if base and base not in (".", "..") else DEFAULT_NAME


def load_upload(name: str | None, content: bytes, shipped: Path) -> Scenario:
    """Validate an uploaded scenario file; a ScenarioError lists every problem by line and field."""
    file_name = upload_name(name)
    if len(content) > MAX_UPLOAD_BYTES:
        raise ScenarioError(
            [Problem(file_name, "", f"file too large ({len(content)} bytes; at most {MAX_UPLOAD_BYTES})")]
        )
    with tempfile.TemporaryDirectory(prefix="sim-upload-") as folder:
        workdir = Path(folder)
        for path in shipped_scenarios(shipped).values():
            shutil.copyfile(path, workdir / path.name)
        (workdir / file_name).write_bytes(content)
        try:
            return load_scenario(workdir / file_name)
        except ScenarioError as error:
            raise ScenarioError([_relative(problem, workdir) for problem in error.problems]) from None


def _relative(problem: Problem, workdir: Path) -> Problem:
    """The problem as if the file had been validated in the current folder."""
    source = problem.source.replace(f"{workdir}/", "").replace(str(workdir), ".")
    message = problem.message.replace(f"{workdir}/", "")
    return Problem(source, problem.field, message, problem.line)
