"""Fixed data for the Threads screen: threads, histories and states recorded from a real stack running the demo
graph (tests/fixtures/threads/demo_threads.json, made by tests/fixtures/threads/record_threads.py), as records;
fakes.FixedThreads serves them in place of the live ThreadsSource."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lgconsole.stack.checkpoints.records import (
    CheckpointNode,
    CheckpointState,
    PendingWrite,
    SchemaInfo,
    ThreadStatus,
    ThreadSummary,
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
