"""The `sim` command: parses arguments and calls the stages; holds no model logic.

Exit codes: 0 success, 1 targets missed, 2 bad input (scenario, --set, flags, output folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import matplotlib
from rich.console import Console

from sim.record.trajectories import ImplausibleRun
from sim.report.folders import claimed_folder
from sim.report.outputs import OutputConflict, run_identity, save_run
from sim.report.sweep_report import indices_table, save_sweep_report
from sim.report.tables import print_result, targets_table, whatif_table
from sim.report.targets import check_targets, load_targets
from sim.report.whatif_report import save_whatif, whatif_identity
from sim.run import run
from sim.scenario.calendar import month_at, month_index, parse_month
from sim.scenario.loading import Problem, ScenarioError, load_scenario
from sim.scenario.schema import Scenario
from sim.sweep.runner import preview, run_sweep
from sim.sweep.sensitivity import analyze_sweep
from sim.sweep.spec import Sweep, load_sweep
from sim.whatif.analysis import DEFAULT_REPLICATES, MAX_REPLICATES, whatif
from sim.whatif.changes import Changes, parse_changes

BAD_INPUT = 2
DEFAULT_TARGETS = Path("data/targets.yaml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sim", description="Agent-based simulator of AI cloud market competition.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run_cmd = commands.add_parser("run", help="run a scenario; write tables, chart and summary")
    run_cmd.add_argument("scenario", type=Path, help="scenario YAML file")
    _add_overrides(run_cmd)
    run_cmd.add_argument("--out", type=Path, help="output folder (default runs/<scenario name>/)")
    run_cmd.add_argument("--force", action="store_true", help="replace another scenario's results in --out")
    run_cmd.add_argument(
        "--mode",
        choices=("batched", "reference"),
        default="batched",
        help="batched: population rules on arrays (fast); reference: each agent steps through Mesa",
    )
    run_cmd.add_argument("--quiet", action="store_true", help="print only the output folder")

    validate_cmd = commands.add_parser("validate", help="check scenario files: 'ok' or every error")
    validate_cmd.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")
    _add_overrides(validate_cmd, seed=False)

    commands.add_parser("schema", help="print the scenario JSON Schema (for editors' autocompletion)")

    targets_cmd = commands.add_parser("targets", help="check a scenario against public targets over several seeds")
    targets_cmd.add_argument("scenario", type=Path)
    targets_cmd.add_argument(
        "--targets", type=Path, default=DEFAULT_TARGETS, help="targets file (default data/targets.yaml)"
    )
    targets_cmd.add_argument("--seeds", type=int, nargs="+", help="seeds to run (default: the scenario's own)")
    _add_overrides(targets_cmd, seed=False)
    _add_whatif(commands)
    _add_sweep(commands)
    _add_analyze(commands)
    return parser


WHATIF_EXAMPLES = """examples:
  sim whatif scenarios/baseline.yaml --both months=48 --price-cut all=99%@2027-01
  sim whatif scenarios/baseline.yaml --set "vendors.alibaba.pricing=[{policy: match_cheapest, ratio: 1.0}]"
  sim whatif scenarios/baseline.yaml --switching-cost=-50%@2024-06
  sim whatif scenarios/baseline.yaml --capacity-cap all=2%@2025-01
  sim whatif scenarios/baseline.yaml --against scenarios/no_price_war.yaml --at 2025-06 --at 2026-12
"""


def _add_whatif(commands) -> None:
    cmd = commands.add_parser(
        "whatif",
        help="compare a scenario with a changed copy: paired runs, differences with confidence intervals",
        epilog=WHATIF_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("scenario", type=Path, help="the baseline scenario file")
    cmd.add_argument(
        "--price-cut",
        action="append",
        default=[],
        metavar="WHO=PCT%@YYYY-MM",
        help="a vendor (or all) cuts its list price by PCT %% from a month, e.g. all=99%%@2026-01; "
        "a vendor whose reactive policy sets its price keeps following it",
    )
    cmd.add_argument(
        "--capacity-cap",
        action="append",
        default=[],
        metavar="WHO=PCT%@YYYY-MM",
        help="growth of imported GPUs capped at PCT %% a month from a month (export controls), e.g. all=0%%@2025-01",
    )
    cmd.add_argument(
        "--switching-cost",
        action="append",
        default=[],
        metavar="PCT%@YYYY-MM",
        help="developers' switching cost and lock-in weight change by PCT %%; write a negative change "
        "with =: --switching-cost=-50%%@2025-01",
    )
    cmd.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="change any scenario field on the what-if side only",
    )
    cmd.add_argument(
        "--both",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="change a field on both sides alike, e.g. months=48",
    )
    cmd.add_argument("--against", type=Path, help="compare with another scenario file (flags apply on top of it)")
    cmd.add_argument(
        "--replicates",
        type=int,
        default=DEFAULT_REPLICATES,
        help=f"paired replicates, 2 to {MAX_REPLICATES} (default {DEFAULT_REPLICATES})",
    )
    cmd.add_argument("--workers", type=int, help="processes (default: all cores)")
    cmd.add_argument("--confidence", type=float, default=0.9, help="confidence level of intervals (default 0.9)")
    cmd.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="YYYY-MM",
        help="months to tabulate (default: the last); may repeat",
    )
    cmd.add_argument("--out", type=Path, help="output folder (default runs/<scenario name>-whatif/)")
    cmd.add_argument("--force", action="store_true", help="replace another what-if's results in --out")
    cmd.add_argument("--quiet", action="store_true", help="no progress bar or tables")


SWEEP_EXAMPLES = """examples:
  sim sweep scenarios/sweeps/switching_grid.yaml                 # all cores of this machine
  sim sweep scenarios/sweeps/sobol_baseline.yaml --workers 2 --set agents.developers=20000
  sim sweep my_sweep.yaml --scheduler tcp://10.0.0.5:8786         # a running Dask cluster
  sim sweep my_sweep.yaml --dry-run                              # check the file, count the runs
Interrupted? Run the same command again: stored runs are skipped. Then: sim analyze runs/<sweep>/
"""


def _add_sweep(commands) -> None:
    cmd = commands.add_parser(
        "sweep",
        help="run a sweep file: many runs over a design of parameter sets, on Dask; resumable",
        epilog=SWEEP_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("sweep", type=Path, help="sweep YAML file (see docs/sweeps.md)")
    _add_overrides(cmd, seed=False)
    cmd.add_argument("--out", type=Path, help="output folder (default runs/<sweep name>/)")
    cmd.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    cmd.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    cmd.add_argument("--batch", type=int, help="runs per Dask task (default: the model's, 1 for the market model)")
    cmd.add_argument("--force", action="store_true", help="write into a folder that holds another sweep")
    cmd.add_argument("--dry-run", action="store_true", help="validate, count the runs and those stored; run nothing")
    cmd.add_argument("--quiet", action="store_true", help="no progress bar; print only the output folder")


def _add_analyze(commands) -> None:
    cmd = commands.add_parser(
        "analyze", help="sensitivity indices (SALib), response and fan charts, and a report for a finished sweep"
    )
    cmd.add_argument("folder", type=Path, help="a sweep's output folder, e.g. runs/switching_grid")
    cmd.add_argument(
        "--outcome",
        action="append",
        default=[],
        metavar="PATTERN",
        help="outcomes to chart, by name, * matching anything (e.g. 'token_share[*]@2026-12'); may repeat",
    )
    cmd.add_argument("--confidence", type=float, default=0.95, help="confidence level of intervals (default 0.95)")
    cmd.add_argument("--resamples", type=int, default=100, help="bootstrap resamples for intervals (default 100)")
    cmd.add_argument("--out", type=Path, help="report folder (default <folder>/analysis/)")
    cmd.add_argument("--quiet", action="store_true", help="print only the report folder")


def _add_overrides(command: argparse.ArgumentParser, seed: bool = True) -> None:
    command.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field by dotted path with a YAML value; may repeat",
    )
    if seed:
        command.add_argument("--seed", type=int, help="random seed (default: the scenario's own)")


def _say(console: Console, message: str) -> None:
    """Print plain text as is.

    Rich would wrap at the console width (80 columns when output is not a terminal) and read
    `[...]` as markup, splitting file paths and field paths that users and scripts grep for.
    """
    printable = message.encode("utf-8", "backslashreplace").decode("utf-8")  # undecodable bytes of a path
    console.print(printable, markup=False, highlight=False, soft_wrap=True)


def _fail(console: Console, message: str) -> int:
    _say(console, message)
    return BAD_INPUT


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    scenario = load_scenario(args.scenario, args.overrides)
    if args.seed is not None:
        if not 0 <= args.seed < 2**63:
            return _fail(err, f"--seed: expected a whole number from 0 to 2**63-1, got {args.seed}")
        scenario = scenario.model_copy(update={"seed": args.seed})
    folder = args.out or Path("runs") / scenario.name
    with claimed_folder(folder, run_identity(scenario), replace=args.force) as claim:
        began = time.perf_counter()
        result = run(scenario, mode=args.mode, progress=not args.quiet and sys.stderr.isatty())
        elapsed = time.perf_counter() - began
        claim.commit(lambda staging: save_run(result, staging))
    if not args.quiet:
        print_result(result, out)
        _say(out, f"Simulated {scenario.months} months in {elapsed:.2f} s; outputs in {folder}/")
    else:
        _say(out, str(folder))
    return 0


def cmd_validate(args: argparse.Namespace, out: Console, err: Console) -> int:
    status = 0
    for path in args.scenarios:
        try:
            load_scenario(path, args.overrides)
            _say(out, f"{path}: ok")
        except ScenarioError as problem:
            status = _fail(err, str(problem))
    return status


def cmd_schema(args: argparse.Namespace, out: Console, err: Console) -> int:
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")
    return 0


def cmd_targets(args: argparse.Namespace, out: Console, err: Console) -> int:
    scenario = load_scenario(args.scenario, args.overrides)
    if not args.targets.exists():
        return _fail(err, f"{args.targets}: targets file not found")
    targets = load_targets(args.targets)
    all_passed = True
    for seed in args.seeds or [scenario.seed]:
        began = time.perf_counter()
        result = run(scenario, seed=seed)
        checks = check_targets(result, targets)
        all_passed &= all(c.passed for c in checks)
        out.print(targets_table(checks, f"{scenario.name}, seed {seed} ({time.perf_counter() - began:.2f} s)"))
    return 0 if all_passed else 1


def cmd_whatif(args: argparse.Namespace, out: Console, err: Console) -> int:
    if not 2 <= args.replicates <= MAX_REPLICATES:
        return _fail(err, f"--replicates: expected 2 (for an interval) to {MAX_REPLICATES}, got {args.replicates}")
    if not 0 < args.confidence < 1:
        return _fail(err, f"--confidence: expected a level between 0 and 1, e.g. 0.9, got {args.confidence}")
    if args.workers is not None and args.workers < 1:
        return _fail(err, f"--workers: expected at least 1, got {args.workers}")
    scenario = load_scenario(args.scenario)
    changes = Changes(args.price_cut, args.capacity_cap, args.switching_cost, args.sets, args.both, args.against)
    baseline, variant = parse_changes(scenario, changes)
    dates = [_month_in(baseline, text) for text in args.at] or None
    folder = args.out or Path("runs") / f"{baseline.name}-whatif"
    with claimed_folder(folder, whatif_identity(baseline, variant), replace=args.force) as claim:
        began = time.perf_counter()
        result = whatif(scenario, changes, args.replicates, args.confidence, args.workers, progress=not args.quiet)
        claim.commit(lambda staging: save_whatif(result, staging, dates))
    if not args.quiet:
        for line in result.headlines(dates[-1] if dates else None):
            _say(out, line)
        out.print(whatif_table(result, dates[-1] if dates else result.dates[-1]))
        _say(out, f"{len(result.seeds)} paired replicates in {time.perf_counter() - began:.1f} s; outputs in {folder}/")
    else:
        _say(out, str(folder))
    return 0


def cmd_sweep(args: argparse.Namespace, out: Console, err: Console) -> int:
    for flag, value in (("--workers", args.workers), ("--batch", args.batch)):
        if value is not None and value < 1:
            return _fail(err, f"{flag}: expected at least 1, got {value}")
    if args.workers is not None and args.scheduler:
        return _fail(err, "--workers: not with --scheduler (a running cluster has its own workers)")
    sweep = load_sweep(args.sweep, args.overrides)
    if args.dry_run:
        return _dry_run(sweep, args, out)
    if not args.quiet:
        _say(out, _plan_line(sweep))
    try:
        done = run_sweep(
            sweep,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            batch_size=args.batch,
            progress=not args.quiet,
            force=args.force,
        )
    except KeyboardInterrupt:
        _say(err, "interrupted; finished runs are stored: run the same command again to resume")
        return 130
    if args.quiet:
        _say(out, str(done.folder))
    else:
        counts = done.compacted
        _say(
            out,
            f"{done.executed} runs done now, {done.reused} reused; {counts.ok} ok, {counts.failed} failed, "
            f"{counts.missing} missing ({done.elapsed_s:.1f} s). Results: {done.results}",
        )
        if counts.failed:
            _say(out, f"Failed runs and their errors: {done.folder / 'runs.parquet'} (rerun to retry them)")
        _say(out, f"Next: sim analyze {done.folder}")
    return 0 if done.complete else 1


def _plan_line(sweep: Sweep) -> str:
    return f"Sweep {sweep.name}: {sweep.spec.design.method} design, {_count(len(sweep.seeds), 'seed')} per set"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _dry_run(sweep: Sweep, args: argparse.Namespace, out: Console) -> int:
    found = preview(sweep, args.out)
    plan = found.plan
    _say(out, f"{sweep.path}: ok")
    _say(
        out,
        f"{plan.design.size} parameter sets ({plan.design.method}) x {_count(len(sweep.seeds), 'seed')} "
        f"= {len(plan.runs)} runs "
        f"({found.distinct} distinct); {found.stored} stored in {found.folder}/, {found.to_run} to run",
    )
    for parameter in sweep.parameters:
        values = [point[parameter.name] for point in plan.design.values]
        _say(out, f"  {parameter.name}: {_value_range(values)}")
    return 0


def _value_range(values: list) -> str:
    distinct = list(dict.fromkeys(repr(v) for v in values))
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == len(values) and len(distinct) > 1:
        return f"{len(distinct)} values from {min(numbers):.6g} to {max(numbers):.6g}"
    return f"{_count(len(distinct), 'value')}: {', '.join(distinct[:4])}{', ...' if len(distinct) > 4 else ''}"


def cmd_analyze(args: argparse.Namespace, out: Console, err: Console) -> int:
    if not 0 < args.confidence < 1:
        return _fail(err, f"--confidence: expected a level between 0 and 1, e.g. 0.95, got {args.confidence}")
    if args.resamples < 10:
        return _fail(err, f"--resamples: expected at least 10, got {args.resamples}")
    analysis = analyze_sweep(args.folder, args.outcome or None, args.confidence, args.resamples)
    written = save_sweep_report(analysis, args.out)
    folder = written["report"].parent
    if args.quiet:
        _say(out, str(folder))
        return 0
    out.print(indices_table(analysis))
    for note in analysis.notes:
        _say(out, f"note: {note}")
    _say(out, f"Report, tables and charts in {folder}/ (report.md)")
    return 0


def _month_in(scenario: Scenario, text: str) -> str:
    try:
        month = parse_month(text)
    except ValueError as error:
        raise ScenarioError([Problem("--at", text, str(error))]) from None
    if not 0 <= month_index(scenario.start, month) < scenario.months:
        last = month_at(scenario.start, scenario.months - 1)
        raise ScenarioError([Problem("--at", text, f"outside the scenario ({scenario.start} to {last})")])
    return month


COMMANDS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "schema": cmd_schema,
    "targets": cmd_targets,
    "whatif": cmd_whatif,
    "sweep": cmd_sweep,
    "analyze": cmd_analyze,
}


def main(argv: list[str] | None = None) -> int:
    matplotlib.use("Agg")  # the command line only writes figures to files; never opens a window
    args = _parser().parse_args(argv)
    width = None if sys.stdout.isatty() else 120  # tables in logs and pipes are not squeezed to 80 columns
    out, err = Console(width=width), Console(stderr=True, width=width)
    try:
        return COMMANDS[args.command](args, out, err)
    except ScenarioError as problem:
        return _fail(err, str(problem))
    except OutputConflict as conflict:
        return _fail(err, str(conflict))
    except ImplausibleRun as implausible:
        where = getattr(args, "scenario", None) or getattr(args, "sweep", None) or "sim"
        return _fail(err, f"{where}: the run's outputs were refused, nothing was written: {implausible}")
    except KeyboardInterrupt:
        err.print("interrupted; files already written are complete")
        return 130


if __name__ == "__main__":
    sys.exit(main())
