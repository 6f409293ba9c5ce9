"""Best-response iteration on continuous decisions: a generic solver, tested on games with known answers.

Each player has one decision in an interval (for vendors: the log of a price multiplier). A
player's best response holds the others fixed and maximises its own payoff: a coarse grid
over the interval, then scipy's bounded Brent search round the best grid point (payoffs are
simulated, so the grid guards against a local optimum). Gauss-Seidel iteration: players
respond in turn, each seeing the others' latest decisions, with damping (move part of the
way towards the best response). The path stops when a full round moves no decision by more
than `tolerance` (converged), when it returns to a point it visited before (a cycle, as in
Edgeworth price cycles: its length is reported), or after `max_rounds`.

At the end each player's regret is what it could still gain by its best response against
the others' final decisions: near zero at an equilibrium.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

Payoffs = Callable[[dict[str, float]], dict[str, float]]


@dataclass
class Path:
    """The response path: decisions after each round, and how it ended."""

    rounds: list[dict[str, float]] = field(default_factory=list)
    converged: bool = False
    cycle: int | None = None  # rounds in a cycle, when the path came back to an earlier point
    regret: dict[str, float] = field(default_factory=dict)
    payoffs: dict[str, float] = field(default_factory=dict)
    evaluations: int = 0

    @property
    def decisions(self) -> dict[str, float]:
        return self.rounds[-1]

    @property
    def status(self) -> str:
        if self.converged:
            return "converged"
        if self.cycle:
            return f"cycles every {self.cycle} rounds"
        return "did not converge"


class CachedPayoffs:
    """Payoffs of decision profiles, each simulated once (profiles are rounded to `resolution`)."""

    def __init__(self, payoffs: Payoffs, resolution: float = 1e-4) -> None:
        self.payoffs, self.resolution = payoffs, resolution
        self.cache: dict[tuple, dict[str, float]] = {}

    def __call__(self, decisions: dict[str, float]) -> dict[str, float]:
        key = tuple(sorted((p, round(x / self.resolution)) for p, x in decisions.items()))
        if key not in self.cache:
            self.cache[key] = self.payoffs(dict(decisions))
        return self.cache[key]


def best_response(
    player: str,
    decisions: dict[str, float],
    bounds: tuple[float, float],
    payoffs: Callable,
    grid: int,
    tolerance: float,
) -> tuple[float, float]:
    """The player's payoff-maximising decision against the others' (and the payoff there)."""

    def value(x: float) -> float:
        return payoffs({**decisions, player: float(x)})[player]

    low, high = bounds
    points = np.linspace(low, high, grid)
    values = [value(x) for x in points]
    best = int(np.argmax(values))
    left, right = points[max(best - 1, 0)], points[min(best + 1, grid - 1)]
    found = optimize.minimize_scalar(
        lambda x: -value(x), bounds=(left, right), method="bounded", options={"xatol": tolerance / 4, "maxiter": 20}
    )
    if -found.fun >= values[best]:
        return float(found.x), float(-found.fun)
    return float(points[best]), float(values[best])


def response_path(
    players: Sequence[str],
    bounds: dict[str, tuple[float, float]],
    payoffs: Payoffs,
    start: dict[str, float],
    *,
    damping: float = 1.0,
    tolerance: float = 0.02,
    max_rounds: int = 8,
    grid: int = 9,
    fixed: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Iterate best responses (Gauss-Seidel, damped) from `start`; `fixed` decisions never move."""
    cached = CachedPayoffs(lambda d: payoffs({**d, **(fixed or {})}))
    decisions = dict(start)
    path = Path(rounds=[dict(decisions)])
    for number in range(1, max_rounds + 1):
        moved = 0.0
        for player in players:
            target, _ = best_response(player, decisions, bounds[player], cached, grid, tolerance)
            step = damping * (target - decisions[player])
            decisions[player] += step
            moved = max(moved, abs(step))
            if progress:
                progress(f"round {number}: {player} -> {decisions[player]:+.3f}")
        path.rounds.append(dict(decisions))
        if moved <= tolerance:
            path.converged = True
            break
        path.cycle = _cycle(path.rounds, tolerance)
        if path.cycle:
            break
    path.payoffs = cached(decisions)
    for player in players:
        _, best = best_response(player, decisions, bounds[player], cached, grid, tolerance)
        path.regret[player] = max(0.0, best - path.payoffs[player])
    path.evaluations = len(cached.cache)
    return path


def _cycle(rounds: list[dict[str, float]], tolerance: float) -> int | None:
    """Rounds since the path last stood where it stands now (not counting the round before)."""
    now = rounds[-1]
    for back in range(2, len(rounds)):
        earlier = rounds[-1 - back]
        if all(abs(now[p] - earlier[p]) <= tolerance for p in now):
            return back
    return None
