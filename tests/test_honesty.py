"""The rules that keep the model honest (brief v2), each as a check that can fail.

- Revenue is price x served quantity, per stream, vendor and month; nobody is billed for
  what it was not served.
- Every scheduled event of every shipped scenario changes some output.
- Every numeric or boolean scenario field moves some output of the baseline, or of another
  shipped scenario, when scaled by 1.5 (or flipped); fields that cannot are listed, with
  the reason, in EXEMPT.
- Mechanism, not identity: switch off what makes the vendors differ and the gap between
  the token leader and the revenue leader shrinks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS, SHIPPED, small

import sim
from sim.report.summary import leader_gap
from sim.scenario.calendar import DAYS_PER_MONTH

TINY = ["agents.developers=2500", "agents.enterprises=800"]
THOUSANDS_A_MONTH = DAYS_PER_MONTH / 1000.0

# Fields that do not move the baseline, and why (kept short on purpose).
EXEMPT: dict[str, str] = {
    "seed": "chooses the random draws, not a mechanism",
    "months": "length of the run",
    "agents.developers": "sampling, not economics",
    "agents.enterprises": "sampling, not economics",
}


@pytest.fixture(scope="module")
def squeezed() -> sim.RunResult:
    """The baseline with GPUs too few for the demand, so every stream is rationed somewhere."""
    scenario = small("baseline", *[f"vendors.{v}.gpus=3000" for v in ("volcano", "alibaba", "baidu")])
    return sim.run(scenario, seed=3)


@pytest.fixture(scope="module")
def baseline_run() -> sim.RunResult:
    return sim.run(small("baseline"), seed=1)


# --- revenue is price x quantity --------------------------------------------------------------


@pytest.mark.parametrize("which", ["baseline_run", "squeezed"])
def test_revenue_is_price_times_served_quantity_for_every_stream(which, request):
    t = request.getfixturevalue(which).trajectories
    tokens = THOUSANDS_A_MONTH
    iaas_hours = t["lab_gpu_hours"] + t["private_gpu_hours"] + t["finetune_gpu_hours"] + t["self_host_gpu_hours"]
    expected = {
        "maas_developer_revenue": t["developer_tokens_per_day"] * tokens * t["price"],
        "maas_enterprise_revenue": t["enterprise_api_tokens_per_day"] * tokens * t["contract_price"],
        "iaas_revenue": iaas_hours * t["gpu_hour_price"],
        "paas_revenue": t["platform_units"] * t["platform_fee"],
    }
    for column, value in expected.items():
        np.testing.assert_allclose(t[column], value, rtol=1e-9, atol=1e-6, err_msg=column)
    streams = t["maas_developer_revenue"] + t["maas_enterprise_revenue"] + t["iaas_revenue"] + t["paas_revenue"]
    np.testing.assert_allclose(t["revenue"], streams, rtol=1e-12)


def test_a_rationed_customer_is_billed_for_what_it_was_served_not_what_it_asked(squeezed):
    t = squeezed.trajectories
    short = t[t["service_level"] < 0.9]
    assert len(short) > 0, "the squeeze must ration some vendor's API"
    served = short["developer_tokens_per_day"] + short["enterprise_api_tokens_per_day"]
    np.testing.assert_allclose(served, short["api_token_demand_per_day"] * short["service_level"], rtol=1e-9)
    billed_tokens = short["maas_developer_revenue"] / (short["price"] * THOUSANDS_A_MONTH)
    assert (billed_tokens <= short["developer_tokens_per_day"] * (1 + 1e-9)).all()
    assert (served < short["api_token_demand_per_day"]).all()


def test_costs_are_gpu_hours_used_times_their_cost_and_maas_can_run_below_cost(baseline_run):
    t = baseline_run.trajectories
    np.testing.assert_allclose(t["maas_cost"], t["gpu_hours_api"] * t["gpu_hour_cost"], rtol=1e-12)
    np.testing.assert_allclose(t["iaas_cost"], t["gpu_hours_iaas"] * t["gpu_hour_cost"], rtol=1e-12)
    volcano = t[t["vendor"] == "volcano"].set_index("date")
    # Doubao at 0.0011 yuan/1k tokens in mid-2024 is below the cost of a token on 2024 GPUs
    assert volcano.loc["2024-06", "price"] < volcano.loc["2024-06", "unit_cost"]
    assert volcano.loc["2024-06", "maas_margin"] < 0


def test_gpus_bind_somewhere_in_the_baseline(baseline_run):
    """Capacity is a mechanism only if it binds: some vendor-month serves less than asked."""
    t = baseline_run.trajectories
    assert (t[["service_level", "iaas_service_level"]].min(axis=1) < 0.999).any()


# --- every event changes something -----------------------------------------------------------


def _outputs(result: sim.RunResult) -> pd.DataFrame:
    numeric = result.trajectories.select_dtypes("number").drop(columns=["step"])
    return numeric.reset_index(drop=True)


def _moves(a: sim.RunResult, b: sim.RunResult) -> bool:
    left, right = _outputs(a), _outputs(b)
    return left.shape != right.shape or not np.allclose(left.to_numpy(), right.to_numpy(), rtol=1e-12, atol=0)


def _events(path) -> list[tuple[str, int]]:
    scenario = sim.load_scenario(path, TINY)
    return [(path.stem, i) for i in range(len(scenario.events))]


EVENTS = [case for path in SHIPPED for case in _events(path)]


@pytest.mark.parametrize(("name", "index"), EVENTS, ids=[f"{n}-{i}" for n, i in EVENTS])
def test_every_event_of_every_shipped_scenario_changes_some_output(name, index):
    scenario = sim.load_scenario(SCENARIOS / f"{name}.yaml", TINY)
    without = scenario.model_copy(update={"events": [e for i, e in enumerate(scenario.events) if i != index]})
    event = scenario.events[index]
    moved = _moves(sim.run(scenario, seed=2), sim.run(without, seed=2))
    assert moved, f"{event.type} on {event.date} changes nothing"


# --- every parameter earns its place ---------------------------------------------------------


def _leaves(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, f"{prefix}{key}.")]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, f"{prefix}{i}.")]
    return [(prefix[:-1], node)]


def _numeric_fields() -> list[tuple[str, Any]]:
    data = sim.load_scenario(SCENARIOS / "baseline.yaml", TINY).model_dump(mode="json")
    data.pop("events")
    return [
        (path, value)
        for path, value in _leaves(data)
        if isinstance(value, (bool, int, float)) and path not in EXEMPT and math.isfinite(value)
    ]


def _perturbed(value: Any) -> list[Any]:
    """Values to try: flipped, x1.5, then /1.5 (when x1.5 is out of bounds); 0 becomes 0.5 or 1."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [max(value + 1, round(value * 1.5)), max(value - 1, 1)]
    if value == 0:
        return [0.5, -0.5]
    return [value * 1.5, value / 1.5]


FIELDS = _numeric_fields()


@pytest.fixture(scope="module")
def tiny_shipped() -> dict[str, tuple[sim.Scenario, sim.RunResult]]:
    """Every shipped scenario (the baseline first) at a tiny size, with its reference run."""
    runs = {}
    for path in sorted(SHIPPED, key=lambda p: p.stem != "baseline"):
        scenario = sim.load_scenario(path, TINY)
        runs[path.stem] = (scenario, sim.run(scenario, seed=5))
    return runs


def _first_that_moves(path: str, value: Any, scenario: sim.Scenario, reference: sim.RunResult) -> list[str] | None:
    """None if some perturbation of the field moves an output; else what was tried."""
    tried = []
    for candidate in _perturbed(value):
        try:
            changed = sim.override(scenario, f"{path}={candidate!r}")
        except sim.ScenarioError:
            tried.append(f"{candidate!r} (out of bounds)")
            continue
        if _moves(sim.run(changed, seed=5), reference):
            return None
        tried.append(repr(candidate))
    return tried


@pytest.mark.parametrize(("path", "value"), FIELDS, ids=[path for path, _ in FIELDS])
def test_every_numeric_or_boolean_field_moves_some_output(path, value, tiny_shipped):
    tried = {}
    for name, (scenario, reference) in tiny_shipped.items():
        own = _dotted(scenario.model_dump(mode="json"), path)
        tried[name] = _first_that_moves(path, value if own is None else own, scenario, reference)
        if tried[name] is None:
            return
    pytest.fail(f"{path}={value!r}: no output of any shipped scenario moved: {tried}")


def _dotted(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, list):
            data = data[int(part)] if part.isdigit() and int(part) < len(data) else None
        elif isinstance(data, dict):
            data = data.get(part)
        if data is None:
            return None
    return data


def test_the_exemption_list_names_real_fields():
    data = sim.load_scenario(SCENARIOS / "baseline.yaml", TINY).model_dump(mode="json")
    paths = {path for path, _ in _leaves(data)}
    assert set(EXEMPT) <= paths


# --- mechanism, not identity -----------------------------------------------------------------


def _divergence(result: sim.RunResult) -> float:
    return leader_gap(result, "2025-01", "2025-06")


def _equalised(base: sim.Scenario) -> list[str]:
    """Every vendor with the same incumbency, enterprise appeal and IaaS offer; no equity ties."""
    sets = []
    for vendor in base.vendors:
        sets += [
            f"vendors.{vendor}.incumbency=0.2",
            f"vendors.{vendor}.trust=0.6",
            f"vendors.{vendor}.integration=0.6",
            f"vendors.{vendor}.allocation=[first_party, iaas, api]",
        ]
    sets += [f"labs.{lab}.investors=[]" for lab in base.labs]
    return sets


def test_equal_incumbency_and_equal_iaas_offers_shrink_the_divergence():
    base = sim.load_scenario(SCENARIOS / "baseline.yaml", ["agents.developers=20000", "agents.enterprises=8000"])
    seeds = (1, 2)
    before = np.mean([_divergence(sim.run(base, seed=s)) for s in seeds])
    equal = sim.override(base, *_equalised(base))
    after = np.mean([_divergence(sim.run(equal, seed=s)) for s in seeds])
    assert after < 0.6 * before, f"divergence {before:.3f} -> {after:.3f}"


def test_without_its_own_apps_volcano_loses_token_share():
    """First-party ecosystem pull: ByteDance's apps make Doubao the family developers build on."""
    base = sim.load_scenario(SCENARIOS / "baseline.yaml", ["agents.developers=20000", "agents.enterprises=8000"])
    no_apps = sim.override(base, "vendors.volcano.first_party.users=0")

    def volcano_share(result: sim.RunResult) -> float:
        tokens = result.wide("api_tokens_per_day").loc["2025-01":"2025-06"].sum()
        return float(tokens["volcano"] / tokens.sum())

    assert volcano_share(sim.run(no_apps, seed=1)) < volcano_share(sim.run(base, seed=1)) - 0.05


def test_deepseek_open_weights_move_private_deployments_and_tokens_by_family():
    scenario = small("baseline")
    index = next(i for i, e in enumerate(scenario.events) if e.type == "open_weights" and e.family == "deepseek")
    without = scenario.model_copy(update={"events": [e for i, e in enumerate(scenario.events) if i != index]})
    with_it, without_it = sim.run(scenario, seed=4), sim.run(without, seed=4)
    families = with_it.families
    deepseek_private = families[(families["family"] == "deepseek") & (families["mode"] == "private")]
    assert deepseek_private["tokens_per_day"].sum() > 0
    hosted = without_it.families[without_it.families["vendor"] != "outside"]  # DeepSeek's own API is outside
    assert (hosted["family"] != "deepseek").all()
    late = slice("2025-06", "2026-12")
    assert not np.allclose(
        with_it.wide("enterprises_private").loc[late].to_numpy(),
        without_it.wide("enterprises_private").loc[late].to_numpy(),
    )


def test_chip_controls_act_on_imported_chips_so_huawei_is_barely_touched():
    controlled = sim.run(small("chip_controls"), seed=1).wide("gpus").loc["2025-01"]
    baseline = sim.run(small("baseline"), seed=1).wide("gpus").loc["2025-01"]
    kept = controlled / baseline  # a fifth of imported GPUs out of service in the month of the shock
    assert kept["huawei"] > 0.97  # on its own Ascend chips
    assert (kept[["volcano", "alibaba", "tencent"]] < 0.85).all()
