"""What a calibration evaluates: one run of the model, measured against every figure.

`MomentModel` wraps a sweep model (the market, or a test function) so the sweep runner and
its crash-safe store can evaluate calibration candidates: each run's outcomes are its
moments (the simulated value, the public figure and the scaled miss of each). Every target
is measured whatever `--until` says, so a time-split calibration reuses stored runs and
scores the later figures as predictions.
"""

from __future__ import annotations

from typing import Any

from sim.run import run
from sim.scenario.schema import Scenario
from sim.sweep.models import Evaluation, Model
from sim.sweep.outcomes import OutcomeRows, OutcomeSpec
from sim.targets import Moment, measure

SIMULATED, PUBLIC, MISS = "simulated", "public", "z"


class MomentModel(Model):
    """A model whose outcomes are the moments of each run against the calibration's targets."""

    def __init__(self, inner: Model, targets: list[dict[str, Any]], targets_digest: str) -> None:
        self.inner = inner
        self.targets = targets
        self.name = f"{inner.name}+moments"
        self.uses_scenario = inner.uses_scenario
        self.parameters = inner.parameters
        self.batch_size = inner.batch_size
        self._version = f"{inner.version}+targets-{targets_digest}"

    @property
    def version(self) -> str:
        return self._version

    def prepare(self, base: Scenario | None, values: dict[str, Any]) -> Any:
        return self.inner.prepare(base, values)

    def fingerprint(self, prepared: Any) -> str:
        return self.inner.fingerprint(prepared)

    def evaluate(self, prepared: Any, seed: int, outcomes: OutcomeSpec | None) -> Evaluation:
        if self.inner.uses_scenario:
            moments = measure(run(prepared, seed=seed), self.targets)
        else:
            moments = inline_moments(self.inner.evaluate(prepared, seed, None).outcomes, self.targets)
        return Evaluation(moment_rows(moments))


def inline_moments(outputs: OutcomeRows, targets: list[dict[str, Any]]) -> list[Moment]:
    """A test function's named outputs against inline figures; a missing output is an error."""
    values = dict(zip(outputs.outcome, outputs.value, strict=True))
    moments = []
    for target in targets:
        if target["id"] not in values:
            raise KeyError(f"the function returned no output {target['id']!r} (it returned {', '.join(values)})")
        moments.append(
            Moment(
                target["id"], "value", values[target["id"]], target["value"], target["rule"], target["tolerance"], ""
            )
        )
    return moments


def moment_rows(moments: list[Moment]) -> OutcomeRows:
    """Three rows per moment (simulated, public, scaled miss); `period` holds its last month."""
    rows = OutcomeRows()
    for moment in moments:
        for metric, value in ((SIMULATED, moment.simulated), (PUBLIC, moment.public), (MISS, moment.z)):
            rows.add(moment.name, metric, value, period=moment.ends, label=moment.target)
    return rows
