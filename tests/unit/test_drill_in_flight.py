"""The drill names the node in flight at the kill, never as "finished before the kill": the ledger's view at the
kill's moment (console/model/drill.py) and the kill made right after the last look at the ledger
(console/sources/drill.py's `_kill_moment`), on synthetic task events."""

from __future__ import annotations

import asyncio
import time

from lgconsole.console.model.drill import DrillReport, TaskLedger, kill_moment, report_lines
from lgconsole.console.sources import drill
from lgconsole.stack.server.runs import RunEvent


def start(task_id: str, name: str, at: float) -> RunEvent:
    return RunEvent("tasks", {"id": task_id, "name": name, "input": {}, "triggers": []}, received=at)


def end(task_id: str, name: str, at: float) -> RunEvent:
    return RunEvent("tasks", {"id": task_id, "name": name, "result": [], "error": None, "interrupts": []},
                    received=at)


def workers_with_researcher_held(base: float = 0.0) -> TaskLedger:
    """The demo's supervisor, then its three workers; coder and reviewer finished, the researcher still running."""
    ledger = TaskLedger()
    for event in (RunEvent("values", {}, received=base), start("s", "supervisor", base + 0.1),
                  end("s", "supervisor", base + 0.2), RunEvent("values", {}, received=base + 0.3),
                  start("r", "researcher", base + 0.4), start("c", "coder", base + 0.4),
                  start("v", "reviewer", base + 0.4), end("c", "coder", base + 3.5), end("v", "reviewer", base + 3.5)):
        ledger.feed(event)
    return ledger


def test_a_node_whose_end_arrives_after_the_kill_was_in_flight_at_it():
    ledger = workers_with_researcher_held()
    killed_at = 4.0
    ledger.feed(end("r", "researcher", 4.2))  # the stream delivers its end after the kill (a dependency was killed)
    assert [t.node for t in ledger.in_flight_at(killed_at)] == ["researcher"]
    assert sorted(t.node for t in ledger.done(killed_at)) == ["coder", "reviewer", "supervisor"]
    assert ledger.in_flight() == []  # the ledger now: ended; at the kill: in flight


def test_in_flight_and_finished_before_never_overlap():
    ledger = workers_with_researcher_held()
    ledger.feed(end("r", "researcher", 4.0))
    for moment in (0.05, 0.15, 0.4, 1.0, 3.5, 3.99, 4.0, 4.01, 9.0):
        in_flight = {t.task_id for t in ledger.in_flight_at(moment)}
        done = {t.task_id for t in ledger.done(moment)}
        assert not in_flight & done, moment


def test_the_report_names_the_in_flight_node_once():
    ledger = workers_with_researcher_held()
    killed_at = 4.0
    ledger.feed(end("r", "researcher", 4.1))
    report = DrillReport(service="redis", pid_killed=1, new_pid=2, thread_id="t", run_id="r",
                         killed_during=[t.node for t in ledger.in_flight_at(killed_at)], kill_reason="test",
                         completed_before=[t.node for t in ledger.done(killed_at)], saved_before=[],
                         time_to_restart_s=1.0, time_to_healthy_s=1.5, recovery="rode-through", recovery_note="")
    lines = report_lines(report)
    assert "in flight at the kill: researcher" in lines[1]
    assert "researcher" not in lines[2] and lines[2].startswith("  finished before the kill: supervisor, coder")


class _Follower:
    finished = False
    run_id = "run"

    async def stop(self) -> None:
        pass


class _SavedWrites:
    async def read(self) -> set[str]:
        return {"c", "v"}


def test_the_kill_is_made_with_the_held_node_in_flight_and_an_end_after_it_counts_as_after():
    async def scenario() -> tuple[TaskLedger, list[str], float]:
        now = time.monotonic()
        ledger = workers_with_researcher_held(base=now - 4.0)
        seen_at_kill: list[str] = []

        def kill() -> float:
            seen_at_kill.extend(t.node for t in ledger.in_flight())
            return time.monotonic()

        decision, saved, killed_at = await drill._kill_moment(
            _Follower(), ledger, asyncio.Event(), _SavedWrites(), "researcher", 1.0, now + 5, now, kill)
        ledger.feed(end("r", "researcher", time.monotonic()))  # the stream's next event
        assert decision.in_flight.node == "researcher" and saved == {"c", "v"}
        return ledger, seen_at_kill, killed_at

    ledger, seen_at_kill, killed_at = asyncio.run(scenario())
    assert seen_at_kill == ["researcher"]
    assert [t.node for t in ledger.in_flight_at(killed_at)] == ["researcher"]
    assert "researcher" not in [t.node for t in ledger.done(killed_at)]


def test_no_kill_when_the_node_ends_while_its_siblings_writes_are_checked():
    """The researcher ends while the drill reads Postgres for its siblings' writes: that moment is gone, nothing is
    killed (the drill says no moment came rather than report a finished node as killed)."""
    class EndsDuringRead(_SavedWrites):
        def __init__(self, ledger: TaskLedger) -> None:
            self.ledger = ledger

        async def read(self) -> set[str]:
            self.ledger.feed(end("r", "researcher", time.monotonic()))
            return await super().read()

    async def scenario() -> list[str]:
        now = time.monotonic()
        ledger = workers_with_researcher_held(base=now - 4.0)
        kills: list[str] = []
        try:
            await drill._kill_moment(_Follower(), ledger, asyncio.Event(), EndsDuringRead(ledger), "researcher", 1.0,
                                     now + 0.5, now, lambda: kills.append("killed") or time.monotonic())
        except drill.DrillError as exc:
            assert "no moment with a single node in flight" in str(exc)
        return kills

    assert asyncio.run(scenario()) == []
