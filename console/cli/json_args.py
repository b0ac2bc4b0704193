"""The CLI's JSON arguments (`run --input/--config/--context/--resume`, `fork --set KEY=JSON`): inline, `@FILE` or
`-` for stdin (argv holds at most 128 KiB per argument; a file or a pipe takes megabytes), parsed as strict JSON with
a depth limit. Every way one cannot be used is a UsageError naming the option; nothing has been sent then."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from lgconsole.console.cli.exit_codes import UsageError

MAX_JSON_DEPTH = 100  # deeper values overflow the recursion of every reader after the parser (diff, masking, schemas)
MAX_ARG_BYTES = 256 * 2**20  # a run input past this is a mistake (a log file, a model), not an input


class _StdinOnce:
    """`-` may stand for stdin once per command: the second reader would get nothing."""

    taken_by: str | None = None


def reset_stdin() -> None:
    """For tests that run several commands in one process."""
    _StdinOnce.taken_by = None


def read_arg_text(text: str, what: str, stdin: Any = None) -> str:
    """The text of an argument: `-` reads stdin, `@FILE` reads the file (UTF-8), anything else is the text itself
    (JSON never starts with `@`, and `-` alone is not JSON)."""
    if text == "-":
        if _StdinOnce.taken_by is not None:
            raise UsageError(f"{what} -: stdin was already read for {_StdinOnce.taken_by}; give one of them as @FILE")
        _StdinOnce.taken_by = what
        stream = stdin if stdin is not None else sys.stdin
        if stream is None:
            raise UsageError(f"{what} -: stdin is closed")
        try:
            data = (stream.buffer if hasattr(stream, "buffer") else stream).read(MAX_ARG_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"{what} -: cannot read stdin ({exc.strerror or exc})") from None
        return _decoded(data, f"{what} - (stdin)")
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        if not text[1:]:
            raise UsageError(f"{what} @FILE: the file name is missing after '@'")
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_ARG_BYTES + 1)
        except FileNotFoundError:
            raise UsageError(f"{what} {text}: no such file {path}") from None
        except IsADirectoryError:
            raise UsageError(f"{what} {text}: {path} is a directory, not a file") from None
        except OSError as exc:
            raise UsageError(f"{what} {text}: cannot read {path}: {exc.strerror or exc}") from None
        return _decoded(data, f"{what} {text}")
    return text


def _decoded(data: bytes | str, where: str) -> str:
    if len(data) > MAX_ARG_BYTES:
        raise UsageError(f"{where}: more than {MAX_ARG_BYTES // 2**20} MiB; a run input that big is not accepted")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where}: not UTF-8 text (byte {exc.start}); JSON is UTF-8") from None


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        else:
            continue
        deepest = max(deepest, depth + 1)
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (JSON has no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a JSON number")
    return value


def loads_strict(text: str, what: str) -> Any:
    """JSON as the server reads it: no NaN/Infinity, numbers finite, at most MAX_JSON_DEPTH levels deep."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels of lists and objects)") \
            from None
    except ValueError as exc:  # the hooks above
        raise UsageError(f"{what} is not valid JSON: {exc}") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise UsageError(f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels of lists and objects)")
    return value


def parse_json_arg(text: str | None, what: str, stdin: Any = None) -> Any:
    """An option's JSON value (None when the option was not given)."""
    if text is None:
        return None
    return loads_strict(read_arg_text(text, what, stdin), what)


def parse_sets(items: list[str], stdin: Any = None) -> dict:
    """`KEY=JSON` pairs (the JSON also `@FILE` or `-`) into a state update; a malformed pair is a UsageError."""
    update: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {item[:60]!r}: expected KEY=JSON, e.g. --set 'task=\"new task\"'; "
                             "nothing was sent")
        try:
            update[key] = loads_strict(read_arg_text(text, f"--set {key}", stdin), f"--set {key}")
        except UsageError as exc:
            hint = f"; quote text as JSON, e.g. --set '{key}=\"text\"'" if "not valid JSON" in str(exc) else ""
            raise UsageError(f"{exc}{hint}; nothing was sent") from None
    return update
