"""The typed records and errors of reading the checkpoint tables: thread summaries, checkpoint nodes, decoded
states, pending writes, schema status. Plain dataclasses; `to_json()` gives what `--json` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from lgconsole.stack.checkpoints.decoder import jsonable
from lgconsole.stack.dataclass_methods import DataclassMethods, FrozenDataclassMethods
from lgconsole.stack.errors import StackError

# --- errors ----------------------------------------------------------------------------------------------------------

class CheckpointReaderError(StackError):
    """A problem reading the checkpoint tables; str() is one line."""


class CheckpointDbUnreachable(CheckpointReaderError):
    """Postgres does not answer, refuses the login, or the connection broke."""


class NoCheckpointTables(CheckpointReaderError):
    """The database has no `checkpoints` table: the checkpointer never ran `setup()` there."""


class UnsupportedSchema(CheckpointReaderError):
    """The tables are older than the layout this reader understands."""


class UnknownThread(CheckpointReaderError):
    """No checkpoint has this thread id."""


class UnknownCheckpoint(CheckpointReaderError):
    """The thread has no checkpoint with this id (or the prefix matches none, or several)."""



# --- records ---------------------------------------------------------------------------------------------------------

class ThreadStatus(str, Enum):
    RUNNING = "running"  # the server has a run pending or running on it, or a step is half-saved right now
    ERRORED = "errored"  # the latest checkpoint has a pending `__error__` write
    WAITING = "waiting"  # an `__interrupt__` write, or nodes due that nothing runs (a static breakpoint)
    IDLE = "idle"  # nothing due: finished, or between runs
    UNKNOWN = "unknown"  # nodes due, just saved, server not asked: a step starting or a breakpoint, cannot tell


@dataclass(frozen=True, repr=False, eq=False)
class ServerView(FrozenDataclassMethods):
    """What the LangGraph server said about runs when the threads were listed: the threads with a run pending or
    running (`threads.search(status="busy")`). Pass None instead when the server did not answer."""

    busy: frozenset[str] = frozenset()


@dataclass(repr=False, eq=False)
class ThreadSummary(DataclassMethods):
    thread_id: str
    last_activity: datetime | None  # newest checkpoint of any namespace (from its uuid6 id)
    checkpoint_count: int  # every namespace, subgraphs included
    head_checkpoint_id: str | None  # the latest root-namespace checkpoint
    latest_step: int | None
    latest_source: str | None  # input | loop | update | fork
    latest_nodes: list[str]  # the node(s) whose writes made the latest checkpoint
    status: ThreadStatus
    status_node: str | None = None  # the node that failed or waits
    error: str | None = None  # the error text (`RuntimeError('...')`), when errored
    interrupts: list[Any] = field(default_factory=list)  # decoded interrupt payloads ({"value", "id"}), when waiting
    metadata: dict = field(default_factory=dict)  # the latest checkpoint's metadata

    def to_json(self) -> dict:
        return {
            "thread_id": self.thread_id,
            "last_activity": self.last_activity.isoformat() if self.last_activity else None,
            "checkpoint_count": self.checkpoint_count,
            "head_checkpoint_id": self.head_checkpoint_id,
            "latest_step": self.latest_step,
            "latest_source": self.latest_source,
            "latest_nodes": list(self.latest_nodes),
            "status": self.status.value,
            "status_node": self.status_node,
            "error": self.error,
            "interrupts": jsonable(self.interrupts),
            "metadata": jsonable(self.metadata),
        }


@dataclass(repr=False, eq=False)
class CheckpointNode(DataclassMethods):
    """One checkpoint of a thread's history: ids and metadata only, no state."""

    checkpoint_id: str
    parent_checkpoint_id: str | None
    checkpoint_ns: str  # "" for the root graph, `node:<task_id>` (nested with `|`) for a subgraph call
    step: int | None
    source: str | None
    writers: list[str]  # the node(s) whose writes made this checkpoint
    created_at: datetime | None
    parents: dict[str, str] = field(default_factory=dict)  # namespace -> checkpoint id of the enclosing graphs
    metadata: dict = field(default_factory=dict)
    error: str | None = None  # a pending `__error__` write on this checkpoint
    error_node: str | None = None
    interrupted: bool = False  # a pending `__interrupt__` write on this checkpoint
    interrupt_node: str | None = None

    def to_json(self) -> dict:
        return {
            "checkpoint_id": self.checkpoint_id,
            "parent_checkpoint_id": self.parent_checkpoint_id,
            "checkpoint_ns": self.checkpoint_ns,
            "step": self.step,
            "source": self.source,
            "writers": list(self.writers),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "parents": dict(self.parents),
            "error": self.error,
            "error_node": self.error_node,
            "interrupted": self.interrupted,
            "interrupt_node": self.interrupt_node,
            "metadata": jsonable(self.metadata),
        }


@dataclass(repr=False, eq=False)
class PendingWrite(DataclassMethods):
    task_id: str
    node: str | None  # the task's node, when it can be told from the task path
    channel: str
    value: Any
    idx: int
    task_path: str = ""


@dataclass(repr=False, eq=False)
class CheckpointState(DataclassMethods):
    thread_id: str
    checkpoint_id: str
    checkpoint_ns: str
    parent_checkpoint_id: str | None
    step: int | None
    source: str | None
    created_at: datetime | None
    metadata: dict
    # the values LangGraph's get_state shows: the graph's state channels, decoded (a Functional API workflow's:
    # its return value, whatever its type; `mapping` is the form panes and diffs take)
    values: Any
    channels: dict[str, Any]  # internal channels (`branch:to:*`, `__start__`, `__pregel_tasks`, ...), decoded
    pending_writes: list[PendingWrite]
    next: list[str]  # nodes due at the next super-step, as far as the tables tell
    error: str | None = None
    interrupts: list[Any] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # labels of values shown as placeholders

    @property
    def mapping(self) -> dict[str, Any]:
        """The values as a mapping of keys: a state as it is; a workflow that returned something other than a dict
        shows it under `__end__`, the channel it is read from; nothing yet is {}."""
        if isinstance(self.values, dict):
            return self.values
        return {} if self.values is None else {"__end__": self.values}

    def to_json(self) -> dict:
        return {
            "thread_id": self.thread_id,
            "checkpoint_id": self.checkpoint_id,
            "checkpoint_ns": self.checkpoint_ns,
            "parent_checkpoint_id": self.parent_checkpoint_id,
            "step": self.step,
            "source": self.source,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "metadata": jsonable(self.metadata),
            "values": jsonable(self.values),
            "channels": jsonable(self.channels),
            "pending_writes": [
                {"task_id": w.task_id, "node": w.node, "channel": w.channel, "idx": w.idx, "value": jsonable(w.value)}
                for w in self.pending_writes
            ],
            "next": list(self.next),
            "error": self.error,
            "interrupts": jsonable(self.interrupts),
            "unreadable": list(self.unreadable),
        }


@dataclass(repr=False, eq=False)
class SchemaInfo(DataclassMethods):
    version: int | None  # the highest row of checkpoint_migrations; None when missing or empty
    expected: int  # the version this reader was written against
    status: str  # current | older | newer | unknown (table empty) | missing (no checkpoint_migrations)
    message: str  # one line for a person

    @property
    def ok(self) -> bool:
        return self.status == "current"
