"""The Strategy page: give a vendor an objective, shock one vendor's price, watch who follows.

The page plays `sim game` on the shipped strategic scenario (scenarios/strategic.yaml) with
few agents and few rounds, so that an answer comes in a minute or so on a laptop: the
vendor picked gets the objective chosen here, the others keep the scenario's. The answer
is the game's own plain-words answer (sim/game/report.py), the share charts with and without
the shock, and a warning whenever a response path did not converge: its prices are then
the last round's, not an equilibrium.

The computation (`answer`) is a plain function, tested without a browser; the page only
collects its settings and shows its result.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import solara
import solara.lab

from sim.app.app_settings import SCENARIOS_ENV
from sim.app.widgets import task_status
from sim.scenario.calendar import parse_month

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.game.market import GameAnswer

PRESETS = {  # objective weights by name: what a vendor that "plays for" each maximises
    "profit": {"profit": 1.0},
    "token share": {"token_share": 1.0},
    "revenue share": {"revenue_share": 1.0},
}
CUSTOM = "weights"
VENDORS = ("volcano", "alibaba", "baidu", "tencent", "huawei", "others")
REDUCED = {"agents.developers": 1500, "agents.enterprises": 400}  # a few seconds a run, not minutes
MAX_ROUNDS = 3


@dataclass(frozen=True)
class Settings:
    """What the page asks: whose objective, which objective, what shock, how many rounds."""

    vendor: str = "volcano"
    objective: str = "token share"  # a PRESETS name, or CUSTOM to use `weights`
    weights: tuple[float, float, float] = (1.0, 0.0, 0.0)  # profit, token share, revenue share
    shock_vendor: str = "volcano"
    shock_percent: float = 99.0
    month: str = "2026-01"
    rounds: int = 1

    def objective_weights(self) -> dict[str, float]:
        if self.objective == CUSTOM:
            return dict(zip(("profit", "token_share", "revenue_share"), self.weights, strict=True))
        return PRESETS[self.objective]

    def problem(self) -> str:
        """Why these settings cannot run, in one line naming the field, or ""."""
        if self.objective != CUSTOM and self.objective not in PRESETS:
            return f"Objective: expected one of {', '.join([*PRESETS, CUSTOM])}, got {self.objective!r}"
        if self.objective == CUSTOM and (min(self.weights) < 0 or sum(self.weights) <= 0):
            return "Weights: expected numbers of at least 0, not all 0"
        if not 0 < self.shock_percent < 100:
            return f"Price cut: expected more than 0 % and less than 100 %, got {self.shock_percent:g} %"
        try:
            parse_month(self.month)
        except ValueError as error:
            return f"From month: {error}"
        if not 1 <= self.rounds <= MAX_ROUNDS:
            return f"Rounds: expected 1 to {MAX_ROUNDS}, got {self.rounds}"
        return ""

    def assignments(self) -> list[str]:
        weights = ", ".join(f"{k}: {v:g}" for k, v in self.objective_weights().items())
        reduced = [f"{path}={value}" for path, value in REDUCED.items()]
        return [*reduced, f"vendors.{self.vendor}.strategy.objective={{{weights}}}"]


@dataclass(frozen=True)
class StrategyView:
    sentences: list[str]
    unconverged: list[str]  # which paths did not converge, in words
    chart: bytes
    seconds: float


def strategic_scenario_file() -> Path:
    return Path(os.environ.get(SCENARIOS_ENV, "scenarios")) / "strategic.yaml"


def answer(
    settings: Settings, progress: Callable[[str], None] | None = None, extra: tuple[str, ...] = ()
) -> StrategyView:
    """Play the game with and without the shock on the reduced strategic scenario (`extra`: more fields)."""
    import time

    from sim.app.charts import figure_png
    from sim.game.market import play_game
    from sim.game.report import answer_sentences
    from sim.scenario.loading import load_scenario

    started = time.perf_counter()
    scenario = load_scenario(strategic_scenario_file(), [*settings.assignments(), *extra])
    shock = {settings.shock_vendor: 1.0 - settings.shock_percent / 100.0}
    played = play_game(scenario, settings.month, shock, max_rounds=settings.rounds, progress=progress)
    paths = {"without the shock": played.calm} | ({"with the shock": played.shocked} if played.shocked else {})
    unconverged = [
        f"The response path {title} {play.path.status} after {len(play.path.rounds) - 1} rounds: its prices are "
        "the last round's, not an equilibrium; try more rounds."
        for title, play in paths.items()
        if not play.path.converged
    ]
    chart = figure_png(shares_figure(played))
    return StrategyView(answer_sentences(played), unconverged, chart, time.perf_counter() - started)


def shares_figure(played: GameAnswer) -> Figure:
    """Token and revenue shares by month: without the shock solid, with it dashed; the game's month marked."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import pandas as pd

    from sim.report.colors import vendor_colors

    colors = vendor_colors(played.scenario)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, (column, title) in zip(axes, (("token_share", "Token share"), ("revenue_share", "Revenue share")),
                                   strict=True):  # fmt: skip
        for play, style in ((played.calm, "-"), (played.shocked, "--")):
            if play is None:
                continue
            table = play.result.wide(column)
            dates = pd.to_datetime([f"{d}-01" for d in table.index])
            for vendor in table.columns:
                ax.plot(dates, 100 * table[vendor], style, color=colors[vendor], linewidth=1.5,
                        label=vendor if style == "-" else None)  # fmt: skip
        ax.axvline(pd.Timestamp(f"{played.start}-01"), color="0.4", linewidth=0.8)
        ax.set_title(f"{title}: without the shock (solid), with it (dashed)", fontsize=10)
        ax.set_ylabel("share (%)")
        ax.grid(alpha=0.25)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


# --- the page ------------------------------------------------------------------------------


class Cancelled(Exception):
    """Raised from the progress callback when the user presses Cancel."""


settings = solara.reactive(Settings())
problem = solara.reactive("")


def steps(chosen: Settings) -> int:
    """Best responses the progress bar counts: players times rounds times two games (the players are the
    scenario's strategic vendors other than the shocked one; every shipped vendor has one)."""
    return (len(VENDORS) - 1) * chosen.rounds * 2


@solara.lab.task
def run_strategy(chosen: Settings) -> StrategyView:
    done = [0]

    def on_step(_line: str) -> None:
        done[0] += 1
        run_strategy.progress = min(99.0, 100 * done[0] / steps(chosen))
        if not run_strategy.is_current():
            raise Cancelled

    return answer(chosen, on_step)


def start() -> None:
    """Check the settings at once (a message, nothing started); then play in the background."""
    problem.value = settings.value.problem()
    if not problem.value:
        run_strategy(settings.value)


def _edit(name: str) -> Callable:
    return lambda value: settings.set(Settings(**{**vars(settings.value), name: value}))


@solara.component
def StrategyForm() -> None:
    chosen = settings.value
    with solara.Card("Objectives and a shock"):
        solara.Text(
            "The shipped strategic scenario with every vendor's objective as stated there, except the one you set "
            f"here; {REDUCED['agents.developers']:,} developer and {REDUCED['agents.enterprises']:,} enterprise "
            "agents, so that an answer takes a minute or so."
        )
        solara.Select("Vendor", values=list(VENDORS), value=chosen.vendor, on_value=_edit("vendor"))
        solara.Select("Plays for", values=[*PRESETS, CUSTOM], value=chosen.objective, on_value=_edit("objective"))
        if chosen.objective == CUSTOM:
            for index, name in enumerate(("profit", "token share", "revenue share")):

                def weight(value: float, index: int = index) -> None:
                    weights = list(settings.value.weights)
                    weights[index] = float(value)
                    _edit("weights")(tuple(weights))

                solara.InputFloat(f"Weight on {name}", value=chosen.weights[index], on_value=weight)
        solara.Select("Shocked vendor", values=list(VENDORS), value=chosen.shock_vendor,
                      on_value=_edit("shock_vendor"))  # fmt: skip
        solara.InputFloat("Price cut (%)", value=chosen.shock_percent, on_value=_edit("shock_percent"))
        solara.InputText("From month (YYYY-MM)", value=chosen.month, on_value=_edit("month"))
        solara.InputInt(f"Rounds of best responses (1 to {MAX_ROUNDS})", value=chosen.rounds,
                        on_value=_edit("rounds"))  # fmt: skip
        with solara.Row():
            solara.Button("Play", color="primary", on_click=start, disabled=run_strategy.pending)
            solara.Button("Cancel", on_click=run_strategy.cancel, disabled=not run_strategy.pending)
        if problem.value:
            solara.Error(problem.value, classes=["sim-strategy-error"])


@solara.component
def StrategyAnswer() -> None:
    task_status(run_strategy, "best responses", "The game could not be played", "sim-strategy")
    view = run_strategy.value if run_strategy.finished else None
    if view is None:
        return
    for line in view.unconverged:
        solara.Warning(line, classes=["sim-strategy-unconverged"])
    with solara.Column(gap="4px"):
        for line in view.sentences:
            solara.Text(line, classes=["sim-strategy-answer"])
    solara.Text(f"Answered in {view.seconds:.0f} s", classes=["sim-strategy-time"])
    solara.Image(view.chart, classes=["sim-strategy-chart"])


@solara.component
def Strategy() -> None:
    solara.Title("sim: Strategy")
    with solara.Columns([1, 2]):
        StrategyForm()
        with solara.Column():
            StrategyAnswer()
