"""Writing a calibration's best set into its base scenario file, keeping the file's comments.

`sim calibrate FILE --write-base` replaces the value of every path the free parameters set,
in block or flow YAML, and leaves every other line as it was: the base stays a readable,
commented scenario whose calibrated values come from a named calibration run.
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.report.files import write_text


def write_values(path: Path, values: dict[str, float]) -> None:
    """Set each dotted path's value in the YAML file at `path` (4 significant digits kept as 6)."""
    text = path.read_text(encoding="utf-8")
    for dotted, value in values.items():
        text = replace_value(text, dotted.split("."), f"{value:.6g}")
    write_text(path, text)


def replace_value(text: str, path: list[str], value: str) -> str:
    """Set `key: value` for a dotted path in block or flow YAML, keeping comments and layout."""
    lines = text.splitlines(keepends=True)
    start, child_indent = 0, 0
    for depth, key in enumerate(path):
        for i in range(start, len(lines)):
            stripped = lines[i].lstrip()
            if not stripped.strip() or stripped.startswith("#"):
                continue
            current = len(lines[i]) - len(stripped)
            if current < child_indent:
                break  # left the section without finding the key
            if current > child_indent or not stripped.startswith(f"{key}:"):
                continue
            rest = stripped[len(key) + 1 :]
            if depth == len(path) - 1 or rest.strip().startswith("{"):
                lines[i] = lines[i][:current] + key + ":" + _set_in_flow(rest, path[depth + 1 :], value)
                return "".join(lines)
            start = i + 1
            following = next(line for line in lines[start:] if line.strip() and not line.lstrip().startswith("#"))
            child_indent = len(following) - len(following.lstrip())
            break
        else:
            raise KeyError(".".join(path))
    raise KeyError(".".join(path))


def _set_in_flow(rest: str, inner: list[str], value: str) -> str:
    if not inner:
        comment = re.search(r"\s+#.*$", rest.rstrip("\n"))
        return f" {value}" + (comment.group(0) if comment else "") + "\n"
    key = inner[-1]
    updated, count = re.subn(rf"(\b{key}:\s*)([^,}}]+)", rf"\g<1>{value}", rest, count=1)
    if not count:
        raise KeyError(key)
    return updated
