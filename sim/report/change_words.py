"""A what-if's changes in words a client reads: "Volcano Engine cuts its token price 99 % from Jan 2026".

The command line records each change as its flag (`--price-cut volcano=99%@2026-01`), which
is what reproduces it and stays in the reports' "Changes applied". Titles and headings
are read by people who never typed a flag: they get the change in words, with vendor
names rather than ids. A line this module cannot read is shown as it was written.
"""

from __future__ import annotations

import datetime as dt
import re

from sim.scenario.schema import ALL_VENDORS, Scenario

TARGETED = re.compile(r"^(?P<who>[A-Za-z0-9_]+)=(?P<amount>[+-]?\d+(?:\.\d+)?)%@(?P<date>\d{4}-\d{2})$")
UNTARGETED = re.compile(r"^=?(?P<amount>[+-]?\d+(?:\.\d+)?)%@(?P<date>\d{4}-\d{2})$")
ASSIGNMENT = re.compile(r"^(?P<path>[^=]+)=(?P<value>.*)$")


def month_words(date: str) -> str:
    """'2026-01' -> 'Jan 2026'."""
    return dt.date(int(date[:4]), int(date[5:7]), 1).strftime("%b %Y")


def _who(who: str, scenario: Scenario) -> str:
    if who == ALL_VENDORS:
        return "every vendor"
    vendor = scenario.vendors.get(who)
    return vendor.name if vendor is not None else who


def _targeted(value: str, scenario: Scenario, template: str) -> str | None:
    parts = TARGETED.match(value.replace(" ", ""))
    if parts is None:
        return None
    amount = f"{float(parts['amount']):g}"
    return template.format(who=_who(parts["who"], scenario), amount=amount, month=month_words(parts["date"]))


def _switching(value: str) -> str | None:
    parts = UNTARGETED.match(value.replace(" ", ""))
    if parts is None:
        return None
    change = float(parts["amount"])
    direction = "fall" if change < 0 else "rise"
    return f"switching costs and lock-in {direction} {abs(change):g} % from {month_words(parts['date'])}"


def _assignment(value: str, side: str) -> str:
    parts = ASSIGNMENT.match(value.strip())
    return f"{parts['path'].strip()} = {parts['value'].strip()} {side}" if parts else value


def plain_change(line: str, scenario: Scenario) -> str:
    """One recorded change (`--price-cut all=99%@2026-01`, ...) in words; unreadable ones as written."""
    flag, _, value = line.partition(" ")
    words = {
        "--price-cut": lambda: _targeted(value, scenario, "{who} cuts its token price {amount} % from {month}"),
        "--capacity-cap": lambda: _targeted(
            value, scenario, "{who}: imported GPUs grow at most {amount} % a month from {month}"
        ),
        "--switching-cost": lambda: _switching(value),
        "--set": lambda: _assignment(value, "(what-if side)"),
        "--both": lambda: _assignment(value, "(both sides)"),
    }
    said = words[flag]() if flag in words else None
    return said or line


def plain_question(changes: list[str], scenario: Scenario) -> str:
    """All the changes in words, the question first and what both sides share last."""
    ordered = [c for c in changes if not c.startswith("--both")] + [c for c in changes if c.startswith("--both")]
    return "; ".join(plain_change(change, scenario) for change in ordered) or "no change"
