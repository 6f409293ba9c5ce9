"""Reading YAML that may be hostile: only regular files, bounded size, nesting and alias expansion.

Scenario files, sweep files and `--set` values all pass through here, so one set of limits
holds everywhere. The limits are checked on the parser's event stream, before any node
tree or Python object is built: a 1 KB file of nested aliases ("billion laughs") or a file
nested a thousand levels deep is refused while memory is still small.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
MAX_PATH_CHARS = 1024


class InputRefused(Exception):
    """Input that cannot be read as YAML: what is wrong, and the line (1-based) when one applies."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def read_regular_file(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes.

    The file is opened without blocking and checked on the open descriptor, so a FIFO (which
    would wait forever for a writer), a device such as /dev/zero (endless) or a folder is
    refused before a byte is read, and a file swapped in after a check cannot slip through.
    """
    _check_path_text(str(path))
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputRefused("file not found") from None
    except IsADirectoryError:
        raise InputRefused("is a folder, not a file") from None
    except (OSError, ValueError) as exc:
        raise InputRefused(f"cannot read the file: {_reason(exc)}") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise InputRefused("is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise InputRefused(f"is not a regular file ({_kind(mode)}); give a YAML file")
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputRefused(f"cannot read the file: {_reason(exc)}") from None
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise InputRefused(f"is larger than {limit // 1000} KB; a scenario or sweep file is far smaller")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputRefused(f"is not UTF-8 text (byte {exc.start})") from None


def _check_path_text(text: str) -> None:
    if "\0" in text:
        raise InputRefused("the path contains a NUL character")
    too_long = any(len(part.encode("utf-8", "replace")) > 255 for part in Path(text).parts)
    if too_long or len(text) > MAX_PATH_CHARS:
        raise InputRefused("the path is too long")


def check_path_text(text: str) -> str | None:
    """Why a path written in a file cannot name a file (NUL, too long), or None if it can."""
    try:
        _check_path_text(text)
    except InputRefused as refused:
        return refused.message
    return None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a pipe"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The value of a YAML document and its node tree (for line numbers); InputRefused otherwise."""
    if len(text) > MAX_FILE_BYTES:
        raise InputRefused(f"is longer than {MAX_FILE_BYTES // 1000} KB")
    _check_events(text)
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    except yaml.YAMLError as exc:
        raise _refused(exc, text) from None
    finally:
        loader.dispose()


def _check_events(text: str) -> None:
    """Refuse deep nesting and large alias expansion from the event stream, before any tree exists.

    Each anchor's size (values under it, its aliases expanded) is counted when it closes;
    every alias adds that size, which is what expanding it would build.
    """
    depth, nodes, expanded = 0, 0, 0
    open_collections: list[tuple[str | None, int]] = []
    sizes: dict[str, int] = {}
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputRefused(f"nested more than {MAX_DEPTH} levels deep", _line(event))
                open_collections.append((event.anchor, nodes))
                nodes += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                anchor, first = open_collections.pop()
                if anchor:
                    sizes[anchor] = nodes - first
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                size = sizes.get(event.anchor, 1)
                nodes += size
                expanded += size
                if expanded > MAX_ALIAS_NODES:
                    raise InputRefused(
                        f"aliases (*name) expand to more than {MAX_ALIAS_NODES:,} values; write the values out",
                        _line(event),
                    )
    except yaml.YAMLError as exc:
        raise _refused(exc, text) from None


def _line(event: yaml.Event) -> int | None:
    return event.start_mark.line + 1 if event.start_mark else None


def _refused(exc: yaml.YAMLError, text: str) -> InputRefused:
    """PyYAML's complaint in one phrase at its line (its own text adds a second line of context)."""
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow (NUL, most controls)
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return InputRefused(f"not valid YAML: character {code:#06x} is not allowed in YAML text", line)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    reason = getattr(exc, "problem", None) or str(exc)
    return InputRefused(f"not valid YAML: {reason}", mark.line + 1 if mark else None)


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what would otherwise pass silently or escape as a crash.

    Duplicate keys (else the last one silently wins), integers too long for Python to read,
    impossible dates (2024-02-30) and strings with unpaired UTF-16 surrogates (which cannot
    be printed or written to a file) are errors at their line.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            _refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise _at(node, f"a whole number too long to read ({len(node.value)} characters)") from None

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> dt.date | dt.datetime:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            raise _at(node, f"{_short(node.value)} is not a date in the calendar") from None

    def construct_yaml_str(self, node: yaml.ScalarNode) -> str:
        text = super().construct_yaml_str(node)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _at(node, "text with an unpaired UTF-16 surrogate (\\ud800-\\udfff); use real characters") from None
        return text


# YAML 1.1 reads 1e7 and 2.5e6 as text (it wants a dot and a signed exponent); YAML 1.2, and
# everyone writing a scenario, reads them as numbers.
_SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_yaml_int)
_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _SafeLoader.construct_yaml_timestamp)
_SafeLoader.add_constructor("tag:yaml.org,2002:str", _SafeLoader.construct_yaml_str)


def _refuse_duplicate_keys(node: yaml.MappingNode) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = (key_node.tag, key_node.value)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _at(key_node, f"duplicate key {_short(key_node.value)!r} (first at line {seen[key]})")
        seen[key] = line


def _at(node: yaml.Node, problem: str) -> ConstructorError:
    return ConstructorError(None, None, problem, node.start_mark)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."
