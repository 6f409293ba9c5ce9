"""The teaching notebooks in notebooks/ run top to bottom without an error, each within its time budget,
and say only what their numbers show.

Each notebook is executed once, in a fresh kernel with its own folder as the working directory
(as when opened with `jupyter lab notebooks/`); the first one also from the repository root,
since the notebooks find the repository by walking up from wherever they run. Where a
notebook's text claims a direction ("the war leaves more demand unserved"), the notebook
prints the numbers in a fixed form and a test reads them from its outputs.
"""

from __future__ import annotations

import re
import time
from functools import cache
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
    return run(path, cwd)[1]


def run(path: Path, cwd: Path):
    """The executed notebook and its seconds.

    Raises CellExecutionError on any error, CellTimeoutError on a stuck cell.
    """
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    start = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - start


@cache
def executed(name: str):
    """A notebook run once in its own folder, shared by the tests that read its outputs."""
    return run(ROOT / "notebooks" / name, ROOT / "notebooks")


def printed(name: str) -> str:
    """Everything a notebook's code cells printed."""
    notebook, _ = executed(name)
    return "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )


def test_the_numbered_path_is_complete():
    numbers = [int(path.name[:2]) for path in NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)), [path.name for path in NOTEBOOKS]
    assert len(NOTEBOOKS) >= 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs(path: Path):
    _, seconds = executed(path.name)
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


def markdown(path: Path) -> str:
    return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_every_notebook_has_exercises_with_solutions(path: Path):
    notebook = nbformat.read(path, as_version=4)
    assert "## Exercises" in markdown(path), f"{path.name}: no exercises"
    solutions = [cell for cell in notebook.cells if "solution" in cell.metadata.get("tags", [])]
    assert solutions, f"{path.name}: exercises without solution cells"


def test_the_first_notebook_lists_every_notebook_and_only_the_last_says_it_is_last():
    table = re.findall(r"^\|\s*\**(\d+)\**\s*\|", markdown(NOTEBOOKS[0]), flags=re.MULTILINE)
    assert [int(n) for n in table] == [int(path.name[:2]) for path in NOTEBOOKS], "notebook 1's table of the series"
    for path in NOTEBOOKS[:-1]:
        assert not re.search(r"\b[Tt]he last notebook\b", markdown(path)), f"{path.name} says it is the last"


def test_notebook_3_the_price_war_leaves_more_api_demand_unserved_than_no_war():
    found = re.search(
        r"API demand not served, worst month: baseline ([\d.]+), no price war ([\d.]+)",
        printed("03_the_price_war.ipynb"),
    )
    assert found, "notebook 3 no longer prints the unserved demand its text reads"
    war, calm = map(float, found.groups())
    assert war > 2 * calm, f"the text says the war leaves far more demand unserved: {war} vs {calm}"


def test_notebook_4_the_counter_cut_takes_under_a_point_and_most_where_moving_is_free():
    text = printed("04_switching_costs_and_lock_in.ipynb")
    span = re.search(r"share lost to the counter-cut: (-?[\d.]+) to (-?[\d.]+) pp", text)
    largest = re.search(r"largest loss [\d.]+ pp at s0 = ([\d.]+), w = ([\d.]+)", text)
    assert span and largest, "notebook 4 no longer prints the numbers its text reads"
    assert 0 <= float(span[1]) <= float(span[2]) < 1, "the text says: well under a point in every cell"
    assert (float(largest[1]), float(largest[2])) == (0, 0), "the text says: largest where moving is free"
