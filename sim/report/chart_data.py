"""What a run's charts read, as plain arrays: the scenario, the seed, the months and one
month x vendor array per charted column.

The charts read only this, whether they are drawn in the command's process or in a painter
process (sim/report/painter.py). Built from a run's tables once, it pickles without pandas,
so a painter imports matplotlib and numpy but never pandas, and both ways draw from the same
numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.schema import Scenario

SHARE_COLUMNS = ("token_share", "revenue_share")
STREAM_COLUMNS = (
    "maas_developer_revenue",
    "maas_enterprise_revenue",
    "iaas_lab_revenue",
    "iaas_private_revenue",
    "iaas_finetune_revenue",
    "iaas_self_host_revenue",
    "paas_revenue",
)
CHARTED_COLUMNS = (*SHARE_COLUMNS, "revenue", *STREAM_COLUMNS)


class Recorded(Protocol):
    """What a chart's data is taken from: a `sim.run.RunResult`."""

    scenario: Scenario
    seed: int

    @property
    def vendor_ids(self) -> list[str]: ...

    def wide(self, column: str) -> pd.DataFrame: ...


@dataclass(frozen=True)
class ChartData:
    """A run's charted columns: `columns[name][month, vendor]`, vendors in `vendor_ids` order."""

    scenario: Scenario
    seed: int
    vendor_ids: list[str]
    months: list[str]
    columns: dict[str, np.ndarray]

    @classmethod
    def of(cls, result: Recorded | ChartData) -> ChartData:
        """The chart data of a run (a chart data is its own)."""
        if isinstance(result, ChartData):
            return result
        vendors = list(result.vendor_ids)
        tables = {name: result.wide(name)[vendors] for name in CHARTED_COLUMNS}
        months = [str(label) for label in tables["revenue"].index]
        columns = {name: np.ascontiguousarray(table.to_numpy(dtype=float)) for name, table in tables.items()}
        return cls(result.scenario, result.seed, vendors, months, columns)

    def column(self, name: str) -> np.ndarray:
        """One charted column as a month x vendor array."""
        return self.columns[name]

    def of_vendor(self, name: str, vendor: str) -> np.ndarray:
        """One vendor's monthly values of a charted column."""
        return self.columns[name][:, self.vendor_ids.index(vendor)]
