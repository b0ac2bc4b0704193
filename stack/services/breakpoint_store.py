"""The breakpoints picked on the Graph screen, kept in the state dir (`breakpoints.json`, 0600) so that the next
console finds them: per assistant id (and graph id, for a graph's own assistant), the nodes a run stops before and
after. Written whole through a rename; a file of the wrong shape is a StateFileCorrupt, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

from lgconsole.stack.services.file_modes import FILE_MODE
from lgconsole.stack.services.state_files import corrupt, read_json_object

FILE_NAME = "breakpoints.json"
VERSION = 1

Saved = dict[str, dict[str, list[str]]]  # key -> {"before": [...], "after": [...]}


def breakpoints_path(state_dir: Path) -> Path:
    return Path(state_dir) / FILE_NAME


def read_breakpoints(state_dir: Path) -> Saved:
    """What was saved ({} when nothing was); StateFileCorrupt when the file cannot be used."""
    path = breakpoints_path(state_dir)
    data = read_json_object(path)
    if data is None:
        return {}
    saved = data.get("breakpoints", {})
    if not isinstance(saved, dict):
        raise corrupt(path, "its 'breakpoints' is not an object")
    out: Saved = {}
    for key, sides in saved.items():
        if not isinstance(sides, dict):
            raise corrupt(path, f"the breakpoints of {key!r} are not an object")
        picked = {}
        for side in ("before", "after"):
            nodes = sides.get(side, [])
            if not isinstance(nodes, list) or not all(isinstance(n, str) and n for n in nodes):
                raise corrupt(path, f"{key!r}.{side} is not a list of node names")
            picked[side] = list(dict.fromkeys(nodes))
        out[str(key)] = picked
    return out


def write_breakpoints(state_dir: Path, saved: Saved) -> bool:
    """Save the breakpoints (0600, replaced whole); False when the state dir does not exist (nothing is made: a
    state dir is made by `lgconsole up`). OSError when it cannot be written."""
    state_dir = Path(state_dir)
    if not state_dir.is_dir():
        return False
    path = breakpoints_path(state_dir)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump({"version": VERSION, "breakpoints": saved}, f, indent=1, sort_keys=True)
        os.chmod(tmp, FILE_MODE)  # (a file left by an earlier try keeps its mode through O_CREAT)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True
