"""The stack supervisor daemon's loop: starts services in dependency order, waits for health, restarts crashes with
backoff, writes everything it knows to `STATE_DIR/state.json` and takes commands (start/stop/restart a service,
shutdown) as JSON lines on the Unix socket `STATE_DIR/control.sock`.

It runs detached (`python -m lgconsole.stack.services.supervisor STATE_DIR`, see supervisor.py) so the stack outlives
the console and the terminal.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socketserver
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lgconsole.stack.errors import StackError
from lgconsole.stack.services import process
from lgconsole.stack.services.bring_up import SetupSteps, unready_needs, warm_up_probes
from lgconsole.stack.services.log_rotation import LogLimits
from lgconsole.stack.services.process import ProcessRef
from lgconsole.stack.services.service import (
    Service,
    ServiceState,
    ServiceStatus,
    StackPaths,
    StackSpec,
    failure_line,
    one_line,
    tail_lines,
)

# The services whose URLs a service is launched with (client_env): one started again with new settings means this
# one is started again too, not adopted (console/sources/stack.py). What must be healthy before a launch is each
# Service's needs() (bring_up.py): the server does not wait for vLLM or, under `dev`, for Redis.
DEPENDS_ON = {"langgraph": ["postgres", "redis", "vllm"]}
HEALTH_INTERVAL = 2.0
TICK_S = 0.25  # the loop's pace once every service is up
BRING_UP_TICK_S = 0.05  # while one is starting or waiting on another: readiness is noticed within 50 ms, not 250
STABLE_AFTER = 60.0  # healthy this long -> the restart backoff starts again from 1 s


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

    def __init__(self, spec: StackSpec, services: dict[str, Service]):
        self.spec = spec
        self.paths = StackPaths(Path(spec.state_dir))
        self.services = services
        self.runtimes: dict[str, _Runtime] = {}
        for name, svc in self.services.items():
            status = ServiceStatus(name=name, state=ServiceState.STOPPED, managed=not svc.external, port=svc.port,
                                   url=svc.public_url() if svc.enabled else None,
                                   log_path=None if svc.external else str(self.paths.log(name)),
                                   detail=None if svc.enabled else svc.spec.get("use"))  # why it is not started
            self.runtimes[name] = _Runtime(svc, status, desired_up=svc.enabled)
        self.commands: queue.Queue = queue.Queue()
        self.running = True
        self.started_at = time.time()
        self.steps = SetupSteps()  # initdb and CREATE DATABASE, beside the loop
        self._last_written: dict = {}

    def adopt(self, names: list[str]) -> list[str]:
        """Take over services a dead supervisor left running, as its state file records them: the same process (PID
        and start time) is watched, probed and restarted from now on, its uptime and restart count kept. A service
        whose process is gone by now is started as usual. Returns the names adopted."""
        try:
            previous = json.loads(self.paths.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return []
        old_pid = (previous.get("supervisor") or {}).get("pid")
        adopted = []
        for name in names:
            rt, raw = self.runtimes.get(name), (previous.get("services") or {}).get(name) or {}
            ref = ProcessRef.from_json(raw.get("process"))
            if rt is None or rt.service.external or not rt.service.enabled or ref is None or not ref.alive():
                continue
            old = ServiceStatus.from_json(raw)
            st = rt.status
            rt.ref, rt.child = ref, None  # not our child: its exit is seen through /proc, not a return code
            rt.stop_signal, rt.signal_group = int(raw.get("stop_signal", signal.SIGTERM)), raw.get("signal_group", True)
            st.pid, st.started_at, st.restarts, st.version = ref.pid, old.started_at, old.restarts, old.version
            st.state = ServiceState.HEALTHY if old.state == ServiceState.HEALTHY else ServiceState.DEGRADED
            st.healthy_at = old.healthy_at if st.state == ServiceState.HEALTHY else None
            st.detail = f"adopted from supervisor {old_pid}, which had died" if old_pid else "adopted"
            rt.next_probe_at = 0.0  # probed on the first tick: adopted is not the same as healthy
            rt.health_failures = 1  # one failed probe is enough to call it degraded
            adopted.append(name)
        return adopted

    # --- the loop --------------------------------------------------------------------------------------
    def run(self) -> None:
        server = self._serve_control()
        signal.signal(signal.SIGTERM, lambda *_: self.commands.put(({"cmd": "shutdown"}, None)))
        signal.signal(signal.SIGINT, lambda *_: self.commands.put(({"cmd": "shutdown"}, None)))
        self.write_state()
        imports = threading.Thread(target=warm_up_probes, args=([rt.service for rt in self.runtimes.values()],),
                                   name="warm-up-probes", daemon=True)
        try:
            while self.running:
                self._handle_commands()
                if not self.running:
                    break
                self.tick()
                self.write_state()
                if imports.ident is None:  # once the first tick launched what it could
                    imports.start()
                self.steps.wake.wait(BRING_UP_TICK_S if self._bringing_up() else TICK_S)
                self.steps.wake.clear()
        finally:
            self.stop_all()
            self.write_state()
            server.shutdown()
            self.paths.control_socket.unlink(missing_ok=True)

    def _bringing_up(self) -> bool:
        return any(rt.status.state in (ServiceState.STARTING, ServiceState.WAITING) for rt in self.runtimes.values())

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
            waiting_for = [] if self.steps.pending(name, "prepare") else unready_needs(
                svc, {n: r.status.state for n, r in self.runtimes.items()},
                {n: r.service for n, r in self.runtimes.items()})
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

    def _building(self, rt: _Runtime, now: float) -> bool:
        """A slow set-up before launch (a user project's environment) runs in a thread, its progress in the status
        detail, while the loop goes on. True while it runs or when it failed (the service is then FAILED)."""
        svc, st = rt.service, rt.status
        build = rt.extra.get("build")
        if build is None:
            needs = getattr(svc, "needs_build", None)
            if needs is None or not needs():
                return False

            def progress(phase: str, line: str) -> None:
                st.detail = f"building environment: {phase}" + (f": {line[:160]}" if line else "")

            def run() -> None:
                try:
                    svc.build(progress)
                except StackError as exc:
                    rt.extra["build_error"] = str(exc)
                except Exception as exc:
                    rt.extra["build_error"] = f"{svc.name}: environment build failed: {one_line(exc)}"

            build = rt.extra["build"] = threading.Thread(target=run, name=f"build-{svc.name}", daemon=True)
            st.state, st.started_at, st.healthy_at, st.detail = ServiceState.STARTING, now, None, "building environment"
            build.start()
            return True
        if build.is_alive():
            return True
        rt.extra.pop("build")
        if error := rt.extra.pop("build_error", None):
            st.state, st.last_error = ServiceState.FAILED, error
            self._schedule_retry(rt, now)
            return True
        return False

    def _start(self, rt: _Runtime, now: float) -> None:
        svc, st = rt.service, rt.status
        try:
            if self._building(rt, now):
                return
            if not svc.slow_setup():
                svc.preflight()
                svc.prepare()
            elif self.steps.running(svc.name, "prepare", lambda: (svc.preflight(), svc.prepare())):
                if st.state != ServiceState.STARTING:
                    st.state, st.started_at, st.healthy_at = ServiceState.STARTING, now, None
                st.detail = "preparing its data (initdb at the first start)"
                return
            dependency_env: dict[str, str] = {}
            for other in self.runtimes.values():
                if other.service is not svc and other.service.enabled:
                    dependency_env.update(other.service.client_env())
            launch = svc.launch_spec(dependency_env)
            limits = LogLimits(self.spec.log_max_bytes, self.spec.log_keep) if self.spec.log_max_bytes > 0 else None
            rt.child = process.spawn(launch, limits)
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
                if not svc.slow_setup():
                    svc.after_healthy()
                elif self.steps.running(svc.name, "after_healthy", svc.after_healthy):
                    st.detail = "finishing set-up"
                    return
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
        if rt.child is not None and rt.child.poll() is None:
            try:  # a killed multi-threaded server reads as a zombie before its last thread is gone: wait for its code
                rt.child.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        if rt.child is not None:  # its last lines (the reason) pass through its logger: let them reach the file
            process.wait_for_output(rt.child.pid, timeout=1.0)
        code = rt.child.returncode if rt.child is not None else None
        if code is not None and code < 0:
            how = f"killed by signal {-code} ({signal.Signals(-code).name})"
        elif code is not None:
            how = f"exited with code {code}"
        else:
            how = "exited"
        reason = failure_line(self.paths.log(rt.service.name))
        st.last_error = f"{rt.service.name}: {how}" + (f"; log: {reason[:200]}" if reason else "")
        if explained := rt.service.startup_failure():  # e.g. a graph that failed to load, said in one line
            st.last_error = explained
        st.state, st.pid, st.healthy_at = ServiceState.CRASHED, None, None
        process.stop(rt.ref, group=rt.signal_group, grace=0.5, child=rt.child)  # leftover workers of its group
        rt.service.after_stop()
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
            rt.service.after_stop()
        rt.child, rt.ref = None, None
        rt.status.pid = None

    def stop_all(self) -> None:
        for rt in self.runtimes.values():
            if (build := rt.extra.get("build")) is not None:  # no installer outlives the supervisor
                getattr(rt.service, "cancel_build", lambda: None)()
                build.join(timeout=30)
        self.steps.join(timeout=120)
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
        # what changed, as data (no JSON encoding every tick of a bring-up), without the clock: uptime_s, which
        # readers work out from started_at, grows every 0.1 s and would rewrite the file on every tick
        comparable = {**data, "updated_at": 0,
                      "services": {name: {**raw, "uptime_s": None} for name, raw in data["services"].items()}}
        if comparable == self._last_written and time.time() - getattr(self, "_written_at", 0) < 5:
            return
        self._last_written, self._written_at = comparable, time.time()
        tmp = self.paths.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, default=str))
        os.replace(tmp, self.paths.state_file)
