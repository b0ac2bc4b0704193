"""Reading the JSON files a stack keeps in its state dir (spec.json, state.json, secrets.json): a file that is empty,
truncated, binary or of the wrong shape is a StateFileCorrupt whose one line names the file and what to do about it,
never a traceback, and nothing is started on its word."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lgconsole.stack.errors import StackError

# what to do about each file when it is corrupt (the daemon and `up` write them whole, via a rename: a corrupt one
# was written by something else, or the disk failed)
FIXES = {
    "spec.json": "`lgconsole up` writes it again (remove it first if the stack is down)",
    "state.json": "it records the PIDs of the stack's processes: stop any still running by hand (see `ps -ef | grep "
                  "{state_dir}`), then remove it and run `lgconsole up`",
    "secrets.json": "it holds the managed Postgres and Redis passwords: restore it from a backup, or remove it "
                    "together with {state_dir}/postgres to start again with empty databases",
    "breakpoints.json": "it holds the breakpoints picked on the Graph screen: remove it and pick them again (b / B)",
}


class StateFileCorrupt(StackError, ValueError):
    """A state-dir file lgconsole cannot use; str() is one line: the file, what is wrong, the fix."""


def corrupt(path: Path, reason: str) -> StateFileCorrupt:
    fix = FIXES.get(path.name, "remove it and run the command again").format(state_dir=path.parent)
    return StateFileCorrupt(f"{path}: {reason}; {fix}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def read_json_object(path: Path) -> dict | None:
    """The JSON object in a state file; None when there is no such file; StateFileCorrupt for anything else."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise corrupt(path, "a directory where a file was expected") from None
    except OSError as exc:
        raise corrupt(path, f"cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise corrupt(path, "empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise corrupt(path, f"binary, not the JSON lgconsole writes (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise corrupt(path, f"truncated or not JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise corrupt(path, "not the JSON lgconsole writes (nested too deeply)") from None
    if not isinstance(value, dict):
        raise corrupt(path, f"holds {_kind(value)}, not the JSON object lgconsole writes")
    return value


def table(data: dict, key: str, path: Path) -> dict:
    """`data[key]`, which must be an object of objects (services by name); missing is empty."""
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise corrupt(path, f"its {key!r} is {_kind(value)} of the wrong shape, not an object of objects")
    return value
