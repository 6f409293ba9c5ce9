"""The `sim` command: parses arguments and calls the stages; holds no model logic.

Exit codes: 0 success, 1 targets missed, 2 bad input (scenario, --set, flags, output folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console

from sim.report.outputs import OutputConflict, check_folder, default_folder, save_run
from sim.report.tables import print_result, targets_table
from sim.report.targets import check_targets, load_targets
from sim.run import run
from sim.scenario.loading import ScenarioError, load_scenario
from sim.scenario.schema import Scenario

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
    return parser


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
    console.print(message, markup=False, highlight=False, soft_wrap=True)


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
    check_folder(folder, scenario.name, replace=args.force)
    began = time.perf_counter()
    result = run(scenario, mode=args.mode)
    elapsed = time.perf_counter() - began
    save_run(result, folder if args.out else default_folder(result))
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


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "schema": cmd_schema, "targets": cmd_targets}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out, err = Console(), Console(stderr=True)
    try:
        return COMMANDS[args.command](args, out, err)
    except ScenarioError as problem:
        return _fail(err, str(problem))
    except OutputConflict as conflict:
        return _fail(err, str(conflict))
    except KeyboardInterrupt:
        err.print("interrupted; files already written are complete")
        return 130


if __name__ == "__main__":
    sys.exit(main())
