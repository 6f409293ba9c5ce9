"""The `sim` command: parses arguments and calls the stages; holds no model logic.

Exit codes: 0 success, 1 targets missed, 2 bad input (scenario, --set, flags, output folder).

Each command imports what it uses inside its own function: `sim validate` and `sim schema`
then start without Mesa, pandas, Dask, SALib or matplotlib, and `sim run` without Dask.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from sim.environment import check_environment
from sim.report.folders import claimed_folder
from sim.report.outputs import OutputConflict
from sim.scenario.calendar import month_at, month_index, parse_month
from sim.scenario.loading import Problem, ScenarioError, load_scenario
from sim.scenario.schema import Scenario
from sim.whatif.changes import DEFAULT_REPLICATES

if TYPE_CHECKING:
    from sim.sweep.spec import Sweep

MAX_REPLICATES = 1000  # paired replicates a what-if may ask for (as sim.whatif.analysis allows)

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

    validate_cmd = commands.add_parser(
        "validate", help="check scenario, sweep, calibration, compare or policies files: 'ok' or every error"
    )
    validate_cmd.add_argument("scenarios", type=Path, nargs="+", help="YAML files (the kind is read from their keys)")
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
    _add_calibrate(commands)
    _add_discovery(commands)
    _add_game(commands)
    _add_app(commands)
    return parser


WHATIF_EXAMPLES = """examples:
  sim whatif scenarios/baseline.yaml --both months=48 --price-cut all=99%@2027-01
  sim whatif scenarios/baseline.yaml --set "vendors.alibaba.pricing=[{policy: match_cheapest, ratio: 1.0}]"
  sim whatif scenarios/baseline.yaml --switching-cost=-50%@2024-06
  sim whatif scenarios/baseline.yaml --capacity-cap all=2%@2025-01
  sim whatif scenarios/baseline.yaml --against scenarios/no_price_war.yaml --at 2025-06 --at 2026-12
  sim whatif scenarios/strategic.yaml --price-cut volcano=99%@2026-01 --respond rivals   # the rivals re-optimise
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
        help=f"paired replicates, 2 to {MAX_REPLICATES} (default {DEFAULT_REPLICATES}; with --ensemble, per set, "
        "from 1, default 2)",
    )
    cmd.add_argument(
        "--ensemble",
        type=Path,
        metavar="FOLDER",
        help="run under every plausible parameter set of a calibration folder (sim calibrate)",
    )
    cmd.add_argument(
        "--sets",
        dest="ensemble_sets",
        type=int,
        help="with --ensemble: how many plausible sets (default: the calibration's)",
    )
    cmd.add_argument(
        "--respond",
        metavar="rivals|all",
        help="strategic vendors re-optimise their token price from the change's month, on both sides: rivals "
        "(those the change does not name) or all (sim game's solver; needs vendors.<id>.strategy)",
    )
    cmd.add_argument("--rounds", type=int, default=6, help="with --respond: most rounds of best responses (default 6)")
    cmd.add_argument("--workers", type=int, help="processes (default: all cores)")
    cmd.add_argument("--confidence", type=float, default=0.9, help="confidence level of intervals (default 0.9)")
    cmd.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="YYYY-MM",
        help="months to tabulate (default: the last); may repeat",
    )
    cmd.add_argument(
        "--out", type=Path, help="output folder (default runs/<scenario name>-whatif-<the changes>/, one per question)"
    )
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
    cmd.add_argument("--force", action="store_true", help="replace another sweep's analysis in --out")
    cmd.add_argument("--quiet", action="store_true", help="print only the report folder")


def _add_app(commands) -> None:
    cmd = commands.add_parser("app", help="the web app on this machine: explore, what-if and sweeps in a browser")
    cmd.add_argument("scenario", type=Path, nargs="?", help="scenario to open first (default: scenarios/baseline.yaml)")
    cmd.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")


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


def _import_mesa_near_the_top() -> None:
    """Import Mesa from the command itself, before the package's modules that need it.

    Mesa 3.5 names the logger of `mesa.model` by inspecting every frame of the stack that
    imports it, reading each frame's source, so its import costs more the deeper it starts.
    Imported here rather than down the package's own imports, a default `sim run` took about
    0.1 s less (medians of 7 whole runs, 2.58 to 2.48 s, on 2 cores).
    """
    import mesa  # noqa: F401


def cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
    from sim.report.outputs import run_identity
    from sim.report.painter import Painter

    scenario = load_scenario(args.scenario, args.overrides)
    if args.seed is not None:
        if not 0 <= args.seed < 2**63:
            return _fail(err, f"--seed: expected a whole number from 0 to 2**63-1, got {args.seed}")
        scenario = scenario.model_copy(update={"seed": args.seed})
    folder = args.out or Path("runs") / scenario.name
    # The painters start before the folder is claimed: a forked painter then holds no lock. Mesa
    # comes after them: it imports numpy, which starts threads, and a painter forks only before.
    with Painter() as painter, claimed_folder(folder, run_identity(scenario), replace=args.force) as claim:
        _import_mesa_near_the_top()
        from sim.report.outputs import save_run
        from sim.report.tables import print_result
        from sim.run import run

        began = time.perf_counter()
        result = run(scenario, mode=args.mode, progress=not args.quiet and sys.stderr.isatty())
        elapsed = time.perf_counter() - began
        claim.commit(lambda staging: save_run(result, staging, painter))
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
            kind = validate_file(path, args.overrides)
            _say(out, f"{path}: ok" + ("" if kind == "scenario" else f" ({kind} file)"))
        except ScenarioError as problem:
            status = _fail(err, str(problem))
    return status


def file_kind(path: Path) -> str:
    """What a YAML file is, by its top-level keys: a scenario, or a sweep, calibration, compare or policies file.

    A file that cannot be read as a mapping is taken as a scenario, whose loader names the problem.
    """
    from sim.scenario.loading import read_yaml_mapping

    try:
        _, data, _ = read_yaml_mapping(path, "file")
    except ScenarioError:
        return "scenario"
    if "compare" in data:
        return "compare"
    if "design" in data:
        return "sweep"
    if "policies" in data or "criteria" in data:
        return "policies"
    if "parameters" in data and "targets" in data:
        return "calibration"
    return "scenario"


def validate_file(path: Path, overrides: list[str]) -> str:
    """Check one file with its own kind's loader (every problem at once); return the kind.

    A scenario is checked without Mesa, Dask or matplotlib; the other kinds check their base
    scenario and parameter paths with the feature's own loader, which takes longer to import.
    """
    kind = file_kind(path)
    if overrides and kind not in ("scenario", "sweep"):
        raise ScenarioError([Problem(str(path), "--set", f"applies to scenario and sweep files, not to a {kind} file")])
    if kind == "scenario":
        load_scenario(path, overrides)
    elif kind == "sweep":
        from sim.sweep.spec import load_sweep

        load_sweep(path, overrides)
    elif kind == "calibration":
        from sim.calibrate.spec import load_calibration

        load_calibration(path)
    elif kind == "compare":
        from sim.calibrate.compare import load_comparison

        load_comparison(path)
    else:
        from sim.discover.robust import load_robust

        load_robust(path)
    return kind


def cmd_schema(args: argparse.Namespace, out: Console, err: Console) -> int:
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")
    return 0


def cmd_targets(args: argparse.Namespace, out: Console, err: Console) -> int:
    scenario = load_scenario(args.scenario, args.overrides)
    _import_mesa_near_the_top()
    from sim.report.tables import targets_table
    from sim.run import run
    from sim.targets import check_targets, load_targets

    if not args.targets.exists():
        return _fail(err, f"{args.targets}: targets file not found")
    targets = load_targets(args.targets, list(scenario.vendors))
    all_passed = True
    for seed in args.seeds or [scenario.seed]:
        began = time.perf_counter()
        result = run(scenario, seed=seed)
        checks = check_targets(result, targets)
        all_passed &= all(c.passed for c in checks)
        out.print(targets_table(checks, f"{scenario.name}, seed {seed} ({time.perf_counter() - began:.2f} s)"))
    return 0 if all_passed else 1


def cmd_whatif(args: argparse.Namespace, out: Console, err: Console) -> int:
    from sim.report.tables import whatif_table
    from sim.whatif.analysis import whatif
    from sim.whatif.changes import Changes, parse_changes
    from sim.whatif.report import save_whatif, whatif_identity

    least = 1 if args.ensemble else 2
    if args.replicates is not None and not least <= args.replicates <= MAX_REPLICATES:
        return _fail(err, f"--replicates: expected {least} to {MAX_REPLICATES}, got {args.replicates}")
    if args.ensemble_sets is not None and (args.ensemble is None or args.ensemble_sets < 1):
        return _fail(err, f"--sets: expected a positive number with --ensemble, got {args.ensemble_sets}")
    if not 0 < args.confidence < 1:
        return _fail(err, f"--confidence: expected a level between 0 and 1, e.g. 0.9, got {args.confidence}")
    if args.workers is not None and args.workers < 1:
        return _fail(err, f"--workers: expected at least 1, got {args.workers}")
    if not 1 <= args.rounds <= 50:
        return _fail(err, f"--rounds: expected 1 to 50, got {args.rounds}")
    scenario = load_scenario(args.scenario)
    changes = Changes(args.price_cut, args.capacity_cap, args.switching_cost, args.sets, args.both, args.against)
    baseline, variant = parse_changes(scenario, changes)
    if args.respond is not None:
        from sim.whatif.respond import check_respond

        check_respond(baseline, changes, args.respond, ensemble=args.ensemble is not None)
    dates = [_month_in(baseline, text) for text in args.at] or None
    kind = "-ensemble" if args.ensemble else ""
    responding = f"-respond-{args.respond}" if args.respond else ""
    folder = args.out or Path("runs") / f"{baseline.name}-whatif{kind}-{changes.slug()}{responding}"
    question = "; ".join([*changes.descriptions(), *([f"--respond {args.respond}"] if args.respond else [])])
    identity = whatif_identity(baseline, variant, question, args.respond)
    with claimed_folder(folder, identity, replace=args.force) as claim:
        began = time.perf_counter()
        sets = args.ensemble_sets or (_ensemble_size(args.ensemble) if args.ensemble else None)
        result = whatif(
            scenario,
            changes,
            args.replicates,
            args.confidence,
            args.workers,
            progress=not args.quiet,
            ensemble=args.ensemble,
            sets=sets,
            respond=args.respond,
            rounds=args.rounds,
            on_round=None if args.quiet else (lambda line: _say(err, line)),
        )
        claim.commit(lambda staging: save_whatif(result, staging, dates))
    if not args.quiet:
        for line in result.headlines(dates[-1] if dates else None):
            _say(out, line)
        out.print(whatif_table(result, dates[-1] if dates else result.dates[-1]))
        runs = f"{len(result.seeds)} paired replicates"
        if args.ensemble:
            runs += f" under each of {len(result.sets)} plausible sets"
        _say(out, f"{runs} in {time.perf_counter() - began:.1f} s; outputs in {folder}/")
    else:
        _say(out, str(folder))
    return 0


def cmd_sweep(args: argparse.Namespace, out: Console, err: Console) -> int:
    from sim.sweep.runner import run_sweep
    from sim.sweep.spec import load_sweep

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


def _ensemble_size(folder: Path) -> int | None:
    """The ensemble size the calibration asked for (None: every plausible set)."""
    try:
        record = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record.get("ensemble_size")


CALIBRATE_EXAMPLES = """examples:
  sim calibrate scenarios/calibration/baseline.yaml                 # -> runs/calibration-baseline/
  sim calibrate scenarios/calibration/baseline.yaml --until 2024-12 # fit 2024's figures, predict 2025's
  sim whatif scenarios/baseline.yaml --ensemble data/ensembles/baseline --price-cut all=99%@2026-01
Interrupted? Run the same command again: stored runs are reused and the result is the same.
"""


def _add_calibrate(commands) -> None:
    cmd = commands.add_parser(
        "calibrate",
        help="fit free parameters to public figures; keep every plausible set; say what the figures pin down",
        epilog=CALIBRATE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("calibration", type=Path, help="calibration YAML file (see docs/calibration.md)")
    cmd.add_argument("--until", metavar="YYYY-MM", help="fit only figures whose data ends by then; predict the rest")
    cmd.add_argument("--out", type=Path, help="output folder (default runs/<calibration name>/)")
    cmd.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    cmd.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    cmd.add_argument("--force", action="store_true", help="write into a folder that holds another calibration")
    cmd.add_argument(
        "--write-base",
        action="store_true",
        help="write the best set into the base scenario file (its comments kept), once the calibration is done",
    )
    cmd.add_argument("--quiet", action="store_true", help="no progress bars; print only the output folder")


def cmd_calibrate(args: argparse.Namespace, out: Console, err: Console) -> int:
    from sim.calibrate import calibrate, load_calibration
    from sim.calibrate.report import forecast_sentence

    if args.workers is not None and args.workers < 1:
        return _fail(err, f"--workers: expected at least 1, got {args.workers}")
    if args.workers is not None and args.scheduler:
        return _fail(err, "--workers: not with --scheduler (a running cluster has its own workers)")
    from sim.calibrate.compare import is_compare_file

    if is_compare_file(args.calibration):
        return _compare(args, out, err)
    calibration = load_calibration(args.calibration, args.until)
    try:
        result = calibrate(
            calibration, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet,
            force=args.force,
        )  # fmt: skip
    except KeyboardInterrupt:
        _say(err, "interrupted; finished runs are stored: run the same command again to resume")
        return 130
    if args.quiet:
        _say(out, str(result.folder))
        return _write_base(result, out, err) if args.write_base else 0
    status = result.record["status"]
    _say(out, f"{status['candidates']} candidates, {status['plausible_sets']} plausible sets, "
              f"{status['elapsed_s']:.0f} s. Report: {result.folder / 'fit.md'}")  # fmt: skip
    for row in result.identification.table.itertuples():
        _say(out, f"  {row.parameter}: best {row.best:.4g}, plausible {row.ensemble_p05:.4g} to "
                  f"{row.ensemble_p95:.4g} ({row.verdict})")  # fmt: skip
    _say(out, f"Posterior: {result.posterior.ess:.0f} effective sets of {result.posterior.weighed} weighed "
              "candidates (fit.md, \"Posterior\")")  # fmt: skip
    forecast = forecast_sentence(result)
    if forecast:
        _say(out, forecast)
    if result.best is not None and calibration.base is not None:
        _say(out, f"Best set as a scenario: {result.folder / 'calibrated.yaml'}")
    if args.write_base:
        return _write_base(result, out, err)
    return 0


def _compare(args: argparse.Namespace, out: Console, err: Console) -> int:
    """A compare file: calibrate each variant, then say which the figures prefer and by how much."""
    from sim.calibrate.compare import compare, load_comparison

    if args.write_base:
        return _fail(err, "--write-base: a compare file has no single base to write; calibrate the variant itself")
    comparison = load_comparison(args.calibration, args.until)
    try:
        folder, _, found = compare(
            comparison, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet,
            force=args.force,
        )  # fmt: skip
    except KeyboardInterrupt:
        _say(err, "interrupted; finished runs are stored: run the same command again to resume")
        return 130
    if args.quiet:
        _say(out, str(folder))
        return 0
    for score in found:
        forecast = "" if score.forecasts is None else f"; forecasts {score.forecast_hits} of {score.forecasts}"
        _say(out, f"  {score.label}: best distance {score.best_distance:.3g}, log evidence {score.log_evidence:.2f} "
                  f"({100 * score.probability:.1f} %), {score.ess:.0f} effective sets{forecast}")  # fmt: skip
    _say(out, (folder / "compare.md").read_text(encoding="utf-8").split("**")[1])
    _say(out, f"Report: {folder / 'compare.md'}")
    return 0


def _write_base(result, out: Console, err: Console) -> int:
    from sim.calibrate.apply import write_values
    from sim.calibrate.search import SET

    calibration = result.calibration
    if result.best is None or calibration.spec.base is None:
        return _fail(err, "--write-base: no best set to write (no candidate ran, or the model has no base scenario)")
    base = calibration.path.parent / calibration.spec.base
    values = {str(c)[len(SET) :]: float(result.best[c]) for c in result.best.index if str(c).startswith(SET)}
    try:
        write_values(base, values)
    except KeyError as missing:
        return _fail(err, f"--write-base: {base} does not spell out {missing} (inherited values cannot be rewritten)")
    except OSError as error:
        from sim.report.files import reason, refused

        if not refused(error):
            raise
        return _fail(err, f"--write-base: cannot write {base}: {reason(error)}; it is unchanged")
    _say(out, f"Wrote the best set into {base}")
    return 0


def _plan_line(sweep: Sweep) -> str:
    return f"Sweep {sweep.name}: {sweep.spec.design.method} design, {_count(len(sweep.seeds), 'seed')} per set"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _dry_run(sweep: Sweep, args: argparse.Namespace, out: Console) -> int:
    from sim.sweep.runner import preview

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
    from sim.sweep.report import analysis_folder, analysis_identity, indices_table, save_sweep_report
    from sim.sweep.sensitivity import analyze_sweep, load_output

    if not 0 < args.confidence < 1:
        return _fail(err, f"--confidence: expected a level between 0 and 1, e.g. 0.95, got {args.confidence}")
    if args.resamples < 10:
        return _fail(err, f"--resamples: expected at least 10, got {args.resamples}")
    load_output(args.folder)  # a folder that is not a finished sweep is refused before anything is claimed
    folder = analysis_folder(args.folder, args.out)
    with claimed_folder(folder, analysis_identity(args.folder), replace=args.force, belongs_to=args.folder) as claim:
        analysis = analyze_sweep(args.folder, args.outcome or None, args.confidence, args.resamples)
        claim.commit(lambda staging: save_sweep_report(analysis, staging))
    if args.quiet:
        _say(out, str(folder))
        return 0
    out.print(indices_table(analysis))
    for note in analysis.notes:
        _say(out, f"note: {note}")
    _say(out, f"Report, tables and charts in {folder}/ (report.md)")
    return 0


DISCOVER_EXAMPLES = """examples:
  sim discover runs/sobol_baseline --where "token_share[volcano]@2026-12 > 0.5"
  sim discover runs/baseline-whatif-ensemble-price-cut --where "revenue[all]@2026-12 < -20%"
  sim discover runs/sobol_baseline --where "leader[revenue_share]@2026-12 != alibaba" --box 12
Conditions: OUTCOME OP VALUE joined by 'and'; see docs/discovery.md.
"""


GAME_EXAMPLES = """examples:
  sim game scenarios/strategic.yaml --from 2026-01                        # every vendor re-optimises from Jan 2026
  sim game scenarios/strategic.yaml --from 2026-01 --shock volcano=99%    # Volcano cuts 99 %; the others respond
  sim game scenarios/strategic.yaml --from 2026-01 --set agents.developers=40000 --set agents.enterprises=15000
"""


def _add_game(commands) -> None:
    cmd = commands.add_parser(
        "game",
        help="strategic vendors: best responses to each other's prices, with and without a shock",
        epilog=GAME_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("scenario", type=Path, help="a scenario whose vendors have `strategy` blocks")
    cmd.add_argument("--from", dest="start", required=True, metavar="YYYY-MM", help="the month the vendors choose")
    cmd.add_argument("--shock", metavar="WHO=PCT%", help="a vendor's price cut, fixed (e.g. volcano=99%%)")
    cmd.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE", help="scenario field")
    cmd.add_argument("--seeds", type=int, default=1, help="seeds each profile is averaged over (default 1)")
    cmd.add_argument("--rounds", type=int, default=6, help="most rounds of best responses (default 6)")
    cmd.add_argument("--out", type=Path, help="output folder (default runs/<scenario>-game-<month>[-<shock>]/)")
    cmd.add_argument("--force", action="store_true", help="replace another game's results in the folder")
    cmd.add_argument("--quiet", action="store_true", help="print only the output folder")


def cmd_game(args: argparse.Namespace, out: Console, err: Console) -> int:
    from sim.game.market import play_game
    from sim.game.report import answer_sentences, game_identity, save_game

    if not 1 <= args.seeds <= 20:
        return _fail(err, f"--seeds: expected 1 to 20, got {args.seeds}")
    if not 1 <= args.rounds <= 50:
        return _fail(err, f"--rounds: expected 1 to 50, got {args.rounds}")
    scenario = load_scenario(args.scenario, args.sets)
    try:
        start = parse_month(args.start)
    except ValueError as error:
        raise ScenarioError([Problem("--from", args.start, str(error))]) from None
    shock = _shock(args.shock) if args.shock else {}
    slug = f"-{args.shock.replace('=', '-').replace('%', '')}" if args.shock else ""
    folder = args.out or Path("runs") / f"{scenario.name}-game-{start}{slug}"
    with claimed_folder(folder, game_identity(scenario, start, shock), replace=args.force) as claim:
        began = time.perf_counter()
        answer = play_game(
            scenario, start, shock, seeds=[scenario.seed + k for k in range(args.seeds)], source=str(args.scenario),
            max_rounds=args.rounds, progress=None if args.quiet else (lambda line: _say(err, line)),
        )  # fmt: skip
        claim.commit(lambda staging: save_game(answer, staging))
    if args.quiet:
        _say(out, str(folder))
        return 0
    for line in answer_sentences(answer):
        _say(out, line)
    _say(out, f"{time.perf_counter() - began:.0f} s; outputs in {folder}/ (game.md)")
    return 0


def _shock(text: str) -> dict[str, float]:
    """'volcano=99%' -> {'volcano': 0.01}: the vendor's price as a multiple of what it was."""
    vendor, _, cut = text.partition("=")
    try:
        percent = float(cut.rstrip("%"))
    except ValueError:
        percent = float("nan")
    if not vendor or not cut.endswith("%") or not 0 < percent < 100:
        raise ScenarioError(
            [Problem("--shock", text, "expected WHO=PCT% with a cut between 0 and 100 %, e.g. volcano=99%")]
        )
    return {vendor: 1.0 - percent / 100.0}


def _add_discovery(commands) -> None:
    cmd = commands.add_parser(
        "discover",
        help="scenario discovery: the input ranges where an outcome condition holds (PRIM, CART, feature scores)",
        epilog=DISCOVER_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmd.add_argument("folder", type=Path, help="a finished sweep's folder, or an ensemble what-if's folder")
    cmd.add_argument("--where", required=True, metavar="CONDITION", help="e.g. 'token_share[volcano]@2026-12 > 0.5'")
    cmd.add_argument("--box", type=int, metavar="N", help="step N of the first box's peeling trajectory (tradeoff.png)")
    cmd.add_argument("--out", type=Path, help="output folder (default <folder>/discover-<the condition>/)")
    cmd.add_argument("--force", action="store_true", help="replace another discovery's results in --out")
    cmd.add_argument("--quiet", action="store_true", help="print only the output folder")
    robust = commands.add_parser(
        "robust",
        help="robust policies: candidate policies of one vendor under every plausible set; regret and satisficing",
        epilog="example:\n  sim robust scenarios/robust/price_policies.yaml\nInterrupted? Run the same command "
        "again: stored runs are reused.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    robust.add_argument("policies", type=Path, help="policies YAML file (see docs/discovery.md)")
    robust.add_argument("--out", type=Path, help="output folder (default runs/robust-<name>/)")
    robust.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    robust.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler")
    robust.add_argument("--force", action="store_true", help="write into a folder that holds another comparison")
    robust.add_argument("--quiet", action="store_true", help="no progress bar; print only the output folder")


def cmd_discover(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Check the condition against the folder's results before claiming anything; the analysis
    libraries are imported only once the question is known to be answerable."""
    from sim.discover.cases import load_cases
    from sim.discover.conditions import parse_condition
    from sim.discover.report import box_sentence, discover_folder, discover_identity, save_discovery

    if args.box is not None and args.box < 0:
        return _fail(err, f"--box: expected a step of the first box's trajectory, 0 or more, got {args.box}")
    condition = parse_condition(args.where)
    cases = load_cases(args.folder)
    met = cases.meets(condition)
    folder = discover_folder(args.folder, condition, args.out)
    identity = discover_identity(cases, condition)
    with claimed_folder(folder, identity, replace=args.force, belongs_to=args.folder) as claim:
        from sim.discover.methods import discover

        found = discover(cases, condition, met, args.box)
        claim.commit(lambda staging: save_discovery(found, staging))
    if args.quiet:
        _say(out, str(folder))
        return 0
    _say(out, f"{int(met.sum())} of {len(cases)} {cases.unit} meet {condition.text}")
    for box in found.boxes:
        _say(out, f"Box {box.number}: {box_sentence(box, cases.unit)}")
    if not found.boxes:
        _say(out, "PRIM found no box: no restriction of the inputs made the condition denser")
    scores = ", ".join(f"{name} {score:.2f}" for name, score in found.scores.head(5).items())
    _say(out, f"Feature scores: {scores}")
    _say(out, f"Report, boxes and charts in {folder}/ (discover.md); boxes describe the sampled space, not the world")
    return 0


def cmd_robust(args: argparse.Namespace, out: Console, err: Console) -> int:
    from sim.discover.robust import load_robust, run_robust
    from sim.discover.robust_report import robust_table, verdict

    if args.workers is not None and args.workers < 1:
        return _fail(err, f"--workers: expected at least 1, got {args.workers}")
    if args.workers is not None and args.scheduler:
        return _fail(err, "--workers: not with --scheduler (a running cluster has its own workers)")
    robust = load_robust(args.policies)
    if not args.quiet:
        runs = len(robust.scenarios) * len(robust.seeds)
        _say(out, f"{len(robust.policies)} policies x {len(robust.set_ids)} plausible sets x "
                  f"{_count(len(robust.seeds), 'seed')} = {runs} runs")  # fmt: skip
    try:
        result = run_robust(
            robust, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet, force=args.force
        )
    except KeyboardInterrupt:
        _say(err, "interrupted; finished runs are stored: run the same command again to resume")
        return 130
    if args.quiet:
        _say(out, str(result.folder))
    else:
        out.print(robust_table(result))
        for line in verdict(result):
            _say(out, line.replace("**", ""))
        _say(out, f"Report, table and chart in {result.folder}/ (robust.md)")
    return 0 if result.complete else 1


def cmd_app(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Check the scenario like `sim validate`, then serve the app (its web framework is imported only here)."""
    if not 1 <= args.port <= 65535:
        return _fail(err, f"--port: expected a port from 1 to 65535, got {args.port}")
    if args.scenario is not None:
        load_scenario(args.scenario)
    elif not any(Path("scenarios").glob("*.yaml")):
        return _fail(
            err,
            "sim app: no scenario to open here: run it in a project folder (one with scenarios/*.yaml) "
            "or name a scenario file",
        )
    if not _port_free(args.port):
        return _fail(err, f"--port: {args.port} is already in use on 127.0.0.1; choose another with --port")
    from sim.app.server import serve

    return serve(args.scenario, args.port, lambda line: _say(out, line))


def _port_free(port: int) -> bool:
    """Whether the app could listen on this port of 127.0.0.1 (asked before its server starts)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


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
    "calibrate": cmd_calibrate,
    "discover": cmd_discover,
    "robust": cmd_robust,
    "game": cmd_game,
    "app": cmd_app,
}


def _draw_to_files_only() -> None:
    """The command line only writes figures to files; it never opens a window.

    Set through the environment when matplotlib is not loaded yet (so that commands which
    draw nothing never import it); worker processes inherit the setting.
    """
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")
    else:
        os.environ["MPLBACKEND"] = "Agg"


def main(argv: list[str] | None = None) -> int:
    _draw_to_files_only()
    args = _parser().parse_args(argv)
    width = None if sys.stdout.isatty() else 120  # tables in logs and pipes are not squeezed to 80 columns
    out, err = Console(width=width), Console(stderr=True, width=width)
    try:
        check_environment()
        return COMMANDS[args.command](args, out, err)
    except ScenarioError as problem:
        return _fail(err, str(problem))
    except OutputConflict as conflict:
        return _fail(err, str(conflict))
    except ValueError as error:  # a run whose outputs break an invariant; its class is loaded only here
        from sim.record.trajectories import ImplausibleRun

        if not isinstance(error, ImplausibleRun):
            raise
        where = getattr(args, "scenario", None) or getattr(args, "sweep", None) or "sim"
        return _fail(err, f"{where}: the run's outputs were refused, nothing was written: {error}")
    except KeyboardInterrupt:
        err.print("interrupted; files already written are complete")
        return 130


QUICK_EXIT = {"validate", "schema", "run", "targets"}


def entry() -> None:
    """The `sim` command: run `main`, then leave.

    The commands in QUICK_EXIT start no background services and have closed every file they
    wrote when `main` returns, so they leave without tearing the interpreter down (which, with
    Mesa, pandas, numba and matplotlib loaded, adds half a second to the wait). The others
    exit normally, so that Dask and the web server shut down cleanly.
    """
    argv = sys.argv[1:]
    code = main(argv)
    if argv and argv[0] in QUICK_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
