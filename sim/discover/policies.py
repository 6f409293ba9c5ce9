"""A robust-policy comparison as the runner and the report both see it: the policies file as
written (`RobustSpec`, `PolicySpec`), validated (`Robust`), and the finished comparison
(`RobustResult`).

It sits below both, so that the runner (`robust.py`) and its report (`robust_report.py`)
need not import each other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from sim.discover.conditions import Clause
from sim.provenance import scenario_hash
from sim.scenario.schema import Scenario, Strict
from sim.sweep.outcomes import OutcomeSpec


class PolicySpec(Strict):
    """One candidate policy: changes to the vendor's own fields and events, on top of each set."""

    description: str = ""
    set: dict[str, Any] = Field(default_factory=dict, description="dotted path: value, on the vendor's fields")
    add_events: list[dict[str, Any]] = Field(default_factory=list, description="events for the vendor")
    drop_events: list[str] = Field(default_factory=list, description="ids of the base's events to remove")


class RobustSpec(Strict):
    """The policies file as written."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="output folder name (default: file)")
    description: str = ""
    base: str = Field(description="the scenario, relative to this file")
    ensemble: str = Field(description="a calibration folder (sim calibrate), relative to this file")
    sets: int | None = Field(None, ge=1, description="plausible sets to use, spread over the ensemble (default: all)")
    replicates: int = Field(1, ge=1, le=100, description="seeds per policy and set, common to all")
    seed: int | None = Field(None, ge=0, lt=2**62, description="first seed (default: the base scenario's)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted path: value, for every run")
    vendor: str = Field(description="the vendor whose policies these are")
    criteria: list[str] = Field(min_length=1, description="thresholds, e.g. 'token_share[volcano]@2026-12 >= 0.5'")
    policies: dict[str, PolicySpec] = Field(min_length=2, description="name: policy")


@dataclass(frozen=True)
class Robust:
    """A validated policies file: the base, the sets, the policies' scenarios per set, the criteria."""

    path: Path
    text: str
    spec: RobustSpec
    base: Scenario
    sets: pd.DataFrame
    criteria: tuple[Clause, ...]
    seeds: list[int]
    scenarios: dict[tuple[str, int], Scenario]  # (policy, set) -> the scenario it runs
    outcomes: OutcomeSpec

    @property
    def name(self) -> str:
        return self.spec.name or (self.path.stem.replace(" ", "_") or "robust")

    @property
    def policies(self) -> list[str]:
        return list(self.spec.policies)

    @property
    def set_ids(self) -> list[int]:
        return [int(s) for s in self.sets["set"]]

    def digest(self) -> str:
        """What decides the result: the file, the resolved scenarios and the seeds."""
        digest = hashlib.sha256(self.text.encode())
        for key in sorted(self.scenarios):
            digest.update(f"{key}:{scenario_hash(self.scenarios[key])}".encode())
        digest.update(json.dumps(self.seeds).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class RobustResult:
    """Per policy and set the criteria's values (mean over seeds), and the summary across sets."""

    robust: Robust
    folder: Path
    values: pd.DataFrame  # policy, set, one column per criterion outcome
    table: pd.DataFrame  # policy, criterion, median, worst_tenth, regret_median, regret_max, satisficing
    overall: pd.DataFrame  # policy, every (share of sets meeting every criterion), sets
    record: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.record["status"]["failed"] == 0
