"""A run's node steps rebuilt from the checkpoints and writes it saved, for runs started by any client.

A run started elsewhere streams only what its client chose (the API's default is `values`: no node names), and an
attach misses what came before it. The checkpointer saves everything needed for a timeline, whatever the client: each
super-step is a checkpoint whose parent's pending writes are the writes of the tasks that made it (task id, node,
channel, value), subgraph calls have checkpoints of their own under `node:<task id>` namespaces, and checkpoint ids
are time-ordered (uuid6), so a super-step took from its parent checkpoint's time to its own.

`CheckpointFold` turns those records (plain data, read by console/sources) into the task and update events a
`LiveRun` already folds, once each, in time order: steps carry node names, their super-step, real durations and
the diff of their own writes, nested under their subgraph's step. Tasks whose writes sit on the newest checkpoint
(finished before the super-step ended, or failed, or stopped at an interrupt) show before the next checkpoint lands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lgconsole.console.model.live_run import LiveRun

ERROR, INTERRUPT = "__error__", "__interrupt__"
_REPR_ERROR = re.compile(r"^(\w+)\((['\"])(.*)\2\)$", re.S)


def error_line(value: Any) -> str:
    """A saved error write (`RuntimeError('boom')`, or a dict) as the stream says it: `RuntimeError: boom`."""
    if isinstance(value, dict):
        return f"{value.get('error') or 'Error'}: {value.get('message', '')}".strip()
    text = str(value)
    found = _REPR_ERROR.match(text.strip())
    return f"{found.group(1)}: {found.group(3)}" if found else text


@dataclass
class SavedWrite:
    task_id: str
    node: str | None
    channel: str
    value: Any


@dataclass
class SavedCheckpoint:
    """One checkpoint as the fold needs it."""

    namespace: tuple[str, ...]  # () for the root graph, ("researcher:<task id>", ...) for subgraph calls
    checkpoint_id: str
    parent_id: str | None
    step: int | None
    source: str | None  # input | loop | update | fork
    created: float  # seconds (epoch) from the checkpoint id
    writers: list[str]  # the node(s) whose writes made it
    values: dict = field(default_factory=dict)
    writes: list[SavedWrite] = field(default_factory=list)  # its pending writes: the tasks of the next super-step


@dataclass
class _Event:  # what LiveRun.feed takes
    mode: str
    data: Any
    namespace: tuple[str, ...]
    received: float
    order: int = 0  # at one moment: starts (0) before updates (1) before ends (2)
    before: dict | None = None  # the state the update applies to
    superstep: int | None = None  # the root super-step a root task start belongs to


def _state_channel(channel: str) -> bool:
    return not channel.startswith("__") and ":" not in channel


def _merge(update: dict, channel: str, value: Any) -> None:
    if channel in update and isinstance(update[channel], list) and isinstance(value, list):
        update[channel] = update[channel] + value
    else:
        update[channel] = value


class CheckpointFold:
    """Feeds a LiveRun from a growing list of a run's saved checkpoints; call `update` with all of them each time."""

    def __init__(self, live: LiveRun):
        self.live = live
        self._started: set[str] = set()
        self._ended: set[str] = set()
        self._pairs: set[tuple[tuple[str, ...], str]] = set()
        self._waiting: set[str] = set()  # tasks that stopped at interrupt(), on the newest checkpoint
        self._provisional: set[str] = set()  # tasks seen on the newest checkpoint, shown running until it has a child

    def update(self, checkpoints: list[SavedCheckpoint], now: float, final: bool = False) -> int:
        """Fold what is new; `now` is when the checkpoints were read; `final` once the run is over (what is left on
        the newest checkpoints ends then). Returns how many events were fed."""
        by_key = {(c.namespace, c.checkpoint_id): c for c in checkpoints}
        has_child = {(c.namespace, c.parent_id) for c in checkpoints if c.parent_id}
        ordered = sorted(checkpoints, key=lambda c: (c.created, len(c.namespace), c.checkpoint_id))
        events: list[_Event] = []
        for c in ordered:
            events += self._enclosing_starts(c, ordered)
            parent = by_key.get((c.namespace, c.parent_id)) if c.parent_id else None
            key = (c.namespace, c.checkpoint_id)
            if parent is not None and c.source == "loop" and key not in self._pairs:
                self._pairs.add(key)
                events += self._tasks(parent, c.created, c.writers, c.step)
        for c in ordered:  # the newest checkpoint of each namespace: tasks done (or failed) before the next one
            if (c.namespace, c.checkpoint_id) not in has_child and c.writes:
                events += self._tasks(c, max(now, c.created), [], None if c.step is None else c.step + 1,
                                      provisional=True, final=final)
        events.sort(key=lambda e: (e.received, e.order))
        fed = len(events)
        for event in events:
            if event.superstep is not None:
                self.live.superstep = event.superstep
            if event.before is not None:
                if event.namespace:
                    self.live.sub_states[event.namespace] = event.before
                else:
                    self.live.state = event.before
            self.live.feed(event)
        roots = [c for c in ordered if not c.namespace]
        if roots and fed:
            self.live.state = roots[-1].values  # the newest full state
        for step in self.live.steps:  # a subgraph's steps belong to their parent's super-step
            _same_superstep(step)
        return fed

    def _enclosing_starts(self, c: SavedCheckpoint, ordered: list[SavedCheckpoint]) -> list[_Event]:
        """The subgraph steps a checkpoint runs inside, started (once) when their graph's last checkpoint before it
        was saved."""
        events = []
        for depth, part in enumerate(c.namespace):
            node, _, task_id = part.partition(":")
            if not task_id or task_id in self._started:
                continue
            self._started.add(task_id)
            outer = c.namespace[:depth]
            since = max((o.created for o in ordered if o.namespace == outer and o.created <= c.created),
                        default=c.created)
            superstep = self._root_step(ordered, since) + 1 if not outer else None
            events.append(_Event("tasks", {"id": task_id, "name": node, "input": {}}, outer, since,
                                 superstep=superstep))
        return events

    @staticmethod
    def _root_step(ordered: list[SavedCheckpoint], at: float) -> int:
        steps = [c.step for c in ordered if not c.namespace and c.created <= at and c.step is not None]
        return max(steps, default=0)

    def _tasks(self, parent: SavedCheckpoint, ended: float, writers: list[str], step: int | None,
               provisional: bool = False, final: bool = False) -> list[_Event]:
        """Start, update and end events for the tasks whose writes sit on `parent` (the ones not ended yet).

        `provisional`: `parent` is the newest checkpoint, its super-step not over: a task with writes there is shown
        running and ends, with its diff, when the super-step's checkpoint lands or the run is over (`final`): the
        checkpointer inserts a task's writes one by one (a read can catch some of them), and the reader shows the
        newest checkpoint as get_state does, finished writes applied (no `before` to diff against); a failed or
        interrupted task ends at once. The successful siblings of a failed super-step are diffed against that
        applied state at the end: they show no change (a limit)."""
        tasks: dict[str, dict] = {}
        for w in parent.writes:
            task = tasks.setdefault(w.task_id, {"node": w.node, "update": {}, "error": None, "interrupts": [],
                                                "writes": 0})
            task["node"] = task["node"] or w.node
            task["writes"] += 1
            if w.channel == ERROR:
                task["error"] = w.value
            elif w.channel == INTERRUPT:
                task["interrupts"] += list(w.value) if isinstance(w.value, (list, tuple)) else [w.value]
            elif _state_channel(w.channel):
                _merge(task["update"], w.channel, w.value)
        named = [t["node"] for t in tasks.values() if t["node"]]
        unnamed_writers = [n for n in writers if n not in named]
        events = []
        ns = parent.namespace
        for task_id, task in tasks.items():
            if task_id in self._waiting and not provisional:  # the answer resumed it and its super-step ended
                self._waiting.discard(task_id)
                self._ended.discard(task_id)
                events.append(_Event("tasks", {"id": task_id, "name": task["node"] or "?", "input": {}}, ns, ended))
            if task_id in self._ended:
                continue
            node = task["node"] or (unnamed_writers.pop(0) if unnamed_writers else "?")
            if node.startswith("__"):  # __start__ (the input) and the like: not a node step
                self._ended.add(task_id)
                continue
            settles = not provisional or final or bool(task["error"] or task["interrupts"])
            if task_id not in self._started:
                self._started.add(task_id)
                events.append(_Event("tasks", {"id": task_id, "name": node, "input": {}}, ns, parent.created,
                                     superstep=step if not ns else None))
            if not settles:  # shown running; its diff once the checkpoint is no longer the newest
                self._provisional.add(task_id)
                continue
            self._provisional.discard(task_id)
            self._ended.add(task_id)
            # an interrupt on a checkpoint that has a child was answered: the super-step went on after the resume
            interrupts = task["interrupts"] if provisional else []
            if interrupts:
                self._waiting.add(task_id)
            elif not task["error"]:  # (a task that failed or stopped at interrupt() wrote nothing else)
                events.append(_Event("updates", {node: task["update"]}, ns, ended, 1, before=parent.values))
            error = error_line(task["error"]) if task["error"] else None
            end = {"id": task_id, "name": node, "result": [], "error": error, "interrupts": interrupts}
            events.append(_Event("tasks", end, ns, ended, 2))
        return events


def _same_superstep(step) -> None:
    for child in step.children:
        child.superstep = step.superstep
        _same_superstep(child)
