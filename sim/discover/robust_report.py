"""Robust-policy outputs: robust.md, robust.csv, values.parquet and robust.png.

robust.md        per criterion a table of the policies (median, worst tenth, regret, share of
                 sets meeting the threshold), the share meeting every criterion, the choice it points to
robust.csv       the same table, one row per policy and criterion
values.parquet   each policy's value of each criterion in each plausible set (mean over seeds)
robust.png       per criterion, each policy's values across the sets against the threshold,
                 and its regret

matplotlib is imported inside the drawing function only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
from rich.table import Table
from rich.text import Text

from sim.discover.report import number, percent
from sim.report.files import write_atomically, write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from sim.discover.policies import RobustResult


def save_robust(result: RobustResult) -> None:
    """Write the report files into the comparison's folder, each whole or not at all."""
    folder = result.folder
    write_text(folder / "robust.csv", result.table.to_csv(index=False, float_format="%.6g"))
    table = pa.Table.from_pandas(result.values, preserve_index=False)
    write_atomically(folder / "values.parquet", lambda tmp: pq.write_table(table, tmp))
    from sim.report.charts import save_figure

    save_figure(robust_figure(result), folder / "robust.png")
    write_text(folder / "robust.md", markdown(result))


def verdict(result: RobustResult) -> list[str]:
    """Sentences naming the robust policy (most sets meeting every criterion, then least regret)
    beside the one best on average, when they differ."""
    overall, table = result.overall, result.table
    if overall.empty or not len(result.values):
        return ["No set has a value for every policy: nothing to compare (see the notes)."]
    sets = int(overall["sets"].iloc[0])
    worst_regret = table.assign(rank=table.groupby("criterion")["regret_max"].rank()).groupby("policy")["rank"].mean()
    ranked = overall.assign(rank=overall["policy"].map(worst_regret)).sort_values(
        ["every", "rank"], ascending=[False, True], kind="stable"
    )
    robust = ranked.iloc[0]
    lines = [
        f"Most robust: **{robust['policy']}**, which meets every criterion in "
        f"{round(robust['every'] * sets)} of {sets} plausible sets"
        + (" (ties broken by the smallest largest regret)." if (overall["every"] == robust["every"]).sum() > 1 else ".")
    ]
    for criterion, rows in table.groupby("criterion", sort=False):
        clause = next(c for c in result.robust.criteria if c.text == criterion)
        best = rows.sort_values("median", ascending=not clause.higher_is_better).iloc[0]
        if best["policy"] != robust["policy"]:
            lines.append(
                f"Best on average for `{criterion}`: {best['policy']} (median {number(best['median'])}), "
                f"which meets it in {percent(best['satisficing'])} of the sets."
            )
    return lines


def markdown(result: RobustResult) -> str:
    robust = result.robust
    status = result.record["status"]
    sets = len(robust.set_ids)
    lines = [
        f"# Robust policies for {robust.base.vendors[robust.spec.vendor].name}: {robust.name}",
        "",
    ]
    if robust.spec.description:
        lines += [robust.spec.description.strip(), ""]
    lines += [
        f"- policies: {', '.join(f'`{p}`' for p in robust.policies)}",
        f"- plausible sets: {sets} of the calibration in {result.record['ensemble']}",
        f"- seeds: {len(robust.seeds)} per policy and set, the same for all (common random numbers)",
        f"- runs: {status['runs']} ({status['executed']} run now, {status['reused']} reused), {status['elapsed_s']} s",
        "",
        *verdict(result),
        "",
        "Median and worst tenth: across the sets (the worst tenth is the value 90 % of the sets do at least as well "
        "as). Regret: in each set, how far the policy falls short of the best policy in that set, in the criterion's "
        "units. Meets: the share of sets in which the threshold holds. These describe the sampled plausible sets "
        "and these policies only: another policy, or assumptions no figure pins, can change them.",
        "",
    ]
    for criterion, rows in result.table.groupby("criterion", sort=False):
        lines += [f"## `{criterion}`", "", "| policy | median | worst tenth | median regret | largest regret | meets |"]
        lines += ["|---|---:|---:|---:|---:|---:|"]
        for row in rows.itertuples():
            lines.append(
                f"| `{row.policy}` | {number(row.median)} | {number(row.worst_tenth)} | {number(row.regret_median)} "
                f"| {number(row.regret_max)} | {percent(row.satisficing)} |"
            )
        lines.append("")
    lines += ["## Every criterion", "", "| policy | meets every criterion |", "|---|---:|"]
    lines += [f"| `{row.policy}` | {percent(row.every)} |" for row in result.overall.itertuples()]
    lines += ["", "![Each policy across the plausible sets](robust.png)", ""]
    lines += ["## Policies", ""]
    for name, policy in robust.spec.policies.items():
        changes = [f"`{k}` = {v}" for k, v in policy.set.items()]
        changes += [f"event {event}" for event in policy.add_events]
        changes += [f"without event `{event}`" for event in policy.drop_events]
        lines.append(f"- `{name}`: {policy.description.strip() or '-'} ({'; '.join(changes) or 'no change'})")
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in result.notes]
    lines += ["", "## Provenance", "", f"- file: {robust.path}", f"- model: {result.record['model']['version']}"]
    lines += ["- versions: " + ", ".join(f"{k} {v}" for k, v in result.record["versions"].items()), ""]
    return "\n".join(lines)


def robust_table(result: RobustResult) -> Table:
    """The comparison for the terminal: one row per policy and criterion."""
    table = Table(title=Text(f"{result.robust.name}: {len(result.robust.set_ids)} plausible sets"))
    for column in ("policy", "criterion", "median", "worst tenth", "median regret", "largest regret", "meets"):
        table.add_column(column, justify="left" if column in ("policy", "criterion") else "right")
    for row in result.table.itertuples():
        table.add_row(Text(row.policy), Text(row.criterion), number(row.median), number(row.worst_tenth),
                      number(row.regret_median), number(row.regret_max), percent(row.satisficing))  # fmt: skip
    return table


def robust_figure(result: RobustResult) -> Figure:
    """Top row: each policy's values across the sets, the threshold dashed; bottom row: its regret."""
    import matplotlib.pyplot as plt

    criteria = result.robust.criteria
    policies = result.robust.policies
    fig, axes = plt.subplots(
        2, len(criteria), figsize=(max(6.5, 4.6 * len(criteria)), 7.0), squeeze=False, constrained_layout=True
    )
    for j, clause in enumerate(criteria):
        wide = result.values.pivot(index="set", columns="policy", values=clause.text).reindex(columns=policies)
        high = clause.higher_is_better
        best = wide.max(axis=1) if high else wide.min(axis=1)
        regret = (wide.rsub(best, axis=0) if high else wide.sub(best, axis=0)).clip(lower=0)
        for row, frame in ((0, wide), (1, regret)):
            ax = axes[row, j]
            data = [frame[p].dropna().to_numpy() for p in policies]
            ax.boxplot(data, vert=False, widths=0.5, showfliers=False)
            for k, values in enumerate(data):
                ax.scatter(values, [k + 1] * len(values), s=8, alpha=0.45, color="0.25", zorder=3)
            ax.set_yticks(range(1, len(policies) + 1), policies, fontsize=8)
            ax.invert_yaxis()
            ax.grid(axis="x", alpha=0.25)
            ax.tick_params(axis="x", labelsize=7)
        axes[0, j].axvline(float(clause.value), color="#d62728", linestyle="--", linewidth=1)
        shares = result.table[result.table["criterion"] == clause.text].set_index("policy")["satisficing"]
        for k, policy in enumerate(policies):
            axes[0, j].annotate(f"meets {percent(shares.get(policy, 0.0))}", (1.0, k + 1), xycoords=("axes fraction",
                                "data"), xytext=(-4, 8), textcoords="offset points", ha="right", fontsize=7,
                                color="#d62728")  # fmt: skip
        axes[0, j].set_title(clause.text, fontsize=9)
        axes[1, j].set_title("regret: shortfall from the best policy in each set", fontsize=8)
    fig.suptitle(f"{result.robust.name}: each policy across {len(result.robust.set_ids)} plausible sets", fontsize=10)
    return fig
