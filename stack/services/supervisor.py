"""The stack supervisor: starts services in dependency order, waits for health, restarts crashes with backoff.

It runs as a small detached daemon (`python -m lgconsole.stack.services.supervisor STATE_DIR`) so the stack outlives the
console and the terminal. Everything it knows is written to `STATE_DIR/state.json` (PIDs with their start times,
states, restarts, redacted URLs); commands (start/stop/restart a service, shutdown) arrive as JSON lines on the
Unix socket `STATE_DIR/control.sock`. A second `lgconsole` process reads the same file and talks to the same socket;
`lgconsole down` stops everything by PID from the state file even when the daemon itself is gone.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lgconsole.stack.services import process
from lgconsole.stack.errors import StackError, SupervisorUnavailable
from lgconsole.stack.services.langgraph_server import LangGraphService
from lgconsole.stack.services.postgres import PostgresService
from lgconsole.stack.services.process import ProcessRef
from lgconsole.stack.services.redis import RedisService
from lgconsole.stack.services.service import (Secrets, Service, ServiceState, ServiceStatus, StackPaths, StackSpec, failure_line, one_line,
                      tail_lines)
from lgconsole.stack.services.vllm import VllmService

SERVICE_TYPES: dict[str, type[Service]] = {
    "postgres": PostgresService,
    "redis": RedisService,
    "vllm": VllmService,
    "langgraph": LangGraphService,
}
START_ORDER = list(SERVICE_TYPES)
DEPENDS_ON = {"langgraph": ["postgres", "redis", "vllm"]}
HEALTH_INTERVAL = 2.0
STABLE_AFTER = 60.0  # healthy this long -> the restart backoff starts again from 1 s


def build_services(spec: StackSpec) -> dict[str, Service]:
    paths = StackPaths(Path(spec.state_dir))
    secrets_store = Secrets(paths.secrets_file)
    return {name: SERVICE_TYPES[name](spec.services.get(name, {}), paths, secrets_store)
            for name in START_ORDER if name in spec.services}


@dataclass
class _Runtime:
    service: Service
    status: ServiceStatus
    desired_up: bool = True
    child: subprocess.Popen | None = None
    ref: ProcessRef | None = None
    stop_signal: int = signal.SIGTERM
    signal_group: bool = True
    next_start_at: float = 0.0
    backoff: float = 1.0
    deadline: float = 0.0
    next_probe_at: float = 0.0
    health_failures: int = 0
    pending_restart: bool = False  # the next start is an automatic restart after a crash
    extra: dict = field(default_factory=dict)


class Supervisor:
    """The daemon's state machine; `tick()` is called twice a second from `run()`."""

    def __init__(self, spec: StackSpec):
        self.spec = spec
        self.paths = StackPaths(Path(spec.state_dir))
        self.services = build_services(spec)
        self.runtimes: dict[str, _Runtime] = {}
        for name, svc in self.services.items():
            status = ServiceStatus(name=name, state=ServiceState.STOPPED, managed=not svc.external, port=svc.port,
                                   url=svc.public_url() if svc.enabled else None,
                                   log_path=None if svc.external else str(self.paths.log(name)))
            self.runtimes[name] = _Runtime(svc, status, desired_up=svc.enabled)
        self.commands: queue.Queue = queue.Queue()
        self.running = True
        self.started_at = time.time()
        self._last_written = ""

    # --- the loop --------------------------------------------------------------------------------------
    def run(self) -> None:
        server = self._serve_control()
        signal.signal(signal.SIGTERM, lambda *_: self.commands.put(({"cmd": "shutdown"}, None)))
        signal.signal(signal.SIGINT, lambda *_: self.commands.put(({"cmd": "shutdown"}, None)))
        self.write_state()
        try:
            while self.running:
                self._handle_commands()
                if not self.running:
                    break
                self.tick()
                self.write_state()
                time.sleep(0.25)
        finally:
            self.stop_all()
            self.write_state()
            server.shutdown()
            self.paths.control_socket.unlink(missing_ok=True)

    def tick(self) -> None:
        now = time.time()
        for name, rt in self.runtimes.items():
            try:
                self._tick_service(name, rt, now)
            except Exception as exc:  # one broken service must not take the supervisor down
                rt.status.last_error = f"supervisor: {one_line(exc)}"

    def _tick_service(self, name: str, rt: _Runtime, now: float) -> None:
        svc, st = rt.service, rt.status
        if not svc.enabled:
            st.state = ServiceState.DISABLED
            return
        if svc.external:
            self._probe(rt, now)
            return
        if not rt.desired_up:
            if rt.ref and rt.ref.alive():
                self._stop(rt)
            st.state, st.pid, st.detail = ServiceState.STOPPED, None, None
            return
        alive = rt.ref is not None and rt.ref.alive()
        if rt.child is not None:
            rt.child.poll()
        if rt.ref is not None and not alive:
            self._crashed(rt, now)
            return
        if not alive:
            waiting_for = [d for d in DEPENDS_ON.get(name, [])
                           if d in self.runtimes and self.runtimes[d].service.enabled
                           and self.runtimes[d].status.state != ServiceState.HEALTHY]
            if waiting_for:
                st.state, st.detail = ServiceState.WAITING, f"waiting for {', '.join(waiting_for)}"
                return
            if now >= rt.next_start_at:
                self._start(rt, now)
            return
        if st.state == ServiceState.STARTING:
            self._tick_starting(rt, now)
        else:
            self._probe(rt, now)
            if st.state == ServiceState.HEALTHY and st.healthy_at and now - st.healthy_at > STABLE_AFTER:
                rt.backoff = 1.0

    def _start(self, rt: _Runtime, now: float) -> None:
        svc, st = rt.service, rt.status
        try:
            svc.preflight()
            svc.prepare()
            dependency_env: dict[str, str] = {}
            for other in self.runtimes.values():
                if other.service is not svc and other.service.enabled:
                    dependency_env.update(other.service.client_env())
            launch = svc.launch_spec(dependency_env)
            rt.child = process.spawn(launch)
        except StackError as exc:
            st.state, st.last_error, st.detail = ServiceState.FAILED, str(exc), None
            self._schedule_retry(rt, now)
            return
        except (OSError, subprocess.SubprocessError) as exc:
            st.state, st.last_error, st.detail = ServiceState.FAILED, f"{svc.name}: {one_line(exc)}", None
            self._schedule_retry(rt, now)
            return
        rt.ref = process.ref_for(rt.child.pid)
        rt.stop_signal, rt.signal_group = launch.stop_signal, launch.signal_group
        if rt.pending_restart:
            st.restarts += 1
            rt.pending_restart = False
        st.state, st.pid, st.started_at, st.healthy_at = ServiceState.STARTING, rt.child.pid, now, None
        st.detail = "starting"
        rt.deadline = now + svc.startup_timeout

    def _tick_starting(self, rt: _Runtime, now: float) -> None:
        svc, st = rt.service, rt.status
        last = tail_lines(self.paths.log(svc.name), 1)
        st.detail = f"starting {now - (st.started_at or now):.0f}s" + (f": {last[0][:160]}" if last else "")
        if reason := svc.startup_failure():
            st.last_error = reason
            self._stop(rt)
            st.state = ServiceState.FAILED
            self._schedule_retry(rt, now)
            return
        health = svc.health(timeout=1.0)
        if health.ok:
            try:
                svc.after_healthy()
            except Exception as exc:
                st.detail = f"finishing set-up: {one_line(exc)}"
                return
            st.state, st.healthy_at, st.version, st.detail = ServiceState.HEALTHY, now, health.version, health.detail
            rt.next_probe_at = now + HEALTH_INTERVAL
            return
        if now > rt.deadline:
            st.last_error = f"{svc.name}: not healthy after {svc.startup_timeout:.0f}s ({health.detail})"
            self._stop(rt)
            st.state = ServiceState.FAILED
            self._schedule_retry(rt, now)

    def _probe(self, rt: _Runtime, now: float) -> None:
        if now < rt.next_probe_at:
            return
        rt.next_probe_at = now + HEALTH_INTERVAL
        st = rt.status
        health = rt.service.health(timeout=1.5)
        if health.ok:
            if st.state != ServiceState.HEALTHY:
                st.healthy_at = now
                if st.started_at is None:
                    st.started_at = now
            st.state, st.detail, rt.health_failures = ServiceState.HEALTHY, health.detail, 0
            st.version = health.version or st.version
        else:
            rt.health_failures += 1
            # one slow answer under load is not an outage: two failures in a row are
            if rt.health_failures >= 2 or rt.service.external:
                st.state, st.detail = ServiceState.DEGRADED, health.detail
                st.last_error = f"{rt.service.name}: health check failed: {health.detail}"

    def _crashed(self, rt: _Runtime, now: float) -> None:
        st = rt.status
        code = rt.child.returncode if rt.child is not None else None
        if code is not None and code < 0:
            how = f"killed by signal {-code} ({signal.Signals(-code).name})"
        elif code is not None:
            how = f"exited with code {code}"
        else:
            how = "exited"
        reason = failure_line(self.paths.log(rt.service.name))
        st.last_error = f"{rt.service.name}: {how}" + (f"; log: {reason[:200]}" if reason else "")
        st.state, st.pid, st.healthy_at = ServiceState.CRASHED, None, None
        process.stop(rt.ref, group=rt.signal_group, grace=0.5, child=rt.child)  # leftover workers of its group
        rt.child, rt.ref = None, None
        self._schedule_retry(rt, now)

    def _schedule_retry(self, rt: _Runtime, now: float) -> None:
        rt.next_start_at = now + rt.backoff
        rt.status.detail = f"restarting in {rt.backoff:.0f}s"
        rt.backoff = min(rt.backoff * 2, self.spec.restart_backoff_max)
        rt.pending_restart = True

    def _stop(self, rt: _Runtime) -> None:
        if rt.ref is not None:
            process.stop(rt.ref, stop_signal=rt.stop_signal, group=rt.signal_group, grace=self.spec.stop_grace,
                         child=rt.child)
        rt.child, rt.ref = None, None
        rt.status.pid = None

    def stop_all(self) -> None:
        for rt in reversed(list(self.runtimes.values())):
            if rt.ref is not None:
                rt.status.detail = "stopping"
                self._stop(rt)
            if not rt.service.external and rt.service.enabled:
                rt.status.state, rt.status.detail = ServiceState.STOPPED, None

    # --- commands --------------------------------------------------------------------------------------
    def _handle_commands(self) -> None:
        while True:
            try:
                request, reply = self.commands.get_nowait()
            except queue.Empty:
                return
            try:
                answer = self.execute(request)
            except StackError as exc:
                answer = {"ok": False, "error": str(exc)}
            if reply is not None:
                reply.put(answer)

    def execute(self, request: dict) -> dict:
        cmd = request.get("cmd")
        if cmd == "ping":
            return {"ok": True, "pid": os.getpid()}
        if cmd == "shutdown":
            self.running = False
            return {"ok": True}
        if cmd in ("start", "stop", "restart"):
            name = request.get("service")
            rt = self.runtimes.get(name)
            if rt is None:
                raise StackError(f"unknown service {name!r}; services: {', '.join(self.runtimes)}")
            if rt.service.external:
                raise StackError(f"{name} is external ({rt.status.url}): lgconsole does not manage its process")
            if not rt.service.enabled:
                raise StackError(f"{name} is not configured")
            if cmd in ("stop", "restart") and rt.ref is not None:
                rt.status.detail = "stopping"
                self._stop(rt)
                rt.status.state = ServiceState.STOPPED
            rt.desired_up = cmd != "stop"
            rt.next_start_at, rt.backoff, rt.pending_restart = 0.0, 1.0, False
            if rt.desired_up:
                self._tick_service(name, rt, time.time())
            return {"ok": True, "state": rt.status.state.value}
        raise StackError(f"unknown command {cmd!r}")

    def _serve_control(self) -> socketserver.UnixStreamServer:
        supervisor = self
        sock_path = self.paths.control_socket
        sock_path.unlink(missing_ok=True)

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline(65536)
                try:
                    request = json.loads(line)
                except json.JSONDecodeError:
                    self.wfile.write(b'{"ok": false, "error": "malformed request"}\n')
                    return
                reply: queue.Queue = queue.Queue()
                supervisor.commands.put((request, reply))
                try:
                    answer = reply.get(timeout=120)
                except queue.Empty:
                    answer = {"ok": False, "error": "supervisor busy"}
                self.wfile.write(json.dumps(answer).encode() + b"\n")

        old_umask = os.umask(0o177)  # the socket is for its owner only
        try:
            server = socketserver.ThreadingUnixStreamServer(str(sock_path), Handler)
        finally:
            os.umask(old_umask)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="control", daemon=True).start()
        return server

    # --- state file ------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        me = process.ref_for(os.getpid())
        return {
            "supervisor": {**me.to_json(), "started_at": self.started_at, "running": self.running},
            "updated_at": time.time(),
            "services": {
                name: {
                    **rt.status.to_json(),
                    "process": rt.ref.to_json() if rt.ref else None,
                    "stop_signal": int(rt.stop_signal),
                    "signal_group": rt.signal_group,
                }
                for name, rt in self.runtimes.items()
            },
        }

    def write_state(self) -> None:
        data = self.snapshot()
        comparable = json.dumps({**data, "updated_at": 0}, sort_keys=True, default=str)
        if comparable == self._last_written and time.time() - getattr(self, "_written_at", 0) < 5:
            return
        self._last_written, self._written_at = comparable, time.time()
        tmp = self.paths.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, default=str))
        os.replace(tmp, self.paths.state_file)


# --- the client side: used by the CLI and the console ------------------------------------------------------

@dataclass
class StackState:
    """What `state.json` says, with liveness checked against /proc."""

    supervisor_pid: int | None
    supervisor_alive: bool
    services: list[ServiceStatus]
    updated_at: float | None

    def by_name(self, name: str) -> ServiceStatus | None:
        return next((s for s in self.services if s.name == name), None)


def read_state(state_dir: Path) -> StackState:
    paths = StackPaths(Path(state_dir))
    try:
        data = json.loads(paths.state_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return StackState(None, False, [], None)
    sup = ProcessRef.from_json(data.get("supervisor"))
    sup_alive = bool(sup and sup.alive())
    services = []
    for raw in data.get("services", {}).values():
        status = ServiceStatus.from_json(raw)
        ref = ProcessRef.from_json(raw.get("process"))
        if not sup_alive and status.managed and status.state not in (ServiceState.DISABLED,):
            # nobody supervises: say what is really there
            if ref and ref.alive():
                status.detail = "running without a supervisor (run `lgconsole down` or `up`)"
            else:
                status.state, status.pid = ServiceState.STOPPED, None
        services.append(status)
    return StackState(sup.pid if sup else None, sup_alive, services, data.get("updated_at"))


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


def launch(spec: StackSpec) -> subprocess.Popen | None:
    """Start the supervisor daemon for this spec. Returns None when one already runs (a second `up` is a no-op).

    Every service is checked first (binaries installed, ports free) so a bad configuration fails here, with a clear
    message, before anything is started.
    """
    state_dir = Path(spec.state_dir)
    if supervisor_running(state_dir):
        return None
    stop_leftovers(state_dir)
    for svc in build_services(spec).values():
        if svc.enabled:
            svc.preflight()
    spec.save()
    paths = StackPaths(state_dir)
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.state_file.unlink(missing_ok=True)
    with open(paths.log("supervisor"), "ab") as log:
        child = subprocess.Popen([sys.executable, "-m", "lgconsole.stack.services.supervisor", str(state_dir)],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, close_fds=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if child.poll() is not None:
            last = tail_lines(paths.log("supervisor"), 1)
            raise StackError(f"supervisor exited at start (code {child.returncode})" + (f": {last[0]}" if last else ""))
        if paths.control_socket.exists() and paths.state_file.exists():
            return child
        time.sleep(0.05)
    raise StackError(f"supervisor did not start within 20 s; see {paths.log('supervisor')}")


def stop_leftovers(state_dir: Path, grace: float = 10.0) -> list[str]:
    """Stop, by PID, every service process the state file records as alive (a supervisor that died leaves them)."""
    paths = StackPaths(Path(state_dir))
    try:
        data = json.loads(paths.state_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    stopped = []
    for name in reversed(START_ORDER):
        raw = data.get("services", {}).get(name)
        ref = ProcessRef.from_json((raw or {}).get("process"))
        if ref and ref.alive():
            process.stop(ref, stop_signal=raw.get("stop_signal", signal.SIGTERM),
                         group=raw.get("signal_group", True), grace=grace)
            stopped.append(f"{name} (pid {ref.pid})")
    return stopped


def shutdown(state_dir: Path, timeout: float = 60.0) -> list[str]:
    """Stop the whole stack: ask the supervisor, wait, then make sure by PID. Returns what had to be killed by PID."""
    state = read_state(state_dir)
    data_ref = None
    try:
        data_ref = ProcessRef.from_json(json.loads(StackPaths(Path(state_dir)).state_file.read_text()).get("supervisor"))
    except (FileNotFoundError, json.JSONDecodeError):
        pass
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
    return stop_leftovers(state_dir)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m lgconsole.stack.services.supervisor STATE_DIR", file=sys.stderr)
        return 2
    spec = StackSpec.load(Path(args[0]))
    Supervisor(spec).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
