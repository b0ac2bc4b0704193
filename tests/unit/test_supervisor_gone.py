"""A dead supervisor as the state file and /proc show it (stack/services/supervisor.py's read_state and
adoptable_services) and as Triage says it (console/model/triage.py), on hand-written state files: no process is
started; this test's own process stands in for a service still running."""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone

from lgconsole.console.model.triage import TriageInputs, evaluate
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.process import process_start_ticks
from lgconsole.stack.services.service import ServiceState, ServiceStatus

ME = {"pid": os.getpid(), "start_ticks": process_start_ticks(os.getpid())}
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
GONE = {"pid": os.getpid(), "start_ticks": 1}  # same PID, another start time: a reused PID, not our process


def write_state(state_dir, supervisor_ref, services: dict) -> None:
    data = {"supervisor": {**supervisor_ref, "started_at": 0, "running": True}, "updated_at": 0,
            "services": {name: {"name": name, "state": "healthy", "managed": True, "pid": ref["pid"], "port": port,
                                "process": ref, "stop_signal": 15, "signal_group": True}
                         for name, (ref, port) in services.items()}}
    (state_dir / "state.json").write_text(json.dumps(data))


def test_services_left_by_a_dead_supervisor_are_reported_and_adoptable(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        write_state(tmp_path, GONE, {"postgres": (ME, port), "redis": (GONE, port + 1)})
        state = supervisor.read_state(tmp_path)
        assert not state.supervisor_alive
        assert [s.name for s in state.unsupervised] == ["postgres"]
        postgres, redis = state.by_name("postgres"), state.by_name("redis")
        assert postgres.state == ServiceState.HEALTHY and "running without a supervisor" in postgres.detail
        assert redis.state == ServiceState.CRASHED and redis.pid is None  # its process is gone: not healthy
        assert "no supervisor restarts it" in redis.detail
        assert supervisor.adoptable_services(tmp_path) == {"postgres": port}
    assert supervisor.adoptable_services(tmp_path) == {}  # the port no longer answers: nothing to adopt


def test_a_live_supervisor_adopts_nothing_and_a_dead_service_reads_crashed_at_once(tmp_path):
    write_state(tmp_path, ME, {"postgres": (GONE, 5432)})
    state = supervisor.read_state(tmp_path)
    assert state.supervisor_alive and state.unsupervised == []
    postgres = state.by_name("postgres")
    assert postgres.state == ServiceState.CRASHED and "the supervisor restarts it" in postgres.detail
    assert supervisor.adoptable_services(tmp_path) == {}


def test_triage_says_the_supervisor_died_while_services_run_unsupervised():
    services = [ServiceStatus("postgres", ServiceState.HEALTHY, pid=4242),
                ServiceStatus("redis", ServiceState.HEALTHY, pid=4243)]
    [finding] = evaluate(TriageInputs(now=NOW, supervisor_running=False, services=services))
    assert finding.code == "supervisor-dead" and finding.severity == "critical"
    assert "postgres, redis" in finding.explanation and "lgconsole up" in finding.action
    stopped = [ServiceStatus("postgres", ServiceState.STOPPED)]
    assert [f.code for f in evaluate(TriageInputs(now=NOW, supervisor_running=False, services=stopped))] == \
        ["stack-down"]
