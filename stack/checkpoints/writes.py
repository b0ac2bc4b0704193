"""What the checkpointer's pending writes tell: which node wrote a checkpoint, which Sends ran, the error that
explains a failure, and what runs next. Plain functions over `WriteRow`s the reader fetched; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lgconsole.stack.checkpoints.decoder import PLACEHOLDER_KEY, is_placeholder, send_node_from_prefix

# The checkpointer's write channels with a meaning of their own (langgraph.checkpoint.base.WRITES_IDX_MAP).
ERROR = "__error__"
INTERRUPT = "__interrupt__"
RESUME = "__resume__"
SCHEDULED = "__scheduled__"
TASKS = "__pregel_tasks"
SPECIAL_WRITES = frozenset({ERROR, INTERRUPT, RESUME, SCHEDULED})

SEND_PREFIX_BYTES = 512  # enough of a Send blob to read its node name without fetching the state it carries


@dataclass
class WriteRow:
    """One `checkpoint_writes` row as the reader's queries fetch it."""

    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    task_path: str
    idx: int
    channel: str
    type: str | None
    blob: bytes | None  # only for the channels a query asked the blob of
    prefix: bytes | None  # the first bytes of `__pregel_tasks` writes


def sends_by_checkpoint(rows: list[WriteRow]) -> dict[tuple[str, str], list[str | None]]:
    """(ns, checkpoint id) -> the node names of the Sends written there, in the order the next step numbers them."""
    found: dict[tuple[str, str], list[WriteRow]] = {}
    for row in rows:
        if row.channel == TASKS:
            found.setdefault((row.checkpoint_ns, row.checkpoint_id), []).append(row)
    return {key: [send_node_from_prefix(r.prefix) for r in sorted(group, key=lambda r: (r.task_path, r.task_id, r.idx))]
            for key, group in found.items()}


def task_node(task_path: str, sends: list[str | None] | None) -> str | None:
    """A task's node from the task path the checkpointer stores: `~__pregel_pull, NODE` names it; a Send's
    `~__pregel_push, IDX, ...` is the IDX-th Send written on the parent checkpoint."""
    if task_path.startswith("~__pregel_pull, "):
        return task_path[len("~__pregel_pull, "):]
    if task_path.startswith("~__pregel_push, "):
        rest = task_path[len("~__pregel_push, "):]
        first = rest.split(", ", 1)[0]
        if first.isdigit():
            idx = int(first)
            if sends and idx < len(sends) and sends[idx]:
                return sends[idx]
            return f"send[{idx}]"
        # A Functional API @task call: `~__pregel_push, <the calling task's path>, <call index>, ...`; its writes
        # belong to the step of the node that called it, which is how LangGraph lists the step's tasks.
        return _caller(rest) or "call"
    return None


def _caller(path: str) -> str | None:
    """The node whose task made a call, from the call's path after its `~__pregel_push, ` (nested calls too)."""
    while path.startswith("~__pregel_push, "):
        path = path[len("~__pregel_push, "):]
    if path.startswith("~__pregel_pull, "):
        return path[len("~__pregel_pull, "):].split(", ", 1)[0]
    return None


def pick_error(errors: list[tuple[str | None, str]]) -> tuple[str | None, str] | None:
    """The error that explains the failure: sibling tasks cancelled because of it come last."""
    if not errors:
        return None
    real = [e for e in errors if not e[1].startswith("CancelledError")]
    return (real or errors)[0]


def internal_channel(name: str) -> bool:
    """Channels of the Pregel loop (`branch:to:*`, `__start__`, `__pregel_tasks`, ...), not the graph's state."""
    if name == "__root__":
        return False
    return name.startswith(("__", "branch:", "join:", "start:"))


def error_text(value: Any) -> str:
    """An `__error__` write's value as one text (a placeholder by its label)."""
    if isinstance(value, str):
        return value
    if is_placeholder(value):
        return f"<{value[PLACEHOLDER_KEY]}>"
    return repr(value)


def writers_of(source: str | None, parent_writes: list[WriteRow], parent_sends: list[str | None] | None) -> list[str]:
    """The nodes whose writes made a checkpoint: the tasks that wrote on its parent and finished there."""
    if source == "input":
        return ["__input__"]
    if source in ("update", "fork"):
        return []  # update_state leaves no trace of `as_node` in the tables
    tasks: dict[str, tuple[str, bool]] = {}
    for w in parent_writes:
        done = w.channel not in SPECIAL_WRITES
        path, finished = tasks.get(w.task_id, (w.task_path, False))
        tasks[w.task_id] = (path, finished or done)
    names = []
    for path, finished in sorted(tasks.values()):
        name = task_node(path, parent_sends) if finished else None
        if name and name not in names:
            names.append(name)
    return names


NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"  # the task id of a run's global `__resume__` write


def unnamed_tasks(parent_writes: list[WriteRow]) -> bool:
    """Writes without task paths: a thread copied by the server's `threads.copy` (it drops `task_path`)."""
    return any(not w.task_path and w.task_id != NULL_TASK_ID for w in parent_writes)


def writers_by_versions_seen(child: dict | None, parent: dict | None) -> list[str]:
    """The nodes whose `versions_seen` moved between a checkpoint and its parent: the pull tasks that ran (and a
    Send's node the first time it ran)."""
    child, parent = child or {}, parent or {}
    return sorted(node for node, seen in child.items()
                  if node not in ("__input__", "__interrupt__") and parent.get(node) != seen)


def next_nodes(checkpoint: dict, values: dict[str, Any], start_nodes: list[str] | None = None) -> list[str]:
    """Nodes due at the next step: a `branch:to:NODE` channel with a version the node has not seen, a multi-source
    edge's join once every source wrote, plus pending Sends.
    (Static breakpoints leave no `__interrupt__` write: this is how the tables tell what waits.)
    `start_nodes` are the nodes the input triggers (`__start__` in a StateGraph, the entrypoint of a Functional API
    workflow); unknown, they are the nodes that have read `__start__` before, else `__start__`."""
    versions = checkpoint.get("channel_versions") or {}
    seen = checkpoint.get("versions_seen") or {}
    nodes = []
    start = versions.get("__start__")
    if start_nodes is None:
        start_nodes = [n for n, read in seen.items() if isinstance(read, dict) and "__start__" in read] \
            or ["__start__"]
    if "__start__" in values and start is not None:
        for node in start_nodes:  # an input checkpoint: the input is read next
            if str(start) > str((seen.get(node) or {}).get("__start__", "")):
                nodes.append(node)
    for channel, version in versions.items():
        if channel.startswith("branch:to:") and channel in values:
            node = channel[len("branch:to:"):]
            if str(version) > str((seen.get(node) or {}).get(channel, "")):
                nodes.append(node)
    for channel, version in versions.items():  # a multi-source edge `join:A+B:NODE`: due once A and B all wrote
        if channel.startswith("join:") and channel.count(":") >= 2 and isinstance(values.get(channel), (list, set)):
            sources, node = channel[len("join:"):].rsplit(":", 1)
            if set(values[channel]) == set(sources.split("+")) and \
                    str(version) > str((seen.get(node) or {}).get(channel, "")) and node not in nodes:
                nodes.append(node)
    tasks = values.get(TASKS)
    if isinstance(tasks, list) and str(versions.get(TASKS, "")) > "":
        for send in tasks:
            if isinstance(send, dict) and isinstance(send.get("node"), str):
                nodes.append(send["node"])
    return nodes
