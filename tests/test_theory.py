"""Limits where theory has a closed form: the simulation must agree within sampling error.

Each check builds a stripped-down market from the baseline, so that only the mechanism
under test is at work, and compares with the formula. Tolerances are a few standard
errors of the sampling noise at the population size used, so they shrink as N grows.

The stripped market has no events, no reactive pricing, GPUs far beyond any demand (so
every stream is fully served), no first-party apps (headline tokens are API tokens), no
sellers outside the vendors, no enterprises buying (unless a check adds them), and
developers of size 1 (too small to self-host) with fixed tastes and no ecosystem or
reliability term.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS
from scipy.optimize import brentq

import sim

BASELINE = sim.load_scenario(SCENARIOS / "baseline.yaml")
VENDORS = tuple(BASELINE.vendors)
FAMILIES = tuple(BASELINE.families)
NO_FRICTIONS = (
    "developers.switching_cost=0",
    "developers.lock_in.weight=0",
    "developers.review_probability=1",
    "developers.initially_adopted=1",
)
# Prices and qualities that differ across vendors, so that the logit limit is not the even split.
PRICES = {"volcano": 0.02, "alibaba": 0.03, "baidu": 0.05, "tencent": 0.04, "huawei": 0.08, "others": 0.025}
QUALITIES = {"doubao": 0.2, "qwen": 0.5, "ernie": 0.0, "hunyuan": -0.3, "pangu": 0.4, "others": -0.5, "deepseek": 0.3}
assert set(PRICES) == set(VENDORS) and set(QUALITIES) == set(FAMILIES)
DIFFERENT_OFFERS = (
    *(f"vendors.{vendor}.price={price}" for vendor, price in PRICES.items()),
    *(f"families.{family}.quality={quality}" for family, quality in QUALITIES.items()),
)


def stripped(developers: int, *overrides: str) -> sim.Scenario:
    """The baseline reduced to developers choosing among vendors' APIs (see the module docstring)."""
    base = [
        f"agents.developers={developers}",
        "agents.enterprises=500",
        "events=[]",
        "developers.price_sensitivity={dist: fixed, value: 1.0}",
        "developers.quality_sensitivity={dist: fixed, value: 1.0}",
        "developers.size={dist: fixed, value: 1.0}",
        "developers.ecosystem_weight=0",
        "developers.reliability_weight=0",
        "developers.exit_rate=0",
        "developers.outside_option=null",
        "enterprises.initially_adopted=0",
        "enterprises.adoption_rate=0",
    ]
    for vendor in VENDORS:
        base += [f"vendors.{vendor}.pricing=[]", f"vendors.{vendor}.gpus=1.0e12", f"vendors.{vendor}.first_party=null"]
    return sim.load_scenario(SCENARIOS / "baseline.yaml", base + list(overrides))


def developer_shares(result: sim.RunResult) -> np.ndarray:
    """Share of adopted developers per vendor and month, [months, vendors]."""
    counts = result.wide("developers").to_numpy()
    return counts / counts.sum(axis=1, keepdims=True)


def api_qualities(scenario: sim.Scenario) -> np.ndarray:
    """Quality of each vendor's API: log-sum-exp over its own family and every open-weight family."""
    families = scenario.families.values()
    return np.array(
        [
            np.log(sum(np.exp(f.quality) for f in families if f.owner == vendor or f.open_weights))
            for vendor in scenario.vendors
        ]
    )


def mixed_logit_shares(scenario: sim.Scenario, beta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Each developer's logit probabilities over the vendors, [developers, vendors]."""
    log_price = np.log([v.price for v in scenario.vendors.values()])
    utilities = -np.outer(beta, log_price) + np.outer(gamma, api_qualities(scenario))
    weights = np.exp(utilities - utilities.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def expected_shares(scenario: sim.Scenario, seed: int) -> np.ndarray:
    """Per-developer logit probabilities for the tastes the model draws with this seed."""
    developers = sim.build_model(scenario, seed=seed).developers
    return mixed_logit_shares(
        scenario, developers.price_sensitivity.astype(float), developers.quality_sensitivity.astype(float)
    )


@pytest.mark.parametrize("developers", [2_000, 40_000])
def test_without_frictions_developer_shares_equal_mixed_logit_shares(developers):
    """With no switching cost, lock-in or ecosystem term, shares are the mixed-logit shares.

    Prices and qualities differ across vendors; price sensitivity is heterogeneous
    (log-normal), so the expected share of vendor j is the mean over developers of their
    logit probabilities. Every developer re-chooses every month, so monthly shares are
    independent draws around it, with standard error sqrt(sum_i p_ij (1 - p_ij)) / N.
    """
    scenario = stripped(
        developers,
        *NO_FRICTIONS,
        *DIFFERENT_OFFERS,
        "developers.price_sensitivity={dist: lognormal, median: 1.5, sigma: 0.5}",
        "months=12",
    )
    probabilities = expected_shares(scenario, seed=1)
    expected = probabilities.mean(axis=0)
    standard_error = np.sqrt((probabilities * (1 - probabilities)).sum(axis=0)) / developers
    shares = developer_shares(sim.run(scenario, seed=1))
    assert np.ptp(expected) > 0.1, "the offers differ enough for the check to mean something"
    assert np.all(np.abs(shares - expected) < 4.5 * standard_error)
    assert np.all(np.abs(shares.mean(axis=0) - expected) < 4.5 * standard_error / np.sqrt(len(shares)))


def test_an_open_weight_family_raises_every_hosts_api_quality_by_log_sum_exp():
    """Opening a family's weights lets every vendor's API sell it: shares follow the log-sum-exp quality."""
    developers, expected = 30_000, {}
    for open_weights in (False, True):
        case = stripped(
            developers,
            *NO_FRICTIONS,
            *DIFFERENT_OFFERS,
            "months=6",
            "families.qwen.open_weights=false",
            "families.deepseek.quality=1.0",
            f"families.deepseek.open_weights={open_weights}",
        )
        probabilities = expected_shares(case, seed=6)
        expected[open_weights] = probabilities.mean(axis=0)
        standard_error = np.sqrt((probabilities * (1 - probabilities)).sum(axis=0)) / developers
        shares = developer_shares(sim.run(case, seed=6))
        assert np.all(np.abs(shares - expected[open_weights]) < 4.5 * standard_error)
    # DeepSeek (1.0) lifts the vendors with weak own families and takes share from the strongest
    moved = expected[True] - expected[False]
    assert moved[VENDORS.index("others")] > 20 * np.sqrt(0.25 / developers)
    assert moved[VENDORS.index("alibaba")] < -20 * np.sqrt(0.25 / developers)


def test_logit_limit_error_shrinks_with_population():
    """The distance to the logit shares is sampling error: about 1 / sqrt(N)."""
    errors = []
    for developers in (1_000, 30_000):
        scenario = stripped(developers, *NO_FRICTIONS, *DIFFERENT_OFFERS, "months=12")
        expected = expected_shares(scenario, seed=2).mean(axis=0)
        shares = developer_shares(sim.run(scenario, seed=2))
        errors.append(np.sqrt(np.mean((shares - expected) ** 2)))
    assert errors[1] < errors[0] / 2  # sqrt(30) ~ 5.5 times smaller in expectation


def bass_curve(innovation: float, imitation: float, months: int) -> np.ndarray:
    """Discrete-time Bass diffusion: F(t+1) = F(t) + (p + q F(t)) (1 - F(t)), F(0) = 0."""
    adopted, curve = 0.0, []
    for _ in range(months):
        adopted += (innovation + imitation * adopted) * (1 - adopted)
        curve.append(adopted)
    return np.array(curve)


def test_adoption_with_a_constant_market_potential_follows_the_bass_curve():
    developers, potential = 60_000, 0.5
    scenario = stripped(
        developers,
        "developers.initially_adopted=0",
        f"developers.adoption.potential={potential}",
        "developers.adoption.potential_elasticity=0",
        "developers.adoption.innovation=0.02",
        "developers.adoption.imitation=0.4",
    )
    result = sim.run(scenario, seed=3)
    simulated = result.market["developers_adopted"].to_numpy() / (scenario.developers.population * potential)
    expected = bass_curve(0.02, 0.4, scenario.months)
    pool = developers * potential
    assert np.max(np.abs(simulated - expected)) < 5 * np.sqrt(0.25 / pool) + 0.01


def test_with_infinite_switching_cost_nobody_ever_switches_and_shares_never_change():
    """Every adopter keeps its vendor (and CIOs theirs) through a 99 % price cut by one vendor."""
    scenario = stripped(
        5_000,
        "developers.switching_cost=.inf",
        "developers.review_probability=1",
        "developers.initially_adopted=1",
        "developers.adoption.potential=1",
        "developers.adoption.potential_elasticity=0",
        "enterprises.migration_cost=.inf",
        "enterprises.initially_adopted=1",
        "enterprises.contract_months=3",
        "events=[{date: 2024-06, type: price, vendor: volcano, change: -0.99}]",
    )
    model = sim.build_model(scenario, seed=4)
    developers, cios = model.developers.vendor.copy(), model.enterprises.vendor.copy()
    assert (developers >= 0).all() and (cios >= 0).all()
    for _ in range(scenario.months):
        model.step()
        np.testing.assert_array_equal(model.developers.vendor, developers)
        np.testing.assert_array_equal(model.enterprises.vendor, cios)
        assert model.ledger[-1].switches_out.sum() == 0
    assert model.vendors.posted[0] == pytest.approx(0.01 * scenario.vendors["volcano"].price)


# --- identical vendors: the even split and the tipping point ---------------------------------

TWINS = (
    *(f"vendors.{vendor}.price=0.01" for vendor in VENDORS),
    *(f"families.{family}.quality=0" for family in FAMILIES),
    *(f"families.{family}.open_weights=false" for family in FAMILIES),
)


def identical_vendors(developers: int, ecosystem_weight: float, *overrides: str) -> sim.Scenario:
    return stripped(
        developers, *NO_FRICTIONS, *TWINS, "months=24", f"developers.ecosystem_weight={ecosystem_weight}", *overrides
    )


def tipped_share(eta: float, n: int) -> float:
    """Leader's share at the stable asymmetric equilibrium of s_j = exp(eta s_j) / sum_k exp(eta s_k)."""

    def gap(s: float) -> float:
        rest = (1 - s) / (n - 1)
        return s - 1 / (1 + (n - 1) * np.exp(eta * (rest - s)))

    grid = np.linspace(1 / n + 1e-6, 1 - 1e-12, 4001)
    values = np.array([gap(s) for s in grid])
    roots = [brentq(gap, grid[i], grid[i + 1]) for i in np.flatnonzero(values[:-1] * values[1:] < 0)]
    return max(roots)


@pytest.mark.parametrize("ratio", [0.5, 0.8])
def test_identical_vendors_split_developers_evenly_below_the_tipping_threshold(ratio):
    """Ecosystem utility eta * (the vendor's share of last month's tokens; with every family closed
    and no own apps, its share of API tokens): with N identical vendors the even split is stable
    for eta < N. Deviations then follow s' - 1/N = (eta/N)(s - 1/N) + noise,
    so the noise's standard error is inflated by 1 / sqrt(1 - (eta/N)^2)."""
    developers, n = 20_000, len(VENDORS)
    eta = ratio * n
    result = sim.run(identical_vendors(developers, eta), seed=5)
    even = 1 / n
    spread = np.sqrt(even * (1 - even) / developers) / np.sqrt(1 - ratio**2)
    assert np.all(np.abs(developer_shares(result) - even) < 4.5 * spread)


@pytest.mark.parametrize("ratio", [1.25, 2.0])
def test_identical_vendors_tip_to_one_leader_above_the_tipping_threshold(ratio):
    """Above eta = N the even split is unstable: sampling noise grows until one vendor takes the
    market, at the stable asymmetric equilibrium of the share map."""
    developers, n = 20_000, len(VENDORS)
    eta = ratio * n
    shares = developer_shares(sim.run(identical_vendors(developers, eta), seed=5))
    assert np.abs(shares[0] - 1 / n).max() < 0.02  # it starts even
    leader = shares[-6:].max(axis=1)
    expected = tipped_share(eta, n)
    assert leader.min() > 0.5, "one vendor takes a clear majority"
    assert (shares[-6:].argmax(axis=1) == shares[-1].argmax()).all(), "and keeps it"
    assert np.abs(leader.mean() - expected) < 4.5 * np.sqrt(expected * (1 - expected) / developers) + 1e-4


def test_identical_vendors_split_enterprises_evenly():
    """CIOs facing identical vendors (trust, integration, incumbency, offers) split evenly."""
    same = []
    for vendor in VENDORS:
        same += [
            f"vendors.{vendor}.trust=0.5",
            f"vendors.{vendor}.integration=0.5",
            f"vendors.{vendor}.incumbency=0.2",
            f"vendors.{vendor}.contract_discount=0.1",
            f"vendors.{vendor}.platform_fee=1000",
            f"vendors.{vendor}.gpu_hour_price=10",
            f"vendors.{vendor}.gpu_price_trend=0",
            f"vendors.{vendor}.serving_efficiency=1",
            f"vendors.{vendor}.imported_chips=0.9",  # the same chips: domestic-procurement rules favour none
        ]
    enterprises = 30_000
    scenario = identical_vendors(
        2_000,
        0.0,
        *same,
        f"agents.enterprises={enterprises}",
        "enterprises.size={dist: fixed, value: 1.0}",
        "enterprises.potential=1",
        "enterprises.initially_adopted=0.5",
        "enterprises.adoption_rate=0.05",
        "months=12",
    )
    result = sim.run(scenario, seed=5)
    cio = (result.wide("enterprises_api") + result.wide("enterprises_private")).to_numpy()
    assert (result.wide("enterprises_private").to_numpy() == 0).all(), "no open weights, no private deployment"
    adopted = result.market["enterprises_adopted"].to_numpy() / scenario.enterprises.population * enterprises
    even = 1 / len(VENDORS)
    assert adopted[-1] > 0.6 * enterprises
    cio_shares = cio / cio.sum(axis=1, keepdims=True)
    assert np.all(np.abs(cio_shares - even) < 4.5 * np.sqrt(even * (1 - even) / adopted[:, None]))


# --- a uniform price cut ---------------------------------------------------------------------


@pytest.mark.parametrize("elasticity", [0.4, 1.6])
def test_a_uniform_price_cut_leaves_token_shares_and_scales_revenue_by_lambda_to_one_minus_epsilon(elasticity):
    """Every vendor's price times lambda, a common elasticity epsilon, fixed adoption potential,
    no outside option and spare GPUs: every option's utility shifts by the same -beta log lambda,
    so nobody's choice changes and token shares do not move; each developer's tokens scale by
    lambda^-epsilon, so developer token revenue scales by lambda^(1 - epsilon), falling for
    epsilon < 1 and rising for epsilon > 1. Compared with the same seed without the cut."""
    cut = 0.1
    scenario = stripped(
        20_000,
        *DIFFERENT_OFFERS,
        "months=18",
        f"developers.demand_elasticity={elasticity}",
        "developers.adoption.potential_elasticity=0",
        "developers.price_sensitivity={dist: lognormal, median: 1.0, sigma: 0.4}",
        "developers.size={dist: pareto, minimum: 1.0, alpha: 1.8, cap: 300.0}",
        "developers.self_hosting.min_size=1.0e9",
        "developers.ecosystem_weight=0.5",
        "developers.reliability_weight=2",
    )
    uncut = sim.run(scenario, seed=3)
    with_cut = sim.run(
        sim.override(scenario, f"events=[{{date: 2024-06, type: price, vendor: all, change: {cut - 1}}}]"), seed=3
    )
    assert with_cut.wide("price").loc["2024-06"].to_numpy() == pytest.approx(cut * np.array(list(PRICES.values())))
    before, after = slice(None, "2024-05"), slice("2024-06", None)
    np.testing.assert_array_equal(with_cut.wide("developers").to_numpy(), uncut.wide("developers").to_numpy())
    np.testing.assert_allclose(with_cut.wide("token_share"), uncut.wide("token_share"), rtol=0, atol=1e-12)
    ratio = with_cut.wide("maas_developer_revenue") / uncut.wide("maas_developer_revenue")
    np.testing.assert_allclose(ratio.loc[before], 1.0, rtol=1e-12)
    np.testing.assert_allclose(ratio.loc[after], cut ** (1 - elasticity), rtol=1e-9)
    tokens = with_cut.wide("developer_tokens_per_day") / uncut.wide("developer_tokens_per_day")
    np.testing.assert_allclose(tokens.loc[after], cut**-elasticity, rtol=1e-9)


# --- a market with its own apps and GPUs that bind ------------------------------------------------

DAYS_PER_MONTH = 365.25 / 12


def squeezed_market(*overrides: str) -> sim.Scenario:
    """Fixed fleets too small for the demand, strict priority (own apps, then the API, then rented
    GPUs) for every vendor, Volcano's own apps at a constant size, and no labs (nothing rents)."""
    fixed = [
        "labs={}",
        "serving.max_gpu_growth=0",
        "serving.priority_ratio=.inf",
        "serving.efficiency_growth=0",
        "vendors.volcano.first_party={users: 1.0e6, tokens_per_user: 200}",
    ]
    for vendor in VENDORS:
        fixed += [f"vendors.{vendor}.gpus=8", f"vendors.{vendor}.allocation=[first_party, api, iaas]"]
    return stripped(20_000, *DIFFERENT_OFFERS, "months=12", *fixed, *overrides)


def test_with_strict_priority_own_apps_are_served_first_and_the_api_exactly_what_is_left():
    """Served API share = min(1, max(0, GPU-hours - own apps' GPU-hours) / API GPU-hours asked):
    the allocation's closed form, on a market where the apps and the API compete for GPUs."""
    scenario = squeezed_market()
    result = sim.run(scenario, seed=2)
    t = result.trajectories
    per_token = DAYS_PER_MONTH / t["tokens_per_gpu_hour"]
    apps = scenario.vendors["volcano"].first_party
    own_asked = np.where(t["vendor"] == "volcano", apps.users * apps.tokens_per_user, 0.0) * per_token
    left = np.maximum(t["gpu_hours_available"] - own_asked, 0.0)
    expected = np.minimum(1.0, left / (t["api_token_demand_per_day"] * per_token))
    # strict priority is weights of 1e12, 1e6 and 1: a millionth of a stream's share leaks down the order
    np.testing.assert_allclose(t["service_level"], expected, rtol=1e-5, atol=1e-6)
    served = result.wide("service_level").loc["2024-06":]
    assert (served < 1.0).all().all(), "every vendor's GPUs bind"
    assert (served.idxmin(axis=1) == "volcano").all(), "its own apps take Volcano's GPUs first"
    own = result.wide("first_party_tokens_per_day")["volcano"]
    np.testing.assert_allclose(own, apps.users * apps.tokens_per_user, rtol=1e-5)


@pytest.mark.parametrize("elasticity", [0.4, 1.6])
def test_where_gpus_bind_a_uniform_price_cut_scales_token_revenue_by_lambda_not_lambda_to_one_minus_epsilon(
    elasticity,
):
    """With every fleet full before and after the cut, the tokens served are what the GPUs can
    serve, whatever is asked: revenue per token falls with the price and nothing else moves, so
    developer token revenue scales by lambda exactly, where spare GPUs would give lambda^(1 - epsilon)."""
    cut = 0.1
    scenario = squeezed_market(
        f"developers.demand_elasticity={elasticity}", "developers.adoption.potential_elasticity=0"
    )
    uncut = sim.run(scenario, seed=3)
    with_cut = sim.run(
        sim.override(scenario, f"events=[{{date: 2024-06, type: price, vendor: all, change: {cut - 1}}}]"), seed=3
    )
    assert (with_cut.wide("service_level").loc["2024-06":] < 1.0).all().all()
    assert (uncut.wide("service_level").loc["2024-06":] < 1.0).all().all()
    served = with_cut.wide("api_tokens_per_day") / uncut.wide("api_tokens_per_day")
    np.testing.assert_allclose(served.loc["2024-06":], 1.0, rtol=1e-9)
    ratio = with_cut.wide("maas_developer_revenue") / uncut.wide("maas_developer_revenue")
    np.testing.assert_allclose(ratio.loc["2024-06":], cut, rtol=1e-6)
