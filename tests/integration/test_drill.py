"""The spot-eviction drill: its plain logic on synthetic task events, then `lgconsole drill kill` against a stack of
its own (it kills services, so never the shared live stack)."""

from __future__ import annotations

import json

import pytest
from lgconsole.console.sources.drill import DrillReport, TaskLedger, count_reruns, kill_moment, report_lines
from lgconsole.stack.server.runs import RunEvent
from stackutil import lgconsole, own_stack

# --- plain logic ---------------------------------------------------------------------------------------------------


def start(task_id: str, name: str, at: float, ns: tuple[str, ...] = ()) -> RunEvent:
    return RunEvent("tasks", {"id": task_id, "name": name, "input": {}, "triggers": []}, ns, received=at)


def end(task_id: str, name: str, at: float, **extra) -> RunEvent:
    return RunEvent("tasks", {"id": task_id, "name": name, "result": [], "error": None, "interrupts": [], **extra},
                    received=at)


def values(at: float) -> RunEvent:
    return RunEvent("values", {}, received=at)


def fed(ledger: TaskLedger, *events: RunEvent) -> TaskLedger:
    for event in events:
        ledger.feed(event)
    return ledger


def demo_until_kill() -> TaskLedger:
    """The demo graph's first two super-steps: supervisor, then the three workers; coder and reviewer done."""
    return fed(TaskLedger(), values(0.0), start("s", "supervisor", 0.1), end("s", "supervisor", 0.2), values(0.3),
               start("r", "researcher", 0.4), start("c", "coder", 0.4), start("v", "reviewer", 0.4),
               end("c", "coder", 3.5), end("v", "reviewer", 3.5))


def test_no_kill_while_several_parallel_nodes_are_in_flight():
    ledger = fed(TaskLedger(), values(0.0), start("r", "researcher", 0.4), start("c", "coder", 0.4))
    assert kill_moment(ledger, now=10.0) is None


def test_kill_when_one_node_is_left_and_its_siblings_finished():
    decision = kill_moment(demo_until_kill(), now=3.6)
    assert decision.in_flight.node == "researcher"
    assert sorted(t.node for t in decision.siblings_done) == ["coder", "reviewer"]


def test_a_lone_node_is_killed_only_after_it_ran_a_while():
    ledger = fed(TaskLedger(), values(0.0), start("s", "supervisor", 0.1))
    assert kill_moment(ledger, now=0.5, alone_after_s=1.0) is None
    assert kill_moment(ledger, now=1.2, alone_after_s=1.0).in_flight.node == "supervisor"


def test_handed_back_writes_are_not_counted_as_reruns():
    """After the kill the resumed run announces all three workers (task start events) but executes only the
    researcher; coder and reviewer come back as cached updates."""
    ledger = demo_until_kill()
    killed_at = 3.6
    ledger.stream += 1
    fed(ledger, values(8.0), start("r", "researcher", 8.1), start("c", "coder", 8.1), start("v", "reviewer", 8.1),
        RunEvent("updates", {"coder": {}, "reviewer": {}, "__metadata__": {"cached": True}}, received=8.1),
        end("r", "researcher", 11.0), values(11.1), start("j", "join", 11.2), end("j", "join", 11.3))
    counted = count_reruns(ledger, killed_at)
    assert counted.rerun == ["researcher"] and counted.same_task
    assert counted.cached == ["coder", "reviewer"]
    assert sorted(counted.reused) == ["coder", "reviewer", "supervisor"]
    assert counted.new == ["join"]


def test_a_run_restarted_from_its_input_counts_every_node_again():
    ledger = demo_until_kill()
    ledger.stream += 1
    fed(ledger, start("s2", "supervisor", 8.0), end("s2", "supervisor", 8.1), start("r2", "researcher", 8.2),
        start("c2", "coder", 8.2), start("v2", "reviewer", 8.2), end("r2", "researcher", 9), end("c2", "coder", 9),
        end("v2", "reviewer", 9))
    counted = count_reruns(ledger, 3.6)
    assert sorted(counted.rerun) == ["coder", "researcher", "reviewer", "supervisor"] and not counted.same_task


def test_report_verdicts():
    base = {"service": "langgraph", "pid_killed": 1, "new_pid": 2, "thread_id": "t", "run_id": "r",
            "killed_during": ["researcher"], "kill_reason": "x", "completed_before": ["supervisor"], "saved_before": [],
            "time_to_restart_s": 1.0, "time_to_healthy_s": 3.0, "recovery": "re-created", "recovery_note": "n",
            "thread_status": "idle", "answered": True}
    assert DrillReport(**base, rerun=["researcher"]).ok
    assert not DrillReport(**base, rerun=["researcher", "coder"]).ok
    assert DrillReport(**{**base, "service": "redis"}, rerun=[]).ok  # rode through: nothing needed re-running
    assert not DrillReport(**{**base, "thread_status": "interrupted"}, rerun=["researcher"]).ok
    assert report_lines(DrillReport(**base, rerun=["researcher"]))[-1].startswith("drill passed")


# --- integration: a stack of its own ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def drill_stack():
    """The drill kills services: it gets a stack of its own, not the session's."""
    with own_stack() as config:
        yield config


def drill(config, *args: str):
    return lgconsole("drill", "kill", *args, config=config.state_path / "lgconsole.toml", timeout=240)


@pytest.mark.integration
def test_kill_the_server_during_a_node_reruns_only_that_node(drill_stack):
    """Killed < 10 s after the thread was created: the restarted dev server has lost both the run and the thread
    (its index is saved every ~10 s); the drill re-creates the thread and resumes it from Postgres."""
    result = drill(drill_stack, "langgraph", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["killed_during"] == ["researcher"]
    assert sorted(report["completed_before"]) == ["coder", "reviewer", "supervisor"]
    assert sorted(report["saved_before"]) == ["coder", "reviewer"]
    assert report["rerun"] == ["researcher"] and report["rerun_count"] == 1 and report["rerun_same_task"]
    assert sorted(report["cached_after_kill"]) == ["coder", "reviewer"]
    assert report["recovery"] == "re-created"
    assert report["server_knew_run"] is False and report["server_knew_thread"] is False
    assert report["new_after_kill"][:3] == ["join", "review", "approval"]
    assert report["interrupt_reached"] and report["answered"]
    assert report["thread_status"] == "idle" and report["outcome"] == "approved" and report["ok"]
    assert report["new_pid"] != report["pid_killed"]
    assert 0 < report["time_to_restart_s"] <= report["time_to_healthy_s"] < 60

    from lgconsole.console.sources.urls import postgres_url
    from lgconsole.stack.checkpoints.reader import CheckpointReader

    with CheckpointReader(postgres_url(drill_stack)) as reader:  # the same thread, finished, in Postgres
        [summary] = reader.list_threads(text=report["thread_id"])
        assert summary.status.value == "idle" and "finalize" in summary.latest_nodes


@pytest.mark.integration
def test_a_run_the_server_saved_is_requeued_and_reattached(drill_stack):
    """Workers sleep 12 s: the dev server saves its run index while the run runs, re-queues it after the restart
    (attempt 2, same run id), and that attempt resumes from the checkpoint: again only the in-flight node re-runs."""
    result = drill(drill_stack, "langgraph", "--delay", "12")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "recovery: re-attached" in out and "re-queued it" in out
    assert "re-executed after the kill: 1 node(s): researcher (same task ids" in out
    assert "thread idle, outcome approved" in out and "drill passed" in out


@pytest.mark.integration
@pytest.mark.parametrize("service", ["redis", "postgres"])
def test_a_dependency_killed_mid_node_is_ridden_through(drill_stack, service):
    """Redis (the tool cache) and Postgres (the checkpointer's pool reconnects) come back within ~2 s: the run
    carries on, nothing is re-executed, the thread completes."""
    result = drill(drill_stack, service, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["service"] == service and report["killed_during"] == ["researcher"]
    assert report["rerun"] == [] and report["recovery"] == "rode-through"
    assert report["thread_status"] == "idle" and report["outcome"] == "approved"


@pytest.mark.integration
def test_drill_refuses_an_external_or_unknown_service(drill_stack):
    result = drill(drill_stack, "vllm")
    assert result.returncode == 2 and "invalid choice" in result.stderr
