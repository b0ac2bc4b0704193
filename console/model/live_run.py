"""A live run folded into a timeline of node steps, each with the state diff it made, its tokens and custom events.

Plain Python, fed stream events one at a time (`LiveRun.feed`: anything with `mode`, `data`, `namespace` and
`received`, such as the stack's `RunEvent`), cheap per event so bursts are absorbed and the UI
repaints on its own clock. Memory is bounded: the timeline is a ring buffer of node steps, tokens and custom events
are capped per step; the latest full state is always kept, so the final state is never dropped.

A node's diff is what its update did to the state before its super-step: message lists are merged by id (the
`add_messages` reducer), dicts are merged key by key (so parallel writers into one dict each show their own key),
other values replace. The exact state after each super-step comes from `values` events.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from lgconsole.console.model.state_diff import StateDiff, diff_states, is_message_list, message_id
from lgconsole.console.model.status import RunStatus, StepStatus

MAX_STEPS = 2000
MAX_TOKEN_CHARS = 4000
MAX_CUSTOM = 50

# every LiveRun of the process gets its own number, so step keys stay unique across the runs of one console session
_run_numbers = itertools.count(1)


class StreamEvent(Protocol):
    """One streamed event as the model needs it (the stack's `RunEvent` is one)."""

    mode: str  # updates | values | messages | custom | tasks | metadata | error | reconnecting
    data: Any
    namespace: tuple[str, ...]  # ("review:<task_id>",) for subgraph events
    received: float  # time.monotonic() when it arrived


def describe_error(error: Any) -> str | None:
    """The server's error object ({"error": "RuntimeError", "message": ...} or text) as one line."""
    if not error:
        return None
    if isinstance(error, dict):
        kind, message = error.get("error"), error.get("message")
        text = f"{kind}: {message}" if kind and message else kind or message or str(error)
    else:
        text = str(error)
    lines = str(text).strip().splitlines()
    return lines[0] if lines else "error"


@dataclass
class NodeStep:
    node: str
    seq: int  # order of appearance in the run
    superstep: int  # how many `values` (root) events came before it
    namespace: tuple[str, ...] = ()
    task_id: str | None = None
    status: StepStatus = StepStatus.RUNNING
    started: float | None = None
    ended: float | None = None
    diff: StateDiff | None = None
    error: str | None = None
    tokens: str = ""
    tokens_dropped: int = 0
    first_token_at: float | None = None  # when its first streamed token arrived (time to first token, with `started`)
    custom: deque = field(default_factory=lambda: deque(maxlen=MAX_CUSTOM))
    children: list[NodeStep] = field(default_factory=list)
    interrupts: list = field(default_factory=list)
    cached: bool = False  # its writes were handed back from before an interruption: it did not run again
    answered: list = field(default_factory=list)  # interrupts it stopped at that a resume answered
    key: str = ""  # unique in the process: the run's number and `seq` (a timeline row's identity)
    # it never got a task-end event (the handoff tools supervisor libraries generate end by raising a command to the
    # parent graph): closed when its parent step, or the run, ended; says which
    closed_by: str | None = None
    stamp: int = 0  # the run's `version` when this step or a step under it last changed (a repaint skips the rest)
    parent: NodeStep | None = field(default=None, repr=False, compare=False)  # the step it is nested under

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    def summary(self) -> str:
        parts = ["not re-run: saved writes"] if self.cached else []
        if self.diff is not None:
            keys = sorted(str(k) for k in self.diff.top_level_keys())
            parts.append(", ".join(keys) if keys else "no change")
        if self.interrupts:
            parts.append("waits for input")
        elif self.answered and self.status != StepStatus.INTERRUPTED:
            parts.append("answered")
        if self.error:
            parts.append(self.error)
        if self.closed_by:
            parts.append(f"no end event: closed when {self.closed_by} ended")
        return " · ".join(parts)


def project_update(before: dict, update: dict) -> tuple[dict, dict]:
    """(old, new) restricted to the keys the update wrote, with the reducers' usual semantics applied."""
    old, new = {}, {}
    for key, value in update.items():
        prior = before.get(key)
        if key in before:
            old[key] = prior
        if is_message_list(value) and isinstance(prior, list) and (not prior or is_message_list(prior)):
            # the add_messages reducer: a message with a known id replaces it, any other one (also one without an
            # id: the reducer gives it one) is appended
            by_id = {message_id(m): i for i, m in enumerate(prior) if message_id(m) is not None}
            merged = list(prior)
            for message in value:
                mid = message_id(message)
                if mid is not None and mid in by_id:
                    merged[by_id[mid]] = message
                else:
                    merged.append(message)
            new[key] = merged
        elif isinstance(value, dict) and isinstance(prior, dict):
            new[key] = {**prior, **value}
        else:
            new[key] = value
    return old, new


class LiveRun:
    """The timeline of one run (or of a thread across runs when watching)."""

    def __init__(self, max_steps: int = MAX_STEPS):
        self.steps: deque[NodeStep] = deque(maxlen=max_steps)
        self.steps_dropped = 0
        self.state: dict = {}  # latest full root state (from `values`)
        self.sub_states: dict[tuple[str, ...], dict] = {}
        self.superstep = 0
        self.events = 0
        self.number = next(_run_numbers)
        self.run_id: str | None = None
        self.status: RunStatus = RunStatus.STARTING
        self.error: str | None = None
        self.interrupts: list = []
        self.notes: deque[str] = deque(maxlen=20)  # reconnects and other things worth saying
        self.version = 0  # bumped on every change: the UI repaints when it moved
        self.last_event_at: float | None = None
        self.outcome = None  # the RunOutcome once the stream ended
        self._updates_seen = False
        self._values_seen = False
        self._seq = 0
        self._by_task: dict[str, NodeStep] = {}
        self._by_key: dict[str, NodeStep] = {}  # every step kept, at any depth (a selected row's step, at once)
        self.newest: NodeStep | None = None  # the step created last, at any depth
        self.last_target: NodeStep | None = None  # the step the last custom or token event went to

    # --- feeding -------------------------------------------------------------------------------------------
    def feed(self, event: StreamEvent) -> None:
        self.events += 1
        self.version += 1
        self.last_target = None
        self.last_event_at = event.received
        handler = getattr(self, f"_on_{event.mode.replace('-', '_')}", None)
        if handler is not None:
            handler(event)

    def _on_metadata(self, event: StreamEvent) -> None:
        self.run_id = (event.data or {}).get("run_id", self.run_id)
        self.status = RunStatus.RUNNING

    def _on_values(self, event: StreamEvent) -> None:
        if not isinstance(event.data, dict):
            return
        if event.namespace:
            self.sub_states[event.namespace] = event.data
            return
        if not self._updates_seen and self._values_seen:
            # A run started elsewhere with only `values` streamed (the API's default): no node names, but each
            # super-step's exact diff is still worth showing.
            step = self._new_step("(super-step)", event.namespace, None)
            step.started = step.ended = event.received
            step.status = StepStatus.DONE
            step.diff = diff_states(self.state, event.data)
        self.state = event.data
        self.superstep += 1
        self._values_seen = True

    def _on_tasks(self, event: StreamEvent) -> None:
        data = event.data or {}
        task_id = data.get("id")
        if "result" not in data and "error" not in data:  # a task starts
            waiting = self._by_task.get(task_id) if task_id else None
            if waiting is not None and waiting.status == StepStatus.INTERRUPTED:
                # the answer resumes the very task that stopped at interrupt() (same task id): the step goes on
                waiting.answered.extend(waiting.interrupts)
                waiting.status, waiting.interrupts, waiting.ended = StepStatus.RUNNING, [], None
                self._touch(waiting)
                return
            step = self._new_step(data.get("name", "?"), event.namespace, task_id)
            step.started = event.received
            return
        step = self._by_task.get(task_id) or self._new_step(data.get("name", "?"), event.namespace, task_id)
        step.ended, step.closed_by = event.received, None  # (an end after all: it was not closed by its parent)
        self._touch(step)
        if data.get("interrupts"):
            step.status, step.interrupts = StepStatus.INTERRUPTED, list(data["interrupts"])
        elif data.get("error"):
            step.status, step.error = StepStatus.ERROR, describe_error(data["error"])
        else:
            step.status = StepStatus.DONE
        if step.status in (StepStatus.DONE, StepStatus.INTERRUPTED):
            self._close_open_children(step, event.received)

    def _close_open_children(self, parent: NodeStep, when: float) -> None:
        """Children still running when their parent ended never got (and never will get) an end event."""
        for child in parent.children:
            self._close_open_children(child, when)
            if child.status == StepStatus.RUNNING:
                child.status, child.ended, child.closed_by = StepStatus.DONE, when, parent.node
                self._touch(child)

    def _on_updates(self, event: StreamEvent) -> None:
        self._updates_seen = True
        data = event.data or {}
        # A resumed run hands back the saved writes of tasks that finished before the interruption, marked
        # `__metadata__: {"cached": true}`; those tasks get a start event but never a result.
        meta = data.get("__metadata__")
        cached = isinstance(meta, dict) and bool(meta.get("cached"))
        for node, update in data.items():
            if node == "__interrupt__":
                self.interrupts = list(update or [])
                continue
            if node.startswith("__"):
                continue
            step = self._open_step(node, event.namespace)
            self._touch(step)
            before = self.sub_states.get(event.namespace, {}) if event.namespace else self.state
            if isinstance(update, dict):
                old, new = project_update(before, update)
                step.diff = diff_states(old, new)
            else:  # a node that returned None or a non-dict update
                step.diff = StateDiff()
            if cached:
                step.cached = True
                step.status, step.ended = StepStatus.DONE, step.ended or event.received
            elif step.status == StepStatus.RUNNING and step.task_id is None:
                step.status, step.ended = StepStatus.DONE, event.received

    def _on_messages(self, event: StreamEvent) -> None:
        data = event.data
        if not (isinstance(data, (list, tuple)) and len(data) == 2):
            return
        chunk, meta = data
        node = (meta or {}).get("langgraph_node")
        if not isinstance(chunk, dict) or chunk.get("type") not in ("AIMessageChunk", "ai"):
            return  # tokens are what the model says; human and tool messages are in the diff
        text = chunk.get("content")
        if not node or not isinstance(text, str) or not text:
            return
        step = self._open_step(node, event.namespace, create=False)
        if step is None:
            return
        self.last_target = step
        self._touch(step)
        if step.first_token_at is None:
            step.first_token_at = event.received
        room = MAX_TOKEN_CHARS - len(step.tokens)
        if room > 0:
            step.tokens += text[:room]
        step.tokens_dropped += max(0, len(text) - max(room, 0))

    def _on_custom(self, event: StreamEvent) -> None:
        """A custom event (get_stream_writer) goes to the step that emitted it: the running step of its namespace
        (the newest one when several run at once), else the subgraph step the namespace belongs to."""
        data = event.data
        node = data.get("node") if isinstance(data, dict) else None
        step = self._open_step(node, event.namespace, create=False) if isinstance(node, str) else None
        if step is None:
            step = self._latest_running(event.namespace)
        if step is None:
            step = self._parent_of(event.namespace)
        self.last_target = step
        if step is not None:
            step.custom.append(data)
            self._touch(step)

    def _on_error(self, event: StreamEvent) -> None:
        self.status = RunStatus.ERROR
        self.error = describe_error(event.data or "error")

    def _on_reconnecting(self, event: StreamEvent) -> None:
        self.notes.append(f"connection lost ({event.data.get('error')}); reconnecting, attempt {event.data.get('attempt')}")

    def begin(self) -> None:
        """A run (a first one, or the answer to this run's interrupt) is being started: nothing waits any more."""
        self.version += 1
        self.status, self.error, self.interrupts = RunStatus.STARTING, None, []

    def fail(self, error: str) -> None:
        """The run could not be started or followed."""
        self.version += 1
        self.status, self.error = RunStatus.ERROR, error

    def finish(self, status: str, error: str | None = None, interrupts: list | None = None) -> None:
        """The run's outcome once its stream ended (cancelled runs send no final event); `status` a RunStatus."""
        self.version += 1
        try:
            self.status = RunStatus(status)
        except ValueError:
            self.status = RunStatus.UNKNOWN
        if error:
            self.error = error
        if interrupts is not None:
            self.interrupts = interrupts
        for step in self.all_steps():
            if step.status != StepStatus.RUNNING:
                continue
            self._touch(step)
            if self.status.stopped_early:
                step.status = StepStatus.CANCELLED  # stopped by the cancel, or by a sibling's failure
            elif self.status in (RunStatus.SUCCESS, RunStatus.WAITING):
                # the run ended well: a step with no end event by now has none coming
                step.status, step.closed_by = StepStatus.DONE, "the run"
                step.ended = step.ended or self.last_event_at

    # --- steps ---------------------------------------------------------------------------------------------
    def _new_step(self, node: str, namespace: tuple[str, ...], task_id: str | None) -> NodeStep:
        self._seq += 1
        step = NodeStep(node, self._seq, self.superstep, namespace, task_id, key=f"{self.number}.{self._seq}")
        if task_id:
            self._by_task[task_id] = step
        self._by_key[step.key] = step
        self.newest = step
        parent = self._parent_of(namespace)
        if parent is not None:
            parent.children.append(step)
            step.parent = parent
        else:
            if len(self.steps) == self.steps.maxlen:
                dropped = self.steps[0]
                self.steps_dropped += 1
                for sub in [dropped, *dropped.children]:
                    if sub.task_id:
                        self._by_task.pop(sub.task_id, None)
                for sub in _walk(dropped):
                    self._by_key.pop(sub.key, None)
            self.steps.append(step)
        self._touch(step)  # (and its parent, which has a new child)
        return step

    def _touch(self, step: NodeStep) -> None:
        """Stamp a step that changed, and the steps above it (their rows hold it)."""
        while step is not None and step.stamp != self.version:
            step.stamp = self.version
            step = step.parent

    def _parent_of(self, namespace: tuple[str, ...]) -> NodeStep | None:
        if not namespace:
            return None
        _, _, task_id = namespace[-1].partition(":")
        return self._by_task.get(task_id)

    def _open_step(self, node: str, namespace: tuple[str, ...], create: bool = True) -> NodeStep | None:
        """The newest step of this node in this namespace that has no diff yet, else the newest one at all."""
        candidates = self._siblings(namespace)
        for step in candidates:
            if step.node == node and step.diff is None:
                return step
        for step in candidates:
            if step.node == node:
                return step if not create else self._fresh(node, namespace)
        return self._fresh(node, namespace) if create else None

    def _fresh(self, node: str, namespace: tuple[str, ...]) -> NodeStep:
        step = self._new_step(node, namespace, None)
        step.started = time.monotonic()
        return step

    def _siblings(self, namespace: tuple[str, ...]) -> list[NodeStep]:
        """The steps of this namespace, newest first (at the root the newest 64: a token or update belongs to a
        recent step, and a long run must not cost a walk over the whole ring per event)."""
        parent = self._parent_of(namespace)
        return parent.children[::-1] if parent is not None else list(itertools.islice(reversed(self.steps), 64))

    def step(self, key: str | None) -> NodeStep | None:
        """The step kept under this key (a timeline row's), at any depth; None once dropped."""
        return self._by_key.get(key) if key is not None else None

    def _latest_running(self, namespace: tuple[str, ...] = ()) -> NodeStep | None:
        for step in self._siblings(namespace):
            if step.status == StepStatus.RUNNING:
                return step
        return None

    def all_steps(self):
        """Every step, each before its children, at any depth."""
        for step in self.steps:
            yield from _walk(step)

    @property
    def step_count(self) -> int:
        return self._seq

    # --- views ---------------------------------------------------------------------------------------------
    def node_stats(self) -> dict[str, dict]:
        """Per node: state of its latest step, count, last duration, last error (for the Graph screen)."""
        stats: dict[str, dict] = {}
        for step in self.all_steps():
            name = step.node if not step.namespace else f"{step.namespace[-1].split(':')[0]}:{step.node}"
            entry = stats.setdefault(name, {"count": 0, "state": "idle", "last_duration_s": None, "error": None})
            entry["count"] += 1
            entry["state"] = step.status
            entry["last_duration_s"] = step.duration
            if step.error:
                entry["error"] = step.error
        return stats


def _walk(step: NodeStep):
    yield step
    for child in step.children:
        yield from _walk(child)


def step_json(step: NodeStep) -> dict:
    """A node step as one JSON object (what `lgconsole run --json` prints per line)."""
    return {
        "node": step.node,
        "namespace": list(step.namespace),
        "superstep": step.superstep,
        "status": step.status,
        "duration_s": None if step.duration is None else round(step.duration, 4),
        "diff": step.diff.to_json() if step.diff is not None else None,
        "error": step.error,
        "interrupts": step.interrupts,
        "custom": list(step.custom),
        "cached": step.cached,
        "closed_by": step.closed_by,
    }
