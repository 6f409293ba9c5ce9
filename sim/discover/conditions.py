"""The outcome-condition grammar: `token_share[volcano]@2026-12 > 0.5`, read without eval.

A condition names an outcome the way sweep results name them (docs/sweeps.md, "Outcomes")
and compares it with a number, or a leader with a vendor:

    condition := clause ("and" clause)*
    clause    := outcome OP value
    outcome   := [side "."] metric ["[" vendor "]"] ["@" period]
    side      := "baseline" | "whatif"            (ensemble what-ifs only; default: the effect)
    metric    := a name: token_share, revenue, hhi_tokens, leader, divergence_months, y, ...
    vendor    := a vendor id, "all" (the market's total of an additive metric), or for leader
                 outcomes the metric led: leader[token_share]
    period    := YYYY-MM | YYYY-MM..YYYY-MM
    OP        := > | >= | < | <= | == | !=
    value     := a number, optionally with % (20% = 0.2), or a vendor id for a leader

The module only parses: whether the results hold the outcome (metric, vendor, month) is
checked by whoever reads them (sim.discover.cases, sim.discover.robust), each with a
message naming what it holds. `outcome_pattern` is the `*` wildcard of `sim analyze
--outcome`, over the same outcome names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.scenario.loading import Problem, ScenarioError

OPERATORS = (">=", "<=", "==", "!=", ">", "<")
SIDES = ("baseline", "whatif")
TOTAL = "all"
LEADER = "leader"
MAX_CLAUSES = 8
EXPECTED = (
    "expected OUTCOME OP VALUE, e.g. 'token_share[volcano]@2026-12 > 0.5' or "
    "'leader[revenue_share]@2026-12 != alibaba' (OP one of > >= < <= == !=; clauses joined by 'and')"
)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_MONTH = r"\d{4}-\d{2}"
_CLAUSE = re.compile(
    rf"""^\s*
    (?:(?P<side>{"|".join(SIDES)})\.)?
    (?P<metric>{_NAME})
    (?:\[\s*(?P<vendor>[A-Za-z0-9_.-]+)\s*\])?
    (?:@(?P<period>{_MONTH}(?:\.\.{_MONTH})?))?
    \s*(?P<op>{"|".join(re.escape(op) for op in OPERATORS)})\s*
    (?P<value>\S+?)
    \s*$""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?$")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Clause:
    """One comparison: an outcome, an operator and a number (or a vendor, for a leader)."""

    metric: str
    vendor: str | None
    period: str | None
    op: str
    value: float | str
    side: str | None = None
    text: str = ""

    @property
    def outcome(self) -> str:
        """The outcome's name as sweep results spell it: `metric[vendor]@period`."""
        name = self.metric + (f"[{self.vendor}]" if self.vendor else "") + (f"@{self.period}" if self.period else "")
        return f"{self.side}.{name}" if self.side else name

    @property
    def numeric(self) -> bool:
        return isinstance(self.value, float)

    @property
    def higher_is_better(self) -> bool:
        """For a threshold read as a goal (robust policies): `>`/`>=` want more, `<`/`<=` less."""
        return self.op in (">", ">=")

    def holds(self, values):  # numpy arrays or scalars alike
        """Where the clause holds; NaN (a run that has no value) never holds."""
        value = self.value
        if self.op == ">":
            return values > value
        if self.op == ">=":
            return values >= value
        if self.op == "<":
            return values < value
        if self.op == "<=":
            return values <= value
        if self.op == "==":
            return values == value
        return values != value


@dataclass(frozen=True)
class Condition:
    """Clauses that must all hold, and the text they were read from (for messages and reports)."""

    clauses: tuple[Clause, ...]
    text: str

    def slug(self) -> str:
        """A folder-name form of the condition: `token_share-volcano-2026-12-gt-0.5`."""
        words = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne"}
        parts = []
        for clause in self.clauses:
            value = clause.value if isinstance(clause.value, str) else f"{clause.value:g}"
            parts += [clause.side or "", clause.metric, clause.vendor or "", clause.period or ""]
            parts += [words[clause.op], str(value)]
        text = "-".join(p for p in parts if p)
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:120].strip("-.") or "condition"


def problem(source: str, text: str, message: str) -> ScenarioError:
    """A condition that cannot be used: one line naming the flag (or file), the condition and why."""
    return ScenarioError([Problem(source, text, message)])


def parse_condition(text: str, source: str = "--where") -> Condition:
    """Read a condition; a malformed one is a ScenarioError saying what was expected."""
    if not isinstance(text, str) or not text.strip():
        raise problem(source, str(text), f"the condition is empty; {EXPECTED}")
    parts = _AND.split(text.strip())
    if len(parts) > MAX_CLAUSES:
        raise problem(source, text, f"at most {MAX_CLAUSES} clauses joined by 'and' (got {len(parts)})")
    return Condition(tuple(parse_clause(part, text, source) for part in parts), text.strip())


def parse_clause(part: str, text: str, source: str = "--where") -> Clause:
    """One `outcome OP value`; `text` (the whole condition) is what a message quotes."""
    if re.search(r"\bor\b|[()]", part, re.IGNORECASE):
        raise problem(source, text, "only 'and' joins clauses (no 'or', no parentheses)")
    match = _CLAUSE.match(part)
    if match is None:
        raise problem(source, text, f"cannot read {part.strip()!r}; {EXPECTED}")
    found = match.groupdict()
    raw = found["value"]
    value: float | str
    if _NUMBER.match(raw):
        value = float(raw.rstrip("%")) / (100 if raw.endswith("%") else 1)
    elif re.fullmatch(r"[A-Za-z0-9_.-]+", raw) and not raw[0].isdigit():
        value = raw
    else:
        raise problem(source, text, f"{raw!r} is neither a number nor a vendor id; {EXPECTED}")
    metric, op = found["metric"], found["op"]
    if isinstance(value, str) and op not in ("==", "!="):
        raise problem(source, text, f"{raw!r} is not a number: only == and != compare with a name (a leader)")
    if metric == LEADER and not isinstance(value, str):
        raise problem(source, text, "a leader is a vendor: compare it with == or != and a vendor id")
    if metric != LEADER and isinstance(value, str):
        raise problem(source, text, f"{metric} is a number: compare it with a number, not {raw!r}")
    if found["period"] and ".." in found["period"]:
        start, end = found["period"].split("..")
        if end < start:
            raise problem(source, text, f"the period {found['period']} ends before it starts")
    for month in re.findall(_MONTH, found["period"] or ""):
        if not 1 <= int(month[5:]) <= 12:
            raise problem(source, text, f"{month} is not a month (YYYY-MM, month 01 to 12)")
    return Clause(metric, found["vendor"], found["period"], op, value, found["side"], part.strip())


def outcome_pattern(pattern: str) -> re.Pattern:
    """`*` matches anything, `?` one character; everything else literally (outcome names hold brackets)."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))


NOT_ADDITIVE_SUFFIXES = ("share", "margin", "price", "level", "utilisation", "per_gpu_hour", "rate")
NOT_ADDITIVE = {"unit_cost", "gpu_hour_cost", "platform_fee", "holds_loss_floor", "active"}


def additive(metric: str) -> bool:
    """Whether vendors' values of a metric add up to the market's (revenue, tokens: yes; shares: no)."""
    return metric not in NOT_ADDITIVE and not metric.endswith(NOT_ADDITIVE_SUFFIXES)


def choices(names, limit: int = 12) -> str:
    """Known names for a message: the first `limit`, then how many more."""
    names = list(dict.fromkeys(str(n) for n in names))
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "") if names else "none"
