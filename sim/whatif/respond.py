"""What-ifs in which strategic vendors respond: the change is imposed, then the named vendors re-optimise.

`--respond rivals` lets every vendor with a `strategy` that the changes do not name choose its
token price from the change's month, by the game of `sim game` (sim/game/market.py);
`--respond all` lets every strategic vendor choose, a vendor the change names choosing a
multiple of its changed price. The baseline side plays the same game, with the same players,
from the same month, without the change: the difference between the sides is the change's
effect, not the effect of optimising. A vendor without a strategy follows its timeline.

Each side's game is solved once, on the scenario's seed; its chosen prices are then fixed
and the what-if's paired replicates run as usual, so their intervals are Monte Carlo noise
given those prices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.game.market import Game, strategies_of, with_prices
from sim.game.report import FOLLOWED, followed
from sim.scenario.calendar import month_index, parse_month
from sim.scenario.loading import Problem, ScenarioError
from sim.scenario.schema import ALL_VENDORS, Scenario
from sim.whatif.changes import TARGETED, UNTARGETED, Changes

RESPONDERS = ("rivals", "all")
FLAG = "--respond"


@dataclass(frozen=True)
class Side:
    """One side's response path, as plain data: the chosen price multiples and how the path ended."""

    multipliers: dict[str, float]
    status: str
    rounds: int
    regret: dict[str, float]
    evaluations: int


@dataclass(frozen=True)
class Response:
    """Who re-optimised, from when, and what each side's game chose."""

    mode: str
    start: str
    players: list[str]
    baseline: Side
    whatif: Side

    @property
    def followers(self) -> dict[str, float]:
        """Responders whose price moved by more than FOLLOWED because of the change: each one's relative move."""
        return followed(self.players, self.baseline.multipliers, self.whatif.multipliers)

    @property
    def converged(self) -> bool:
        return self.baseline.status == self.whatif.status == "converged"

    def sentences(self) -> list[str]:
        """In plain words: who responded, who followed and by how much, and how each path ended."""
        who = "Rivals" if self.mode == "rivals" else "All strategic vendors"
        moves = self.followers
        follow = (
            f"Followed (price moved by more than {FOLLOWED:.0%} against the baseline's response): "
            + ", ".join(f"{v} {100 * move:+.0f} %" for v, move in moves.items())
            if moves
            else f"No responder's price moved by more than {FOLLOWED:.0%} against the baseline's response"
        )
        return [
            f"{who} responded: {', '.join(self.players)} re-optimised their token price from {self.start} "
            "on both sides (their strategy objectives); vendors without one follow their timeline.",
            follow + ".",
            f"Response paths: without the change {self.baseline.status} after {self.baseline.rounds} rounds, "
            f"with it {self.whatif.status} after {self.whatif.rounds} rounds"
            + ("." if self.converged else "; prices where a path did not converge are its last round's, not an "
               "equilibrium."),
        ]  # fmt: skip

    def summary(self) -> str:
        """One line for a chart's title."""
        moves = ", ".join(f"{v} {100 * m:+.0f} %" for v, m in self.followers.items()) or "none followed"
        paths = "paths converged" if self.converged else "a path did not converge"
        return f"{self.mode} responded from {self.start}: {moves}; {paths}"

    def markdown(self) -> list[str]:
        """A table of each responder's chosen price multiple on both sides."""
        lines = ["## Responses", "", "| vendor | price multiple, baseline | price multiple, what-if | move |",
                 "|---|---:|---:|---:|"]  # fmt: skip
        for vendor in self.players:
            before, after = self.baseline.multipliers[vendor], self.whatif.multipliers[vendor]
            lines.append(f"| {vendor} | {before:.3g} | {after:.3g} | {100 * (after / before - 1):+.0f} % |")
        return [*lines, "", "Multiples of each vendor's price in the month the response starts.", ""]

    def as_dict(self) -> dict:
        return {
            "mode": self.mode,
            "start": self.start,
            "players": self.players,
            "followers": self.followers,
            "baseline": vars(self.baseline),
            "whatif": vars(self.whatif),
        }


def named_vendors(scenario: Scenario, changes: Changes) -> set[str]:
    """The vendors the changes name (a price cut's or a capacity cap's WHO; `all` names every vendor)."""
    named: set[str] = set()
    for item in [*changes.price_cuts, *changes.capacity_caps]:
        match = TARGETED.match(item)
        if match:
            who = match["who"]
            named |= set(scenario.vendors) if who == ALL_VENDORS else {who}
    return named


def response_month(scenario: Scenario, changes: Changes, mode: str) -> str:
    """The earliest month a dated change starts: the month the responders re-optimise from."""
    dates = [match["date"] for item in [*changes.price_cuts, *changes.capacity_caps] if (match := TARGETED.match(item))]
    dates += [match["date"] for item in changes.switching_costs if (match := UNTARGETED.match(item))]
    if not dates:
        raise ScenarioError(
            [Problem(FLAG, mode, "expected a dated change to respond to (--price-cut, --capacity-cap or "
                     "--switching-cost WHO=PCT%@YYYY-MM)")]
        )  # fmt: skip
    start = min(parse_month(date) for date in dates)
    if month_index(scenario.start, start) < 1:
        raise ScenarioError(
            [Problem(FLAG, mode, f"expected a change after the scenario's first month {scenario.start}, got {start}")]
        )
    return start


def responders(scenario: Scenario, changes: Changes, mode: str) -> list[str]:
    """The strategic vendors that re-optimise (see the module's docstring), or a ScenarioError saying why none."""
    if mode not in RESPONDERS:
        raise ScenarioError([Problem(FLAG, mode, f"expected one of {', '.join(RESPONDERS)}")])
    strategic = list(strategies_of(scenario))
    if not strategic:
        raise ScenarioError(
            [Problem(FLAG, mode, f"expected a scenario with strategic vendors (vendors.<id>.strategy, as in "
                     f"scenarios/strategic.yaml); {scenario.name} has none")]
        )  # fmt: skip
    if mode == "all":
        return strategic
    named = named_vendors(scenario, changes)
    players = [v for v in strategic if v not in named]
    if not players:
        raise ScenarioError(
            [Problem(FLAG, mode, f"the changes name every strategic vendor ({', '.join(strategic)}), so no rival is "
                     "left to respond; expected --respond all or a change naming fewer vendors")]
        )  # fmt: skip
    return players


def check_respond(scenario: Scenario, changes: Changes, mode: str, ensemble: bool = False) -> tuple[list[str], str]:
    """The responders and the month they respond from, or a ScenarioError naming --respond and what it expects."""
    if ensemble:
        raise ScenarioError([Problem(FLAG, mode, "expected no --ensemble: responses are solved on one parameter set")])
    return responders(scenario, changes, mode), response_month(scenario, changes, mode)


def respond(
    baseline: Scenario,
    variant: Scenario,
    changes: Changes,
    mode: str,
    *,
    rounds: int = 6,
    progress: Callable[[str], None] | None = None,
) -> tuple[Scenario, Scenario, Response]:
    """Both sides with their responders' chosen prices written in as price events, and the response."""
    players, start = check_respond(baseline, changes, mode)
    seeds = [baseline.seed]

    def said(side: str) -> Callable[[str], None] | None:
        return None if progress is None else (lambda line: progress(f"{side}: {line}"))

    calm = Game(baseline, start, players, seeds)
    before = calm.play(max_rounds=rounds, progress=said("baseline"))
    after = Game(variant, start, players, seeds, span=calm.span).play(max_rounds=rounds, progress=said("what-if"))
    sides = [
        Side(play.multipliers, play.path.status, len(play.path.rounds) - 1, play.path.regret, play.path.evaluations)
        for play in (before, after)
    ]
    response = Response(mode, start, players, *sides)
    return (
        with_prices(baseline, start, before.multipliers),
        with_prices(variant, start, after.multipliers),
        response,
    )
