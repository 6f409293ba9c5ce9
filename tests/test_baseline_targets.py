"""The baseline reproduces the public targets in data/targets.yaml, on three seeds.

The project's copy of the targets keeps the sources; it must match the shared brief's
figures (version 3) so that a drift in either is caught. Figures no parameter set found
meets together with the others are listed in CONFLICTS with the reason (the README's fit
table says the same); every other figure must be met, and every listed one must still miss,
so the list cannot hide a figure the model has come to meet.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT, SCENARIOS

import sim
from sim.targets import check_targets, load_targets

TARGETS = ROOT / "data" / "targets.yaml"
SEEDS = [None, 1, 2]  # None: the seed written in the scenario file
V3_TARGETS = {
    "token_share_h1_2025",
    "external_api_tokens_h1_2025",
    "external_api_tokens_2024",
    "ai_cloud_revenue_share_h1_2025",
    "ai_cloud_market_revenue",
    "ai_cloud_market_growth",
    "alibaba_ai_revenue_growth",
    "metric_divergence_2025",
    "volcano_headline_tokens",
    "token_share_2024",
    "volcano_headline_path",
    "ai_cloud_revenue_ranking_h1_2025",
    "enterprise_tokens_2025",
    "private_deployment_revenue",
}

# "target: item" of each figure the baseline misses because no parameter set
# found meets it together with the rest. The reason is the mechanism the model lacks.
CONFLICTS: dict[str, str] = {
    "token_share_h1_2025: alibaba token_share": "pulls against Volcano's 2024 share: fitting 2024's fast rise "
    "takes Alibaba's 2025 developers",
    "token_share_2024: volcano token_share": "pulls against Alibaba's H1 2025 share: 2024's buyers choose at "
    "yearly renewals in the model",
    "enterprise_tokens_2025: enterprise tokens/day h2_2025": "pulls against private-deployment revenue: more "
    "private tokens need more rented GPUs than the tenders show",
    "ai_cloud_revenue_ranking_h1_2025: volcano second": "Huawei's platform revenue from its incumbency and "
    "sovereignty buyers stays above Volcano's",
}


@pytest.fixture(scope="module")
def baseline() -> sim.Scenario:
    return sim.load_scenario(SCENARIOS / "baseline.yaml")


@pytest.fixture(scope="module")
def checks_by_seed(baseline) -> dict:
    return {seed: check_targets(sim.run(baseline, seed=seed), load_targets(TARGETS)) for seed in SEEDS}


@pytest.mark.parametrize("seed", SEEDS)
def test_baseline_meets_every_target_but_the_stated_conflicts(checks_by_seed, seed):
    checks = checks_by_seed[seed]
    failed = [
        f"{c.target}: {c.item}: public {c.public}, simulated {c.simulated}"
        for c in checks
        if not c.passed and f"{c.target}: {c.item}" not in CONFLICTS
    ]
    assert not failed, "\n".join(failed)
    assert {c.target for c in checks} == V3_TARGETS


def test_every_stated_conflict_is_a_real_figure_that_the_baseline_still_misses(checks_by_seed):
    checks = {f"{c.target}: {c.item}": c for c in checks_by_seed[None]}
    assert set(CONFLICTS) <= set(checks)
    still_met = [name for name in CONFLICTS if checks[name].passed]
    assert not still_met, f"met now: remove from CONFLICTS (and the README's fit table): {still_met}"


def test_every_target_has_a_source_and_a_check():
    targets = load_targets(TARGETS)
    assert {t["id"] for t in targets} == V3_TARGETS
    derived = {"metric_divergence_2025", "ai_cloud_market_growth"}  # computed from other sourced figures
    assert all("source" in t or t["id"] in derived for t in targets)


def test_project_targets_match_the_shared_brief():
    shared = ROOT.parent / "shared" / "data" / "targets-v3.yaml"
    if not shared.exists():
        pytest.skip("the shared brief is not beside this checkout")
    ours = yaml.safe_load(TARGETS.read_text())
    theirs = yaml.safe_load(shared.read_text())
    assert ours["targets"] == theirs["targets"]


def test_a_scenario_missing_the_targets_fails_the_check():
    """The check can fail: without the price war the token market stays small and Volcano does not lead."""
    no_war = sim.load_scenario(SCENARIOS / "no_price_war.yaml", ["agents.developers=20000", "agents.enterprises=8000"])
    checks = check_targets(sim.run(no_war), load_targets(TARGETS))
    failed = {c.target for c in checks if not c.passed}
    assert {"token_share_h1_2025", "external_api_tokens_h1_2025"} <= failed


def test_every_out_of_sample_check_is_measured_on_the_baseline_by_the_targets_rules():
    """data/checks.yaml (figures the baseline is not fitted to) loads, lies inside the
    baseline's months and is measured like a target; whether it passes is reported, not
    asserted."""
    from sim.scenario.calendar import month_at
    from sim.targets import measure, target_span

    scenario = sim.load_scenario(SCENARIOS / "baseline.yaml", ["agents.developers=20000", "agents.enterprises=5000"])
    checks = load_targets(ROOT / "data" / "checks.yaml")
    assert checks
    months = {month_at(scenario.start, i) for i in range(scenario.months)}
    assert all(set(target_span(check)) <= months for check in checks)
    result = sim.run(scenario)
    moments = measure(result, checks)
    assert {m.target for m in moments} == {check["id"] for check in checks}
    (national,) = [m for m in moments if m.target == "national_daily_tokens"]
    assert national.simulated == pytest.approx(result.wide("headline_tokens_per_day").loc["2025-06"].sum())


def test_headline_tokens_by_month_read_volcano_s_headline_tokens_in_each_month_named():
    """A by-month check is Volcano's headline tokens (external API + first-party) in that very
    month, within the stated factor, and its span runs from the first month named to the last."""
    from sim.targets import measure, target_span

    check = {
        "id": "volcano_headline_tokens_by_month",
        "values": {"2025-03": 1.0e13, "2024-12": 4.0e12},
        "tolerance": "each within a factor of 1.5",
    }
    assert target_span(check) == ("2024-12", "2025-03")
    small = ["agents.developers=5000", "agents.enterprises=800"]
    result = sim.run(sim.load_scenario(SCENARIOS / "baseline.yaml", small))
    headline = result.wide("headline_tokens_per_day")["volcano"]
    moments = measure(result, [check])
    assert [m.ends for m in moments] == ["2024-12", "2025-03"]
    assert [m.simulated for m in moments] == [headline["2024-12"], headline["2025-03"]]
    assert [(m.rule, m.tolerance) for m in moments] == [("factor", 1.5), ("factor", 1.5)]
    far = {**check, "values": {"2024-12": 10 * headline["2024-12"]}}
    assert not measure(result, [far])[0].passed


@pytest.fixture(scope="module")
def small_run() -> sim.RunResult:
    small = ["agents.developers=5000", "agents.enterprises=800"]
    return sim.run(sim.load_scenario(SCENARIOS / "baseline.yaml", small))


def test_the_revenue_ranking_check_wants_alibaba_first_and_volcano_second(small_run):
    """Each ranking moment is the share gap by which the order is broken (0 when it holds)."""
    from sim.targets import measure

    moments = {m.item: m for m in measure(small_run, [{"id": "ai_cloud_revenue_ranking_h1_2025"}])}
    revenue = small_run.wide("revenue").loc["2025-01":"2025-06"].sum()
    shares = revenue / revenue.sum()
    behind_volcano = shares.drop(["alibaba", "volcano"]).max() - shares["volcano"]
    assert moments["volcano second"].simulated == pytest.approx(max(behind_volcano, 0.0))
    assert moments["alibaba first"].simulated == pytest.approx(max(shares["volcano"] - shares["alibaba"], 0.0))
    assert moments["volcano second"].passed == (behind_volcano <= 0)


def test_enterprise_tokens_are_the_api_tokens_enterprises_buy_plus_their_private_deployments(small_run):
    from sim.targets import measure

    check = {"id": "enterprise_tokens_2025", "values": {"h2_2025": 1.0e12}, "tolerance": "within a factor of 2"}
    (moment,) = measure(small_run, [check])
    months = slice("2025-07", "2025-12")
    expected = (
        small_run.wide("enterprise_api_tokens_per_day").loc[months].sum(axis=1)
        + small_run.wide("private_tokens_per_day").loc[months].sum(axis=1)
        - small_run.wide("self_hosted_tokens_per_day").loc[months].sum(axis=1)  # developers', not enterprises'
    ).mean()
    assert moment.simulated == pytest.approx(expected)
    assert (moment.rule, moment.tolerance, moment.ends) == ("factor", 2.0, "2025-12")


def test_private_deployment_revenue_is_rented_gpu_hours_and_fine_tuning_for_enterprises(small_run):
    from sim.targets import measure

    check = {"id": "private_deployment_revenue", "values": {"year_2024": 6.0e9}, "tolerance": "within a factor of 3"}
    (moment,) = measure(small_run, [check])
    year = slice("2024-01", "2024-12")
    expected = (
        small_run.wide("iaas_private_revenue").loc[year].sum().sum()
        + small_run.wide("iaas_finetune_revenue").loc[year].sum().sum()
    )
    assert moment.simulated == pytest.approx(expected)
    assert not measure(small_run, [{**check, "values": {"year_2024": 10 * expected}}])[0].passed
