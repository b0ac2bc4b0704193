"""Triage rules on constructed inputs: each rule fires (or not) with the severity, evidence and jump it should."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lgconsole.console.model.triage import Finding, Jump, TriageInputs, VllmObservation, evaluate, exit_code
from lgconsole.stack.checkpoints.records import ThreadStatus, ThreadSummary
from lgconsole.stack.metrics.ops_stats import ActiveRun, RedisMemory, TableStats
from lgconsole.stack.services.service import ServiceState, ServiceStatus


NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def _thread(tid, status, minutes_ago, error=None, node=None):
    return ThreadSummary(tid, NOW - timedelta(minutes=minutes_ago), 10, "c1", 4, "loop", [node or "x"],
                         ThreadStatus(status), node, error)


def _codes(findings):
    return [f.code for f in findings]


def test_healthy_inputs_have_no_warnings():
    services = [ServiceStatus("postgres", ServiceState.HEALTHY), ServiceStatus("redis", ServiceState.HEALTHY)]
    findings = evaluate(TriageInputs(now=NOW, services=services))
    assert exit_code(findings) == 0


def test_service_down_restart_loop_and_stack_down():
    services = [ServiceStatus("langgraph", ServiceState.CRASHED, restarts=4, last_error="killed by signal 9"),
                ServiceStatus("redis", ServiceState.DEGRADED, last_error="timeout")]
    findings = evaluate(TriageInputs(now=NOW, services=services))
    assert _codes(findings)[:2] == ["service-down", "restart-loop"]
    assert findings[0].jump == Jump("logs", "langgraph") and "killed by signal 9" in findings[0].evidence
    assert "service-degraded" in _codes(findings) and exit_code(findings) == 2
    down = evaluate(TriageInputs(now=NOW, supervisor_running=False, services=services))
    assert _codes(down) == ["stack-down"]
    never = evaluate(TriageInputs(now=NOW, supervisor_running=False, never_up="/srv/lgc"))
    assert _codes(never) == ["stack-never-up"] and exit_code(never) == 2 and "/srv/lgc" in never[0].explanation


def test_errored_threads_are_grouped_by_error_and_node():
    errored = [_thread("a", "errored", 5, "RuntimeError('boom')", "coder"),
               _thread("b", "errored", 9, "RuntimeError('boom again')", "coder"),
               _thread("c", "errored", 30, "KeyError('x')", "join"),
               _thread("d", "errored", 3000, "RuntimeError('old')", "coder"),  # outside the 24 h window
               _thread("e", "errored", 1, "CancelledError()", "coder")]  # cancelled, not failed
    findings = [f for f in evaluate(TriageInputs(now=NOW, errored_threads=errored)) if f.code == "errored-threads"]
    assert [f.title for f in findings] == ["2 threads failed with RuntimeError in coder",
                                           "1 thread failed with KeyError in join"]
    assert findings[0].jump == Jump("threads", "a")


def test_waiting_threads_warn_after_an_hour():
    fresh = evaluate(TriageInputs(now=NOW, waiting_threads=[_thread("w", "waiting", 10)]))
    assert fresh[0].severity == "info"
    stale = evaluate(TriageInputs(now=NOW, waiting_threads=[_thread("w", "waiting", 10), _thread("v", "waiting", 90)]))
    assert stale[0].severity == "warning" and "oldest 1h30m" in stale[0].title and stale[0].jump.target == "v"


def test_stuck_runs():
    runs = [ActiveRun("t1", "r1", "pending", NOW - timedelta(minutes=5)),
            ActiveRun("t2", "r2", "running", NOW - timedelta(minutes=5)),
            ActiveRun("t3", "r3", "running", NOW - timedelta(hours=2))]
    findings = evaluate(TriageInputs(now=NOW, active_runs=runs))
    assert [f.jump.target for f in findings if f.code == "stuck-run"] == ["t1", "t3"]


def test_kv_starvation_names_threads_in_flight_and_queue_warning():
    runs = [ActiveRun("t9", "r9", "running", NOW)]
    starving = VllmObservation("http://127.0.0.1:8000", 0.93, 7, 9, 8, 21, starving=True)
    queue = VllmObservation("http://127.0.0.1:8001", 0.5, 8, 12, 8)
    findings = evaluate(TriageInputs(now=NOW, active_runs=runs, vllm=[starving, queue]))
    assert findings[0].code == "kv-starvation" and findings[0].severity == "critical"
    assert "thread in flight: t9" in findings[0].evidence and findings[0].jump == Jump("gpu")
    assert "vllm-queue" in _codes(findings)


def test_disk_and_table_growth():
    tables = TableStats({"checkpoints": 4 * 2**30, "checkpoint_blobs": 2**30}, {"checkpoints": 1_000_000}, 10_000,
                        checkpoints_last_day=200_000, checkpoints_last_week=700_000, max_checkpoints_per_thread=9000,
                        max_thread_id="big", data_dir="/var/lib/pg", disk_free_bytes=8 * 2**30,
                        disk_total_bytes=100 * 2**30)
    findings = evaluate(TriageInputs(now=NOW, tables=tables))
    disk = next(f for f in findings if f.code == "disk-low")
    assert disk.severity == "critical" and "8% free" in disk.title
    assert "thread-bloat" in _codes(findings)
    tables.disk_free_bytes = 15 * 2**30  # 15 % free, filling at ~1 GiB/day
    warn = next(f for f in evaluate(TriageInputs(now=NOW, tables=tables)) if f.code == "disk-low")
    assert warn.severity == "warning" and "full in" in warn.title


def test_redis_memory_and_blind_spots():
    findings = evaluate(TriageInputs(now=NOW, redis=RedisMemory(95, 100, 3, 10), errors=["langgraph: refused"]))
    assert {"redis-memory", "triage-blind"} <= set(_codes(findings))


def test_exit_codes():
    info = Finding("info", "x", "x", "x")
    warn = Finding("warning", "y", "y", "y")
    crit = Finding("critical", "z", "z", "z")
    assert (exit_code([info]), exit_code([info, warn]), exit_code([warn, crit])) == (0, 1, 2)


def test_a_stack_another_manager_runs_is_not_down_but_its_stopped_service_is():
    services = [ServiceStatus("postgres", ServiceState.HEALTHY, run_elsewhere=True),
                ServiceStatus("redis", ServiceState.DOWN, run_elsewhere=True, detail="bad password"),
                ServiceStatus("langgraph", ServiceState.STOPPED)]
    findings = evaluate(TriageInputs(now=NOW, supervisor_running=False, services=services))
    assert "stack-down" not in _codes(findings)
    assert [f.title for f in findings if f.code == "service-down"] == [
        "redis is down (not run by lgconsole)", "langgraph is stopped (not run by lgconsole)"]
    assert findings[0].jump == Jump("stack", "redis") and "bad password" in findings[0].evidence
    assert "systemctl status lgconsole-redis" in findings[0].action
