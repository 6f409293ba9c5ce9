"""The market model's Mesa DataCollector reports what the recorder records, month by month."""

from __future__ import annotations

import numpy as np

import sim
from sim.record.collector import vendor_reporter_name


def test_the_datacollector_holds_the_recorded_shares_and_totals(small_baseline):
    scenario = small_baseline.model_copy(update={"months": 8})
    model = sim.build_model(scenario)
    for _ in range(scenario.months):
        model.step()
    collected = model.datacollector.get_model_vars_dataframe()
    recorded = sim.run(scenario)

    assert list(collected["date"]) == list(recorded.market["date"])
    for column in ("token_share", "revenue_share", "revenue"):
        table = recorded.wide(column)
        for vendor in recorded.vendor_ids:
            np.testing.assert_array_equal(collected[vendor_reporter_name(column, vendor)], table[vendor])
    for column in ("revenue", "maas_revenue", "iaas_revenue", "paas_revenue", "hhi_tokens"):
        np.testing.assert_array_equal(collected[column], recorded.market[column])


def test_the_datacollector_grows_one_row_per_month(small_baseline):
    model = sim.build_model(small_baseline)
    assert model.datacollector.get_model_vars_dataframe().empty
    model.step()
    model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame["date"]) == ["2024-01", "2024-02"]
    shares = frame[[vendor_reporter_name("token_share", v) for v in small_baseline.vendors]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
