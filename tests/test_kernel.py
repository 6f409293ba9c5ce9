"""The compiled developers' month (numba) gives exactly what the numpy rule gives, month by month."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import small

from sim.model import developer_kernel, enterprise_kernel
from sim.model.market import MarketModel
from sim.record.trajectories import record
from sim.scenario.loading import ScenarioError

pytest.importorskip("numba")

STATE = {
    "developers": ("vendor", "mode", "tenure", "moved_from"),
    "enterprises": ("vendor", "mode", "months_left", "moved_from"),
}

CASES = {
    "baseline": ("baseline",),
    "no price war": ("no_price_war",),
    "a vendor leaves and one enters": (
        "baseline",
        "events=[{date: 2024-04, type: entry, vendor: others}, {date: 2024-09, type: exit, vendor: tencent}]",
    ),
    "no open weights until a release": (
        "baseline",
        "families.qwen.open_weights=false",
        "events=[{date: 2024-07, type: open_weights, family: deepseek}]",
    ),
    "developers never switch (infinite switching cost)": ("baseline", "developers.switching_cost=.inf"),
    "a common API standard halves switching costs": ("low_switching_cost",),
    "no outside seller": ("baseline", "developers.outside_option=null"),
    "equal sampling weights": ("baseline", "agents.sampling=equal"),
    "account teams sell to firms of size 3 and up": (
        "baseline",
        "enterprises.large_accounts.min_size=3",
        "enterprises.large_accounts.volume_weight=6",
    ),
}


def lockstep(scenario, seed: int) -> tuple[MarketModel, MarketModel]:
    """Both models stepped month by month; every developer's and CIO's state compared after each month."""
    compiled = MarketModel(scenario, seed=seed, kernel="numba")
    reference = MarketModel(scenario, seed=seed, kernel="numpy")
    assert (compiled.developers.kernel, reference.developers.kernel) == ("numba", "numpy")
    assert (compiled.enterprises.kernel, reference.enterprises.kernel) == ("numba", "numpy")
    for month in range(scenario.months):
        compiled.step()
        reference.step()
        for population, names in STATE.items():
            for name in names:
                np.testing.assert_array_equal(
                    getattr(getattr(compiled, population), name),
                    getattr(getattr(reference, population), name),
                    err_msg=f"{population}.{name}, month {month}",
                )
    return compiled, reference


def trajectories(model: MarketModel) -> pd.DataFrame:
    return record(model.ledger, model.vendors.ids, model.spec.start, model.families.ids).vendors


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_compiled_month_matches_the_numpy_rule_exactly(case):
    scenario = small(*CASES[case], "agents.developers=4000", "agents.enterprises=400")
    compiled, reference = lockstep(scenario, seed=17)
    pd.testing.assert_frame_equal(trajectories(compiled), trajectories(reference), check_exact=True)
    assert (compiled.developers.vendor >= 0).any(), "developers adopted"


def test_switches_exits_self_hosting_and_private_deployments_happen_in_the_compared_runs():
    """The equality above is worth something only if every branch of the rule was taken."""
    scenario = small("baseline", "agents.developers=4000", "agents.enterprises=400")
    compiled, _ = lockstep(scenario, seed=17)
    ledger = compiled.ledger
    assert sum(month.switches_out.sum() for month in ledger) > 0
    assert (compiled.developers.vendor == developer_kernel.EXITED).any()
    assert (compiled.developers.mode == 1).any(), "some developers self-host"
    assert max(month.developers_outside for month in ledger) > 0, "some buy from the outside seller"
    assert (compiled.enterprises.mode == 1).any(), "some CIOs deploy privately"
    assert (compiled.enterprises.vendor >= 0).sum() > (compiled.enterprises.queue_position < 0.05).sum(), "CIOs adopt"


def test_the_tally_and_the_switches_are_bincounts_sums_bit_for_bit():
    model = MarketModel(small("baseline", "agents.developers=5000"), seed=3, kernel="numba")
    for _ in range(8):
        model.step()
    n_sellers, n_vendors = model.vendors.count + 1, model.vendors.count
    compiled = (*model.developers.tally(n_sellers), *model.developers.switches(n_vendors))
    model.developers.kernel = "numpy"
    reference = (*model.developers.tally(n_sellers), *model.developers.switches(n_vendors))
    assert reference[2].sum() > 0, "some developers switched this month"
    for got, expected in zip(compiled, reference, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_the_enterprises_purchases_are_the_numpy_sums_bit_for_bit():
    model = MarketModel(small("baseline", "agents.enterprises=3000"), seed=4, kernel="numba")
    for _ in range(10):
        model.step()
    offer, n_vendors = model.enterprise_month.offer, model.vendors.count
    compiled = model.enterprises.purchases(offer, n_vendors)
    model.enterprises.kernel = "numpy"
    reference = model.enterprises.purchases(offer, n_vendors)
    assert reference.private_gpu_hours.sum() > 0 and reference.api_tokens.sum() > 0, "both modes bought"
    for field in ("api_tokens", "private_tokens", "private_gpu_hours", "finetune_gpu_hours", "platform_units"):
        np.testing.assert_array_equal(getattr(compiled, field), getattr(reference, field), err_msg=field)


def test_loading_the_kernels_at_set_up_compiles_for_the_types_the_months_then_use():
    """Set-up runs each kernel once on empty arrays; a second compiled version would mean
    the first month compiles again (seconds) instead of running what set-up loaded."""
    model = MarketModel(small("baseline", "agents.developers=2000", "agents.enterprises=200"), seed=5)
    for _ in range(3):
        model.step()
    kernels = [
        function
        for module in (developer_kernel, enterprise_kernel)
        for function in vars(module).values()
        if hasattr(function, "signatures")
    ]
    assert len(kernels) == 11
    for kernel in kernels:
        assert len(kernel.signatures) == 1, kernel.__name__


def test_without_numba_or_when_asked_the_numpy_rule_runs(monkeypatch):
    assert developer_kernel.resolve("auto") == "numba"
    monkeypatch.setenv("SIM_KERNEL", "numpy")
    assert developer_kernel.resolve("auto") == "numpy"
    monkeypatch.delenv("SIM_KERNEL")
    monkeypatch.setattr(developer_kernel, "NUMBA_INSTALLED", False)
    assert developer_kernel.resolve("auto") == "numpy"
    with pytest.raises(ValueError, match="needs the numba package"):
        developer_kernel.resolve("numba")
    with pytest.raises(ValueError, match="kernel must be one of"):
        developer_kernel.resolve("fortran")


def test_the_environment_chooses_the_kernel_or_is_refused(monkeypatch):
    monkeypatch.setenv("SIM_KERNEL", "numba")
    assert developer_kernel.resolve("auto") == "numba"
    monkeypatch.setenv("SIM_KERNEL", "")
    assert developer_kernel.resolve("auto") == "numba"
    monkeypatch.setenv("SIM_KERNEL", "numpy")
    assert developer_kernel.resolve("numba") == "numba", "an explicit kernel is not overridden"
    monkeypatch.setenv("SIM_KERNEL", "fortran")
    with pytest.raises(ScenarioError, match="SIM_KERNEL: expected one of auto, numba, numpy"):
        developer_kernel.resolve("auto")
