"""PRIM boxes, a CART tree and feature scores for the cases that meet a condition.

PRIM (Friedman and Fisher 1999) is the EMA Workbench's (`ema_workbench.analysis.prim`,
Kwakkel 2017): it peels the input space a little at a time towards a box where the
condition is dense, then pastes back what it peeled too eagerly. Each step of the peeling
trajectory is a box with a coverage (the share of all cases meeting the condition that lie
in it) and a density (the share of the box's cases that meet it): the trade-off curve. A box
is chosen on it, by `--box` or by `choose_step`; then PRIM looks for a further box among
the cases outside the first ones. Each restricted dimension gets the workbench's quasi-p
value (Bryant and Lempert 2010): a one-sided binomial test of whether the box is denser with
that restriction than without it.

CART is scikit-learn's DecisionTreeClassifier (shallow, leaves of at least `MASS_MIN` of the
cases); its leaves where most cases meet the condition are boxes too. Feature scores are
the impurity importances of scikit-learn's ExtraTreesClassifier (an ensemble of randomised
trees, as the workbench's `get_ex_feature_scores`): how much each input separates the cases
that meet the condition from the others, interactions included.

The workbench and scikit-learn are imported inside the functions, so that no other command
pays for them: the workbench's import loads statsmodels, seaborn and its own optimisation
framework (about 3 s on a 2-core machine, more when its files are not cached).
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.discover.cases import Cases
from sim.discover.conditions import Condition, problem

MASS_MIN = 0.05  # smallest box, as a share of the cases (the workbench's default)
PEEL_ALPHA = 0.05  # share of a box's cases peeled per step (the workbench's default)
MIN_COVERAGE = 0.5  # the chosen box covers at least half of what its search started with
MAX_BOXES = 3
MIN_DENSITY = 0.5  # a further box is reported only if most of its cases meet the condition
TREE_DEPTH = 3
TREES = 200
SEED = 0


@dataclass(frozen=True)
class Limit:
    """One restricted input of a box: its bounds (or allowed values) and their significance."""

    parameter: str
    low: float | None  # None: not restricted from below
    high: float | None
    values: tuple[str, ...] | None  # a categorical input: the values the box keeps
    p_low: float | None
    p_high: float | None
    full: tuple[float, float] | tuple[str, ...]  # the sampled range (or every value)

    @property
    def p_value(self) -> float:
        """The least significant of its restrictions (what decides whether to keep it)."""
        found = [p for p in (self.p_low, self.p_high) if p is not None]
        return max(found) if found else math.nan


@dataclass(frozen=True)
class Box:
    """A box of the input space: its restrictions, coverage, density and where it sits on its trajectory."""

    number: int  # 1, 2, 3: the order PRIM found them in
    step: int  # its step on its own peeling trajectory
    coverage: float  # share of all cases meeting the condition that lie in the box
    density: float  # share of the box's cases that meet the condition
    mass: float  # share of all cases in the box
    cases: int
    meeting: int
    limits: tuple[Limit, ...]
    trajectory: pd.DataFrame  # step, coverage, density, mass, restricted, cases, meeting


@dataclass(frozen=True)
class Leaf:
    """A CART leaf: the path to it, how many cases it holds and how many of them meet the condition."""

    rules: tuple[str, ...]
    cases: int
    meeting: int
    coverage: float
    density: float


@dataclass(frozen=True)
class Tree:
    """The CART tree: its splits from the root (depth, input, threshold), its leaves and its text."""

    splits: tuple[tuple[int, str, float], ...]
    leaves: tuple[Leaf, ...]
    text: str
    accuracy: float


@dataclass(frozen=True)
class Discovery:
    """Everything `sim discover` reports: the boxes, the tree and the feature scores."""

    cases: Cases
    condition: Condition
    met: np.ndarray
    boxes: tuple[Box, ...]
    tree: Tree
    scores: pd.Series  # input -> importance, largest first, summing to 1
    chosen_by: str  # how the first box's step was chosen
    notes: list[str] = field(default_factory=list)

    @property
    def base_rate(self) -> float:
        return float(self.met.mean())


def discover(cases: Cases, condition: Condition, met: np.ndarray, step: int | None = None) -> Discovery:
    """Boxes, tree and scores for the cases that meet `condition` (`met`, from Cases.meets).

    `step` picks the first box's step on its trajectory (`--box`); a step past its end is a
    ScenarioError naming the range, raised before anything is written.
    """
    inputs, notes = _usable_inputs(cases)
    boxes = find_boxes(inputs, met, step)
    chosen_by = (
        f"step {step} of its trajectory (--box)"
        if step is not None
        else f"the densest step of its trajectory that covers at least {MIN_COVERAGE:.0%} of the cases meeting it"
    )
    return Discovery(
        cases=cases,
        condition=condition,
        met=met,
        boxes=tuple(boxes),
        tree=cart(inputs, met),
        scores=feature_scores(inputs, met),
        chosen_by=chosen_by,
        notes=cases.notes + notes,
    )


def _usable_inputs(cases: Cases) -> tuple[pd.DataFrame, list[str]]:
    """Inputs that vary across the cases (one that never changes cannot bound a box)."""
    varying = [c for c in cases.inputs.columns if cases.inputs[c].nunique(dropna=False) > 1]
    notes = [f"`{c}` has one value in every case and is left out" for c in cases.inputs.columns if c not in varying]
    if not varying:
        raise problem(str(cases.folder), "", "no input varies across the cases: there is nothing to bound a box with")
    return cases.inputs[varying].reset_index(drop=True), notes


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The workbench warns at import (optional packages missing) and logs its progress: not for users."""
    logger = logging.getLogger("EMA")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def find_boxes(inputs: pd.DataFrame, met: np.ndarray, step: int | None = None) -> list[Box]:
    """Up to MAX_BOXES boxes: the first at `step` (or the rule's), each next one among the cases left."""
    with _quiet():
        from ema_workbench.analysis import prim

        search = prim.Prim(inputs, met.astype(int), peel_alpha=PEEL_ALPHA, mass_min=MASS_MIN)
        boxes: list[Box] = []
        for number in range(1, MAX_BOXES + 1):
            if number > 1 and met[search.yi_remaining].sum() < max(2, MASS_MIN * met.sum()):
                break
            found = search.find_box()
            if found is None:
                break
            trajectory = _trajectory(found.peeling_trajectory)
            if number == 1 and step is not None:
                if not 0 <= step < len(trajectory):
                    raise problem("--box", str(step), f"expected a step of the first box's trajectory, 0 to "
                                  f"{len(trajectory) - 1} (tradeoff.png labels them)")  # fmt: skip
                chosen = step
            else:
                chosen = choose_step(trajectory)
            found.select(chosen)
            box = _box(number, chosen, trajectory, found, search)
            if number > 1 and box.density < MIN_DENSITY:
                break
            boxes.append(box)
    return boxes


def _trajectory(peeling: pd.DataFrame) -> pd.DataFrame:
    table = peeling.reset_index(drop=True)
    return pd.DataFrame(
        {
            "step": np.arange(len(table)),
            "coverage": table["coverage"].astype(float),
            "density": table["density"].astype(float),
            "mass": table["mass"].astype(float),
            "restricted": table["res_dim"].astype(int),
            "cases": table["n"].astype(int),
            "meeting": table["k"].astype(int),
        }
    )


def choose_step(trajectory: pd.DataFrame) -> int:
    """The densest step that still covers at least MIN_COVERAGE of what its search started with.

    A box that explains fewer than half of the outcomes it could is a detail, however dense;
    above that, density is what a reader acts on. Among equally dense steps, the one with
    fewer restrictions (easier to read), then more coverage.
    """
    floor = MIN_COVERAGE * float(trajectory["coverage"].iloc[0])
    eligible = trajectory[trajectory["coverage"] >= floor - 1e-12].assign(density=lambda t: t["density"].round(9))
    ranked = eligible.sort_values(["density", "restricted", "coverage"], ascending=[False, True, False], kind="stable")
    return int(ranked["step"].iloc[0])


def _box(number: int, step: int, trajectory: pd.DataFrame, found, search) -> Box:
    limits_table = found.box_lims[step]
    initial = search.box_init
    p_values = found.p_values[step]
    limits = []
    for column in initial.columns:
        low, high = limits_table[column].iloc[0], limits_table[column].iloc[1]
        full_low, full_high = initial[column].iloc[0], initial[column].iloc[1]
        if isinstance(full_low, set):
            if low == full_low:
                continue
            qp = p_values.get(column, [-1, -1])
            limits.append(Limit(column, None, None, tuple(sorted(map(str, low))), _p(qp[0]), None,
                                tuple(sorted(map(str, full_low)))))  # fmt: skip
            continue
        restricted_low, restricted_high = low > full_low, high < full_high
        if not (restricted_low or restricted_high):
            continue
        qp = p_values.get(column, [-1, -1])
        limits.append(
            Limit(
                column,
                float(low) if restricted_low else None,
                float(high) if restricted_high else None,
                None,
                _p(qp[0]) if restricted_low else None,
                _p(qp[1]) if restricted_high else None,
                (float(full_low), float(full_high)),
            )
        )
    row = trajectory.iloc[step]
    return Box(
        number=number,
        step=step,
        coverage=float(row["coverage"]),
        density=float(row["density"]),
        mass=float(row["mass"]),
        cases=int(row["cases"]),
        meeting=int(row["meeting"]),
        limits=tuple(limits),
        trajectory=trajectory,
    )


def _p(value) -> float | None:
    """The workbench's quasi-p value; -1 (or none) means that side was not tested."""
    if value is None:
        return None
    value = float(value)
    return None if value < 0 or math.isnan(value) else value


def _encoded(inputs: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numbers as they are, categories one column per value (`name=value`); each column's input."""
    columns, owner = {}, {}
    for name in inputs.columns:
        series = inputs[name]
        if pd.api.types.is_numeric_dtype(series):
            columns[name], owner[name] = series.to_numpy(dtype=float), name
            continue
        for value in sorted(series.unique()):
            key = f"{name}={value}"
            columns[key], owner[key] = (series == value).to_numpy(dtype=float), name
    return pd.DataFrame(columns), owner


def cart(inputs: pd.DataFrame, met: np.ndarray) -> Tree:
    """A shallow classification tree: its first splits, the leaves where the condition is met, its text."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    x, _ = _encoded(inputs)
    leaf_size = max(1, round(MASS_MIN * len(x)))
    model = DecisionTreeClassifier(max_depth=TREE_DEPTH, min_samples_leaf=leaf_size, random_state=SEED)
    values = x.to_numpy()
    model.fit(values, met)
    tree = model.tree_
    names = list(x.columns)
    splits, leaves = [], []
    total = max(int(met.sum()), 1)
    leaf_of = model.apply(values)

    def walk(node: int, depth: int, rules: tuple[str, ...]) -> None:
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right:  # a leaf
            inside = leaf_of == node
            meeting = int(met[inside].sum())
            cases = int(inside.sum())
            if cases and meeting / cases >= MIN_DENSITY:
                leaves.append(Leaf(rules, cases, meeting, meeting / total, meeting / cases))
            return
        name, threshold = names[tree.feature[node]], float(tree.threshold[node])
        splits.append((depth, name, threshold))
        walk(left, depth + 1, (*rules, _rule(name, "<=", threshold)))
        walk(right, depth + 1, (*rules, _rule(name, ">", threshold)))

    walk(0, 0, ())
    text = export_text(model, feature_names=names, decimals=3, show_weights=False)
    return Tree(
        tuple(splits), tuple(sorted(leaves, key=lambda leaf: -leaf.meeting)), text, float(model.score(values, met))
    )


def _rule(name: str, op: str, threshold: float) -> str:
    if "=" in name:  # a category's indicator: <= 0.5 means "not this value"
        parameter, _, value = name.partition("=")
        return f"{parameter} {'!=' if op == '<=' else '=='} {value}"
    return f"{name} {op} {threshold:.4g}"


def feature_scores(inputs: pd.DataFrame, met: np.ndarray) -> pd.Series:
    """Extra-trees impurity importance of each input for the condition (a category's values summed)."""
    from sklearn.ensemble import ExtraTreesClassifier

    x, owner = _encoded(inputs)
    model = ExtraTreesClassifier(n_estimators=TREES, random_state=SEED, n_jobs=1, min_samples_leaf=1)
    model.fit(x.to_numpy(), met)
    scores = pd.Series(model.feature_importances_, index=x.columns).groupby(owner).sum()
    return scores.reindex(inputs.columns).sort_values(ascending=False, kind="stable")
