"""Triage: each rule on constructed inputs, then on real situations of a real stack (fires, then clears)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.triage import TriageScreen
from lgconsole.console.model.triage import (Finding, Jump, Thresholds, TriageInputs, VllmObservation, evaluate,
                                      exit_code)
from lgconsole.console.sources.triage import TriageSource
from lgconsole.stack.services import supervisor
from lgconsole.stack.checkpoints.records import ThreadStatus, ThreadSummary
from lgconsole.stack.metrics.ops_stats import ActiveRun, RedisMemory, TableStats
from lgconsole.stack.services.service import ServiceState, ServiceStatus
from stackutil import lgconsole, wait_for
from fakes import FixedStack, FixedTriage, fixed_stack_snapshot

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


# --- the screen --------------------------------------------------------------------------------------------

def _triage_app(findings):
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(False)), poll=False)

    async def show(pilot):
        screen = TriageScreen(FixedTriage(findings), poll=False)
        await app.push_screen(screen)
        await pilot.pause(0.3)
        screen.show_findings(findings, checked_at="03:00:00")
        await pilot.pause(0.1)

    return app, show


SAMPLE = [
    Finding("critical", "service-down", "langgraph is crashed", "langgraph is not serving; what depends on it fails.",
            ("langgraph: killed by signal 9 (SIGKILL); log: MemoryError",), "See its log; restart with r.",
            Jump("logs", "langgraph")),
    Finding("critical", "kv-starvation", "vLLM KV cache is starving (http://127.0.0.1:8000)", "KV cache nearly full.",
            ("usage 93%, running 7/8, waiting 9, +21 preemptions", "thread in flight: 01a20c2c-3fd8"),
            "Lower max_num_seqs or context.", Jump("gpu")),
    Finding("warning", "errored-threads", "2 threads failed with RuntimeError in coder", "In the last 24 h.",
            ("01a20c2c-4a8e  RuntimeError('demo failure requested at coder')",), "Replay from the last checkpoint.",
            Jump("threads", "01a20c2c-4a8e")),
    Finding("info", "waiting-threads", "3 threads wait for a human (oldest 22 min)", "They stopped at interrupt().",
            (), "Answer on the Threads screen.", Jump("threads", "01a20c2a")),
]


def test_triage_screen_with_findings(snap_compare):
    app, show = _triage_app(SAMPLE)
    assert snap_compare(app, terminal_size=(120, 32), run_before=show)


def test_triage_screen_all_well(snap_compare):
    app, show = _triage_app([Finding("info", "checkpoint-growth", "checkpoint tables 1 MiB, +163 checkpoints today",
                                     "Size and pace of the durable state.")])
    assert snap_compare(app, terminal_size=(100, 24), run_before=show)


async def test_enter_jumps_to_the_evidence():
    app, show = _triage_app(SAMPLE)
    async with app.run_test(size=(120, 32)) as pilot:
        await show(pilot)
        await pilot.press("enter")  # the crashed service: its log
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "LogScreen" and app.screen.service == "langgraph"


# --- real situations on a real stack -------------------------------------------------------------------------

def _findings(config, **thresholds):
    return TriageSource(config, Thresholds(**thresholds)).findings()


@pytest.mark.integration
def test_rules_fire_on_a_real_stack_and_clear(live_stack):
    from langgraph_sdk import get_sync_client

    from lgconsole.console.sources.urls import langgraph_url

    client = get_sync_client(url=langgraph_url(live_stack))
    # an errored run and an interrupt left waiting
    failed = client.threads.create()
    client.runs.wait(failed["thread_id"], "demo", input={"task": "x", "fail_at": "reviewer"}, raise_error=False)
    waiting = client.threads.create()
    client.runs.wait(waiting["thread_id"], "demo", input={"task": "needs a human"})
    source = TriageSource(live_stack, Thresholds(waiting_warn_h=0.0))
    inputs = source.gather()
    findings = evaluate(inputs, source.thresholds)
    errored = [f for f in findings if f.code == "errored-threads" and "reviewer" in f.title]
    assert errored and any(failed["thread_id"] in e for e in errored[0].evidence)
    waits = next(f for f in findings if f.code == "waiting-threads")
    assert waits.severity == "warning"
    assert waiting["thread_id"] in [th.thread_id for th in inputs.waiting_threads]
    # answered -> no longer waiting
    client.runs.wait(waiting["thread_id"], "demo", command={"resume": True})
    assert waiting["thread_id"] not in [th.thread_id for th in source.gather().waiting_threads]
    # the failure fixed (the bad input edited away, the thread run on from its checkpoint) -> no longer errored
    client.threads.update_state(failed["thread_id"], {"fail_at": None})
    client.runs.wait(failed["thread_id"], "demo", input=None)
    assert failed["thread_id"] not in [th.thread_id for th in source.gather().errored_threads]

    # a stuck run: running longer than the (lowered) threshold, cleared when it ends
    slow = client.threads.create()
    run = client.runs.create(slow["thread_id"], "demo", input={"task": "slow", "delay": 6})
    stuck = wait_for(lambda: [f for f in _findings(live_stack, running_run_s=1.0, pending_run_s=1.0)
                              if f.code == "stuck-run" and f.jump.target == slow["thread_id"]], 30, 0.5,
                     what="stuck-run finding")
    assert stuck
    client.runs.join(slow["thread_id"], run["run_id"])
    assert not [f for f in _findings(live_stack, running_run_s=1.0, pending_run_s=1.0)
                if f.code == "stuck-run" and f.jump.target == slow["thread_id"]]  # other tests' runs may be in flight
    client.close()


@pytest.mark.integration
def test_a_stopped_service_is_critical_and_doctor_exit_codes(live_stack):
    cfg = live_stack.state_path / "lgconsole.toml"
    before = lgconsole("doctor", "--json", config=cfg)
    assert before.returncode in (0, 1), before.stdout
    supervisor.send_command(live_stack.state_path, {"cmd": "stop", "service": "redis"})
    try:
        result = lgconsole("doctor", "--json", config=cfg)
        data = json.loads(result.stdout)
        assert result.returncode == 2 and data["exit_code"] == 2
        assert data["findings"][0]["code"] == "service-down" and data["findings"][0]["title"] == "redis is stopped"
        text = lgconsole("doctor", config=cfg)
        assert text.returncode == 2 and text.stdout.startswith("CRIT  redis is stopped")
    finally:
        supervisor.send_command(live_stack.state_path, {"cmd": "start", "service": "redis"})
        wait_for(lambda: supervisor.read_state(live_stack.state_path).by_name("redis").state == ServiceState.HEALTHY,
                 30, what="redis back")
    after = lgconsole("doctor", "--json", config=cfg)
    assert "service-down" not in [f["code"] for f in json.loads(after.stdout)["findings"]]


async def test_enter_on_an_errored_thread_opens_it_on_the_threads_screen():
    app, show = _triage_app(SAMPLE)
    async with app.run_test(size=(120, 32)) as pilot:
        await show(pilot)
        await pilot.press("down", "down", "enter")
        await pilot.pause(0.5)
        assert app.current_mode == "threads" and app.screen.text_filter == "01a20c2c-4a8e"
