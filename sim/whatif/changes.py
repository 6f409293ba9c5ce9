"""Readable what-if changes: `--price-cut all=99%@2026-01` and friends, turned into scenario edits.

Syntax (WHO is a vendor id or `all`; AMOUNT is a percentage with a % sign; DATE is YYYY-MM):
  --price-cut WHO=AMOUNT@DATE        list price falls by AMOUNT from DATE      (all=99%@2026-01);
                                     a vendor whose reactive policy sets its price keeps following it
  --capacity-cap WHO=AMOUNT@DATE     imported GPUs grow at most AMOUNT a month (all=0%@2025-01)
  --switching-cost=AMOUNT@DATE       switching cost and lock-in weight change by AMOUNT (=-50%@2025-01)
  --set PATH=VALUE                   any scenario field, what-if side only
  --both PATH=VALUE                  any scenario field, on both sides (e.g. months=48)
  --against FILE                     compare with another scenario file (changes apply on top)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.scenario.calendar import month_at, month_index, parse_month
from sim.scenario.loading import Problem, ScenarioError, load_scenario, scenario_from_dict
from sim.scenario.schema import ALL_VENDORS, Scenario

TARGETED = re.compile(r"^\s*(?P<who>[A-Za-z0-9_]+)\s*=\s*(?P<amount>[+-]?\d+(?:\.\d+)?)\s*%\s*@\s*(?P<date>\S+)\s*$")
UNTARGETED = re.compile(r"^\s*(?P<amount>[+-]?\d+(?:\.\d+)?)\s*%\s*@\s*(?P<date>\S+)\s*$")
DEFAULT_REPLICATES = 12  # paired replicates; here, beside the flags, so the command line reads it without SciPy
# What both sides of every what-if are compared on, here (as plain data) so that the paired runner
# (analysis.py) and the summary across plausible sets (ensemble.py) read them without importing each other.
METRICS = ("token_share", "revenue_share", "api_tokens_per_day", "revenue", "gross_margin")
SHARE_METRICS = ("token_share", "revenue_share")


@dataclass
class Changes:
    """What the what-if side changes, as typed by the user."""

    price_cuts: list[str] = field(default_factory=list)
    capacity_caps: list[str] = field(default_factory=list)
    switching_costs: list[str] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    both: list[str] = field(default_factory=list)
    against: Path | None = None

    def descriptions(self) -> list[str]:
        """One line per change, for reports."""
        lines = [f"--both {item}" for item in self.both]
        lines += [f"compared with scenario file {self.against}"] if self.against else []
        lines += [f"--price-cut {item}" for item in self.price_cuts]
        lines += [f"--capacity-cap {item}" for item in self.capacity_caps]
        lines += [f"--switching-cost {item}" for item in self.switching_costs]
        lines += [f"--set {item}" for item in self.sets]
        return lines

    def slug(self, limit: int = 60) -> str:
        """A folder-name fragment that says which question this is ('price-cut-all-99-2026-01')."""
        lines = self.descriptions()
        lines = [line for line in lines if not line.startswith("--both")] + [
            line for line in lines if line.startswith("--both")
        ]  # the question first, what both sides share last
        words = [line.removeprefix("--").replace("compared with scenario file ", "against-") for line in lines]
        text = re.sub(r"[^A-Za-z0-9]+", "-", " ".join(words)).strip("-").lower() or "unchanged"
        if len(text) <= limit:
            return text
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        return f"{text[: limit - 9].rstrip('-')}-{digest}"

    def is_empty(self) -> bool:
        return not (self.price_cuts or self.capacity_caps or self.switching_costs or self.sets or self.against)


def parse_changes(base: Scenario, changes: Changes, preset: list[str] | None = None) -> tuple[Scenario, Scenario]:
    """The baseline and the what-if scenario, both validated; bad flags raise ScenarioError.

    `preset` assignments are already in `base` (an ensemble's parameter set): a scenario
    named by `--against` gets them too, before `--both`, so both sides share them.
    """
    baseline = _with_sets(base, changes.both, "--both")
    variant = baseline if changes.against is None else _against(baseline, changes, preset or [])
    variant = _with_sets(variant, changes.sets, "--set")
    events = [_price_cut(variant, item) for item in changes.price_cuts]
    events += [_capacity_cap(variant, item) for item in changes.capacity_caps]
    events += [_switching(variant, item) for item in changes.switching_costs]
    if events:
        data = variant.model_dump()
        data["events"] = data["events"] + events
        variant = scenario_from_dict(data)
    _check_aligned(baseline, variant, changes)
    variant = _in_baseline_order(baseline, variant)
    return baseline, variant.model_copy(update={"name": f"{baseline.name}-whatif"})


def _in_baseline_order(baseline: Scenario, variant: Scenario) -> Scenario:
    """The variant with its vendors, families and labs listed in the baseline's order.

    Agents draw their random numbers in list order, so the same scenario listed in another
    order would draw differently and lose the pairing of common random numbers.
    """
    update = {}
    for section in ("vendors", "families", "labs"):
        ours, theirs = getattr(baseline, section), getattr(variant, section)
        order = [key for key in ours if key in theirs] + [key for key in theirs if key not in ours]
        update[section] = {key: theirs[key] for key in order}
    return variant.model_copy(update=update)


def _check_aligned(baseline: Scenario, variant: Scenario, changes: Changes) -> None:
    """Both sides must cover the same months and vendors: they are compared month by month, vendor by vendor.

    (Order does not matter: sides are matched by vendor id and date.) A change to `start`,
    `months` or the vendors belongs on both sides: `--both`.
    """
    source = str(changes.against) if changes.against is not None else "--set"
    if (variant.start, variant.months) != (baseline.start, baseline.months):
        message = (
            f"the what-if side runs {variant.months} months from {variant.start}, the baseline {baseline.months} "
            f"from {baseline.start}; months are compared one by one, so change start or months with --both"
        )
        raise ScenarioError([Problem(source, "start/months", message)])
    if set(variant.vendors) != set(baseline.vendors):
        added, missing = (
            sorted(set(variant.vendors) - set(baseline.vendors)),
            sorted(set(baseline.vendors) - set(variant.vendors)),
        )
        message = (
            f"the what-if side's vendors differ from the baseline's (added: {', '.join(added) or 'none'}; "
            f"missing: {', '.join(missing) or 'none'}); declare a vendor on both sides (--both) with "
            "active: false and let an entry event bring it in"
        )
        raise ScenarioError([Problem(source, "vendors", message)])


def _with_sets(scenario: Scenario, assignments: list[str], flag: str) -> Scenario:
    if not assignments:
        return scenario
    try:
        return scenario_from_dict(scenario.model_dump(), assignments)
    except ScenarioError as error:
        raise ScenarioError([Problem(flag, p.field, p.message) for p in error.problems]) from None


def _against(baseline: Scenario, changes: Changes, preset: list[str]) -> Scenario:
    other = load_scenario(changes.against, [*preset, *changes.both])
    if (other.start, other.months) != (baseline.start, baseline.months):
        raise ScenarioError(
            [
                Problem(
                    str(changes.against),
                    "start/months",
                    f"must match the baseline ({baseline.start}, {baseline.months} months) "
                    f"to compare month by month; got ({other.start}, {other.months})",
                )
            ]
        )
    if set(other.vendors) != set(baseline.vendors):
        raise ScenarioError(
            [
                Problem(
                    str(changes.against),
                    "vendors",
                    f"must have the baseline's vendors {sorted(baseline.vendors)}; got {sorted(other.vendors)}",
                )
            ]
        )
    return other.model_copy(update={"seed": baseline.seed})


def _parse(flag: str, value: str, pattern: re.Pattern, example: str) -> dict[str, str]:
    match = pattern.match(value)
    if not match:
        raise ScenarioError([Problem(flag, value, f"expected {example}")])
    return match.groupdict()


def _date(flag: str, value: str, scenario: Scenario, text: str) -> str:
    try:
        date = parse_month(text)
    except ValueError as error:
        raise ScenarioError([Problem(flag, value, str(error))]) from None
    last = month_at(scenario.start, scenario.months - 1)
    if not 0 <= month_index(scenario.start, date) < scenario.months:
        raise ScenarioError(
            [
                Problem(
                    flag,
                    value,
                    f"date {date} is outside the scenario ({scenario.start} to {last}); extend it with --both months=N",
                )
            ]
        )
    return date


def _vendor(flag: str, value: str, scenario: Scenario, who: str) -> str:
    if who != ALL_VENDORS and who not in scenario.vendors:
        known = ", ".join([*scenario.vendors, ALL_VENDORS])
        raise ScenarioError([Problem(flag, value, f"unknown vendor {who!r}; expected one of: {known}")])
    return who


def _price_cut(scenario: Scenario, value: str) -> dict[str, Any]:
    flag = "--price-cut"
    parts = _parse(flag, value, TARGETED, "WHO=PERCENT%@YYYY-MM, e.g. all=99%@2026-01 or alibaba=50%@2025-06")
    cut = float(parts["amount"])
    if not 0 < cut < 100:
        raise ScenarioError([Problem(flag, value, f"a cut must be more than 0 % and less than 100 %, got {cut:g} %")])
    return {
        "date": _date(flag, value, scenario, parts["date"]),
        "type": "price",
        "vendor": _vendor(flag, value, scenario, parts["who"]),
        "change": -cut / 100,
        "note": f"what-if: {parts['who']} cuts {cut:g} %",
    }


def _capacity_cap(scenario: Scenario, value: str) -> dict[str, Any]:
    flag = "--capacity-cap"
    parts = _parse(flag, value, TARGETED, "WHO=PERCENT%@YYYY-MM, e.g. all=2%@2025-01")
    cap = float(parts["amount"])
    if cap <= -100:
        raise ScenarioError([Problem(flag, value, f"capacity growth must be above -100 % a month, got {cap:g} %")])
    return {
        "date": _date(flag, value, scenario, parts["date"]),
        "type": "supply",
        "vendor": _vendor(flag, value, scenario, parts["who"]),
        "capacity_growth_cap": cap / 100,
        "note": f"what-if: growth of imported GPUs capped at {cap:g} %/month",
    }


def _switching(scenario: Scenario, value: str) -> dict[str, Any]:
    flag = "--switching-cost"
    parts = _parse(flag, value, UNTARGETED, "SIGNED-PERCENT%@YYYY-MM, e.g. -50%@2025-01")
    change = float(parts["amount"])
    if change <= -100:
        raise ScenarioError([Problem(flag, value, f"the change must be above -100 %, got {change:g} %")])
    return {
        "date": _date(flag, value, scenario, parts["date"]),
        "type": "switching",
        "switching_cost_change": change / 100,
        "lock_in_weight_change": change / 100,
        "note": f"what-if: switching costs {change:+g} %",
    }


# --- changes that change nothing -------------------------------------------------------------


def explain_no_effect(baseline: Scenario, changes: Changes, runs: str = "every replicate") -> list[str]:
    """Why a change left every result of every run exactly as it was, and what would test it.

    Called only when both sides came out identical in all `runs`: the change altered no model
    input the run uses (no posted price, no GPU fleet, no cost). Each sentence names what
    overrode or absorbed the change and suggests a change that would test the question.
    """
    lines = [
        f"No effect: the what-if side's results are identical to the baseline's in every month of {runs}, "
        "so the change altered no input the model uses (no posted price, no GPU capacity, no cost). "
        "This is not a finding about the question."
    ]
    lines += [_price_cut_absorbed(baseline, item) for item in changes.price_cuts]
    lines += [_capacity_cap_absorbed(baseline, item) for item in changes.capacity_caps]
    lines += [
        f"--switching-cost {item}: no developer or enterprise reconsidered a vendor in a way the cost decided; "
        "try an earlier date, a larger change, or a higher developers.review_probability on both sides (--both)."
        for item in changes.switching_costs
    ]
    lines += [
        f"--set {item}: the model does not read this field in the months simulated, or another setting overrides "
        "it; check docs/ODD.md for what the field feeds."
        for item in changes.sets
    ]
    if changes.against is not None:
        lines.append(f"{changes.against}: it differs from the baseline in nothing the model reads.")
    return lines


def _price_cut_absorbed(scenario: Scenario, item: str) -> str:
    who = TARGETED.match(item)
    vendors = list(scenario.vendors) if who is None or who["who"] == ALL_VENDORS else [who["who"]]
    reactive = {v: [p.policy for p in scenario.vendors[v].pricing] for v in vendors if scenario.vendors[v].pricing}
    if reactive:
        named = "; ".join(f"{scenario.vendors[v].name}'s {', '.join(policies)}" for v, policies in reactive.items())
        fixes = " ".join(f"--set 'vendors.{v}.pricing=[]'" for v in reactive)
        return (
            f"--price-cut {item}: overridden by reactive pricing ({named}), which sets the posted price after the "
            f"scheduled one each month. To test the cut itself, switch the reaction off on the what-if side: {fixes}."
        )
    return (
        f"--price-cut {item}: the posted price did not change (the vendor is not in the market then, or a later "
        "price event sets its price); try an earlier date or another vendor."
    )


def _capacity_cap_absorbed(scenario: Scenario, item: str) -> str:
    who = TARGETED.match(item)
    vendors = list(scenario.vendors) if who is None or who["who"] == ALL_VENDORS else [who["who"]]
    domestic = [scenario.vendors[v].name for v in vendors if scenario.vendors[v].imported_chips == 0]
    reason = f"{', '.join(domestic)} use no imported chips" if domestic else "the fleets never grew faster than the cap"
    return (
        f"--capacity-cap {item}: absorbed ({reason}; a cap limits growth of imported GPUs only). To test a supply "
        "shock, cap growth below zero (e.g. all=-5%@DATE) or cap from an earlier month."
    )
