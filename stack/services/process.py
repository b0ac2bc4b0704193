"""Starting service processes detached with their own log file (rotated by size through a logger process, see
log_rotation.py), and stopping them by PID.

A PID alone can be reused by the kernel after a process dies, so every record also keeps the process start
time from /proc; a PID whose start time differs is treated as gone and never signalled.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from lgconsole.stack.services.file_modes import PRIVATE_UMASK
from lgconsole.stack.services.log_rotation import LogLimits, start_logger


@dataclass(frozen=True)
class ProcessRef:
    """A process we started: its PID and the kernel's start time for it (clock ticks since boot)."""

    pid: int
    start_ticks: int

    def alive(self) -> bool:
        return process_start_ticks(self.pid) == self.start_ticks

    def to_json(self) -> dict:
        return {"pid": self.pid, "start_ticks": self.start_ticks}

    @classmethod
    def from_json(cls, data: dict | None) -> ProcessRef | None:
        if not data or not data.get("pid"):
            return None
        return cls(int(data["pid"]), int(data.get("start_ticks", 0)))


@dataclass
class LaunchSpec:
    """How to run one service process."""

    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None  # run as this user (only possible when we are root)
    stop_signal: int = signal.SIGTERM
    signal_group: bool = True  # signal the whole process group (vLLM and friends spawn workers)


def process_start_ticks(pid: int) -> int | None:
    """Start time of a live, non-zombie process, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may contain spaces and parentheses: split after the last ')'
    fields = raw[raw.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def ref_for(pid: int) -> ProcessRef:
    ticks = process_start_ticks(pid)
    return ProcessRef(pid, ticks if ticks is not None else 0)


def process_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


# Loggers this process started (log_rotation.py), by their service's PID: each ends when its service's output does.
_loggers: dict[int, subprocess.Popen] = {}


def spawn(spec: LaunchSpec, limits: LogLimits | None = None) -> subprocess.Popen:
    """Start the process in a new session, stdout+stderr appended to its log file: through a logger that rotates
    the file by size when `limits` are given, else straight into it."""
    _reap_loggers()
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec.env}
    with open(spec.log_path, "ab", buffering=0, opener=lambda path, flags: os.open(path, flags, 0o600)) as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} lgconsole starts: {' '.join(spec.argv)}\n".encode())
        if limits is None:
            return _popen(spec, env, log.fileno())
    output, logger = start_logger(spec.log_path, limits)
    try:
        child = _popen(spec, env, output)
    except BaseException:
        os.close(output)  # the logger sees the end of its pipe and exits
        raise
    os.close(output)  # the service holds it now; the logger sees the end of it when the service is gone
    _loggers[child.pid] = logger
    return child


def wait_for_output(pid: int, timeout: float) -> None:
    """Wait (up to `timeout`) until all a service wrote is in its log file: its logger read the pipe to the end,
    which is when the service and every process holding its output are gone. A crash's last lines are read then."""
    logger = _loggers.get(pid)
    if logger is not None:
        try:
            logger.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass


def _popen(spec: LaunchSpec, env: dict[str, str], output: int) -> subprocess.Popen:
    kwargs: dict = {}
    if spec.user and os.geteuid() == 0:
        entry = pwd.getpwnam(spec.user)
        kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        env.update(HOME=entry.pw_dir, USER=spec.user, LOGNAME=spec.user)
    return subprocess.Popen(
        spec.argv,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        cwd=spec.cwd,
        env=env,
        start_new_session=True,
        close_fds=True,
        umask=PRIVATE_UMASK,  # what a service writes under the state dir is its owner's only
        **kwargs,
    )


def _reap_loggers() -> None:
    for pid, logger in list(_loggers.items()):
        if logger.poll() is not None:
            del _loggers[pid]


def _signal(ref: ProcessRef, sig: int, group: bool) -> None:
    if not ref.alive():
        return
    try:
        if group and os.getpgid(ref.pid) == ref.pid:
            os.killpg(ref.pid, sig)
        else:
            os.kill(ref.pid, sig)
    except ProcessLookupError:
        pass


def stop(ref: ProcessRef, *, stop_signal: int = signal.SIGTERM, group: bool = True, grace: float = 10.0,
         child: subprocess.Popen | None = None) -> bool:
    """Stop a process: stop_signal, wait up to `grace` seconds, then SIGKILL. Returns True if it had to be killed."""
    _reap_loggers()
    if not ref.alive():
        _reap(child)
        return False
    _signal(ref, stop_signal, group)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(child)
        if not ref.alive():
            _kill_leftover_group(ref, group)
            return False
        time.sleep(0.05)
    _signal(ref, signal.SIGKILL, group)
    for _ in range(100):
        _reap(child)
        if not ref.alive():
            break
        time.sleep(0.05)
    _kill_leftover_group(ref, group)
    return True


def _kill_leftover_group(ref: ProcessRef, group: bool) -> None:
    """Workers of a service (same process group) must not outlive it."""
    if not group:
        return
    try:
        os.killpg(ref.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(child: subprocess.Popen | None) -> None:
    if child is not None:
        child.poll()
