"""The Sweeps page's Discover panel: `sim discover` on the opened sweep, in memory.

A condition in the grammar of `sim discover --where` is checked at once against the sweep's
outcomes (a bad one is the command line's one-line message, and nothing runs); then the
same `sim.discover.methods.discover` runs as a Solara task, and the page shows the
coverage-density trade-off chart and the boxes of `sim discover`'s report, the chosen box in
words, and the CART leaves and feature scores. A step picked on the first box's trajectory
is `--box N`. Nothing is written: the charts are PNG bytes, the report is not saved.

ema_workbench and scikit-learn (several seconds to import) are loaded by the task, on the
first Run, never when the app starts (tests/test_startup.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import solara
import solara.lab

from sim.app import charts
from sim.discover.cases import Cases
from sim.discover.conditions import Condition, parse_condition
from sim.scenario.loading import ScenarioError

if TYPE_CHECKING:
    from sim.discover.methods import Box, Discovery, Limit

FALLBACK_EXAMPLE = "token_share[volcano]@2026-12 > 0.5"
SCORES_SHOWN = 6


def example_condition(cases: Cases) -> str:
    """A condition this sweep can answer, for the field's placeholder: a recorded outcome above
    its median (so some runs meet it and some do not), a vendor's token share at the last
    single month when there is one, the one that varies most across the runs."""
    values = cases.values
    spread = values.std(numeric_only=True).fillna(0.0)

    def rank(name: str) -> tuple[bool, bool, str, float]:
        month = name.partition("@")[2]
        return name.startswith("token_share["), bool(month) and ".." not in month, month, float(spread[name])

    for name in sorted((n for n in spread.index if spread[n] > 0), key=rank, reverse=True):
        column = values[name].to_numpy(dtype=float)
        middle = float(np.nanmedian(column))
        for threshold in (float(f"{middle:.2g}"), middle):
            text = f"{name} > {threshold:.4g}"
            try:
                cases.meets(parse_condition(text))
            except ScenarioError:
                continue
            return text
    return FALLBACK_EXAMPLE


@dataclass(frozen=True)
class BoxText:
    """One PRIM box as the page shows it: a title, its sentence, one line per restriction."""

    title: str
    sentence: str
    restrictions: list[str]


@dataclass(frozen=True)
class DiscoverView:
    """What the panel shows of one discovery (no Discovery object: the page keeps bytes and words)."""

    identity: str  # the sweep's (Cases.identity): a view of another sweep is not shown
    condition: str
    problem: str = ""
    summary: str = ""
    boxes: list[BoxText] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)  # the first box's trajectory: label -> step
    step: int | None = None  # the first box's step shown
    tradeoff: bytes | None = None
    box_chart: bytes | None = None
    cart: list[str] = field(default_factory=list)
    scores: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def plain(text: str) -> str:
    """The report's Markdown words without backticks (the page has no Markdown component: KaTeX)."""
    return text.replace("`", "")


def limit_words(limit: Limit) -> str:
    """`price ≤ 0.0066 (sampled 0.0011 to 0.012): p = 0.031`, flagged when not significant at 5 %."""
    from sim.discover.report import SIGNIFICANT, number, p_text, restriction

    if limit.values is not None:
        sampled = ", ".join(map(str, limit.full))
        tests = [limit.p_low]
    else:
        low, high = limit.full
        sampled = f"{number(low)} to {number(high)}"
        tests = [p for p in (limit.p_low, limit.p_high) if p is not None]
    p = " / ".join(p_text(value) for value in tests) or "not tested"
    weak = " (not significant at 5 %: a hint, not a finding)" if limit.p_value > SIGNIFICANT else ""
    return f"{plain(restriction(limit))} (sampled {sampled}): quasi-{p}{weak}"


def box_text(box: Box, unit: str, default_step: int | None) -> BoxText:
    from sim.discover.report import box_sentence

    how = ""
    if box.number == 1 and default_step is not None:
        how = ", sim discover's pick" if box.step == default_step else f"; sim discover picks step {default_step}"
    return BoxText(
        f"Box {box.number} (step {box.step} of its trajectory{how})",
        plain(box_sentence(box, unit)),
        [limit_words(limit) for limit in box.limits],
    )


def step_labels(box: Box, default_step: int) -> dict[str, int]:
    """Each step of the first box's trajectory, named by what it trades: coverage, density, restrictions."""
    from sim.discover.report import percent

    labels = {}
    for row in box.trajectory.itertuples():
        mark = " (sim discover's pick)" if row.step == default_step else ""
        labels[
            f"step {row.step}: coverage {percent(row.coverage)}, density {percent(row.density)}, "
            f"{row.restricted} restricted{mark}"
        ] = int(row.step)
    return labels


def view_of(found: Discovery, seconds: float) -> DiscoverView:
    """The discovery in words and PNG bytes, drawn by the report's own chart functions."""
    from sim.discover.methods import choose_step
    from sim.discover.report import boxes_figure, percent, tradeoff_figure

    cases, unit = found.cases, found.cases.unit
    default = choose_step(found.boxes[0].trajectory) if found.boxes else None
    tree = found.tree
    depth = max((d for d, _, _ in tree.splits), default=-1) + 1
    cart = [f"CART tree of depth {depth}, right for {percent(tree.accuracy)} of the {unit}; its leaves where "
            "most meet the condition:"]  # fmt: skip
    cart += [
        f"{' and '.join(leaf.rules) or 'everywhere'}: density {percent(leaf.density)}, "
        f"coverage {percent(leaf.coverage)}, {leaf.cases:,} {unit}"
        for leaf in tree.leaves
    ] or ["none: in every leaf most cases do not meet the condition"]
    scores = ", ".join(f"{name} {score:.2f}" for name, score in found.scores.head(SCORES_SHOWN).items())
    return DiscoverView(
        identity=cases.identity,
        condition=found.condition.text,
        summary=f"{int(found.met.sum()):,} of {len(cases):,} {unit} meet {found.condition.text} "
        f"({percent(found.base_rate)}).",
        boxes=[box_text(box, unit, default) for box in found.boxes],
        steps=step_labels(found.boxes[0], default) if found.boxes else {},
        step=found.boxes[0].step if found.boxes else None,
        tradeoff=charts.figure_png(tradeoff_figure(found)),
        box_chart=charts.figure_png(boxes_figure(found)) if found.boxes else None,
        cart=cart,
        scores=f"Feature scores (extra trees, sum to 1): {scores}",
        notes=found.notes,
        seconds=seconds,
    )


@solara.lab.task
def run_discover(cases: Cases, condition: Condition, met: np.ndarray, step: int | None) -> DiscoverView:
    """`sim discover`'s analysis in a thread; its libraries are imported here, on first use."""
    from sim.discover.methods import discover

    started = time.perf_counter()
    try:
        found = discover(cases, condition, met, step)
    except ScenarioError as error:  # e.g. no input varies across the runs
        return DiscoverView(cases.identity, condition.text, problem=str(error))
    return view_of(found, time.perf_counter() - started)


# Per browser session: the condition typed, why it cannot run, and the one the shown answer is for.
where = solara.reactive("")
problem = solara.reactive("")
asked = solara.reactive("")


def reset() -> None:
    """A new sweep opened: the last answer and message were about another one."""
    problem.value = ""
    asked.value = ""


def start(cases: Cases, text: str, step: int | None = None) -> None:
    """Check the condition at once as `sim discover` does (the same message); then run in the background."""
    try:
        condition = parse_condition(text)
        met = cases.meets(condition)
    except ScenarioError as error:
        problem.value = str(error)
        asked.value = ""
        return
    problem.value = ""
    asked.value = condition.text
    run_discover(cases, condition, met, step)


@solara.component
def Discover(cases: Cases, example: str) -> None:
    """The panel: condition, Run, then the answer for this sweep and condition."""
    with solara.Card("Discover: where, among these runs, does an outcome happen? (as sim discover)"):
        solara.Text(
            "A condition on a recorded outcome, as sim discover --where takes it: OUTCOME OP VALUE, "
            "clauses joined by 'and' (docs/discovery.md). PRIM finds boxes of the inputs where it holds; "
            "boxes describe the sampled space, not the world."
        )
        solara.InputText(
            "Condition",
            value=where.value,
            on_value=where.set,
            placeholder=f"e.g. {example}",
            continuous_update=True,
            classes=["sim-discover-where"],
        )
        solara.Button(
            "Run discovery",
            color="primary",
            on_click=lambda: start(cases, where.value or ""),
            disabled=run_discover.pending,
        )
        if problem.value:
            solara.Error(problem.value, classes=["sim-discover-error"])
    if run_discover.pending:
        solara.ProgressLinear(True)
        solara.Text("PRIM, CART and feature scores...", classes=["sim-discover-progress"])
        return
    if run_discover.error:
        solara.Error(f"The discovery failed: {run_discover.exception}", classes=["sim-discover-error"])
        return
    view = run_discover.value if run_discover.finished else None
    if view is None or view.identity != cases.identity or view.condition != asked.value:
        return
    if view.problem:
        solara.Error(view.problem, classes=["sim-discover-error"])
        return
    DiscoverAnswer(cases, view)


@solara.component
def DiscoverAnswer(cases: Cases, view: DiscoverView) -> None:
    chosen = next((label for label, step in view.steps.items() if step == view.step), None)
    with solara.Column(classes=["sim-discover-answer"], gap="4px"):
        solara.Text(view.summary, classes=["sim-discover-summary"])
        if view.steps:
            solara.Select(
                "Box 1: step of its trajectory (sim discover --box N)",
                values=list(view.steps),
                value=chosen,
                on_value=lambda label: start(cases, view.condition, view.steps[label]),
            )
        if not view.boxes:
            solara.Text("PRIM found no box: no restriction of the inputs made the condition denser.")
        for box in view.boxes:
            with solara.Column(classes=["sim-discover-box"], gap="0px"):
                solara.Text(f"{box.title}: {box.sentence}", style={"font-weight": "bold"})
                for line in box.restrictions:
                    solara.Text(f"• {line}")
        if view.tradeoff:
            solara.Image(view.tradeoff, classes=["sim-discover-tradeoff"])
        if view.box_chart:
            solara.Image(view.box_chart, classes=["sim-discover-boxes"])
        with solara.Column(classes=["sim-discover-cart"], gap="0px"):
            for line in view.cart:
                solara.Text(line)
        solara.Text(view.scores, classes=["sim-discover-scores"])
        for note in view.notes:
            solara.Text(f"note: {plain(note)}", style={"color": "#555"})
        solara.Text(f"Answered in {view.seconds:.1f} s; nothing written into the sweep's folder.",
                    style={"color": "#555"})  # fmt: skip
