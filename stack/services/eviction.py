"""Spot eviction of a managed service, for the drill: find its live process in the supervisor's state, SIGKILL it,
and wait until the supervisor has brought it back healthy."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.process import ProcessRef
from lgconsole.stack.services.service import ServiceState, StackPaths
from lgconsole.stack.services.state_files import StateFileCorrupt, read_json_object
from lgconsole.stack.services.supervisor import read_state

RESTART_TIMEOUT_S = 120.0


class EvictionError(StackError):
    """The service cannot be evicted, or did not come back; one line."""


def managed_process(state_dir: Path, service: str) -> tuple[ProcessRef, int]:
    """The live process of a managed, healthy service (PID and its start time, from the supervisor's state file) and
    its restart count so far. Raises EvictionError when no supervisor would restart it."""
    state = read_state(state_dir)
    if not state.supervisor_alive:
        raise EvictionError(f"no supervisor runs the stack in {state_dir}: nobody would restart {service}; "
                            "`lgconsole up` first")
    status = state.by_name(service)
    if status is None or status.state == ServiceState.DISABLED:
        raise EvictionError(f"{service} is not part of this stack")
    if not status.managed:
        raise EvictionError(f"{service} is external ({status.url}): lgconsole does not manage its process")
    if status.state != ServiceState.HEALTHY:
        raise EvictionError(f"{service} is {status.state.value}, not healthy: the drill needs a healthy stack")
    try:
        raw = (read_json_object(StackPaths(state_dir).state_file) or {})["services"][service]["process"]
    except (StateFileCorrupt, KeyError, TypeError):
        raw = None
    ref = ProcessRef.from_json(raw)
    if ref is None or not ref.alive():
        raise EvictionError(f"{service}: the state file names no live process")
    return ref, status.restarts


def kill_now(ref: ProcessRef) -> float:
    """SIGKILL the process (no chance to clean up, as a spot eviction); time.monotonic() of the kill."""
    os.kill(ref.pid, signal.SIGKILL)
    return time.monotonic()


async def wait_restart(state_dir: Path, service: str, old_pid: int, killed_at: float,
                       timeout: float = RESTART_TIMEOUT_S) -> tuple[float | None, float, int, int]:
    """(kill -> new process, kill -> healthy, new pid, restarts) from the supervisor's state file."""
    started_after = None
    deadline = killed_at + timeout
    while time.monotonic() < deadline:
        status = read_state(state_dir).by_name(service)
        if status is not None and status.pid and status.pid != old_pid:
            if started_after is None:
                started_after = time.monotonic() - killed_at
            if status.state == ServiceState.HEALTHY:
                return started_after, time.monotonic() - killed_at, status.pid, status.restarts
        await asyncio.sleep(0.05)
    raise EvictionError(f"{service} was not healthy again {timeout:.0f}s after the kill; see `lgconsole logs {service}`")
