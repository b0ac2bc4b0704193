"""The spot-eviction drill's bookkeeping (console/model/drill.py) on synthetic task events."""

from __future__ import annotations

from lgconsole.console.model.drill import DrillReport, TaskLedger, count_reruns, kill_moment, report_lines
from lgconsole.stack.server.runs import RunEvent


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


def test_a_held_node_is_the_only_one_killed():
    """The drill holds the researcher past its siblings: a lone node slowed past alone_after_s (the supervisor on a
    busy machine) is not killed, nor a sibling left in flight last."""
    lone = fed(TaskLedger(), values(0.0), start("s", "supervisor", 0.1))
    assert kill_moment(lone, now=5.0, alone_after_s=1.0, node="researcher") is None
    coder_last = fed(TaskLedger(), values(0.0), values(0.3), start("r", "researcher", 0.4), start("c", "coder", 0.4),
                     start("v", "reviewer", 0.4), end("r", "researcher", 3.5), end("v", "reviewer", 3.5))
    assert kill_moment(coder_last, now=3.6) is not None
    assert kill_moment(coder_last, now=3.6, node="researcher") is None
    assert kill_moment(demo_until_kill(), now=3.6, node="researcher").in_flight.node == "researcher"


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


def test_the_report_names_the_runtime_the_runs_lost_and_the_nodes_re_run():
    base = {"service": "langgraph", "pid_killed": 1, "new_pid": 2, "thread_id": "t", "run_id": "r",
            "killed_during": ["researcher"], "kill_reason": "x", "completed_before": ["supervisor"], "saved_before": [],
            "time_to_restart_s": 1.0, "time_to_healthy_s": 3.0, "recovery_note": "n", "thread_status": "idle"}
    dev = DrillReport(**base, recovery="re-created", server_knew_run=False, rerun=["researcher"])
    pg = DrillReport(**base, recovery="re-attached", server_knew_run=True, runtime="pg",
                     rerun=["supervisor", "researcher", "coder", "reviewer"])
    assert (dev.run_lost, pg.run_lost, dev.to_json()["run_lost"]) == (True, False, True)
    assert "(server runtime dev)" in report_lines(dev)[0] and "(server runtime pg)" in report_lines(pg)[0]
    assert "  runs lost: 1; nodes re-run: 1" in report_lines(dev)
    assert "  runs lost: 0; nodes re-run: 4" in report_lines(pg)
    assert DrillReport(**{**base, "service": "redis"}, recovery="rode-through").run_lost is None
