"""Scenario-discovery outputs: discover.md, boxes.json, tradeoff.png and boxes.png.

discover.md    the condition, each box as plain conditions with coverage, density and a
               significance test per restriction, the CART leaves and tree, feature scores
boxes.json     the same in numbers, with every box's whole peeling trajectory (for --box)
tradeoff.png   coverage against density along the first box's trajectory, the chosen step marked
boxes.png      each box's restrictions within the sampled ranges, with their quasi-p values

matplotlib is imported inside the drawing functions only: a discovery that fails its checks
never loads it.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.discover.cases import Cases
from sim.discover.conditions import Condition
from sim.provenance import versions
from sim.report.files import write_json, write_text
from sim.report.folders import Identity

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.discover.methods import Box, Discovery, Leaf, Limit

MARKER = "boxes.json"
SIGNIFICANT = 0.05


def discover_folder(source: Path, condition: Condition, out: Path | None = None) -> Path:
    """Where a discovery goes: `--out`, else `<source>/discover-<the condition>/` (one per question)."""
    return out or source / f"discover-{condition.slug()}"


def discover_identity(cases: Cases, condition: Condition) -> Identity:
    """A discovery is of a folder's results and a condition: a rerun of the same question replaces it."""
    digest = hashlib.sha256(f"{cases.identity}\n{condition.text}".encode()).hexdigest()
    return Identity(MARKER, "identity", digest, f"discovery of {condition.text!r} in {cases.folder}")


def save_discovery(found: Discovery, folder: Path) -> dict[str, Path]:
    """Write the four files into `folder` (a claimed folder's staging copy on the command line)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {
        "report": folder / "discover.md",
        "boxes": folder / MARKER,
        "tradeoff": folder / "tradeoff.png",
        "box_chart": folder / "boxes.png",
    }
    _save_figure(tradeoff_figure(found), written["tradeoff"])
    _save_figure(boxes_figure(found), written["box_chart"])
    write_text(written["report"], markdown(found))
    write_json(written["boxes"], record(found))
    return written


def _save_figure(fig: Figure, path: Path) -> None:
    from sim.report.charts import save_figure

    save_figure(fig, path)


# --- words ------------------------------------------------------------------------------------------


def number(value: float) -> str:
    """A limit as a reader writes it: three significant digits, thousands separated, no exponent."""
    if not math.isfinite(value) or value == 0:
        return f"{value:g}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    if "e" in text:  # below 0.0001: fixed digits down to the third significant one
        text = f"{value:.{2 - math.floor(math.log10(abs(value)))}f}"
    return text


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def p_text(p: float | None) -> str:
    if p is None or math.isnan(p):
        return "–"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def restriction(limit: Limit) -> str:
    """`x1` ≥ 0.6, 0.2 ≤ `x2` ≤ 0.5, or `x3` in {a, b}."""
    name = f"`{limit.parameter}`"
    if limit.values is not None:
        return f"{name} in {{{', '.join(limit.values)}}}"
    if limit.low is not None and limit.high is not None:
        return f"{number(limit.low)} ≤ {name} ≤ {number(limit.high)}"
    if limit.low is not None:
        return f"{name} ≥ {number(limit.low)}"
    return f"{name} ≤ {number(limit.high)}"


def box_sentence(box: Box, unit: str) -> str:
    """'`x1` ≥ 0.6 and `x2` ≤ 0.3: 97 % of such runs meet the condition, 95 % of all runs that meet it.'"""
    where = " and ".join(restriction(limit) for limit in box.limits) or "anywhere (no input restricted)"
    return (
        f"{where}: {percent(box.density)} of such {unit} meet the condition (density), "
        f"{percent(box.coverage)} of all {unit} that meet it (coverage); the box holds {percent(box.mass)} "
        f"of the {unit} ({box.cases:,})."
    )


def markdown(found: Discovery) -> str:
    cases, unit = found.cases, found.cases.unit
    met = int(found.met.sum())
    lines = [
        f"# Where does `{found.condition.text}` hold?",
        "",
        f"- results: {cases.description} ({cases.folder})",
        f"- {met:,} of {len(cases):,} {unit} meet the condition ({percent(found.base_rate)})",
        f"- inputs: {', '.join(f'`{c}`' for c in found.scores.index)}",
        "",
        f"Boxes describe the **sampled space, not the world**: they say where, among the {unit} this folder "
        "holds, the condition is met, within the ranges sampled. Outside those ranges, under other fixed "
        "assumptions, or for the model's own shortcomings, they say nothing; and a box found with few "
        f"{unit} may not survive more of them.",
        "",
        "## Boxes (PRIM)",
        "",
        f"The first box is {found.chosen_by}; each further box is PRIM's next, among the {unit} outside the "
        "earlier ones. Density: the share of the box's cases that meet the condition. Coverage: the share of all "
        "cases meeting it that lie in the box. p: quasi-p value of each restriction (one-sided binomial test: "
        "is the box denser with the restriction than without it?).",
        "",
    ]
    if not found.boxes:
        lines += ["PRIM found no box: no restriction of the inputs made the condition denser.", ""]
    for box in found.boxes:
        lines += [f"**Box {box.number}** (step {box.step} of its trajectory): {box_sentence(box, unit)}", ""]
        if box.limits:
            lines += _limits_table(box)
            weak = [limit.parameter for limit in box.limits if limit.p_value > SIGNIFICANT]
            if weak:
                lines += ["", f"Not significant at 5 %: {', '.join(f'`{w}`' for w in weak)} (the box is about as "
                          "dense without that restriction; read it as a hint, not a finding)."]  # fmt: skip
            lines.append("")
    if found.boxes:
        last = len(found.boxes[0].trajectory) - 1
        lines += [
            "![Coverage against density along the first box's peeling trajectory](tradeoff.png)",
            "",
            f"Another step of the first box: `sim discover {cases.folder} --where '{found.condition.text}' --box N` "
            f"(N from 0 to {last}; boxes.json lists each step's coverage and density).",
            "",
            "![The boxes within the sampled ranges](boxes.png)",
            "",
        ]
    lines += _tree_section(found)
    lines += ["## Feature scores (extra trees)", "", "How much each input separates the cases that meet the "
              "condition from the others (impurity importance of 200 randomised trees, interactions included; "
              "they sum to 1).", "", "| input | score |", "|---|---:|"]  # fmt: skip
    lines += [f"| `{name}` | {score:.3f} |" for name, score in found.scores.items()]
    if found.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in found.notes]
    lines += [
        "",
        "## Provenance",
        "",
        "- PRIM: ema_workbench (peeling and pasting, peel alpha 0.05, smallest box 5 % of the cases); CART and "
        "extra trees: scikit-learn (seed 0)",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in _versions().items()),
        "",
    ]
    return "\n".join(lines)


def _limits_table(box: Box) -> list[str]:
    lines = ["| input | in the box | sampled | p |", "|---|---|---|---|"]
    for limit in box.limits:
        if limit.values is not None:
            inside, sampled = ", ".join(limit.values), ", ".join(map(str, limit.full))
            p = p_text(limit.p_low)
        else:
            low, high = limit.full
            inside = f"{number(limit.low if limit.low is not None else low)} to "
            inside += number(limit.high if limit.high is not None else high)
            sampled = f"{number(low)} to {number(high)}"
            p = " / ".join(p_text(v) for v in (limit.p_low, limit.p_high) if v is not None)
        lines.append(f"| `{limit.parameter}` | {inside} | {sampled} | {p} |")
    return lines


def _tree_section(found: Discovery) -> list[str]:
    tree, unit = found.tree, found.cases.unit
    lines = ["## CART", "", f"A classification tree of depth {max((d for d, _, _ in tree.splits), default=-1) + 1} "
             f"(leaves of at least 5 % of the {unit}), right for {percent(tree.accuracy)} of them. "
             "Its leaves where most cases meet the condition:", ""]  # fmt: skip
    if not tree.leaves:
        lines += ["- none: in every leaf most cases do not meet the condition", ""]
    for leaf in tree.leaves:
        rules = " and ".join(f"`{rule}`" for rule in leaf.rules) or "everywhere"
        lines.append(f"- {rules}: {percent(leaf.density)} of such {unit} (density), {percent(leaf.coverage)} of all "
                     f"that meet it (coverage), {leaf.cases:,} {unit}")  # fmt: skip
    lines += ["", "```", tree.text.rstrip(), "```", ""]
    return lines


def _versions() -> dict[str, str]:
    found = dict(versions())
    from importlib.metadata import PackageNotFoundError, version

    for package in ("ema_workbench", "scikit-learn"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def record(found: Discovery) -> dict[str, Any]:
    """boxes.json: the question, every box with its trajectory, the tree and the scores."""
    identity = discover_identity(found.cases, found.condition)
    return {
        "name": identity.name,
        "identity": identity.value,
        "source": str(found.cases.folder),
        "kind": found.cases.kind,
        "condition": found.condition.text,
        "cases": len(found.cases),
        "meeting": int(found.met.sum()),
        "chosen_by": found.chosen_by,
        "boxes": [_box_record(box) for box in found.boxes],
        "cart": {
            "accuracy": found.tree.accuracy,
            "splits": [{"depth": d, "input": name, "threshold": t} for d, name, t in found.tree.splits],
            "leaves": [_leaf_record(leaf) for leaf in found.tree.leaves],
        },
        "feature_scores": {name: float(score) for name, score in found.scores.items()},
        "notes": found.notes,
        "versions": _versions(),
    }


def _leaf_record(leaf: Leaf) -> dict[str, Any]:
    fields = ("cases", "meeting", "coverage", "density")
    return {"rules": list(leaf.rules), **{name: getattr(leaf, name) for name in fields}}


def _box_record(box: Box) -> dict[str, Any]:
    return {
        "box": box.number,
        "step": box.step,
        "coverage": box.coverage,
        "density": box.density,
        "mass": box.mass,
        "cases": box.cases,
        "meeting": box.meeting,
        "limits": [
            {
                "input": limit.parameter,
                "low": limit.low,
                "high": limit.high,
                "values": None if limit.values is None else list(limit.values),
                "p_low": limit.p_low,
                "p_high": limit.p_high,
                "sampled": list(limit.full),
            }
            for limit in box.limits
        ],
        "trajectory": box.trajectory.to_dict(orient="records"),
    }


# --- charts -----------------------------------------------------------------------------------------


def tradeoff_figure(found: Discovery) -> Figure:
    """Coverage against density along each box's trajectory; the chosen steps marked and numbered."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 5.2), constrained_layout=True)
    if not found.boxes:
        ax.text(0.5, 0.5, "PRIM found no box", ha="center", va="center", transform=ax.transAxes)
    first = found.boxes[0].trajectory if found.boxes else None
    if first is not None:
        points = ax.scatter(
            first["coverage"], first["density"], c=first["restricted"], cmap="viridis", s=22, zorder=3,
            vmin=0, vmax=max(1, int(first["restricted"].max())),
        )  # fmt: skip
        top = max(1, int(first["restricted"].max()))
        fig.colorbar(points, ax=ax, label="restricted inputs", ticks=range(0, top + 1, max(1, top // 8)))
        every = max(1, len(first) // 12)
        for row in first.iloc[::every].itertuples():
            ax.annotate(str(row.step), (row.coverage, row.density), fontsize=6, xytext=(3, 3),
                        textcoords="offset points", color="0.35")  # fmt: skip
    for box in found.boxes:
        ax.scatter([box.coverage], [box.density], s=140, facecolors="none", edgecolors="#d62728", linewidths=1.6,
                   zorder=4)  # fmt: skip
        ax.annotate(f"box {box.number} (step {box.step})", (box.coverage, box.density), xytext=(-8, -14),
                    textcoords="offset points", ha="right", fontsize=8, color="#d62728")  # fmt: skip
    ax.axhline(found.base_rate, color="0.5", linewidth=0.8, linestyle="--")
    ax.annotate(f"share of all {found.cases.unit} meeting it", (1.03, found.base_rate), xytext=(0, -10),
                textcoords="offset points", fontsize=7, color="0.4", ha="right")  # fmt: skip
    ax.set_xlim(-0.02, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("coverage: share of the cases meeting the condition that lie in the box")
    ax.set_ylabel("density: share of the box's cases that meet it")
    ax.grid(alpha=0.25)
    ax.set_title(f"PRIM trade-off for {found.condition.text}", fontsize=10)
    return fig


def boxes_figure(found: Discovery) -> Figure:
    """Each box's restricted inputs: the sampled range as a grey bar, the box's range in colour, p values."""
    import matplotlib.pyplot as plt

    rows = [(box, limit) for box in found.boxes for limit in box.limits]
    fig, ax = plt.subplots(figsize=(8.0, 1.2 + 0.45 * max(1, len(rows))), constrained_layout=True)
    if not rows:
        ax.text(0.5, 0.5, "no input restricted", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    colors = ("#1f77b4", "#ff7f0e", "#2ca02c")
    for y, (box, limit) in enumerate(rows):
        ax.barh(y, 1.0, left=0.0, height=0.5, color="0.88")
        low, high, label = _unit_span(limit)
        ax.barh(y, high - low, left=low, height=0.5, color=colors[(box.number - 1) % len(colors)], alpha=0.85)
        p = " / ".join(p_text(v) for v in (limit.p_low, limit.p_high) if v is not None)
        ax.text(1.02, y, f"{label}   ({p})", va="center", fontsize=7)
    ax.set_yticks(range(len(rows)), [f"box {b.number}: {_short(lim.parameter)}" for b, lim in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.0)
    ax.set_xticks([0, 0.5, 1.0], ["lowest sampled", "middle", "highest sampled"], fontsize=7)
    ax.set_title(f"Where {found.condition.text} holds: each box's ranges within the sampled ones", fontsize=10)
    return fig


def _unit_span(limit: Limit) -> tuple[float, float, str]:
    """The box's range on the unit interval of the sampled one, and its text."""
    if limit.values is not None:
        share = len(limit.values) / max(1, len(limit.full))
        return 0.0, share, ", ".join(limit.values)
    low, high = limit.full
    width = (high - low) or 1.0
    a = 0.0 if limit.low is None else (limit.low - low) / width
    b = 1.0 if limit.high is None else (limit.high - low) / width
    shown_low = number(limit.low if limit.low is not None else low)
    shown_high = number(limit.high if limit.high is not None else high)
    return a, b, f"{shown_low} to {shown_high}"


def _short(name: str, width: int = 30) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]
