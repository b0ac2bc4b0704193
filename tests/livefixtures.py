"""Recorded real streams of the demo graph (tests/fixtures/live/*.jsonl) replayed as RunEvents."""

from __future__ import annotations

import json
from pathlib import Path

from lgconsole.stack.server.runs import RunEvent

FIXTURES = Path(__file__).parent / "fixtures" / "live"


def recorded(name: str, base: float = 1000.0) -> list[RunEvent]:
    events = []
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        raw = json.loads(line)
        events.append(RunEvent(raw["mode"], raw["data"], tuple(raw["namespace"]), None, base + raw["t"]))
    return events


class RecordedSession:
    """A `RunSession` stand-in that streams a recorded run and ends as told (for the RunFollower without a server)."""

    url = "http://127.0.0.1:9"

    def __init__(self, name: str | list, status: str = "success", thread_status: str = "idle",
                 thread_id: str = "recorded-thread", run_id: str | None = None, interrupts: list | None = None):
        self.events_ = recorded(name) if isinstance(name, str) else list(name)  # a recording's name, or events
        self.thread_id, self.run_id = thread_id, run_id or f"run-{name if isinstance(name, str) else 'events'}"
        if interrupts is None and thread_status == "interrupted":  # what the server's thread says: the stream's
            interrupts = [i for e in self.events_ if e.mode == "updates" and isinstance(e.data, dict)
                          for i in e.data.get("__interrupt__") or []]
        self.status, self.thread_status, self.interrupts = status, thread_status, interrupts or []
        self.closed = False

    async def events(self):
        for event in self.events_:
            yield event

    async def outcome(self):
        from lgconsole.stack.server.runs import RunOutcome

        return RunOutcome(self.run_id, self.thread_id, self.status, self.thread_status, None, self.interrupts)

    async def close(self) -> None:
        self.closed = True


def report_run(run_id: str = "report-run", base: float = 2000.0) -> list[RunEvent]:
    """A run of the demo project's second graph, `report` (gather -> draft (outline -> write) -> publish), as the
    server streams it: task starts and results, updates, subgraph events under `draft:<task id>`."""
    events = [RunEvent("metadata", {"run_id": run_id}, (), None, base)]
    t = base

    def task(name: str, task_id: str, update: dict, ns: tuple[str, ...] = ()) -> None:
        nonlocal t
        events.append(RunEvent("tasks", {"id": task_id, "name": name, "input": {}, "triggers": []}, ns, None, t))
        events.append(RunEvent("updates", {name: update}, ns, None, t + 0.01))
        events.append(RunEvent("tasks", {"id": task_id, "name": name, "result": [], "error": None, "interrupts": []},
                               ns, None, t + 0.02))
        t += 0.05

    task("gather", "t-gather", {"facts": ["a", "b"]})
    events.append(RunEvent("tasks", {"id": "t-draft", "name": "draft", "input": {}, "triggers": []}, (), None, t))
    task("outline", "t-outline", {"outline": ["on a", "on b"]}, ("draft:t-draft",))
    task("write", "t-write", {"report": "on a; on b"}, ("draft:t-draft",))
    events.append(RunEvent("updates", {"draft": {"report": "on a; on b"}}, (), None, t))
    events.append(RunEvent("tasks", {"id": "t-draft", "name": "draft", "result": [], "error": None, "interrupts": []},
                           (), None, t + 0.01))
    task("publish", "t-publish", {"published": "10 characters"})
    return events
