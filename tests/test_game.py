"""Strategic vendors: the best-response solver on games with known answers, then on the market.

Theory first: a symmetric logit duopoly with constant marginal cost reaches the Bertrand-Nash
markup p - c = 1 / (alpha (1 - s)); a game whose best responses chase each other round is
reported as a cycle, and damping settles it; identical players choose alike; at the computed
equilibrium no player gains by deviating.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.game.solver import response_path

ALPHA, COST = 2.0, 1.0


def logit_duopoly(decisions: dict[str, float]) -> dict[str, float]:
    """Profit (p - c) * s of two firms whose buyers choose by a logit on price, no outside option."""
    p = np.array([decisions["a"], decisions["b"]])
    shares = np.exp(-ALPHA * p) / np.exp(-ALPHA * p).sum()
    return {"a": (p[0] - COST) * shares[0], "b": (p[1] - COST) * shares[1]}


def test_a_symmetric_logit_duopoly_reaches_the_bertrand_nash_markup():
    bounds = {player: (COST, COST + 5.0) for player in "ab"}
    path = response_path("ab", bounds, logit_duopoly, {"a": 1.2, "b": 4.0}, tolerance=1e-3, max_rounds=30)
    markup = 1.0 / (ALPHA * (1 - 0.5))
    assert path.converged
    assert path.decisions["a"] - COST == pytest.approx(markup, abs=0.01)
    assert path.decisions["b"] == pytest.approx(path.decisions["a"], abs=0.01)  # identical firms, identical prices


def test_at_the_computed_equilibrium_no_player_gains_by_deviating():
    bounds = {player: (COST, COST + 5.0) for player in "ab"}
    path = response_path("ab", bounds, logit_duopoly, {"a": 2.0, "b": 2.0}, tolerance=1e-3, max_rounds=30)
    assert max(path.regret.values()) < 1e-4
    for deviation in (-0.3, -0.05, 0.05, 0.3):
        deviated = logit_duopoly({**path.decisions, "a": path.decisions["a"] + deviation})
        assert deviated["a"] <= path.payoffs["a"] + 1e-9


def chasing(decisions: dict[str, float]) -> dict[str, float]:
    """x wants to match y; y wants to be the opposite of x: best responses go round."""
    x, y = decisions["x"], decisions["y"]
    return {"x": -((x - y) ** 2), "y": -((y + x) ** 2)}


def test_best_responses_that_chase_each_other_are_reported_as_a_cycle_and_damping_settles_them():
    bounds = {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}
    cycling = response_path("xy", bounds, chasing, {"x": 0.5, "y": 0.5}, tolerance=1e-3, max_rounds=10)
    assert not cycling.converged and cycling.cycle == 2
    assert cycling.status == "cycles every 2 rounds"
    damped = response_path("xy", bounds, chasing, {"x": 0.5, "y": 0.5}, damping=0.5, tolerance=1e-3, max_rounds=60)
    assert damped.converged and math.isclose(damped.decisions["x"], 0.0, abs_tol=0.01)


def test_a_fixed_player_never_moves_and_the_others_respond_to_it():
    bounds = {player: (COST, COST + 5.0) for player in "ab"}
    path = response_path("b", bounds, logit_duopoly, {"a": 1.1, "b": 3.0}, fixed={"a": 1.1}, tolerance=1e-3)
    assert path.decisions["a"] == 1.1
    assert path.decisions["b"] < 3.0  # the rival's low price pulls b's best response down


# --- on the market --------------------------------------------------------------------------------

TINY = ["agents.developers=3000", "agents.enterprises=800"]


def test_continuing_a_shared_past_gives_the_same_run_as_simulating_from_the_start():
    import pandas as pd
    from conftest import SCENARIOS

    import sim
    from sim.game.market import Continuation, with_prices

    scenario = sim.load_scenario(SCENARIOS / "strategic.yaml", TINY)
    prices = {"alibaba": 2.0, "volcano": 0.5}
    continued = Continuation(scenario, "2026-01", seed=3).run(prices)
    from_start = sim.run(with_prices(scenario, "2026-01", prices), seed=3)
    pd.testing.assert_frame_equal(continued.trajectories, from_start.trajectories, check_exact=True)


def _alone(objective: str):
    """Volcano the only strategic vendor, with the given objective (YAML), from Jan 2026."""
    from conftest import SCENARIOS

    import sim
    from sim.game.market import play_game

    sets = [f"vendors.{v}.strategy=null" for v in ("alibaba", "baidu", "tencent", "huawei", "others")]
    sets.append(f"vendors.volcano.strategy={{objective: {objective}}}")
    scenario = sim.load_scenario(SCENARIOS / "strategic.yaml", TINY + sets)
    return play_game(scenario, "2026-01", max_rounds=1, tolerance=0.05)


def test_a_share_maximiser_prices_below_a_profit_maximiser():
    share = _alone("{token_share: 1.0}")
    profit = _alone("{profit: 1.0}")
    assert share.calm.multipliers["volcano"] < 0.5 * profit.calm.multipliers["volcano"]
    assert share.calm.path.regret["volcano"] < 0.01 and profit.calm.path.regret["volcano"] < 0.01


@pytest.mark.parametrize(
    ("arguments", "phrase"),
    [
        (["scenarios/baseline.yaml", "--from", "2026-01"], "no vendor has a strategy"),
        (["scenarios/strategic.yaml", "--from", "2030-01"], "--from: 2030-01: expected a month after 2024-01"),
        (["scenarios/strategic.yaml", "--from", "2026-01", "--shock", "volcano=120%"], "--shock: volcano=120%"),
        (["scenarios/strategic.yaml", "--from", "2026-01", "--shock", "nobody=50%"], "unknown vendor"),
    ],
)
def test_a_game_that_cannot_be_played_exits_2_saying_why_and_writes_nothing(arguments, phrase, tmp_path, capsys):
    from conftest import ROOT

    from sim.cli import main

    arguments = [str(ROOT / arguments[0]), *arguments[1:], "--out", str(tmp_path / "game")]
    assert main(["game", *arguments]) == 2
    assert phrase in capsys.readouterr().err
    assert not (tmp_path / "game").exists()
