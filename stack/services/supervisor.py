"""The stack supervisor as the CLI and the console see it: which services there are, launching the daemon, reading
its state file, sending it commands, and shutting the whole stack down.

The daemon (stack/services/supervisor_daemon.py) runs detached as `python -m lgconsole.stack.services.supervisor
STATE_DIR`, so the stack outlives the console and the terminal. Everything it knows is in `STATE_DIR/state.json`
(PIDs with their start times, states, restarts, redacted URLs); commands arrive on the Unix socket
`STATE_DIR/control.sock`. `lgconsole down` stops everything by PID from the state file even when the daemon is gone.
A supervisor that died leaves its services running: `launch(spec, adopt=...)` starts a new one that takes them over
(each checked by PID, process start time and port) instead of starting others.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lgconsole.stack.errors import StackError, SupervisorUnavailable
from lgconsole.stack.services import process
from lgconsole.stack.services.file_modes import PRIVATE_UMASK
from lgconsole.stack.services.log_rotation import LogLimits, start_logger
from lgconsole.stack.services.langgraph_server import LangGraphService
from lgconsole.stack.services.postgres import PostgresService
from lgconsole.stack.services.ports import listening
from lgconsole.stack.services.process import ProcessRef
from lgconsole.stack.services.redis import RedisService
from lgconsole.stack.services.state_files import corrupt, read_json_object, table
from lgconsole.stack.services.service import (
    SERVICE_NAMES,
    Secrets,
    Service,
    ServiceState,
    ServiceStatus,
    StackPaths,
    StackSpec,
    one_line,
    tail_lines,
)
from lgconsole.stack.services.supervisor_daemon import Supervisor
from lgconsole.stack.services.vllm import VllmService

SERVICE_TYPES: dict[str, type[Service]] = {cls.name: cls for cls in (PostgresService, RedisService, VllmService,
                                                                      LangGraphService)}


def build_services(spec: StackSpec) -> dict[str, Service]:
    """A Service for each service of the spec, in start order."""
    paths = StackPaths(Path(spec.state_dir))
    secrets_store = Secrets(paths.secrets_file)
    return {name: SERVICE_TYPES[name](spec.services.get(name, {}), paths, secrets_store)
            for name in SERVICE_NAMES if name in spec.services}


# --- reading the daemon's state, talking to it --------------------------------------------------------------------

@dataclass
class StackState:
    """What `state.json` says, with liveness checked against /proc."""

    supervisor_pid: int | None
    supervisor_alive: bool
    services: list[ServiceStatus]
    updated_at: float | None

    @property
    def unsupervised(self) -> list[ServiceStatus]:
        """Managed services still running while no supervisor watches them (it was killed or crashed)."""
        if self.supervisor_alive:
            return []
        return [s for s in self.services if s.managed and s.pid and s.state != ServiceState.STOPPED]

    def by_name(self, name: str) -> ServiceStatus | None:
        return next((s for s in self.services if s.name == name), None)


SUPERVISOR_GONE = "running without a supervisor: nothing restarts it (`lgconsole up` adopts it, `lgconsole down` stops it)"


def read_state(state_dir: Path) -> StackState:
    """The state file, checked against /proc: a service whose recorded process is gone reads as crashed at once (the
    supervisor notices on its next tick, its probes can lag), and without a live supervisor nothing is "restarting".
    No file is no stack; a damaged one is a StateFileCorrupt (one line)."""
    paths = StackPaths(Path(state_dir))
    data = read_json_object(paths.state_file)
    if data is None:
        return StackState(None, False, [], None)
    try:
        return _state_from(data)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise corrupt(paths.state_file, f"not the state lgconsole writes ({one_line(exc)})") from None


def _state_from(data: dict) -> StackState:
    sup = ProcessRef.from_json(data.get("supervisor"))
    sup_alive = bool(sup and sup.alive())
    services = []
    for raw in data.get("services", {}).values():
        status = ServiceStatus.from_json(raw)
        ref = ProcessRef.from_json(raw.get("process"))
        alive = bool(ref and ref.alive())
        if status.managed and ref and not alive and status.state in (
                ServiceState.HEALTHY, ServiceState.DEGRADED, ServiceState.STARTING):
            status.state, status.pid, status.healthy_at = ServiceState.CRASHED, None, None
            status.detail = f"process {ref.pid} is gone" + ("; the supervisor restarts it" if sup_alive else "")
        if not sup_alive and status.managed and status.state not in (ServiceState.DISABLED,):
            # nobody supervises: say what is really there
            if alive:
                status.detail = SUPERVISOR_GONE
            elif status.state != ServiceState.CRASHED:
                status.state, status.pid = ServiceState.STOPPED, None
            else:
                status.detail = f"process {ref.pid if ref else '?'} is gone and no supervisor restarts it"
        services.append(status)
    return StackState(sup.pid if sup else None, sup_alive, services, data.get("updated_at"))


def adoptable_services(state_dir: Path) -> dict[str, int]:
    """Services a dead supervisor left running, which a new one can take over: name -> port. Each must be the very
    process the state file recorded (PID and start time, /proc/PID/stat field 22) and still answer on its port.
    Empty while a supervisor runs."""
    paths = StackPaths(Path(state_dir))
    try:
        data = json.loads(paths.state_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    sup = ProcessRef.from_json(data.get("supervisor"))
    if sup is not None and sup.alive():
        return {}
    found = {}
    for name, raw in (data.get("services") or {}).items():
        ref = ProcessRef.from_json((raw or {}).get("process"))
        port = raw.get("port")
        if raw.get("managed", True) and ref and ref.alive() and port and listening(int(port)):
            found[name] = int(port)
    return found


def send_command(state_dir: Path, request: dict, timeout: float = 30.0) -> dict:
    """One request to the supervisor's control socket; raises SupervisorUnavailable when nobody answers."""
    path = StackPaths(Path(state_dir)).control_socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
    except (FileNotFoundError, ConnectionRefusedError, socket.timeout, OSError) as exc:
        raise SupervisorUnavailable(f"no supervisor answers at {path} ({one_line(exc)}); is the stack up?") from None
    answer = json.loads(buf or b'{"ok": false, "error": "empty reply"}')
    if not answer.get("ok"):
        raise StackError(answer.get("error", "command failed"))
    return answer


def supervisor_running(state_dir: Path) -> bool:
    return read_state(state_dir).supervisor_alive


def launch(spec: StackSpec, adopt: list[str] | tuple[str, ...] = ()) -> subprocess.Popen | None:
    """Start the supervisor daemon for this spec. Returns None when one already runs (a second `up` is a no-op).

    `adopt` names services a dead supervisor left running (see `adoptable_services`; the spec must give them the
    ports they run on): the new daemon takes them over instead of starting them; every other leftover is stopped.
    Every service to start is checked first (binaries installed, ports free) so a bad configuration fails here, with
    a clear message, before anything is started.
    """
    state_dir = Path(spec.state_dir)
    if supervisor_running(state_dir):
        return None
    adopt = [name for name in adopt if name in adoptable_services(state_dir)]
    stop_leftovers(state_dir, keep=adopt)
    for name, svc in build_services(spec).items():
        if svc.enabled and name not in adopt:
            svc.preflight()
    spec.save()
    paths = StackPaths(state_dir)
    paths.logs.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not adopt:
        paths.state_file.unlink(missing_ok=True)  # else the new daemon reads its services' processes from it
    argv = [sys.executable, "-m", "lgconsole.stack.services.supervisor", str(state_dir)]
    if adopt:
        argv += ["--adopt", ",".join(adopt)]
    logger = None
    if spec.log_max_bytes > 0:  # its own log rotates like its services' (log_rotation.py)
        output, logger = start_logger(paths.log("supervisor"), LogLimits(spec.log_max_bytes, spec.log_keep))
        logger_ref = ProcessRef(logger.pid, process.process_start_ticks(logger.pid) or 0)
        with open(paths.supervisor_logger_file, "w", opener=lambda path, flags: os.open(path, flags, 0o600)) as out:
            json.dump(logger_ref.to_json(), out)
        try:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                     start_new_session=True, close_fds=True, umask=PRIVATE_UMASK)
        finally:
            os.close(output)
    else:
        with open(paths.log("supervisor"), "ab", opener=lambda path, flags: os.open(path, flags, 0o600)) as log:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, close_fds=True, umask=PRIVATE_UMASK)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if child.poll() is not None:
            if logger is not None:  # its last words pass through the logger
                try:
                    logger.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
            last = tail_lines(paths.log("supervisor"), 1)
            raise StackError(f"supervisor exited at start (code {child.returncode})" + (f": {last[0]}" if last else ""))
        if paths.control_socket.exists() and _recorded_supervisor_pid(paths) == child.pid:
            return child
        time.sleep(0.05)
    raise StackError(f"supervisor did not start within 20 s; see {paths.log('supervisor')}")


def _recorded_supervisor_pid(paths: StackPaths) -> int | None:
    """The supervisor PID the state file names (a dead supervisor's file and socket stay behind)."""
    try:
        return (json.loads(paths.state_file.read_text()).get("supervisor") or {}).get("pid")
    except (FileNotFoundError, json.JSONDecodeError, AttributeError):
        return None


def stop_leftovers(state_dir: Path, grace: float = 10.0, keep: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Stop, by PID, every service process the state file records as alive (a supervisor that died leaves them),
    except those in `keep` (a new supervisor adopts them)."""
    paths = StackPaths(Path(state_dir))
    data = read_json_object(paths.state_file)
    if data is None:
        return []
    services = table(data, "services", paths.state_file)
    stopped = []
    for name in reversed(SERVICE_NAMES):
        if name in keep:
            continue
        raw = services.get(name)
        ref = ProcessRef.from_json((raw or {}).get("process"))
        if ref and ref.alive():
            process.stop(ref, stop_signal=raw.get("stop_signal", signal.SIGTERM),
                         group=raw.get("signal_group", True), grace=grace)
            stopped.append(f"{name} (pid {ref.pid})")
    return stopped


def shutdown(state_dir: Path, timeout: float = 60.0) -> list[str]:
    """Stop the whole stack: ask the supervisor, wait, then make sure by PID. Returns what had to be killed by PID."""
    state = read_state(state_dir)
    data_ref = ProcessRef.from_json((read_json_object(StackPaths(Path(state_dir)).state_file) or {}).get("supervisor"))
    if state.supervisor_alive and data_ref:
        try:
            send_command(state_dir, {"cmd": "shutdown"}, timeout=5)
        except StackError:
            os.kill(data_ref.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and data_ref.alive():
            time.sleep(0.1)
        if data_ref.alive():
            process.stop(data_ref, group=False, grace=0)
    stopped = stop_leftovers(state_dir)
    _wait_for_supervisor_logger(StackPaths(Path(state_dir)))
    return stopped


def _wait_for_supervisor_logger(paths: StackPaths, timeout: float = 3.0) -> None:
    """The supervisor's logger ends once everything writing to its pipe has: wait for it, so that `down` returns with
    nothing of the stack running; one still held open after `timeout` (a stray child of the supervisor) is stopped."""
    try:
        ref = ProcessRef.from_json(json.loads(paths.supervisor_logger_file.read_text()))
    except (OSError, ValueError, TypeError, AttributeError):
        return
    deadline = time.monotonic() + timeout
    while ref is not None and ref.alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if ref is not None and ref.alive():
        process.stop(ref, group=False, grace=1.0)
    paths.supervisor_logger_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """The daemon's entry point: `launch` starts `python -m lgconsole.stack.services.supervisor STATE_DIR
    [--adopt NAME,...]`."""
    args = list(argv if argv is not None else sys.argv[1:])
    adopt: list[str] = []
    if len(args) == 3 and args[1] == "--adopt":
        adopt = [name for name in args.pop(2).split(",") if name]
        args.pop(1)
    if len(args) != 1:
        print("usage: python -m lgconsole.stack.services.supervisor STATE_DIR [--adopt NAME,...]", file=sys.stderr)
        return 2
    spec = StackSpec.load(Path(args[0]))
    daemon = Supervisor(spec, build_services(spec))
    if adopt:
        daemon.adopt(adopt)
    daemon.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
