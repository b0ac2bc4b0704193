"""Fixed data for the Threads screen: threads, histories and states recorded from a real stack running the demo
graph (tests/fixtures/threads/demo_threads.json, made by tests/fixtures/threads/record_threads.py), served by
`FixedThreads`, a stand-in for console.threads_view.ThreadsSource with the same methods."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lgconsole.console.sources.threads import ServerState, ThreadsPage, checkpoint_key
from lgconsole.stack.checkpoints.records import (
    CheckpointNode,
    CheckpointState,
    PendingWrite,
    SchemaInfo,
    ThreadStatus,
    ThreadSummary,
    UnknownCheckpoint,
    UnknownThread,
)

FIXTURE = Path(__file__).parent / "fixtures" / "threads" / "demo_threads.json"


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def summary_from(d: dict) -> ThreadSummary:
    return ThreadSummary(**{**d, "status": ThreadStatus(d["status"]), "last_activity": _when(d["last_activity"])})


def node_from(d: dict) -> CheckpointNode:
    return CheckpointNode(**{**d, "created_at": _when(d["created_at"])})


def state_from(d: dict) -> CheckpointState:
    writes = [PendingWrite(task_id=w["task_id"], node=w["node"], channel=w["channel"], value=w["value"], idx=w["idx"])
              for w in d["pending_writes"]]
    return CheckpointState(**{**d, "created_at": _when(d["created_at"]), "pending_writes": writes})


@dataclass
class Recorded:
    now: datetime
    summaries: list[ThreadSummary]
    histories: dict[str, list[CheckpointNode]]
    states: dict[str, dict[str, CheckpointState]]
    labels: dict[str, str]  # label -> thread id ("forked", "waiting", ...)
    schema: SchemaInfo = field(default_factory=lambda: SchemaInfo(9, 9, "current", "checkpoint schema version 9"))


def load(path: Path = FIXTURE) -> Recorded:
    raw = json.loads(path.read_text())
    return Recorded(
        now=datetime.fromisoformat(raw["now"]),
        summaries=[summary_from(s) for s in raw["threads"]],
        histories={tid: [node_from(n) for n in nodes] for tid, nodes in raw["histories"].items()},
        states={tid: {key: state_from(s) for key, s in states.items()} for tid, states in raw["states"].items()},
        labels=raw["labels"],
    )


class FixedThreads:
    """What ThreadsSource would read from a stack in the recorded state; actions are recorded, not sent."""

    def __init__(self, recorded: Recorded | None = None, server_up: bool = True):
        self.data = recorded or load()
        self.server = ServerState(True, "http://127.0.0.1:54014") if server_up else ServerState(
            False, "http://127.0.0.1:54014 does not answer (All connection attempts failed)")
        self.actions: list[tuple] = []

    def server_state(self) -> ServerState:
        return self.server

    def read_threads(self, status: str | None, text: str | None, sort: str) -> ThreadsPage:
        found = [s for s in self.data.summaries
                 if (not status or s.status.value == status) and (not text or text.lower() in s.thread_id.lower())]
        key = sort.lstrip("-")
        attr = {"last_activity": lambda s: s.last_activity, "checkpoint_count": lambda s: s.checkpoint_count,
                "step": lambda s: s.latest_step or -2, "status": lambda s: s.status.value,
                "thread_id": lambda s: s.thread_id}[key]
        found.sort(key=lambda s: (attr(s), s.thread_id), reverse=sort.startswith("-"))
        return ThreadsPage(found, len(found), self.data.schema, self.server, now=self.data.now)

    def count_threads(self, status: str | None, text: str | None) -> int:
        return len(self.read_threads(status, text, "thread_id").summaries)

    def read_history(self, thread_id: str) -> list[CheckpointNode]:
        if thread_id not in self.data.histories:
            raise UnknownThread(f"unknown thread {thread_id!r}: no checkpoint has this thread id")
        return self.data.histories[thread_id]

    def read_state(self, thread_id: str, checkpoint_id: str, ns: str = "") -> CheckpointState:
        try:
            return self.data.states[thread_id][checkpoint_key(checkpoint_id, ns)]
        except KeyError:
            raise UnknownCheckpoint(f"unknown checkpoint {checkpoint_id!r} in thread {thread_id!r}") from None

    def close(self) -> None:
        pass

    async def replay(self, thread_id: str, checkpoint_id: str) -> Any:
        self.actions.append(("replay", thread_id, checkpoint_id))
        raise _not_sent()

    async def fork(self, thread_id: str, checkpoint_id: str, update: dict, as_node: str | None = None) -> Any:
        self.actions.append(("fork", thread_id, checkpoint_id, update, as_node))
        raise _not_sent()

    async def resume(self, thread_id: str, value: Any) -> Any:
        self.actions.append(("resume", thread_id, value))
        raise _not_sent()

    async def copy(self, thread_id: str) -> Any:
        self.actions.append(("copy", thread_id))
        raise _not_sent()


def _not_sent():
    from lgconsole.stack.server.time_travel import TimeTravelError

    return TimeTravelError("fixed data: nothing is sent from a snapshot test")
