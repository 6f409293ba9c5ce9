"""Model comparison: two or more scenario variants calibrated to the same figures, weighed by evidence.

A compare file names the variants (each a calibration file) and, optionally, `until` for a
time split. Each variant is calibrated in its own folder (resumable, as any calibration);
then the variants are compared by

- the evidence p(figures | variant), estimated by each posterior's importance weights
  (`posterior.py`): with equal prior odds, a variant's posterior probability is its evidence
  over the sum, and the log Bayes factor of two is the difference of their log evidence;
- the best distance, and the share of the space-filling (prior) sample that is plausible;
- with `until`, how many later figures each forecasts and its mean log predictive density.

The variants must fit the same figures with the same tolerances and weights, or their
evidence is not comparable: that is checked before anything runs.

    name: gravity-sources
    description: ...
    compare:
      public_tokens: baseline.yaml
      external_tokens: gravity_external_tokens.yaml
    until: 2024-12          # optional
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from sim.calibrate.spec import Calibration, load_calibration
from sim.scenario.loading import FileFields, ScenarioError, read_yaml_mapping
from sim.scenario.schema import Strict

if TYPE_CHECKING:
    from sim.calibrate.result import CalibrationResult

DOCS = 'see docs/calibration.md, "Comparing variants"'


class CompareSpec(Strict):
    """A compare file as written."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="output folder name (default: file)")
    description: str = ""
    compare: dict[str, str] = Field(min_length=2, description="label: calibration file, relative to this file")
    until: str | None = Field(None, description="fit only figures whose data ends by this month (YYYY-MM)")


@dataclass(frozen=True)
class Comparison:
    """The variants, loaded and checked to fit the same figures."""

    path: Path
    spec: CompareSpec
    variants: dict[str, Calibration]

    @property
    def name(self) -> str:
        return self.spec.name or self.path.stem


def is_compare_file(path: str | Path) -> bool:
    """Whether a calibration-like file is a compare file (it has a top-level `compare`)."""
    try:
        _, data, _ = read_yaml_mapping(Path(path), "calibration")
    except ScenarioError:
        return False
    return "compare" in data


def load_comparison(path: str | Path, until: str | None = None) -> Comparison:
    """Read a compare file and every variant's calibration file; refuse variants that fit different figures."""
    path = Path(path)
    _, data, lines = read_yaml_mapping(path, "compare")
    at = FileFields(path, lines)
    spec = at.validated(CompareSpec, data, DOCS)
    chosen_until = until if until is not None else spec.until
    variants = {}
    for label, file in spec.compare.items():
        variant_path = path.parent / file
        if not variant_path.is_file():
            raise at.error(("compare", label), f"file not found: {variant_path}")
        variants[label] = load_calibration(variant_path, chosen_until)
    _check_same_figures(variants, at)
    return Comparison(path, spec, variants)


def _figures(calibration: Calibration) -> list[Any]:
    weights = calibration.spec.targets.weights
    figures = [(str(t.get("id")), repr(sorted(t.items()))) for t in calibration.targets]
    return sorted((name, shape, weights.get(name, 1.0)) for name, shape in figures)


def _check_same_figures(variants: dict[str, Calibration], at: FileFields) -> None:
    (first_label, first), *others = variants.items()
    for label, calibration in others:
        if _figures(calibration) != _figures(first):
            mine = {t["id"] for t in calibration.targets}
            theirs = {t["id"] for t in first.targets}
            differ = sorted(mine ^ theirs) or ["the same ids with other values, tolerances or weights"]
            raise at.error(
                ("compare", label),
                f"fits other figures than {first_label!r} ({', '.join(differ)}): evidence is comparable "
                "only on the same figures",
            )
        if calibration.name == first.name:
            raise at.error(("compare", label), f"has the same name as {first_label!r}: give each variant its own name")


@dataclass(frozen=True)
class VariantScore:
    label: str
    figures: int
    parameters: int
    best_distance: float
    prior_plausible: float  # share of the space-filling sample that is plausible
    ess: float
    log_evidence: float
    probability: float  # posterior model probability with equal prior odds
    forecast_hits: int | None
    forecasts: int | None
    forecast_density: float | None


def scores(results: dict[str, CalibrationResult]) -> list[VariantScore]:
    """Each variant's evidence, model probability, fit and (with a time split) forecast score."""
    logs = np.array([r.posterior.log_evidence for r in results.values()])
    finite = np.isfinite(logs)
    probabilities = np.zeros(len(logs))
    if finite.any():
        shifted = np.exp(logs[finite] - logs[finite].max())
        probabilities[finite] = shifted / shifted.sum()
    out = []
    for (label, result), probability in zip(results.items(), probabilities, strict=True):
        initial = result.evaluations[result.evaluations["stage"] == "initial"]
        hits, forecasts, density = result.verdicts.score()
        best = float(result.best["distance"]) if result.best is not None else math.inf
        out.append(
            VariantScore(
                label, len(result.fitted), len(result.calibration.names), best,
                float(initial["plausible"].mean()) if len(initial) else math.nan,
                result.posterior.ess, result.posterior.log_evidence, float(probability),
                hits if forecasts else None, forecasts or None, density if forecasts else None,
            )
        )  # fmt: skip
    return out


def preferred(found: list[VariantScore]) -> str:
    """The verdict in words: which variant the figures prefer, and by how much (Jeffreys' scale)."""
    ranked = sorted(found, key=lambda s: s.log_evidence, reverse=True)
    best, runner_up = ranked[0], ranked[1]
    if not math.isfinite(best.log_evidence):
        return "No variant has a set with a finite distance: the figures cannot compare them."
    gap = best.log_evidence - runner_up.log_evidence
    factor = math.exp(min(gap, 700.0))
    strength = (
        "barely worth mentioning" if factor < 3 else "substantial" if factor < 10 else "strong" if factor < 100
        else "decisive"
    )  # fmt: skip
    if factor < 3:
        return (
            f"The figures do not decide between {best.label!r} and {runner_up.label!r} "
            f"(Bayes factor {factor:.2g}, {strength})."
        )
    return (
        f"The figures prefer {best.label!r} over {runner_up.label!r}: Bayes factor {factor:.3g} "
        f"(log {gap:.1f}; {strength} on Jeffreys' scale)."
    )


def compare(
    comparison: Comparison,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    progress: bool = True,
    force: bool = False,
) -> tuple[Path, dict[str, CalibrationResult], list[VariantScore]]:
    """Calibrate every variant in `<out>/<label>/` (each resumable), then write compare.md and compare.json."""
    from sim.calibrate.report import save_comparison
    from sim.calibrate.runner import calibrate

    folder = Path(out) if out is not None else Path("runs") / comparison.name
    results = {
        label: calibrate(calibration, folder / label, workers=workers, scheduler=scheduler, client=client,
                         progress=progress, force=force)
        for label, calibration in comparison.variants.items()
    }  # fmt: skip
    found = scores(results)
    save_comparison(comparison, folder, results, found, preferred(found))
    return folder, results, found
