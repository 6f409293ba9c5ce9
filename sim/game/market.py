"""The market as a game: strategic vendors choose their token price, the model says what follows.

A vendor with a `strategy` chooses, at the game's first month, a multiple of the token list
price it has then, kept for the rest of the run (one decision, taken knowing the rivals'
decisions: an open-loop game). Its payoff is its objective over the months from then on:
weights on discounted gross profit (as a share of the market's revenue over those months in
the timeline run), on its token share and on its revenue share, less a penalty when its
token losses exceed its loss budget. Every candidate runs on the same seeds (common random
numbers), so two candidates differ by their decisions, not by luck.

A shock (`--shock volcano=99%`) fixes one vendor's decision; the game is played with and
without it, so that the difference is the shock's effect, not the effect of optimising.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import sim
from sim.game.solver import Path, response_path
from sim.scenario.calendar import month_index
from sim.scenario.loading import Problem, ScenarioError, scenario_from_dict
from sim.scenario.schema import Scenario, Strategy

if TYPE_CHECKING:
    from sim.model.vendors import VendorBook

LOSS_PENALTY = 10.0  # objective lost per unit of excess token losses / the market's revenue


def with_prices(scenario: Scenario, start: str, multipliers: dict[str, float]) -> Scenario:
    """The scenario with each named vendor's token list price scaled from `start` on."""
    data = scenario.model_dump(mode="json")
    for vendor, multiplier in multipliers.items():
        if not math.isclose(multiplier, 1.0, rel_tol=1e-12):
            data["events"].append(
                {"id": f"game_{vendor}", "date": start, "type": "price", "vendor": vendor, "change": multiplier - 1.0}
            )
    return scenario_from_dict(data)


class Continuation:
    """Runs that share everything before the game's month: simulated once, then continued per candidate.

    Before `start` every candidate's run is the same (same scenario, same seed, same draws), so
    the model is stepped to the month before once and copied for each candidate, whose price
    events are added to the game's month. The result is the same run, bit for bit, as
    simulating the candidate's scenario from the start (a test checks it), at a fraction of
    the time. A vendor given a multiple chooses its price from the game's month (see
    `_chooses_its_price`).
    """

    def __init__(self, scenario: Scenario, start: str, seed: int) -> None:
        from sim.run import build_model

        self.scenario, self.start, self.seed = scenario, start, seed
        self.month = month_index(scenario.start, start)
        self.snapshot = build_model(scenario.model_copy(update={"seed": seed}))
        for _ in range(self.month):
            self.snapshot.step()

    def run(self, multipliers: dict[str, float]) -> sim.RunResult:
        import copy

        from sim.run import recorded_run

        priced = with_prices(self.scenario, self.start, multipliers).model_copy(update={"seed": self.seed})
        model = copy.deepcopy(self.snapshot)
        model.events_by_month[self.month] = [
            event for event in priced.events if month_index(priced.start, event.date) == self.month
        ]
        for vendor in multipliers:
            _chooses_its_price(model.vendors, model.vendors.ids.index(vendor))
        for _ in range(self.month, priced.months):
            model.step()
        return recorded_run(model, priced)


def _chooses_its_price(book: VendorBook, vendor: int) -> None:
    """From the game's month a player's price is its decision, not a reactive rule's.

    Its reactive policies are dropped (otherwise `match_cheapest` would set the price and the
    decision would change nothing), and its list price becomes the price the rule had it
    post, so that its multiple is of the price it charged, as for every other player.
    """
    if book.policies[vendor]:
        book.list_price[vendor] = book.posted[vendor]
        book.policies[vendor] = []


@dataclass(frozen=True)
class Horizon:
    """The months a strategic vendor's objective counts, and the market's revenue over them."""

    start: str
    months: list[str]
    market_revenue: float


def horizon(result: sim.RunResult, start: str) -> Horizon:
    revenue = result.wide("revenue").loc[start:]
    return Horizon(start, list(revenue.index), float(revenue.to_numpy().sum()))


def objectives(result: sim.RunResult, strategies: dict[str, Strategy], span: Horizon) -> dict[str, float]:
    """Each strategic vendor's objective over the horizon (see the module's docstring)."""
    window = slice(span.start, None)
    revenue = result.wide("revenue").loc[window]
    cost = result.wide("maas_cost").loc[window] + result.wide("iaas_cost").loc[window]
    tokens = result.wide("api_tokens_per_day").loc[window]
    token_losses = (result.wide("maas_cost").loc[window] - result.wide("maas_revenue").loc[window]).clip(lower=0)
    out = {}
    for vendor, strategy in strategies.items():
        weights = strategy.objective
        discount = (1.0 + strategy.discount_rate) ** -np.arange(len(revenue))
        profit = float(np.sum(discount * (revenue[vendor] - cost[vendor]).to_numpy())) / span.market_revenue
        value = (
            weights.profit * profit
            + weights.token_share * _share(tokens, vendor)
            + weights.revenue_share * _share(revenue, vendor)
        )
        excess = float(token_losses[vendor].sum()) - strategy.loss_budget
        if excess > 0:
            value -= LOSS_PENALTY * excess / span.market_revenue
        out[vendor] = value
    return out


def _share(table: pd.DataFrame, vendor: str) -> float:
    total = float(table.to_numpy().sum())
    return float(table[vendor].sum()) / total if total > 0 else 0.0


@dataclass
class Play:
    """One game: the response path (decisions in log multipliers) and the run at its end."""

    path: Path
    multipliers: dict[str, float]
    result: sim.RunResult


@dataclass
class GameAnswer:
    """The game without and with the shock, and what they say."""

    scenario: Scenario
    start: str
    shock: dict[str, float]  # vendor: fixed multiplier
    players: list[str]
    calm: Play
    shocked: Play | None
    seeds: list[int]


def strategies_of(scenario: Scenario) -> dict[str, Strategy]:
    return {vendor: spec.strategy for vendor, spec in scenario.vendors.items() if spec.strategy is not None}


def check_game(scenario: Scenario, start: str, shock: dict[str, float], source: str) -> list[str]:
    """The players, or a ScenarioError naming what is missing (no strategy, a month outside the run)."""
    if month_index(scenario.start, start) < 1 or month_index(scenario.start, start) >= scenario.months:
        raise ScenarioError([Problem("--from", start, f"expected a month after {scenario.start} within the run")])
    for vendor in shock:
        if vendor not in scenario.vendors:
            raise ScenarioError(
                [Problem("--shock", vendor, f"unknown vendor; expected one of {', '.join(scenario.vendors)}")]
            )
    players = [v for v in strategies_of(scenario) if v not in shock]
    if not players:
        raise ScenarioError(
            [Problem(source, "vendors.<id>.strategy", "no vendor has a strategy (objectives) to play with; "
                     "see scenarios/strategic.yaml")]
        )  # fmt: skip
    return players


class Game:
    """One scenario's game from `start`: its players' payoffs on continuations shared by every candidate.

    `span` fixes the scale of profit in the objectives; a game played on a changed scenario
    takes the unchanged one's, so that a vendor's preferences do not move with the change.
    """

    def __init__(
        self, scenario: Scenario, start: str, players: list[str], seeds: list[int], span: Horizon | None = None
    ) -> None:
        self.scenario, self.start, self.players = scenario, start, players
        self.strategies = {v: s for v, s in strategies_of(scenario).items() if v in players}
        self.continuations = [Continuation(scenario, start, seed) for seed in seeds]
        self.span = span or horizon(self.continuations[0].run({}), start)

    def payoffs(self, decisions: dict[str, float]) -> dict[str, float]:
        multipliers = {v: math.exp(x) for v, x in decisions.items()}
        values = [objectives(c.run(multipliers), self.strategies, self.span) for c in self.continuations]
        return {v: float(np.mean([value[v] for value in values])) for v in self.strategies}

    def play(
        self,
        fixed: dict[str, float] | None = None,
        *,
        max_rounds: int = 6,
        tolerance: float = 0.02,
        progress: Callable[[str], None] | None = None,
    ) -> Play:
        """The response path of the players from their timeline prices, `fixed` vendors' multiples held."""
        fixed = fixed or {}
        bounds = {v: (math.log(s.price_bounds[0]), math.log(s.price_bounds[1])) for v, s in self.strategies.items()}
        path = response_path(
            self.players, bounds, self.payoffs, dict.fromkeys(self.players, 0.0),
            fixed={v: math.log(m) for v, m in fixed.items()}, tolerance=tolerance, max_rounds=max_rounds,
            progress=progress,
        )  # fmt: skip
        multipliers = {**{v: math.exp(x) for v, x in path.decisions.items()}, **fixed}
        return Play(path, multipliers, self.continuations[0].run(multipliers))


def play_game(
    scenario: Scenario,
    start: str,
    shock: dict[str, float] | None = None,
    *,
    seeds: list[int] | None = None,
    source: str = "the scenario",
    max_rounds: int = 6,
    tolerance: float = 0.02,
    progress: Callable[[str], None] | None = None,
) -> GameAnswer:
    """Play the game from `start` without the shock and, if there is one, with it."""
    shock = shock or {}
    players = check_game(scenario, start, shock, source)
    seeds = seeds or [scenario.seed]
    game = Game(scenario, start, players, seeds)
    settings = {"max_rounds": max_rounds, "tolerance": tolerance, "progress": progress}
    calm = game.play(**settings)
    shocked = game.play(shock, **settings) if shock else None
    return GameAnswer(scenario, start, shock, players, calm, shocked, seeds)
