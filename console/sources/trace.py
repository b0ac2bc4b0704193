"""Gathers a run's trace (console/model/trace.py) and a thread's state growth (console/model/state_growth.py) from
the stack: the run's saved checkpoints and writes folded into steps (the same fold the Live screen uses for runs
started elsewhere), the other runs' spans for cost sharing, the run's status from the server when it answers, and
state sizes straight from SQL. Blocking: call it from a worker or a CLI command."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from lgconsole.stack.checkpoints.reader import CheckpointReader
from lgconsole.stack.checkpoints.records import CheckpointNode, UnknownThread
from lgconsole.stack.checkpoints.sizes import run_spans, run_thread, state_sizes, thread_state_sizes
from lgconsole.stack.errors import StackError

from lgconsole.console.config import Config
from lgconsole.console.model.checkpoint_steps import CheckpointFold
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.model.state_growth import StateGrowth, state_growth
from lgconsole.console.model.trace import (CostRates, ModelCall, NodeRank, RunTrace, SavedStepTime, model_calls,
                                           node_timings, rank_slowest, run_cost, trace_link, trace_steps)

RECENT_RUNS = 20  # how many recent runs the slowest-nodes ranking looks at
RECENT_THREADS = 20  # ... read from this many recently active threads
GROWTH_CHECKPOINTS = 200  # checkpoints of a thread shown in its growth
TRIAGE_THREADS = 20  # recently active threads triage checks for state growth
TRIAGE_CHECKPOINTS = 30
OVERLAP_LOOKBACK = timedelta(minutes=10)  # a run that saved nothing for this long before ours is not counted
UNFINISHED = ("pending", "running")


class TraceError(StackError):
    """No run to trace (an unknown id, a thread with no run); one line."""


@dataclass
class TraceReport:
    """Everything `lgconsole trace` and the Trace view show."""

    trace: RunTrace
    growth: StateGrowth | None = None
    slowest: list[NodeRank] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"trace": self.trace.to_json(), "state_growth": None if self.growth is None else self.growth.to_json(),
                "slowest_nodes": [r.to_json() for r in self.slowest]}


def cost_rates(config: Config) -> CostRates:
    cost = getattr(config, "cost", None)
    if cost is None:
        return CostRates()
    return CostRates(cost.gpu_hourly_usd, cost.prompt_usd_per_mtok, cost.completion_usd_per_mtok)


def server_env(config: Config) -> dict[str, str]:
    """What the server the console runs sees: its own environment plus `[langgraph] env`."""
    return {**os.environ, **{str(k): str(v) for k, v in (config.langgraph.env or {}).items()}}


def _epoch(when: datetime | None) -> float | None:
    return when.timestamp() if when else None


def _parse_time(value) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _latest_run(history: list[CheckpointNode]) -> str | None:
    for node in reversed(history):  # oldest first: the newest checkpoint that names a run
        run_id = (node.metadata or {}).get("run_id")
        if run_id:
            return str(run_id)
    return None


def _calls_by_task(checkpoints) -> dict[str, list[ModelCall]]:
    """Each task's model calls, from the AI messages it wrote. A message is counted once, for the task that wrote it
    first: a subgraph's node before the parent node that returns the subgraph's messages, a node before the later
    nodes that hand its messages on."""
    calls: dict[str, list[ModelCall]] = {}
    seen: set[str] = set()
    for checkpoint in sorted(checkpoints, key=lambda c: (-len(c.namespace), c.created)):
        by_task: dict[str, dict] = {}
        for write in checkpoint.writes:
            if (write.node or "").startswith("__"):
                continue  # a (sub)graph's input (`__start__`) hands on messages other tasks wrote
            values = write.value if isinstance(write.value, list) else [write.value]
            by_task.setdefault(write.task_id, {}).setdefault(write.channel, []).extend(values)
        for task_id, update in by_task.items():
            for call in model_calls(update):
                if call.message_id and call.message_id in seen:
                    continue
                if call.message_id:
                    seen.add(call.message_id)
                calls.setdefault(task_id, []).append(call)
    return calls


class TraceSource:
    def __init__(self, config: Config):
        self.config = config
        self._reader: CheckpointReader | None = None

    @property
    def reader(self) -> CheckpointReader:
        if self._reader is None:
            from lgconsole.console.sources.urls import graph_spec, postgres_url

            self._reader = CheckpointReader(postgres_url(self.config), graph_spec=graph_spec(self.config))
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # --- which run -------------------------------------------------------------------------------------------------
    def resolve(self, ref: str) -> tuple[str, str, list[CheckpointNode]]:
        """(thread id, run id, the thread's history) for a thread id (its latest run) or a run id."""
        try:
            history = self.reader.history(ref)
            run_id = _latest_run(history)
            if run_id is None:
                raise TraceError(f"thread {ref} has no checkpoint saved by a run (only updates or copies)")
            return ref, run_id, history
        except UnknownThread:
            pass
        thread_id = run_thread(self.reader.db, ref)
        if thread_id is None:
            raise TraceError(f"{ref}: no thread and no run with this id has a checkpoint")
        return thread_id, ref, self.reader.history(thread_id)

    def _server_run(self, thread_id: str, run_id: str) -> tuple[dict | None, str | None]:
        """(the server's run record, None), or (None, why there is none)."""
        from lgconsole.stack.server.runs import get_run

        from lgconsole.console.sources.urls import langgraph_url

        try:
            run = asyncio.run(get_run(langgraph_url(self.config), thread_id, run_id, timeout=3))
        except StackError as exc:
            return None, f"run status unknown: {exc}"
        if run is None:
            return None, "the server does not know this run (its index was lost, or another server ran it)"
        return run, None

    # --- the trace ---------------------------------------------------------------------------------------------------
    def trace(self, ref: str, first_token_by_task: Mapping[str, float] | None = None,
              status: str | None = None) -> RunTrace:
        """The trace of run `ref` (or of thread `ref`'s latest run). `status`: the run's status when the caller
        knows it (the Live screen); else the server is asked."""
        from lgconsole.console.sources.run_follower import SavedSteps
        from lgconsole.console.sources.urls import graph_spec, postgres_url

        thread_id, run_id, history = self.resolve(ref)
        notes = []
        run, note = self._server_run(thread_id, run_id)
        if note:
            notes.append(note)
        status = status or (str(run.get("status")) if run else None)
        # a finished run's last step (one that stopped at an interrupt, or failed) ends when the server closed the
        # run: its writes carry no time of their own
        closed = _parse_time(run.get("updated_at")) if run and status not in UNFINISHED else None
        saved = SavedSteps(postgres_url(self.config), thread_id, run_id, graph_spec=graph_spec(self.config))
        try:
            checkpoints = saved.read()
        finally:
            saved.close()
        live = LiveRun()
        live.run_id = run_id
        last_saved = max((c.created for c in checkpoints), default=None)
        now = time.time() if status in UNFINISHED else max(closed or 0.0, last_saved or 0.0)
        CheckpointFold(live).update(checkpoints, now=now, final=status not in UNFINISHED)
        calls = _calls_by_task(checkpoints)
        ours = [n for n in history if (n.metadata or {}).get("run_id") == run_id]
        times = [t for t in (_epoch(n.created_at) for n in ours) if t is not None]
        steps = trace_steps(live, calls, first_token_by_task)
        started = min(times, default=None)
        ends = [s.ended for s in steps if s.ended is not None] + times + ([closed] if closed else [])
        ended = max(ends, default=None) if status not in UNFINISHED else time.time()
        metadata = next((n.metadata for n in ours if n.metadata), {}) or {}
        trace = RunTrace(run_id, thread_id, status or "unknown", steps, started, ended, notes=notes)
        trace.link, trace.link_note = trace_link(run_id, metadata, server_env(self.config))
        trace.cost = run_cost(trace, cost_rates(self.config), self._other_spans(run_id, started, ended))
        if trace.cost is None:
            trace.notes.append("no cost: set [cost] gpu_hourly_usd, or prompt_usd_per_mtok and "
                               "completion_usd_per_mtok, in lgconsole.toml")
        return trace

    def _other_spans(self, run_id: str, started: float | None, ended: float | None) -> list[tuple[float, float]]:
        if started is None or ended is None:
            return []
        since = datetime.fromtimestamp(started, timezone.utc) - OVERLAP_LOOKBACK
        until = datetime.fromtimestamp(ended, timezone.utc) + timedelta(seconds=1)
        return [(s.started.timestamp(), s.ended.timestamp()) for s in run_spans(self.reader.db, since, until)
                if s.run_id != run_id]

    # --- growth and the slowest nodes ----------------------------------------------------------------------------
    def growth(self, thread_id: str, limit: int = GROWTH_CHECKPOINTS) -> StateGrowth:
        return state_growth(thread_id, thread_state_sizes(self.reader.db, thread_id, limit))

    def slowest(self, runs: int = RECENT_RUNS, threads: int = RECENT_THREADS) -> list[NodeRank]:
        """Nodes ranked by mean duration over the `runs` most recent runs of the `threads` most recently active
        threads (ids and times only: no state is decoded)."""
        saved: list[SavedStepTime] = []
        ends: dict[str, float] = {}
        for summary in self.reader.list_threads(limit=threads):
            try:
                history = self.reader.history(summary.thread_id)
            except UnknownThread:
                continue
            created = {(n.checkpoint_ns, n.checkpoint_id): _epoch(n.created_at) for n in history}
            for n in history:
                run_id = (n.metadata or {}).get("run_id")
                at = created[(n.checkpoint_ns, n.checkpoint_id)]
                if not run_id or at is None:
                    continue
                ends[run_id] = max(ends.get(run_id, 0.0), at)
                parent = created.get((n.checkpoint_ns, n.parent_checkpoint_id)) if n.parent_checkpoint_id else None
                saved.append(SavedStepTime(n.checkpoint_ns, run_id, n.source, tuple(n.writers), at, parent))
        recent = set(sorted(ends, key=ends.get, reverse=True)[:runs])
        return rank_slowest(t for t in node_timings(saved) if t.run_id in recent)

    def report(self, ref: str, first_token_by_task: Mapping[str, float] | None = None,
               status: str | None = None) -> TraceReport:
        trace = self.trace(ref, first_token_by_task, status)
        return TraceReport(trace, self.growth(trace.thread_id), self.slowest())


def recent_state_growth(reader: CheckpointReader, threads: int = TRIAGE_THREADS,
                        checkpoints: int = TRIAGE_CHECKPOINTS) -> list[StateGrowth]:
    """State growth over the newest checkpoints of the most recently active threads (for triage)."""
    ids = [t.thread_id for t in reader.list_threads(limit=threads)]
    return [state_growth(tid, sizes) for tid, sizes in state_sizes(reader.db, ids, checkpoints).items()]
