"""The weighted posterior: known answers in closed form, priors, predictive checks and evidence.

The calibration reads each tolerance as one standard deviation of the error, so a figure
y = x1 fitted to 0.4 (tolerance 0.1) under a uniform prior has the posterior normal(0.4, 0.1),
and under a normal(0.6, 0.1) prior normal(0.5, 0.1 / sqrt 2). The weighted candidates must
match these; a parameter that moves nothing keeps its prior; a rival model that cannot reach
the figure has far less evidence.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import in_process_client
from scipy import stats

from sim.calibrate import calibrate
from sim.calibrate.posterior import parameter_log_prior, predictive_percentile, weighted_quantiles
from sim.calibrate.proposals import KernelProposal, UniformBox
from sim.calibrate.spec import FreeParameter
from sim.scenario.loading import ScenarioError

client = pytest.fixture(scope="module")(in_process_client)
pytestmark = pytest.mark.xdist_group("calibration")


def _line(
    folder: Path,
    client,
    model: str = "line",
    prior: dict | None = None,
    tolerance: float = 0.1,
    search: dict | None = None,
    ensemble: dict | None = None,
):
    x1 = {"low": 0.0, "high": 1.0, **({"prior": prior} if prior else {})}
    spec = {
        "name": f"{model}-{'prior' if prior else 'flat'}",
        "model": model,
        "parameters": {"x1": x1, "x2": {"low": 0.0, "high": 1.0}},
        "targets": {"values": {"y": {"value": 0.4, "tolerance": tolerance}}},
        "search": search or {"initial": 128, "budget": 16, "batch": 16},
        "ensemble": ensemble or {"rounds": 3, "per_round": 256, "cutoff": 2.0},
    }
    path = folder / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return calibrate(path, folder / spec["name"], client=client, progress=False)


@pytest.fixture(scope="module")
def flat(client, tmp_path_factory):
    return _line(tmp_path_factory.mktemp("flat"), client)


@pytest.fixture(scope="module")
def informed(client, tmp_path_factory):
    return _line(tmp_path_factory.mktemp("informed"), client, prior={"dist": "normal", "mean": 0.6, "sd": 0.1})


@pytest.fixture(scope="module")
def narrow(client, tmp_path_factory):
    """y = x1 fitted to 0.4 within 0.01: a posterior a hundredth of the box wide, which few Sobol' points hit."""
    search = {"initial": 64, "budget": 0, "batch": 16}
    ensemble = {"rounds": 0, "posterior_rounds": 4, "per_round": 128, "cutoff": 2.0}
    return _line(tmp_path_factory.mktemp("narrow"), client, tolerance=0.01, search=search, ensemble=ensemble)


def _moments(result, name: str) -> tuple[float, float]:
    row = result.posterior.summary(result.evaluations, result.calibration).set_index("parameter").loc[name]
    return float(row["mean"]), float(row["sd"])


def test_under_a_flat_prior_the_weighted_candidates_match_the_closed_form_posterior(flat):
    mean, sd = _moments(flat, "x1")
    assert mean == pytest.approx(0.4, abs=0.02)
    assert sd == pytest.approx(0.1, abs=0.015)
    assert flat.posterior.ess >= 100


def test_a_parameter_that_moves_nothing_keeps_its_prior(flat):
    mean, sd = _moments(flat, "x2")
    assert mean == pytest.approx(0.5, abs=0.04)
    assert sd == pytest.approx(1 / math.sqrt(12), abs=0.03)


def test_a_normal_prior_pulls_the_posterior_to_the_precision_weighted_mean(informed):
    mean, sd = _moments(informed, "x1")
    assert mean == pytest.approx(0.5, abs=0.02)
    assert sd == pytest.approx(0.1 / math.sqrt(2), abs=0.012)


def test_the_ensemble_carries_weights_that_sum_to_one(flat):
    weights = flat.ensemble["weight"]
    assert weights.sum() == pytest.approx(1.0)
    assert (weights >= 0).all()
    assert "Posterior" in (flat.folder / "fit.md").read_text(encoding="utf-8")


def test_a_fitted_figure_the_model_reproduces_sits_inside_its_predictive_distribution(flat):
    row = flat.verdicts.table.set_index("figure").loc["y: value"]
    assert 0.3 < row["percentile"] < 0.7
    assert not row["outside"]


def test_the_evidence_is_the_closed_form_integral_of_the_likelihood(flat):
    """With a flat prior on [0, 1], p(y | model) = integral of exp(-(x1 - 0.4)^2 / (2 * 0.1^2)) dx1."""
    assert flat.posterior.log_evidence == pytest.approx(math.log(0.1 * math.sqrt(2 * math.pi)), abs=0.05)


def test_the_evidence_prefers_the_model_that_can_reach_the_figure(flat, client, tmp_path):
    rival = _line(tmp_path, client, model="shifted_line")  # y = 0.7 + x1 reaches 0.4 only 3 sd away
    expected = math.log(0.1 * math.sqrt(2 * math.pi) * stats.norm.sf(3.0))
    assert rival.posterior.log_evidence == pytest.approx(expected, abs=0.15)
    assert flat.posterior.log_evidence - rival.posterior.log_evidence > math.log(100)  # a Bayes factor above 100
    assert rival.verdicts.table.set_index("figure").loc["y: value", "outside"]  # it cannot reproduce y = 0.4


def test_posterior_rounds_gather_an_effective_sample_where_a_narrow_posterior_lies(narrow):
    rounds = narrow.posterior.rounds.set_index("stage")
    assert rounds.loc["before the posterior rounds", "ess"] < 10  # the space-filling points alone rest on a few
    assert narrow.posterior.ess >= 100
    mean, sd = _moments(narrow, "x1")
    assert mean == pytest.approx(0.4, abs=0.003)
    assert sd == pytest.approx(0.01, rel=0.15)
    assert narrow.posterior.log_evidence == pytest.approx(math.log(0.01 * math.sqrt(2 * math.pi)), abs=0.1)


def test_posterior_rounds_temper_first_and_draw_round_the_posterior_itself_at_the_end(narrow):
    temperatures = narrow.posterior.rounds["temperature"].dropna().tolist()
    assert temperatures[0] > 1  # too few effective sets at first: the kernel is built on a widened posterior
    assert temperatures == sorted(temperatures, reverse=True)
    assert temperatures[-1] == 1
    assert "Posterior rounds" in (narrow.folder / "fit.md").read_text(encoding="utf-8")


# --- the pieces ------------------------------------------------------------------------------------


def test_a_truncated_kernel_is_a_density_on_the_box():
    rng = np.random.default_rng(0)
    points = rng.normal(0.1, 0.05, size=(50, 2)) % 1.0  # near an edge: much of the kernel lies outside
    proposal = KernelProposal(stats.gaussian_kde(points.T, bw_method=math.sqrt(2.0)))
    draws = proposal.draw(500, rng)
    assert ((draws >= 0) & (draws <= 1)).all() and len(draws) == 500
    grid = (np.stack(np.meshgrid(*[np.linspace(0.0025, 0.9975, 200)] * 2), axis=-1)).reshape(-1, 2)
    assert np.exp(proposal.logpdf(grid)).mean() == pytest.approx(1.0, abs=0.03)  # integrates to one
    assert np.exp(UniformBox(2).logpdf(grid)).mean() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "prior",
    [
        {"dist": "uniform"},
        {"dist": "normal", "mean": 3.0, "sd": 2.0},
        {"dist": "lognormal", "median": 2.0, "sigma": 0.7},
        {"dist": "beta", "a": 2.0, "b": 5.0},
    ],
)
@pytest.mark.parametrize("scale", ["linear", "log"])
def test_every_prior_is_a_density_on_the_unit_coordinate(prior, scale):
    spec = FreeParameter(low=0.5, high=8.0, scale=scale, prior=prior)
    unit = np.linspace(0.0005, 0.9995, 1000)
    assert np.exp(parameter_log_prior(spec, unit)).mean() == pytest.approx(1.0, abs=0.01)
    assert parameter_log_prior(spec, np.array([-0.1, 1.1])).tolist() == [-np.inf, -np.inf]


@pytest.mark.parametrize(
    ("prior", "phrase"),
    [
        ({"dist": "normal", "mean": 1.0}, "needs mean and sd"),
        ({"dist": "beta", "a": 1.0, "b": 2.0, "sd": 1.0}, "takes a and b, not sd"),
        ({"dist": "gamma"}, "uniform"),
    ],
)
def test_an_incomplete_or_unknown_prior_is_refused_naming_what_it_needs(tmp_path, prior, phrase):
    from sim.calibrate import load_calibration

    spec = {
        "model": "line",
        "parameters": {"x1": {"low": 0.0, "high": 1.0, "prior": prior}},
        "targets": {"values": {"y": {"value": 0.4, "tolerance": 0.1}}},
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_calibration(path)
    assert phrase in str(caught.value) and "parameters.x1.prior" in str(caught.value)


def test_weighted_quantiles_and_the_predictive_percentile():
    values, weights = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.1, 0.1, 0.1, 0.7])
    assert weighted_quantiles(values, weights, [0.05, 0.5, 0.95]) == [1.0, 4.0, 4.0]
    assert predictive_percentile(np.array([0.0]), np.array([1.0])) == pytest.approx(0.5)
    assert predictive_percentile(np.array([3.0]), np.array([1.0])) < 0.01  # the model overshoots the figure


# --- comparing variants ------------------------------------------------------------------------------


def _variant(folder: Path, name: str, model: str, value: float = 0.4) -> str:
    spec = {
        "name": name,
        "model": model,
        "parameters": {"x1": {"low": 0.0, "high": 1.0}, "x2": {"low": 0.0, "high": 1.0}},
        "targets": {"values": {"y": {"value": value, "tolerance": 0.1}}},
        "search": {"initial": 64, "budget": 16, "batch": 16},
        "ensemble": {"rounds": 2, "per_round": 128, "cutoff": 2.0},
    }
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return f"{name}.yaml"


def test_a_comparison_picks_the_variant_that_made_the_figures(tmp_path, capsys):
    """y = 0.4 is what `line` gives at x1 = 0.4; `shifted_line` cannot give less than 0.7."""
    from sim.cli import main

    files = {"line": _variant(tmp_path, "a", "line"), "shifted": _variant(tmp_path, "b", "shifted_line")}
    compare_file = tmp_path / "compare.yaml"
    compare_file.write_text(yaml.safe_dump({"name": "lines", "compare": files}), encoding="utf-8")
    code = main(["calibrate", str(compare_file), "--out", str(tmp_path / "out"), "--workers", "1"])
    said = capsys.readouterr().out
    assert code == 0
    assert "The figures prefer 'line' over 'shifted'" in said
    report = (tmp_path / "out" / "compare.md").read_text(encoding="utf-8")
    assert "decisive" in report and (tmp_path / "out" / "line" / "fit.md").exists()


def test_variants_fitted_to_different_figures_are_refused_before_anything_runs(tmp_path, capsys):
    from sim.cli import main

    files = {"line": _variant(tmp_path, "a", "line"), "other": _variant(tmp_path, "b", "line", value=0.5)}
    compare_file = tmp_path / "compare.yaml"
    compare_file.write_text(yaml.safe_dump({"compare": files}), encoding="utf-8")
    code = main(["calibrate", str(compare_file), "--out", str(tmp_path / "out")])
    said = capsys.readouterr().err
    assert code == 2
    assert "compare.other" in said and "only on the same figures" in said
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["compare", "compare_gravity"])
def test_the_shipped_compare_files_name_variants_that_fit_the_same_figures(name):
    from conftest import SCENARIOS

    from sim.calibrate.compare import load_comparison

    comparison = load_comparison(SCENARIOS / "calibration" / f"{name}.yaml")
    assert len(comparison.variants) >= 2


@pytest.mark.parametrize("name", ["large_accounts_off", "gravity_all_tokens", "gravity_external_tokens"])
def test_a_competing_explanation_frees_the_baselines_parameters_and_searches_alike(name):
    """Evidence compares mechanisms only when the rest is equal: the same free parameters (less
    the switched-off channel's weight), priors, search and posterior rounds as the baseline's file."""
    from conftest import SCENARIOS

    from sim.calibrate.spec import load_calibration

    baseline = load_calibration(SCENARIOS / "calibration" / "baseline.yaml").spec
    variant = load_calibration(SCENARIOS / "calibration" / f"{name}.yaml").spec
    expected = {k: v for k, v in baseline.parameters.items()}
    if name == "large_accounts_off":
        del expected["enterprises.large_accounts.volume_weight"]
    assert variant.parameters == expected
    assert (variant.search, variant.ensemble, variant.seeds) == (baseline.search, baseline.ensemble, baseline.seeds)


def test_an_ensemble_what_if_weighs_each_set_by_its_posterior_weight():
    """Two sets say lower, two say higher; the two saying higher hold 90 % of the weight."""
    from conftest import SCENARIOS

    import sim
    from sim.whatif.ensemble import ensemble_sentence, summarize_sets

    effects = np.array([-0.02, -0.01, 0.01, 0.03]).reshape(4, 1, 1, 1) * np.ones((4, 5, 1, 1))
    weights = np.array([0.05, 0.05, 0.45, 0.45])
    table = summarize_sets(np.zeros_like(effects), effects, ["2026-12"], ["volcano"], 0.9, weights)
    row = next(table[table["metric"] == "token_share"].itertuples())
    assert row.difference == pytest.approx(0.01) and row.agree == 2 and row.agree_weight == pytest.approx(0.9)
    sentence = ensemble_sentence(row, "2026-12", sim.load_scenario(SCENARIOS / "baseline.yaml"), 0.9)
    assert sentence.startswith("In 2 of 4 plausible parameter sets (90 % of the posterior weight)")
    assert "do not decide" not in sentence
    unweighted = next(summarize_sets(np.zeros_like(effects), effects, ["2026-12"], ["volcano"], 0.9).itertuples())
    assert unweighted.difference == 0.0 and unweighted.higher == unweighted.lower == 2  # unweighted: no sign


def always_fails(values: dict[str, float], seed: int) -> dict[str, float]:
    """A model that cannot run anywhere in its box."""
    raise ValueError("no run possible")


def test_a_calibration_whose_every_candidate_fails_still_writes_its_report(client, tmp_path):
    spec = {
        "name": "fails",
        "model": "test_posterior:always_fails",
        "parameters": {"x1": {"low": 0.0, "high": 1.0}},
        "targets": {"values": {"y": {"value": 0.4, "tolerance": 0.1}}},
        "search": {"initial": 8, "budget": 0, "batch": 8},
        "ensemble": {"rounds": 1, "per_round": 8},
    }
    path = tmp_path / "fails.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = calibrate(path, tmp_path / "out", client=client, progress=False)
    assert result.best is None and result.posterior.ess == 0.0
    assert "# Calibration fails" in (tmp_path / "out" / "fit.md").read_text(encoding="utf-8")


def test_posterior_weights_resting_on_a_handful_of_sets_are_not_used_and_the_answer_says_so():
    import pandas as pd

    from sim.whatif.ensemble import MIN_EFFECTIVE_SETS, set_weights

    peaked = pd.DataFrame({"weight": [0.97] + [0.03 / 49] * 49})
    weights, said = set_weights(peaked)
    assert weights is None and f"fewer than {MIN_EFFECTIVE_SETS}" in said
    spread = pd.DataFrame({"weight": np.linspace(1.0, 2.0, 50)})
    weights, said = set_weights(spread)
    assert weights is not None and weights.sum() == pytest.approx(1.0) and "effective sets" in said


def test_a_what_if_draws_its_sets_from_the_posterior_in_proportion_to_their_weights():
    import pandas as pd

    from sim.whatif.ensemble import choose_sets, set_weights

    weights = np.r_[np.full(10, 6.0), np.full(90, 0.5)]  # ten sets carry 57 % of the weight
    ensemble = pd.DataFrame({"set": range(100), "weight": weights / weights.sum()})
    chosen = choose_sets(ensemble, 50)
    heavy = chosen[chosen["set"] < 10]
    assert heavy["draws"].sum() == pytest.approx(50 * 60 / 105, abs=1)  # systematic resampling: off by one at most
    assert chosen["draws"].sum() == 50
    share, said = set_weights(chosen)
    assert share.sum() == pytest.approx(1.0) and "50 draws from the posterior" in said
    assert choose_sets(ensemble, 50).equals(chosen)  # deterministic


def test_without_usable_weights_a_what_if_spreads_its_sets_evenly():
    import pandas as pd

    from sim.whatif.ensemble import choose_sets

    peaked = pd.DataFrame({"set": range(100), "weight": [0.99] + [0.01 / 99] * 99})
    chosen = choose_sets(peaked, 10)
    assert "draws" not in chosen and chosen["set"].tolist() == [0, 11, 22, 33, 44, 55, 66, 77, 88, 99]


def test_the_linear_emulator_recovers_a_linear_figure_and_the_gaussian_posterior_it_implies():
    import pandas as pd

    from sim.calibrate.emulator import fit_emulator, held_back_accuracy

    rng = np.random.default_rng(3)
    units = rng.random((300, 2))
    history = pd.DataFrame({"candidate": range(300), "unit.x1": units[:, 0], "unit.x2": units[:, 1]})
    history["z.y"] = (history["unit.x1"] - 0.4) / 0.01  # y = x1 fitted to 0.4 within 0.01; x2 moves nothing
    history["distance"] = history["z.y"] ** 2
    emulator = fit_emulator(history.iloc[:200], ["x1", "x2"], {"z.y": 1.0})
    mean, covariance = emulator.gaussian()
    assert mean[0] == pytest.approx(0.4, abs=1e-3)
    assert math.sqrt(covariance[0, 0]) == pytest.approx(0.01, rel=0.01)
    assert math.sqrt(covariance[1, 1]) == pytest.approx(1 / math.sqrt(12), rel=0.01)  # only the weak prior
    assert held_back_accuracy(emulator, history.iloc[200:], ["x1", "x2"]) == pytest.approx(1.0, abs=1e-9)


def test_a_mixture_of_truncated_densities_is_a_density_on_the_box():
    from sim.calibrate.emulator import StudentProposal
    from sim.calibrate.proposals import MixtureProposal

    mixture = MixtureProposal([UniformBox(2), StudentProposal(np.array([0.9, 0.5]), np.eye(2) * 0.04)], [0.3, 0.7])
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 201), np.linspace(0, 1, 201)), -1).reshape(-1, 2)
    assert np.exp(mixture.logpdf(grid)).mean() == pytest.approx(1.0, abs=0.02)
    draws = mixture.draw(1000, np.random.default_rng(0))
    assert len(draws) == 1000 and ((draws >= 0) & (draws <= 1)).all()


def test_an_emulator_that_extrapolates_out_of_the_box_is_not_drawn_from():
    """Figures that all candidates miss the same way put the emulated best fit far outside the
    box; the posterior round then draws from its kernel alone instead of failing."""
    import pandas as pd

    from sim.calibrate.emulator import emulated_proposal

    rng = np.random.default_rng(5)
    units = rng.random((200, 2))
    history = pd.DataFrame({"candidate": range(200), "unit.x1": units[:, 0], "unit.x2": units[:, 1]})
    history["z.y"] = (history["unit.x1"] - 40.0) / 0.5  # the figure would need x1 = 40, far past the bound of 1
    history["distance"] = history["z.y"] ** 2
    assert emulated_proposal(history, ["x1", "x2"], {"z.y": 1.0}) is None
    history["z.y"] = (history["unit.x1"] - 0.4) / 0.05
    history["distance"] = history["z.y"] ** 2
    assert emulated_proposal(history, ["x1", "x2"], {"z.y": 1.0}) is not None
