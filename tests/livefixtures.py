"""Recorded real streams of the demo graph (tests/fixtures/live/*.jsonl) replayed as RunEvents, and a run of the
`report` graph built event by event. fakes.RecordedSession streams them in place of a server."""

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


def chat_ask(history: list[dict], user: str, question: str, run_id: str, base: float = 3000.0) -> list[RunEvent]:
    """A run of the same chat graph whose `reply` node stops at `interrupt({"question": ...})` before answering."""
    said = {"content": user, "type": "human", "id": f"{run_id}-user"}
    asked = [{"value": {"question": question}, "id": f"{run_id}-i"}]
    return [RunEvent("metadata", {"run_id": run_id}, (), None, base),
            RunEvent("values", {"messages": [*history, said]}, (), None, base + 0.01),
            RunEvent("tasks", {"id": f"{run_id}-t", "name": "reply", "input": {}, "triggers": []}, (), None,
                     base + 0.02),
            RunEvent("updates", {"__interrupt__": asked}, (), None, base + 0.03),
            RunEvent("tasks", {"id": f"{run_id}-t", "name": "reply", "error": None, "result": {},
                               "interrupts": asked}, (), None, base + 0.04)]


def chat_run(history: list[dict], user: str | None, reply: str, run_id: str, base: float = 3000.0) -> list[RunEvent]:
    """A run of a MessagesState chat graph (START -> reply) on a thread that holds `history`, as the server streams
    it: the user's message in the first values, the reply's tokens (messages-tuple), its update, the final values.
    `user` None: the run an answer resumes (no new user message)."""
    said = [{"content": user, "type": "human", "id": f"{run_id}-user"}] if user is not None else []
    answer = {"content": reply, "type": "ai", "id": f"{run_id}-reply", "tool_calls": []}
    meta = {"langgraph_node": "reply", "langgraph_step": 1}
    events = [RunEvent("metadata", {"run_id": run_id}, (), None, base),
              RunEvent("values", {"messages": [*history, *said]}, (), None, base + 0.01),
              RunEvent("tasks", {"id": f"{run_id}-t", "name": "reply", "input": {}, "triggers": []}, (), None,
                       base + 0.02)]
    for i, word in enumerate(reply.split(" ")):
        chunk = {"content": word + " ", "type": "AIMessageChunk", "id": f"{run_id}-reply"}
        events.append(RunEvent("messages", [chunk, meta], (), None, base + 0.03 + i / 100))
    events += [RunEvent("updates", {"reply": {"messages": [answer]}}, (), None, base + 0.2),
               RunEvent("tasks", {"id": f"{run_id}-t", "name": "reply", "result": [], "error": None,
                                  "interrupts": []}, (), None, base + 0.21),
               RunEvent("values", {"messages": [*history, *said, answer]}, (), None, base + 0.22)]
    return events
