"""What a result must carry to be reproduced: the resolved scenario's hash, the seed, the versions."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib.metadata import PackageNotFoundError, version

from sim.scenario.schema import Scenario

DEPENDENCIES = ("sim", "mesa", "numpy", "scipy", "pandas", "pydantic", "matplotlib", "pyyaml")


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario in canonical JSON (seed excluded: it is recorded beside)."""
    data = scenario.model_dump(exclude={"seed"})
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def versions() -> dict[str, str]:
    """Python and package versions, for the record of every output."""
    found = {"python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
