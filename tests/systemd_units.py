"""Running exported systemd units without systemd (these machines have none as PID 1): each unit's ExecStartPre,
ExecStart and ExecStartPost as systemd runs them, with only its environment file's environment and User= honoured.
Shared by the export test and the "stack run elsewhere" test."""

from __future__ import annotations

import json
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path


def unit_entries(path: Path) -> dict[str, list[str]]:
    """A unit file's `Key=value` lines, each key's values in order (Exec lines repeat)."""
    entries: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            entries.setdefault(key, []).append(value)
    return entries


def exec_argv(line: str) -> tuple[list[str], bool]:
    """An Exec line as systemd runs it: the argv, and whether "+" asks for full privileges."""
    privileged = line.startswith("+")
    return [a.replace("%%", "%").replace("$$", "$") for a in shlex.split(line.lstrip("+"))], privileged


def env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = json.loads(value)  # written "..." with \\ and \" escapes: JSON reads them the same
    return env


@dataclass
class StartedUnit:
    process: subprocess.Popen  # ExecStart's
    kill_signal: str  # KillSignal=, to stop it as systemd would
    ready_output: str  # what ExecStartPost (the readiness step) printed


def start_unit(unit: Path) -> StartedUnit:
    """One unit's commands in order; a failing step fails the test with its stderr."""
    entries = unit_entries(unit)
    env = {"HOME": str(Path.home()), **env_file(Path(entries["EnvironmentFile"][0]))}
    user = entries.get("User", [None])[0]
    as_user = {} if user is None else {"user": user, "group": user, "extra_groups": []}
    for line in entries.get("ExecStartPre", []):
        argv, privileged = exec_argv(line)
        step = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                              **({} if privileged else as_user))
        assert step.returncode == 0, f"{unit.name} ExecStartPre: {step.stderr}"
    argv, _ = exec_argv(entries["ExecStart"][0])
    child = subprocess.Popen(argv, env=env, cwd=entries["WorkingDirectory"][0], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, **as_user)
    argv, privileged = exec_argv(entries["ExecStartPost"][0])
    ready = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=int(entries["TimeoutStartSec"][0]), **({} if privileged else as_user))
    assert ready.returncode == 0, f"{unit.name} ExecStartPost: {ready.stderr}"
    return StartedUnit(child, entries["KillSignal"][0], ready.stdout)
