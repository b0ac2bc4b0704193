"""What the console shows about the stack, as plain data: a snapshot read from the supervisor's state file, its
external services as lgconsole's own probes found them (console/sources/external.py).

`LiveStack` does the blocking reads (state file, log tails, control socket) and is only called from workers.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from lgconsole.stack.demo.tiny_model import TINY_MODEL_NAME
from lgconsole.stack.errors import StackError
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.log_rotation import LogFollower
from lgconsole.stack.services.service import (SERVICE_NAMES, ServiceState, ServiceStatus, StackSpec, strip_ansi,
                                              tail_lines)
from lgconsole.stack.services.supervisor_daemon import DEPENDS_ON

from lgconsole.console.config import Config
from lgconsole.console.stack_spec import build_stack_spec, redis_use_of
from lgconsole.console.sources.external import (ELSEWHERE, ExternalWatch, configured_services, merged_services,
                                                needs_supervisor, probe_run_elsewhere)


@dataclass
class StackSnapshot:
    services: list[ServiceStatus]
    supervisor_pid: int | None
    supervisor_running: bool
    log_tails: dict[str, list[str]] = field(default_factory=dict)
    model_backend: str = ""
    taken_at: float = field(default_factory=time.time)
    redis_use: str = ""  # who uses the stack's Redis, or why none runs (stack/services/redis.py redis_use)

    @property
    def enabled(self) -> list[ServiceStatus]:
        return [s for s in self.services if s.state != ServiceState.DISABLED]

    @property
    def unsupervised(self) -> list[ServiceStatus]:
        """Managed services still running after their supervisor died: nothing restarts them."""
        if self.supervisor_running:
            return []
        return [s for s in self.services if s.managed and s.pid and s.state != ServiceState.STOPPED]

    @property
    def needs_supervisor(self) -> bool:
        """False for a deployment whose every service is external or not used: there is nothing to bring up."""
        return needs_supervisor(self.services)

    @property
    def healthy_count(self) -> int:
        return sum(s.state == ServiceState.HEALTHY for s in self.enabled)

    def by_name(self, name: str) -> ServiceStatus | None:
        return next((s for s in self.services if s.name == name), None)


def model_backend(config: Config) -> str:
    """The model the stack serves: its vLLM's model, "external" (a vLLM at VLLM_URL / [vllm] url, not run by the
    stack), or "none". Which model a graph uses is the graph's business, not the header's."""
    if config.vllm.url:
        return "external"
    if config.vllm.model:
        name = config.vllm.served_model_name or config.vllm.model
        return f"vLLM ({name}: its text is noise)" if name == TINY_MODEL_NAME else f"vLLM ({name})"
    return "none"


def spec_for_up(config: Config) -> tuple[StackSpec, list[str]]:
    """The spec `up` starts the supervisor with, and the services it adopts: those a dead supervisor left running
    (same process, answering on its port) whose configuration did not change since they were started, on the port
    they run on, and whose managed dependencies are adopted too (a server started against the old Postgres must not
    be kept when Postgres is started anew). Every other leftover is stopped by `launch`."""
    running = supervisor.adoptable_services(config.state_path)
    spec = build_stack_spec(config)
    if not running:
        return spec, []
    try:  # as saved, its secrets joined back (spec.json keeps none): comparable with the spec built now
        previous = StackSpec.load(config.state_path).services
    except (OSError, StackError):
        previous = {}
    services = supervisor.build_services(spec)
    adopt: list[str] = []
    for name in SERVICE_NAMES:  # start order: dependencies are decided first
        if name not in running or name not in spec.services:
            continue
        wanted = dict(spec.services[name])
        if getattr(config, name).port in (0, running[name]):  # a picked port, or the configured one: keep it
            wanted["port"] = running[name]
        if _settings(wanted) != _settings(previous.get(name) or {}):
            continue  # configured differently since: started again with the new configuration
        deps = [d for d in DEPENDS_ON.get(name, []) if d in services and services[d].enabled and not services[d].external]
        if all(d in adopt for d in deps):
            spec.services[name] = wanted
            adopt.append(name)
    return spec, adopt


def _settings(service_spec: dict) -> dict:
    """A service's spec as compared for adoption: JSON-plain, unset values left out (spec.json drops the empty
    credentials it keeps in the secrets file, the spec built from the config has them as "" or {})."""
    return {k: v for k, v in json.loads(json.dumps(service_spec)).items() if v not in (None, "", {}, [])}


class LiveStack:
    """Reads the real stack; every method blocks and belongs in a worker thread."""

    def __init__(self, config: Config, tail: int = 6):
        self.config = config
        self.tail = tail
        self.external = ExternalWatch(config)  # probes external services off this read's path

    def snapshot(self) -> StackSnapshot:
        state = supervisor.read_state(self.config.state_path)
        elsewhere = {} if state.supervisor_alive else self.external.latest_elsewhere()
        services = merged_services(state.services, self.config, self.external.latest(), elsewhere)
        tails = {s.name: tail_lines(s.log_path, self.tail) for s in services if s.log_path}
        return StackSnapshot(services, state.supervisor_pid, state.supervisor_alive, tails,
                             model_backend(self.config), redis_use=redis_use_of(self.config).why)

    def _configured_services(self) -> list[ServiceStatus]:
        """Before the first `up` there is no state file: list what `up` would start."""
        return configured_services(self.config)

    def command(self, cmd: str, service: str | None = None) -> str:
        supervisor.send_command(self.config.state_path, {"cmd": cmd, "service": service})
        return f"{cmd} {service}" if service else cmd

    def bring_up(self) -> str:
        state = supervisor.read_state(self.config.state_path)
        if state.supervisor_alive:
            return "stack already running"
        if elsewhere := self._run_elsewhere(state):
            return f"nothing started: {elsewhere}"
        spec, adopt = spec_for_up(self.config)
        if not any(svc.enabled and not svc.external for svc in supervisor.build_services(spec).values()):
            return "nothing to start: every service is external or not used; lgconsole only checks them"
        supervisor.launch(spec, adopt)
        return f"stack starting; a new supervisor adopted {', '.join(adopt)}" if adopt else "stack starting"

    def shut_down(self) -> str:
        state = supervisor.read_state(self.config.state_path)
        if not state.supervisor_alive and (elsewhere := self._run_elsewhere(state)):
            return f"nothing stopped: {elsewhere}"
        supervisor.shutdown(self.config.state_path)
        return "stack stopped"

    def _run_elsewhere(self, state) -> str:
        """Which services of the stack run without lgconsole's supervisor, said in one line ("" when none)."""
        found = probe_run_elsewhere(self.config, state)
        return f"{', '.join(found)} run without lgconsole's supervisor; {ELSEWHERE}" if found else ""

    def log_path(self, service: str):
        return self.config.paths.log(service)

    def spec_json(self) -> dict:
        from lgconsole.stack.services.state_files import StateFileCorrupt, read_json_object

        try:
            return read_json_object(self.config.paths.spec_file) or {}
        except StateFileCorrupt:  # the Stack screen shows the spec as far as it can; `up` and `status` say why
            return {}


def follow_log(path: Path, initial_lines: int, stopped: Callable[[], bool],
               poll_s: float = 0.25) -> Iterator[list[str]]:
    """`tail -f` as batches of lines: the last `initial_lines` first, then lines as they are appended, until
    `stopped()`; across a rotation every line comes once (LogFollower), a truncated file is read again from its
    start. Blocking: iterate it in a worker."""
    if not path.exists():
        yield [f"(no log yet at {path})"]
    yield tail_lines(path, initial_lines, max_bytes=initial_lines * 300)
    follower = LogFollower(path)
    pending = b""
    try:
        while not stopped():
            data = follower.read()
            if data:
                *complete, pending = (pending + data).split(b"\n")
                if complete:
                    yield [strip_ansi(c.decode(errors="replace")) for c in complete]
            time.sleep(poll_s)
    finally:
        follower.close()
