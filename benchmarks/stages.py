"""One default `sim run`'s stages, each timed in this fresh process; prints them as JSON.

Run by benchmarks/startup.py, which takes the median over fresh processes. Only the standard
library is imported before the clock starts, as in the command itself.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"


def stages() -> dict[str, float]:
    """One default run's stages, timed in this (fresh) process in the order `sim run` runs them.

    The charts are drawn here after a painter's warm-up, each alone: in `sim run` they are
    drawn by two painters at once, so the run waits for the slower of the two. The tables are
    `save_run` with the charts left to a painter that draws nothing."""
    began = time.perf_counter()
    import sim.cli
    from sim.scenario.loading import load_scenario

    scenario = load_scenario(BASELINE)
    loaded = time.perf_counter()
    import mesa  # noqa: F401

    mesa_done = time.perf_counter()
    import sim.model.market  # noqa: F401
    from sim.report.outputs import save_run
    from sim.run import run

    imported = time.perf_counter()
    result = run(scenario)
    simulated = time.perf_counter()

    class NoCharts:
        def save_charts(self, result, paths):
            return lambda: None

    with tempfile.TemporaryDirectory() as folder:
        save_run(result, Path(folder), NoCharts())
        written = time.perf_counter()
        from sim.report.chart_data import ChartData
        from sim.report.charts import save_chart, warm_up

        warm_up()
        data = ChartData.of(result)
        charts = {}
        for kind in ("chart", "streams"):
            start = time.perf_counter()
            save_chart(kind, data, Path(folder) / f"{kind}.png")
            charts[kind] = time.perf_counter() - start
    return {
        "command and scenario": loaded - began,
        "import mesa": mesa_done - loaded,
        "the model's modules (numba)": imported - mesa_done,
        "the model, run and recorded": simulated - imported,
        "tables and summary": written - simulated,
        "shares chart": charts["chart"],
        "streams chart": charts["streams"],
    }


if __name__ == "__main__":
    print(json.dumps(stages()))
