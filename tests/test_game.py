"""Strategic vendors: the best-response solver on games with known answers, then on the market.

Theory first: a symmetric logit duopoly with constant marginal cost reaches the Bertrand-Nash
markup p - c = 1 / (alpha (1 - s)); a binding capacity limit raises both equilibrium prices to
their closed form; a game whose best responses chase each other round is
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


def capacity_duopoly(capacity: float):
    """The logit duopoly in which firm a can serve at most `capacity` of the market (b serves the rest it wins)."""

    def payoffs(decisions: dict[str, float]) -> dict[str, float]:
        unconstrained = logit_duopoly(decisions)
        p_a = decisions["a"]
        share_a = unconstrained["a"] / (p_a - COST) if p_a != COST else 0.5
        return {"a": (p_a - COST) * min(share_a, capacity), "b": unconstrained["b"]}

    return payoffs


@pytest.mark.parametrize(("capacity", "binds"), [(0.3, True), (0.9, False)])
def test_a_binding_capacity_limit_raises_the_equilibrium_price(capacity, binds):
    """Closed form when a's limit K binds: a prices so that its share is K, b's markup is 1 / (alpha K);
    a limit above a's share at the unconstrained equilibrium changes nothing (both sides tested)."""
    bounds = {player: (COST, COST + 5.0) for player in "ab"}
    path = response_path("ab", bounds, capacity_duopoly(capacity), {"a": 2.0, "b": 2.0}, tolerance=1e-4,
                         max_rounds=40)  # fmt: skip
    unconstrained = COST + 1.0 / (ALPHA * 0.5)
    assert path.converged
    if binds:
        p_b = COST + 1.0 / (ALPHA * capacity)
        p_a = p_b + math.log((1 - capacity) / capacity) / ALPHA
        assert path.decisions["b"] == pytest.approx(p_b, abs=0.01)
        assert path.decisions["a"] == pytest.approx(p_a, abs=0.01)
        assert min(path.decisions.values()) > unconstrained + 0.5
    else:
        assert path.decisions["a"] == pytest.approx(unconstrained, abs=0.01)
        assert path.decisions["b"] == pytest.approx(unconstrained, abs=0.01)


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


def test_a_strategic_vendor_with_a_reactive_rule_sets_its_own_price_from_the_games_month():
    """Baidu's match_cheapest would otherwise overwrite its decision: its multiple is of the price it posted."""
    from conftest import SCENARIOS

    import sim
    from sim.game.market import Continuation

    scenario = sim.load_scenario(SCENARIOS / "strategic.yaml", [*TINY, "months=26"])
    assert scenario.vendors["baidu"].pricing, "the check needs a vendor with a reactive policy"
    continuation = Continuation(scenario, "2026-01", seed=3)
    posted = continuation.run({}).wide("price")["baidu"]
    chosen = continuation.run({"baidu": 0.1}).wide("price")["baidu"]
    assert chosen["2026-01"] == pytest.approx(0.1 * posted["2025-12"], rel=1e-12)
    assert chosen["2026-02"] == pytest.approx(0.1 * posted["2025-12"], rel=1e-12)


# --- what-ifs in which strategic vendors respond ---------------------------------------------------

RESPONDING = ["--both", "months=26", "--both", "agents.developers=1500", "--both", "agents.enterprises=400"]
RESPONDING += [f"--both=vendors.{v}.strategy=null" for v in ("tencent", "huawei", "others")]


def test_rivals_respond_to_a_cut_on_both_sides_and_every_output_says_who_followed(tmp_path, capsys):
    import json

    from conftest import SCENARIOS

    from sim.cli import main

    folder = tmp_path / "whatif"
    arguments = [str(SCENARIOS / "strategic.yaml"), "--price-cut", "volcano=99%@2026-01", "--respond", "rivals",
                 "--rounds", "1", "--replicates", "2", "--workers", "1", "--out", str(folder), *RESPONDING]  # fmt: skip
    assert main(["whatif", *arguments]) == 0
    said = capsys.readouterr().out
    assert "Rivals responded: alibaba, baidu re-optimised their token price from 2026-01" in said
    assert "Response paths: without the change" in said
    record = json.loads((folder / "whatif.json").read_text())["respond"]
    assert record["players"] == ["alibaba", "baidu"]  # volcano, named by the cut, follows its timeline
    assert record["baseline"]["status"] in ("converged", "did not converge")
    before, after = record["baseline"]["multipliers"], record["whatif"]["multipliers"]
    moved = {v: after[v] / before[v] - 1 for v in before}
    assert record["followers"] == {v: m for v, m in moved.items() if abs(m) > 0.1}
    report = (folder / "whatif.md").read_text()
    assert "## Responses" in report and "Rivals responded" in report and "Response paths" in report


@pytest.mark.parametrize(
    ("scenario", "extra", "phrase"),
    [
        ("baseline.yaml", ["--respond", "rivals"], "--respond: rivals: expected a scenario with strategic vendors"),
        ("strategic.yaml", ["--respond", "sideways"], "--respond: sideways: expected one of rivals, all"),
        ("strategic.yaml", ["--respond", "rivals", "--ensemble", "data/ensembles/baseline"], "expected no --ensemble"),
    ],
)
def test_a_response_that_cannot_be_played_exits_2_in_one_line_and_writes_nothing(
    scenario, extra, phrase, tmp_path, capsys
):
    from conftest import ROOT

    from sim.cli import main

    arguments = [str(ROOT / "scenarios" / scenario), "--price-cut", "volcano=99%@2026-01", *extra,
                 "--out", str(tmp_path / "whatif")]  # fmt: skip
    assert main(["whatif", *arguments]) == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "whatif").exists()


def test_rivals_of_a_cut_by_every_vendor_are_nobody_and_the_message_says_so():
    from conftest import SCENARIOS

    import sim
    from sim.scenario.loading import ScenarioError
    from sim.whatif import Changes
    from sim.whatif.respond import check_respond

    scenario = sim.load_scenario(SCENARIOS / "strategic.yaml", TINY)
    with pytest.raises(ScenarioError, match="no rival is left to respond"):
        check_respond(scenario, Changes(price_cuts=["all=99%@2026-01"]), "rivals")
    players, start = check_respond(scenario, Changes(switching_costs=["-50%@2025-06"]), "all")
    assert start == "2025-06" and players == list(scenario.vendors)


# --- the app's Strategy page, without a browser ----------------------------------------------------


def test_the_strategy_page_answers_in_words_and_warns_of_every_path_that_did_not_converge(monkeypatch):
    from conftest import SCENARIOS

    from sim.app import strategy
    from sim.app.app_settings import SCENARIOS_ENV

    monkeypatch.setenv(SCENARIOS_ENV, str(SCENARIOS))
    chosen = strategy.Settings(vendor="alibaba", objective="token share", shock_vendor="volcano", rounds=1)
    assert chosen.problem() == ""
    extra = ("months=26", *(f"vendors.{v}.strategy=null" for v in ("tencent", "huawei", "others")))
    view = strategy.answer(chosen, extra=extra)
    text = " ".join(view.sentences)
    assert "With the shock" in text and "After volcano at 99 % off" in text
    assert ("did not converge" in text) == bool(view.unconverged)
    assert all("not an equilibrium" in line for line in view.unconverged)
    assert view.chart.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"shock_percent": 120.0}, "Price cut: expected more than 0 % and less than 100 %"),
        ({"month": "2026-13"}, "From month: expected a month as 'YYYY-MM'"),
        ({"rounds": 9}, "Rounds: expected 1 to 3"),
        ({"objective": "weights", "weights": (0.0, 0.0, 0.0)}, "Weights: expected numbers of at least 0, not all 0"),
    ],
)
def test_strategy_settings_that_cannot_run_name_the_field(change, phrase):
    from sim.app.strategy import Settings

    assert Settings(**change).problem().startswith(phrase)
