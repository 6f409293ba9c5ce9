"""The teaching notebooks in notebooks/ run top to bottom without an error, each within its time budget.

Each notebook is executed in a fresh kernel with its own folder as the working directory
(as when opened with `jupyter lab notebooks/`); the first one also from the repository root,
since the notebooks find the repository by walking up from wherever they run.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 120  # seconds; a whole notebook is meant to run in well under two minutes
NOTEBOOK_BUDGET = 240  # seconds; generous against a slow or busy machine


def execute(path: Path, cwd: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on any error, CellTimeoutError on a stuck cell
    return time.perf_counter() - start


def test_the_numbered_path_is_complete():
    numbers = [int(path.name[:2]) for path in NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)), [path.name for path in NOTEBOOKS]
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path: Path):
    seconds = execute(path, path.parent)
    assert seconds < NOTEBOOK_BUDGET, f"{path.name} took {seconds:.0f} s"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: clear the outputs before saving"


def test_a_notebook_runs_from_the_repository_root():
    execute(NOTEBOOKS[0], ROOT)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_uses_no_private_names(path: Path):
    import re

    private = re.compile(r"\._[A-Za-z]|\bimport\s+_|,\s*_[A-Za-z]\w*\s*(,|$)")
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                assert not private.search(line), f"{path.name}: private name in {line!r}"
