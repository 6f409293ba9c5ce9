"""sim's web app: Explore a scenario month by month, ask a What-if, open a finished Sweep.

Start it with `sim app [SCENARIO] [--port 8765]` (or `make app`); it serves on 127.0.0.1
only and loads nothing from outside the machine (docs/app.md). The pages:

- Explore: pick a shipped scenario or upload one, move the levers (Mesa `model_params`
  built from the schema, sim/app/levers.py), then Step / Play / Run to end / Reset; charts
  come from the model's Mesa DataCollector.
- What-if: the changes of `sim whatif`, paired replicates in the background with a
  progress bar and Cancel, the difference chart, headlines and the report files.
- Sweeps: a finished sweep folder's sensitivity indices and fan charts, and a Discover
  panel: `sim discover` on its runs, in memory (sim/app/discovery.py).

Long work runs in solara tasks (threads), so the page stays responsive; bad input is a
message on the page and the server keeps serving. Nothing is kept on disk: downloads
are served from memory, and an upload is validated in a temporary folder, then removed.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd
import solara
import solara.lab
from mesa.visualization.solara_viz import UserInputs

from sim.app import charts, discovery
from sim.app.app_settings import RUNS_ENV, SCENARIO_ENV, SCENARIOS_ENV
from sim.app.levers import FIELD_LEVERS, apply_levers, default_levers, model_params, whatif_changes
from sim.app.scenarios import load_upload, shipped_scenarios
from sim.app.strategy import Strategy
from sim.app.widgets import Echarts, FileChooser, task_status
from sim.discover.cases import Cases
from sim.model.market import MarketModel
from sim.provenance import scenario_hash
from sim.report.colors import vendor_colors, vendor_names
from sim.run import build_model
from sim.scenario.calendar import month_at
from sim.scenario.loading import ScenarioError, load_scenario
from sim.scenario.schema import Scenario
from sim.whatif.analysis import DEFAULT_REPLICATES, whatif
from sim.whatif.changes import Changes, parse_changes

PLAY_INTERVAL_S = 0.3  # a month every 0.3 s: slow enough to watch, and to press Pause
MAX_REPLICATES = 200


# --- the scenarios on offer ----------------------------------------------------------------


def _shipped_folder() -> Path:
    return Path(os.environ.get(SCENARIOS_ENV, "scenarios"))


def catalogue() -> dict[str, Path]:
    """Scenario files to pick from: the one `sim app` was given first, then the shipped ones."""
    folder = _shipped_folder()
    files = shipped_scenarios(folder) if folder.is_dir() else {}
    chosen = os.environ.get(SCENARIO_ENV)
    if chosen:
        files = {Path(chosen).name: Path(chosen), **{k: v for k, v in files.items() if k != Path(chosen).name}}
    return files


@cache
def shipped(name: str) -> Scenario:
    return load_scenario(catalogue()[name])


CATALOGUE_NAMES = list(catalogue())
FIRST = shipped(CATALOGUE_NAMES[0])

# Per browser session (solara keeps a reactive's value per session).
scenario_name = solara.reactive(CATALOGUE_NAMES[0])
uploaded: solara.Reactive[dict[str, Scenario]] = solara.reactive({})
base = solara.reactive(FIRST)  # the picked scenario, as validated
levers = solara.reactive(default_levers(FIRST))
explored = solara.reactive(FIRST)  # the picked scenario with the levers applied at the last Reset
model: solara.Reactive[MarketModel | None] = solara.reactive(None)
tick = solara.reactive(0)  # bumped after each step: the charts redraw
lever_problem = solara.reactive("")
upload_problem = solara.reactive("")
upload_note = solara.reactive("")


def current_model() -> MarketModel:
    """This session's model, built on first use."""
    if model.value is None:
        model.value = build_model(explored.value)
    return model.value


def pick(name: str) -> None:
    """Open a scenario from the list (shipped, given to `sim app`, or uploaded this session)."""
    try:
        scenario = uploaded.value.get(name) or shipped(name)
    except ScenarioError as error:
        upload_problem.value = str(error)
        return
    scenario_name.value = name
    base.value = scenario
    levers.value = default_levers(scenario)
    lever_problem.value = ""
    whatif_form.value = default_form(scenario)
    reset_to(scenario)


def reset_to(scenario: Scenario) -> None:
    """A new model of `scenario`; when the levers changed it, the picked scenario's run for comparison."""
    for task in (play, run_to_end):
        if task.pending:
            task.cancel()
    explored.value = scenario
    model.value = build_model(scenario)
    tick.value += 1
    if scenario_hash(scenario) != scenario_hash(base.value):
        run_baseline(base.value)


BASELINE_RUNS: dict[str, pd.DataFrame] = {}  # scenario hash -> its whole run's chart data, for every session
MAX_BASELINE_RUNS = 8


@solara.lab.task
def run_baseline(scenario: Scenario) -> tuple[str, pd.DataFrame]:
    """The picked scenario run to the end without the levers (a few seconds), kept for reuse.

    After a lever changes the run, its charts draw this one faintly behind: a change is
    read against what it changed.
    """
    key = scenario_hash(scenario)
    if key not in BASELINE_RUNS:
        baseline = build_model(scenario)
        while baseline.running and run_baseline.is_current():
            baseline.step()
        if len(BASELINE_RUNS) >= MAX_BASELINE_RUNS:
            BASELINE_RUNS.pop(next(iter(BASELINE_RUNS)))
        BASELINE_RUNS[key] = baseline.datacollector.get_model_vars_dataframe()
    return key, BASELINE_RUNS[key]


def overlay() -> pd.DataFrame | None:
    """The baseline to draw behind this session's run: only when the levers changed the run."""
    if not run_baseline.finished or run_baseline.value is None:
        return None
    key, frame = run_baseline.value
    levers_changed = scenario_hash(explored.value) != scenario_hash(base.value)
    return frame if levers_changed and key == scenario_hash(base.value) else None


def run_archive(current: MarketModel) -> bytes:
    """The months run so far as a zip: trajectories.csv, market.csv and the resolved scenario.

    Built in memory and served as bytes, so a download never leaves a file behind, whole
    or half-written; `sim run` on the scenario file reproduces the run.
    """
    from sim.report.outputs import resolved_yaml
    from sim.run import recorded_run

    result = recorded_run(current, current.spec)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trajectories.csv", result.trajectories.to_csv(index=False))
        archive.writestr("market.csv", result.market.to_csv(index=False))
        archive.writestr("scenario.resolved.yaml", resolved_yaml(result))
    return buffer.getvalue()


def on_upload(chosen: dict) -> None:
    """Validate an uploaded file like `sim validate`; on success it joins the list and opens."""
    if not chosen:
        return
    try:
        scenario = load_upload(chosen.get("name"), chosen.get("text", "").encode("utf-8"), _shipped_folder())
    except ScenarioError as error:
        upload_problem.value = str(error)
        upload_note.value = ""
        return
    name = f"{chosen.get('name') or 'upload.yaml'} (uploaded)"
    uploaded.value = {**uploaded.value, name: scenario}
    upload_problem.value = ""
    upload_note.value = f"{chosen.get('name')}: ok"
    pick(name)


def set_lever(name: str, value) -> None:
    """Move a lever; check at once that the combination is possible (it applies on Reset)."""
    values = {**levers.value, name: value}
    levers.value = values
    try:
        apply_levers(base.value, values)
        lever_problem.value = ""
    except ScenarioError as error:
        lever_problem.value = str(error)


def reset() -> None:
    """A new model from the picked scenario and the levers; an impossible combination changes nothing."""
    try:
        scenario = apply_levers(base.value, levers.value)
    except ScenarioError as error:
        lever_problem.value = str(error)
        return
    lever_problem.value = ""
    reset_to(scenario)


def step() -> None:
    current = current_model()
    if current.running:
        current.step()
        tick.value += 1


@solara.lab.task
def play() -> None:
    """Step month by month until the end or Pause, redrawing after each month."""
    current = current_model()
    while current.running and play.is_current():
        started = time.perf_counter()
        current.step()
        tick.value += 1
        time.sleep(max(0.0, PLAY_INTERVAL_S - (time.perf_counter() - started)))


@solara.lab.task
def run_to_end() -> None:
    """Step through the remaining months at full speed, then draw once."""
    current = current_model()
    while current.running and run_to_end.is_current():
        current.step()
    tick.value += 1


def month_label(current: MarketModel) -> str:
    months = current.spec.months
    done = len(current.ledger)
    if done == 0:
        return f"Month 0 of {months}: not started (first month {current.spec.start})"
    return f"Month {done} of {months}: {month_at(current.spec.start, done - 1)}"


# --- Explore -------------------------------------------------------------------------------


@solara.component
def ScenarioPicker() -> None:
    names = [*catalogue(), *uploaded.value]
    with solara.Card("Scenario"):
        solara.Select("Scenario", values=names, value=scenario_name.value, on_value=pick)
        solara.Text("Or upload a scenario file (validated like sim validate):")
        FileChooser.element(on_chosen=on_upload)
        if upload_problem.value:
            solara.Error(upload_problem.value, classes=["sim-upload-error"])
        elif upload_note.value:
            solara.Success(upload_note.value)


@solara.component
def Controls() -> None:
    current = current_model()
    busy = play.pending or run_to_end.pending
    with solara.Row(classes=["sim-controls"], style={"flex-wrap": "wrap"}):
        solara.Button("Reset", color="primary", on_click=reset, disabled=run_to_end.pending)
        if play.pending:
            solara.Button("Pause", color="primary", on_click=play.cancel)
        else:
            solara.Button("Play", color="primary", on_click=play, disabled=busy or not current.running)
        solara.Button("Step", color="primary", on_click=step, disabled=busy or not current.running)
        solara.Button("Run to end", color="primary", on_click=run_to_end, disabled=busy or not current.running)


@solara.component
def Levers() -> None:
    with solara.Card("Levers (applied on Reset)"):
        UserInputs(model_params(base.value, levers.value), on_change=set_lever)
        with solara.Column(gap="0px", classes=["sim-lever-values"], style={"font-size": "0.85em", "color": "#555"}):
            for lever in FIELD_LEVERS:
                solara.Text(f"{lever.label} = {lever.path}: {levers.value[lever.name]:.4g}")
        if lever_problem.value:
            solara.Error(lever_problem.value, classes=["sim-lever-error"])


@solara.component
def VendorLegend(scenario: Scenario, compared: bool) -> None:
    """Every vendor with its colour, for both share charts; it wraps to the page's width."""
    colors, names = vendor_colors(scenario), vendor_names(scenario)
    with solara.Row(classes=["sim-legend"], style={"flex-wrap": "wrap", "row-gap": "2px", "column-gap": "18px"}):
        for vendor in scenario.vendors:
            with solara.Row(classes=["sim-legend-item"], gap="4px", style={"align-items": "center", "margin": "0"}):
                solara.Text("━━", style={"color": colors[vendor], "font-weight": "bold"})
                solara.Text(names[vendor])
    if compared:
        solara.Text(
            "Faint dashed lines: the same scenario without the levers.",
            classes=["sim-overlay-note"],
            style={"font-size": "0.85em", "color": "#555"},
        )
    elif run_baseline.pending:
        solara.Text("Running the scenario without the levers, to compare…", style={"font-size": "0.85em"})


@solara.component
def EventList(scenario: Scenario) -> None:
    """The events the charts number, in words."""
    with solara.Column(classes=["sim-events"], gap="0px", style={"font-size": "0.85em", "color": "#444"}):
        solara.Text("Events (numbered on the share charts):", style={"font-weight": "bold"})
        for mark in charts.event_marks(scenario):
            solara.Text(f"{mark.number}. {mark.date}: {'; '.join(mark.notes)}", classes=["sim-event"])


@solara.component
def Charts() -> None:
    tick.use_value()
    current = current_model()
    frame = current.datacollector.get_model_vars_dataframe()
    scenario = current.spec
    behind = overlay()
    solara.Text(month_label(current), classes=["sim-month"], style={"font-size": "1.4em", "font-weight": "bold"})
    with solara.Column(classes=["sim-leaders"], gap="0px"):
        for title, name, share in charts.leaders(frame, scenario):
            solara.Text(f"{title} leader: {name}, {100 * share:.1f} %")
    VendorLegend(scenario, behind is not None)
    with solara.Columns([1, 1]):
        for option in charts.shares_options(frame, scenario, behind):
            Echarts.element(option=option, attributes={"class": "sim-shares-chart", "style": "height: 380px;"})
    EventList(scenario)
    Echarts.element(
        option=charts.streams_option(frame, scenario),
        attributes={"class": "sim-streams-chart", "style": "height: 300px;"},
    )
    if current.ledger:
        solara.FileDownload(
            lambda: run_archive(current),
            filename=f"{scenario.name}-{len(current.ledger)}-months.zip",
            label="Download this run (CSV tables and the scenario, zip)",
        )


@solara.component
def Explore() -> None:
    solara.Title("sim: Explore")
    with solara.Columns([1, 2]):
        with solara.Column():
            ScenarioPicker()
            with solara.Card("Run"):
                Controls()
            Levers()
        with solara.Column():
            Charts()


# --- What-if -------------------------------------------------------------------------------


class Cancelled(Exception):
    """Raised from the progress callback when the user presses Cancel."""


@dataclass(frozen=True)
class WhatIfView:
    headlines: list[str]
    chart: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0
    posterior: bytes | None = None  # the calibration's posterior.png, when the answer ran over its sets


@solara.lab.task
def run_whatif(scenario: Scenario, form: dict, replicates: int) -> WhatIfView:
    """Paired replicates on all cores; progress after each pair; Cancel stops the pairs not started."""
    from sim.whatif.report import FILES, whatif_files

    started = time.perf_counter()

    def on_pair(done: int, total: int) -> None:
        run_whatif.progress = 100 * done / total
        if not run_whatif.is_current():
            raise Cancelled

    folder = form.get("ensemble", "").strip()
    result = whatif(
        scenario,
        form_changes(scenario, form),
        replicates,
        progress=False,
        on_pair=on_pair,
        ensemble=folder or None,
        sets=int(form.get("ensemble_sets").strip() or DEFAULT_SETS) if folder else None,
    )
    files = {FILES[kind]: data for kind, data in whatif_files(result).items()}  # served as bytes: nothing written
    seconds = time.perf_counter() - started
    return WhatIfView(result.headlines(), files[FILES["chart"]], files, seconds, posterior_plot(folder))


def posterior_plot(folder: str) -> bytes | None:
    """The calibration's posterior.png beside its plausible sets, if it has one: what weighs the sets."""
    path = Path(folder) / "posterior.png" if folder else None
    return path.read_bytes() if path is not None and path.is_file() else None


def middle_month(scenario: Scenario) -> str:
    """Half-way through the scenario: the month a change written without one starts."""
    return month_at(scenario.start, scenario.months // 2)


def default_form(scenario: Scenario) -> dict[str, str]:
    """A price cut by every vendor half-way through: a question that always fits the scenario."""
    return {"price_cut": f"all=50%@{middle_month(scenario)}", "capacity_cap": "", "switching_cost": "", "sets": "",
            "both": "", "ensemble": "", "ensemble_sets": ""}  # fmt: skip


def form_changes(scenario: Scenario, form: dict[str, str]) -> Changes:
    """The form's changes, a change written without a month starting half-way through."""
    fields = {k: v for k, v in form.items() if k not in ENSEMBLE_FIELDS}
    return whatif_changes(**fields, default_month=middle_month(scenario))


ENSEMBLE_FIELDS = ("ensemble", "ensemble_sets")
DEFAULT_SETS = 20  # plausible sets an ensemble what-if runs from the page (the command line defaults to 100)


def ensemble_problem(form: dict[str, str], replicates: int) -> str:
    """Why the ensemble fields cannot run, or "" (a calibration folder, a positive number of sets)."""
    folder = form.get("ensemble", "").strip()
    if not folder:
        return ""
    if not (Path(folder) / "ensemble.parquet").is_file() or not (Path(folder) / "calibration.json").is_file():
        return f"Calibration folder: {folder} is not a finished calibration (run `sim calibrate` first)"
    sets = form.get("ensemble_sets", "").strip()
    if sets and (not sets.isdigit() or int(sets) < 1):
        return f"Plausible sets: expected a positive whole number (empty: {DEFAULT_SETS}), got {sets!r}"
    return ""


whatif_form = solara.reactive(default_form(FIRST))
replicates = solara.reactive(DEFAULT_REPLICATES)
whatif_problem = solara.reactive("")


def start_whatif() -> None:
    """Check the changes at once (a clear message, nothing started); then run in the background."""
    form = whatif_form.value
    least = 1 if form.get("ensemble", "").strip() else 2
    if not least <= replicates.value <= MAX_REPLICATES:
        whatif_problem.value = f"Replicates: expected {least} to {MAX_REPLICATES}, got {replicates.value}"
        return
    if problem := ensemble_problem(form, replicates.value):
        whatif_problem.value = problem
        return
    try:
        parse_changes(base.value, form_changes(base.value, form))
    except ScenarioError as error:
        whatif_problem.value = str(error)
        return
    whatif_problem.value = ""
    run_whatif(base.value, form, replicates.value)


@solara.component
def WhatIfForm() -> None:
    form = whatif_form.value

    def edit(name: str):
        return lambda value: whatif_form.set({**whatif_form.value, name: value})

    scenario = base.value
    with solara.Card(f"What if, against {scenario_name.value}"):
        solara.Text(
            f"{scenario.start} to {month_at(scenario.start, scenario.months - 1)}, "
            f"{scenario.agents.developers:,} developer and {scenario.agents.enterprises:,} enterprise agents. "
            f"Leave a field empty for no change. A change without a month starts in {middle_month(scenario)}; "
            "without a vendor, it applies to all."
        )
        solara.InputText("Price cut (e.g. 99%, volcano=99%, all=99%@2026-01)", value=form["price_cut"],
                         on_value=edit("price_cut"))  # fmt: skip
        solara.InputText("Imported GPUs' growth cap (e.g. 0%)", value=form["capacity_cap"],
                         on_value=edit("capacity_cap"))  # fmt: skip
        solara.InputText("Switching costs change (e.g. -50%)", value=form["switching_cost"],
                         on_value=edit("switching_cost"))  # fmt: skip
        solara.InputTextArea("Other fields, what-if side only", value=form["sets"], on_value=edit("sets"), rows=2)
        solara.InputTextArea("Fields on both sides", value=form.get("both", ""), on_value=edit("both"), rows=1)
        solara.Text(
            "Other fields: one path=value a line, e.g. developers.review_probability=0.3. "
            "Fields on both sides: e.g. months=48 to run past 2026."
        )
        solara.InputInt("Paired replicates (per set with an ensemble)", value=replicates.value,
                        on_value=replicates.set)  # fmt: skip
        solara.InputText(
            "Calibration folder (e.g. data/ensembles/baseline)",
            value=form.get("ensemble", ""),
            on_value=edit("ensemble"),
        )
        solara.InputText(f"Plausible sets (empty: {DEFAULT_SETS})", value=form.get("ensemble_sets", ""),
                         on_value=edit("ensemble_sets"))  # fmt: skip
        solara.Text(
            "With a calibration folder the answer runs over that many of its plausible parameter sets; "
            "empty, over this scenario's parameters only."
        )
        with solara.Row():
            solara.Button("Run what-if", color="primary", on_click=start_whatif, disabled=run_whatif.pending)
            solara.Button("Cancel", on_click=run_whatif.cancel, disabled=not run_whatif.pending)
        if whatif_problem.value:
            solara.Error(whatif_problem.value, classes=["sim-whatif-error"])


@solara.component
def WhatIfAnswer() -> None:
    task_status(run_whatif, "paired runs", "The what-if failed", "sim-whatif")
    view = run_whatif.value if run_whatif.finished else None
    if view is None:
        return
    with solara.Column(classes=["sim-headlines"], gap="4px"):
        for line in view.headlines:
            solara.Text(line, classes=["sim-headline"])
    solara.Text(f"Answered in {view.seconds:.1f} s", classes=["sim-whatif-time"])
    with solara.Row(style={"flex-wrap": "wrap"}):
        for name, data in view.files.items():
            solara.FileDownload(data, filename=name, label=f"Download {name}")
    solara.Image(view.chart, classes=["sim-whatif-chart"])
    if view.posterior is not None:
        solara.Text(
            "The calibration's posterior: each parameter's weighted histogram against its prior, and the "
            "strongest trade-offs. The last headline says whether these weights were used.",
            classes=["sim-posterior-caption"],
        )
        solara.Image(view.posterior, classes=["sim-posterior-chart"])


@solara.component
def WhatIf() -> None:
    solara.Title("sim: What-if")
    with solara.Columns([1, 2]):
        WhatIfForm()
        with solara.Column():
            WhatIfAnswer()


# --- Sweeps --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepView:
    problem: str = ""
    headline: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    indices: pd.DataFrame | None = None
    indices_chart: bytes | None = None
    fan_chart: bytes | None = None
    cases: Cases | None = None  # the runs as `sim discover` reads them, for the Discover panel
    example: str = ""  # a condition these runs can answer, the panel's placeholder
    cases_problem: str = ""  # why the Discover panel cannot read the runs


@solara.lab.task
def open_sweep(folder: str) -> SweepView:
    """Analyse a finished sweep in memory (nothing written into its folder), and read its runs
    as `sim discover` does, so the Discover panel answers without reading the folder again."""
    from sim.discover.cases import load_cases
    from sim.sweep.report import fan_figure, indices_figure
    from sim.sweep.sensitivity import analyze_sweep

    try:
        analysis = analyze_sweep(folder)
    except ScenarioError as error:
        return SweepView(problem=str(error))
    except (OSError, ValueError, KeyError) as error:
        return SweepView(problem=f"{folder}: cannot read this sweep ({type(error).__name__}: {error})")
    cases, cases_problem = None, ""
    try:
        cases = load_cases(folder)
    except ScenarioError as error:
        cases_problem = str(error)
    return SweepView(
        headline=analysis.headline,
        notes=analysis.notes,
        indices=analysis.indices,
        indices_chart=charts.figure_png(indices_figure(analysis)) if not analysis.indices.empty else None,
        fan_chart=charts.figure_png(fan_figure(analysis)),
        cases=cases,
        example=discovery.example_condition(cases) if cases is not None else "",
        cases_problem=cases_problem,
    )


sweep_folder = solara.reactive("")


def open_folder() -> None:
    """Open the folder typed or picked; the Discover panel's last answer was about another sweep."""
    discovery.reset()
    open_sweep(sweep_folder.value)


def finished_sweeps() -> list[str]:
    runs = Path(os.environ.get(RUNS_ENV, "runs"))
    return sorted(str(path.parent) for path in runs.glob("*/manifest.json")) if runs.is_dir() else []


@solara.component
def Sweeps() -> None:
    solara.Title("sim: Sweeps")
    found = finished_sweeps()
    with solara.Card("Open a finished sweep (the output folder of `sim sweep`)"):
        if found:
            solara.Select("Sweeps found under runs/", values=found, value=None, on_value=sweep_folder.set)
        solara.InputText("Sweep folder", value=sweep_folder.value, on_value=sweep_folder.set, continuous_update=True)
        solara.Button("Open", color="primary", on_click=open_folder, disabled=open_sweep.pending)
    if open_sweep.pending:
        solara.ProgressLinear(True)
        return
    view = open_sweep.value if open_sweep.finished else None
    if view is None:
        return
    if view.problem:
        solara.Error(view.problem, classes=["sim-sweep-error"])
        return
    with solara.Column(classes=["sim-sweep-headline"], gap="4px"):
        solara.Text(f"Headline outcomes: {', '.join(view.headline) or 'none'}")
        for note in view.notes:
            solara.Text(f"note: {note}", style={"color": "#555"})
    if view.indices_chart:
        solara.Image(view.indices_chart, classes=["sim-indices-chart"])
    if view.fan_chart:
        solara.Image(view.fan_chart, classes=["sim-fan-chart"])
    if view.indices is not None and not view.indices.empty:
        solara.DataFrame(view.indices, items_per_page=15)
    if view.cases is not None:
        discovery.Discover(view.cases, view.example)
    elif view.cases_problem:
        solara.Warning(f"Discover: {view.cases_problem}")


# --- the pages -----------------------------------------------------------------------------


def route_path(route: solara.Route) -> str:
    return "/" if route.path == "/" else f"/{route.path}"


@solara.component
def Layout(children=None) -> None:
    """The app bar with one tab per page, named as in the docs (solara's own tabs show paths)."""
    current, pages = solara.use_route()
    router = solara.use_router()
    index = pages.index(current) if current in pages else 0
    with solara.AppLayout(title="sim: AI cloud market", navigation=False), solara.Column():
        with solara.lab.Tabs(value=index, on_value=lambda i: router.push(route_path(pages[i])), align="center"):
            for page in pages:
                solara.lab.Tab(page.label)
        solara.Column(children=children or [])


routes = [
    solara.Route(path="/", component=Explore, label="Explore", layout=Layout),
    solara.Route(path="whatif", component=WhatIf, label="What-if"),
    solara.Route(path="sweeps", component=Sweeps, label="Sweeps"),
    solara.Route(path="strategy", component=Strategy, label="Strategy"),
]
