"""Names of the environment variables `sim app` passes to the page module."""

SCENARIO_ENV = "SIM_APP_SCENARIO"  # the scenario to open first (set by `sim app SCENARIO`)
SCENARIOS_ENV = "SIM_APP_SCENARIOS"  # folder of shipped scenarios (default ./scenarios)
RUNS_ENV = "SIM_APP_RUNS"  # folder where finished sweeps are looked for (default ./runs)
