"""The spot-eviction drill: SIGKILL a service of the stack in the middle of a node, let the supervisor bring it back,
resume the interrupted thread from its last checkpoint, count the nodes that ran twice, and finish the thread.

Plain logic (`TaskLedger`, `kill_moment`, `count_reruns`, `DrillReport`) plus one async orchestration, `run_drill`.

What "re-run" means: LangGraph runs a super-step's tasks in parallel and saves each finished task's writes at once
(`checkpoint_writes` on the super-step's checkpoint). A run resumed from that checkpoint hands the saved writes back
and executes only the tasks without saved writes: the ones in flight at the kill. So the drill kills when exactly
one node is in flight (its parallel siblings, if any, done and their writes visible in Postgres) and counts the
root-graph nodes that start again after the kill; the promise holds when that set is the in-flight set.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lgconsole.stack.errors import StackError
from lgconsole.stack.server.runs import RunError, RunEvent, RunOutcome, RunSession
from lgconsole.stack.services.service import ServiceState, StackPaths, one_line

DRILL_SERVICES = ("langgraph", "postgres", "redis")
DEMO_GRAPH = "demo"
DEFAULT_DELAY_S = 3.0
ALONE_AFTER_S = 1.0  # a node with no parallel siblings is killed once it has run this long
WRITES_VISIBLE_WAIT_S = 1.0  # how long to wait for finished siblings' writes to show in Postgres
RESTART_TIMEOUT_S = 120.0
FOLLOW_TIMEOUT_S = 180.0


class DrillError(StackError):
    """The drill could not run or could not finish; one line."""


# --- plain logic: the tasks of a run, and when to kill ---------------------------------------------------------------

@dataclass
class TaskStart:
    task_id: str
    node: str
    namespace: tuple[str, ...]
    superstep: int  # root `values` events seen before it (tasks of one super-step share it)
    at: float  # time.monotonic() when the start event arrived
    attempt: int = 0  # which stream it came from: 0 the killed run, 1.. the ones after the kill

    @property
    def name(self) -> str:
        """`node`, or `parent:node` inside a subgraph."""
        return f"{self.namespace[-1].split(':')[0]}:{self.node}" if self.namespace else self.node


class TaskLedger:
    """Tasks seen on a run's streams, in order; fed `RunEvent`s.

    A `tasks` start event is emitted for every task of a super-step, also for those whose writes a resume hands back
    without running them; only a task that ran emits a result event (finished, failed or interrupted). Handed-back
    writes show as `updates` events marked `__metadata__: {"cached": true}`."""

    def __init__(self) -> None:
        self.starts: list[TaskStart] = []
        self.ended: dict[tuple[int, str], tuple[str, float]] = {}  # (stream, task id) -> (done|error|interrupted, at)
        self.cached: list[tuple[int, str]] = []  # (stream, node) whose saved writes were handed back
        self.superstep = 0
        self.stream = 0  # bumped by the caller when it follows a new stream (a resumed or answering run)

    def feed(self, event: RunEvent) -> None:
        if event.mode == "values" and not event.namespace:
            self.superstep += 1
        elif event.mode == "updates" and isinstance(event.data, dict) and not event.namespace:
            if (event.data.get("__metadata__") or {}).get("cached"):
                self.cached.extend((self.stream, node) for node in event.data if not node.startswith("__"))
        elif event.mode == "tasks" and isinstance(event.data, dict):
            data = event.data
            task_id = data.get("id")
            if not task_id:
                return
            if "result" not in data and "error" not in data and "interrupts" not in data:
                self.starts.append(TaskStart(task_id, str(data.get("name", "?")), event.namespace, self.superstep,
                                             event.received, self.stream))
                return
            status = "error" if data.get("error") else "interrupted" if data.get("interrupts") else "done"
            self.ended[(self.stream, task_id)] = (status, event.received)

    def status(self, task: TaskStart) -> str | None:
        ended = self.ended.get((task.attempt, task.task_id))
        return ended[0] if ended else None

    def root(self, stream: int | None = None) -> list[TaskStart]:
        return [t for t in self.starts if not t.namespace and (stream is None or t.attempt == stream)]

    def in_flight(self) -> list[TaskStart]:
        """Root tasks of the current stream that started and did not end."""
        return [t for t in self.root(self.stream) if self.status(t) is None]

    def done(self, before: float | None = None) -> list[TaskStart]:
        return [t for t in self.root() if self.status(t) == "done"
                and (before is None or self.ended[(t.attempt, t.task_id)][1] < before)]


@dataclass
class KillDecision:
    in_flight: TaskStart
    siblings_done: list[TaskStart]  # finished tasks of the same super-step
    reason: str


def kill_moment(ledger: TaskLedger, now: float, alone_after_s: float = ALONE_AFTER_S) -> KillDecision | None:
    """Kill now? Yes when exactly one root node is in flight and either its parallel siblings have finished, or it has
    no siblings and has run `alone_after_s`. Several nodes in flight: wait until only one is left."""
    running = ledger.in_flight()
    if len(running) != 1:
        return None
    task = running[0]
    siblings = [t for t in ledger.root(ledger.stream) if t.superstep == task.superstep and t.task_id != task.task_id]
    done = [t for t in siblings if ledger.status(t) == "done"]
    if siblings and len(done) == len(siblings):
        return KillDecision(task, done, f"its parallel siblings {', '.join(t.node for t in done)} had finished")
    if not siblings and now - task.at >= alone_after_s:
        return KillDecision(task, [], f"it had run alone for {now - task.at:.1f}s")
    return None


@dataclass
class RerunCount:
    rerun: list[str]  # root nodes executed again after the kill (once per execution)
    same_task: bool  # every re-run had the task id of the killed attempt: same checkpoint, same super-step
    reused: list[str]  # root nodes finished before the kill and not executed again (their saved writes were reused)
    cached: list[str]  # root nodes whose saved writes the resumed run reported as handed back (cached)
    new: list[str]  # root nodes executed after the kill for the first time
    subgraph_rerun: list[str]  # re-executions inside subgraphs (parent:child)


def count_reruns(ledger: TaskLedger, killed_at: float) -> RerunCount:
    """Which nodes were executed again after the kill.

    Executed after the kill = a task whose start AND result both came after it (a resumed run also announces the
    tasks whose saved writes it hands back, but only executed tasks report a result). A re-run is such a task whose
    node had started before the kill; the demo graph has no cycles, so the name is enough, and a matching task id
    proves it is the very same task of the same checkpoint."""
    before = [t for t in ledger.starts if t.at < killed_at]
    before_names = {t.name for t in before}
    before_ids = {t.task_id for t in before}
    executed_after = [t for t in ledger.starts if t.at >= killed_at and ledger.status(t) is not None]
    rerun_tasks = [t for t in executed_after if not t.namespace and t.name in before_names]
    executed_names = {t.name for t in executed_after}
    return RerunCount(
        rerun=[t.node for t in rerun_tasks],
        same_task=all(t.task_id in before_ids for t in rerun_tasks),
        reused=[t.node for t in before if not t.namespace and ledger.status(t) == "done"
                and t.name not in executed_names],
        cached=[node for _stream, node in ledger.cached],
        new=[t.node for t in executed_after if not t.namespace and t.name not in before_names],
        subgraph_rerun=[t.name for t in executed_after if t.namespace and t.name in before_names],
    )


# --- the report ------------------------------------------------------------------------------------------------------

@dataclass
class DrillReport:
    service: str
    pid_killed: int
    new_pid: int | None
    thread_id: str
    run_id: str
    killed_during: list[str]  # root nodes in flight at the kill
    kill_reason: str
    completed_before: list[str]  # root nodes finished before the kill (stream)
    saved_before: list[str]  # of those, the ones whose writes were in Postgres at the kill
    time_to_restart_s: float | None  # kill -> the supervisor started a new process
    time_to_healthy_s: float | None  # kill -> the new process answered its health check
    recovery: str  # re-attached | resumed | re-created | rode-through
    recovery_note: str
    server_knew_thread: bool | None = None  # after the restart (langgraph only)
    server_knew_run: bool | None = None
    run_status_after_restart: str | None = None
    resume_run_id: str | None = None
    rerun: list[str] = field(default_factory=list)
    rerun_same_task: bool = True
    reused: list[str] = field(default_factory=list)
    cached_after_kill: list[str] = field(default_factory=list)
    new_after_kill: list[str] = field(default_factory=list)
    subgraph_rerun: list[str] = field(default_factory=list)
    interrupt_reached: bool = False
    answered: bool = False
    thread_status: str | None = None
    outcome: str | None = None  # the demo's `outcome` value at the end
    restarts: int | None = None  # the service's restart count in the supervisor after the drill
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rerun_count(self) -> int:
        return len(self.rerun)

    @property
    def completed(self) -> bool:
        """The thread ran to its end (the demo's approval interrupt answered on the way)."""
        return self.thread_status == "idle"

    @property
    def only_in_flight_rerun(self) -> bool:
        """Nothing but the node(s) in flight at the kill ran again, each at most once (none when the run rode through
        a dependency's restart)."""
        return set(self.rerun) <= set(self.killed_during) and len(self.rerun) <= len(self.killed_during)

    @property
    def ok(self) -> bool:
        return self.completed and self.only_in_flight_rerun

    def to_json(self) -> dict:
        return {**asdict(self), "rerun_count": self.rerun_count, "completed": self.completed,
                "only_in_flight_rerun": self.only_in_flight_rerun, "ok": self.ok}


def _names(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def report_lines(r: DrillReport) -> list[str]:
    """The report as text, one fact per line."""
    t = r.timings
    lines = [
        (f"spot-eviction drill: {r.service} killed with SIGKILL (pid {r.pid_killed}) "
         f"{t.get('run_to_kill_s', 0):.1f}s into run {r.run_id} on thread {r.thread_id}"),
        f"  in flight at the kill: {_names(r.killed_during)} ({r.kill_reason})",
        f"  finished before the kill: {_names(r.completed_before)}; writes saved in Postgres: {_names(r.saved_before)}",
    ]
    if r.time_to_restart_s is not None:
        lines.append(f"  the supervisor restarted {r.service} after {r.time_to_restart_s:.1f}s (pid {r.new_pid}); "
                     f"healthy after {r.time_to_healthy_s:.1f}s; restarts so far: {r.restarts}")
    lines.append(f"  recovery: {r.recovery}: {r.recovery_note}")
    same = "same task ids: resumed the interrupted super-step" if r.rerun_same_task else "NEW task ids"
    lines.append(f"  re-executed after the kill: {r.rerun_count} node(s): {_names(r.rerun)}"
                 + (f" ({same})" if r.rerun else ""))
    if r.reused:
        handed = f"; the resumed run handed back the saved writes of {_names(r.cached_after_kill)}" \
            if r.cached_after_kill else ""
        lines.append(f"  finished before the kill and not re-executed: {_names(r.reused)}{handed}")
    if r.subgraph_rerun:
        lines.append(f"  re-executed inside subgraphs: {_names(r.subgraph_rerun)}")
    lines.append(f"  ran for the first time after the kill: {_names(r.new_after_kill)}")
    end = f"thread {r.thread_status}" + (f", outcome {r.outcome}" if r.outcome else "")
    lines.append(f"  {'stopped at the approval interrupt, answered yes; ' if r.answered else ''}{end}")
    for note in r.notes:
        lines.append(f"  note: {note}")
    timing = ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.1f}s" for k, v in t.items())
    lines.append(f"  timings: {timing}")
    verdict = ("no node re-ran (the run rode through the restart) and the thread completed" if r.ok and not r.rerun else
               "only the in-flight node re-ran and the thread completed" if r.ok else
               "the thread completed, but more than the in-flight node(s) re-ran" if r.completed else
               "the thread did NOT complete")
    lines.append(f"drill {'passed' if r.ok else 'FAILED'}: {verdict}")
    return lines


# --- talking to the stack --------------------------------------------------------------------------------------------

@dataclass
class DrillTarget:
    state_dir: Path
    langgraph_url: str
    postgres_url: str
    assistant: str = DEMO_GRAPH


def drill_target(config: Any, assistant: str = DEMO_GRAPH) -> DrillTarget:
    from lgconsole.console.sources.urls import langgraph_url, postgres_url

    return DrillTarget(config.state_path, langgraph_url(config), postgres_url(config), assistant)


def service_process(state_dir: Path, service: str):
    """The live process of a managed service, from the supervisor's state file (PID and its start time)."""
    from lgconsole.stack.services.process import ProcessRef
    from lgconsole.stack.services.supervisor import read_state

    state = read_state(state_dir)
    if not state.supervisor_alive:
        raise DrillError(f"no supervisor runs the stack in {state_dir}: nobody would restart {service}; "
                         "`lgconsole up` first")
    status = state.by_name(service)
    if status is None or status.state == ServiceState.DISABLED:
        raise DrillError(f"{service} is not part of this stack")
    if not status.managed:
        raise DrillError(f"{service} is external ({status.url}): lgconsole does not manage its process")
    if status.state != ServiceState.HEALTHY:
        raise DrillError(f"{service} is {status.state.value}, not healthy: the drill needs a healthy stack")
    try:
        raw = json.loads(StackPaths(state_dir).state_file.read_text())["services"][service]["process"]
    except (OSError, KeyError, TypeError, json.JSONDecodeError):
        raw = None
    ref = ProcessRef.from_json(raw)
    if ref is None or not ref.alive():
        raise DrillError(f"{service}: the state file names no live process")
    return ref, status.restarts


async def wait_restart(state_dir: Path, service: str, old_pid: int, killed_at: float,
                       timeout: float = RESTART_TIMEOUT_S) -> tuple[float | None, float, int, int]:
    """(kill -> new process, kill -> healthy, new pid, restarts) from the supervisor's state file."""
    from lgconsole.stack.services.supervisor import read_state

    started_after = None
    deadline = killed_at + timeout
    while time.monotonic() < deadline:
        status = read_state(state_dir).by_name(service)
        if status is not None and status.pid and status.pid != old_pid:
            if started_after is None:
                started_after = time.monotonic() - killed_at
            if status.state == ServiceState.HEALTHY:
                return started_after, time.monotonic() - killed_at, status.pid, status.restarts
        await asyncio.sleep(0.05)
    raise DrillError(f"{service} was not healthy again {timeout:.0f}s after the kill; see `lgconsole logs {service}`")


async def saved_task_ids(postgres_url: str, thread_id: str) -> set[str]:
    """Task ids with writes on the thread's latest root checkpoint: the tasks a resume will not run again."""
    import psycopg

    try:
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True, connect_timeout=5) as conn:
            rows = await (await conn.execute(
                "SELECT DISTINCT task_id FROM checkpoint_writes WHERE thread_id = %(t)s AND checkpoint_ns = '' "
                "AND checkpoint_id = (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = %(t)s "
                "AND checkpoint_ns = '')", {"t": thread_id})).fetchall()
    except psycopg.Error as exc:
        raise DrillError(f"reading the thread's writes from Postgres: {one_line(exc)}") from None
    return {r[0] for r in rows}


def _status_code(exc: BaseException) -> int | None:
    return getattr(getattr(exc, "response", None), "status_code", None)


class _Follower:
    """Feeds a session's events into the ledger from a background task, so the drill can act between events."""

    def __init__(self, session: RunSession, ledger: TaskLedger):
        self.session = session
        self.ledger = ledger
        self.finished = asyncio.Event()
        self.error: BaseException | None = None
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for event in self.session.events():
                self.ledger.feed(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = exc
        finally:
            self.finished.set()

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except (asyncio.CancelledError, Exception):
            pass
        await self.session.close()

    async def outcome(self, timeout: float = FOLLOW_TIMEOUT_S) -> RunOutcome:
        try:
            await asyncio.wait_for(self.finished.wait(), timeout)
        except TimeoutError:
            await self.stop()
            raise DrillError(f"run {self.session.run_id} did not finish within {timeout:.0f}s") from None
        if self.error is not None:
            await self.session.close()
            raise DrillError(f"following run {self.session.run_id}: {one_line(self.error)}")
        try:
            return await self.session.outcome()
        finally:
            await self.session.close()


# --- the drill -------------------------------------------------------------------------------------------------------

async def run_drill(target: DrillTarget, service: str = "langgraph", *, delay: float = DEFAULT_DELAY_S,
                    thread_id: str | None = None, progress: Callable[[str], None] | None = None,
                    alone_after_s: float = ALONE_AFTER_S) -> DrillReport:
    """Kill `service` while a node of a demo run is in flight, resume the thread, answer its approval, report."""
    from langgraph_sdk import get_client

    say = progress or (lambda _line: None)
    if service not in DRILL_SERVICES:
        raise DrillError(f"cannot drill {service!r}: choose one of {', '.join(DRILL_SERVICES)}")
    ref, _ = service_process(target.state_dir, service)
    url, assistant = target.langgraph_url, target.assistant
    t0 = time.monotonic()
    ledger = TaskLedger()

    # 1. a run with slow nodes (or the given thread's run in progress)
    payload = {"task": f"spot-eviction drill {uuid.uuid4().hex[:8]}", "delay": delay}  # unique: no cache hit
    metadata: dict = {"graph_id": assistant, "lgconsole_drill": "spot-eviction"}
    if thread_id:
        client = get_client(url=url, timeout=10)
        try:
            metadata = (await client.threads.get(thread_id)).get("metadata") or {"graph_id": assistant}
        except Exception as exc:
            raise DrillError(f"thread {thread_id}: {one_line(exc)}") from None
        finally:
            await client.aclose()
        assistant = metadata.get("graph_id") or assistant
        try:
            session = await RunSession.attach(url, thread_id)
            say(f"attached to run {session.run_id} on thread {thread_id}")
        except RunError:
            if assistant != DEMO_GRAPH:
                raise DrillError(f"thread {thread_id} (graph {assistant}) has no run in progress: start one, or let "
                                 "the drill start a demo run on a new thread") from None
            session = await RunSession.start(url, assistant, input=payload, thread_id=thread_id)
            say(f"started run {session.run_id} on thread {thread_id} (each worker sleeps {delay:g}s)")
    else:
        session = await RunSession.start(url, assistant, input=payload, metadata=metadata)
        say(f"started run {session.run_id} on a new thread {session.thread_id} (each worker sleeps {delay:g}s)")
    tid, run_id = session.thread_id, session.run_id
    follower = _Follower(session, ledger)

    # 2. wait for the moment: one node in flight, its finished siblings' writes durable
    deadline = time.monotonic() + max(30.0, 4 * delay + 30)
    decision = None
    while decision is None:
        if follower.finished.is_set():
            await follower.stop()
            raise DrillError(f"run {run_id} ended before a node could be caught in flight; use a longer --delay")
        if time.monotonic() > deadline:
            await follower.stop()
            raise DrillError(f"no moment with a single node in flight came within {deadline - t0:.0f}s")
        decision = kill_moment(ledger, time.monotonic(), alone_after_s)
        if decision is None:
            await asyncio.sleep(0.005)
            continue
        want = {t.task_id for t in decision.siblings_done}
        visible_by = time.monotonic() + WRITES_VISIBLE_WAIT_S
        while not want <= (saved := await saved_task_ids(target.postgres_url, tid)) and time.monotonic() < visible_by:
            await asyncio.sleep(0.01)
        if kill_moment(ledger, time.monotonic(), alone_after_s) is None:
            decision = None  # the node finished while we looked: wait for the next one

    # 3. the kill, by the PID (and start time) the supervisor recorded just now
    ref, _ = service_process(target.state_dir, service)
    os.kill(ref.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    in_flight = ledger.in_flight()
    say(f"killed {service} (pid {ref.pid}) while {', '.join(t.node for t in in_flight)} ran ({decision.reason})")
    if service != "postgres":  # what a resume will find: the writes durable at the kill
        saved = await saved_task_ids(target.postgres_url, tid)
    if service == "langgraph":
        await follower.stop()  # that stream is gone with the server; the drill re-attaches explicitly

    # 4. the supervisor brings it back
    to_restart, to_healthy, new_pid, restarts = await wait_restart(target.state_dir, service, ref.pid, killed_at)
    say(f"{service} restarted after {to_restart:.1f}s (pid {new_pid}), healthy after {to_healthy:.1f}s")
    report = DrillReport(
        service=service, pid_killed=ref.pid, new_pid=new_pid, thread_id=tid, run_id=run_id,
        killed_during=[t.node for t in in_flight], kill_reason=decision.reason,
        completed_before=[t.node for t in ledger.done(killed_at)],
        saved_before=[t.node for t in ledger.done(killed_at) if t.task_id in saved],
        time_to_restart_s=round(to_restart, 3), time_to_healthy_s=round(to_healthy, 3), recovery="",
        recovery_note="", restarts=restarts,
    )
    report.timings["run_to_kill_s"] = round(killed_at - t0, 3)

    # 5. the interrupted thread resumes from its last checkpoint
    if service == "langgraph":
        ledger.stream += 1
        follower = _Follower(await _recover(target, report, metadata, say), ledger)
    outcome = await follower.outcome()
    if outcome.status == "error" and service != "langgraph":
        # the run failed while its dependency was down: resume it from the last checkpoint
        report.notes.append(f"run {run_id} failed while {service} was down ({outcome.error}); resumed with input=None")
        ledger.stream += 1
        resumed = await RunSession.start(url, assistant, thread_id=tid)
        report.recovery, report.resume_run_id = "resumed", resumed.run_id
        report.recovery_note = (f"the run failed while {service} was down; a new run {resumed.run_id} continued the "
                                "thread from its last checkpoint (input=None)")
        follower = _Follower(resumed, ledger)
        outcome = await follower.outcome()
    elif service != "langgraph":
        report.recovery = "rode-through"
        report.recovery_note = f"the run kept going while {service} restarted and ended {outcome.status}"
    first_after = next((t.at for t in ledger.starts if t.at >= killed_at), None)
    if first_after is not None:
        report.timings["kill_to_resumed_s"] = round(first_after - killed_at, 3)
    if outcome.status not in ("success", "interrupted") or outcome.thread_status == "error":
        report.notes.append(f"the resumed run ended {outcome.status}: {outcome.error or 'no error message'}")

    # 6. the approval interrupt, answered (only the demo graph's: another graph's question is not ours to answer)
    if outcome.waiting_for_input and assistant != DEMO_GRAPH:
        report.interrupt_reached = True
        report.notes.append("the thread waits for input at an interrupt of its graph; the drill does not answer it")
    elif outcome.waiting_for_input:
        report.interrupt_reached = True
        report.timings["kill_to_interrupt_s"] = round(time.monotonic() - killed_at, 3)
        say("the thread waits at the approval interrupt: answering yes")
        ledger.stream += 1
        answer = await RunSession.start(url, assistant, thread_id=tid, command={"resume": True})
        final = await _Follower(answer, ledger).outcome()
        report.answered = final.status == "success"
    client = get_client(url=url, timeout=10)
    try:
        thread = await client.threads.get(tid)
    finally:
        await client.aclose()
    report.thread_status = thread.get("status")
    report.outcome = (thread.get("values") or {}).get("outcome") if isinstance(thread.get("values"), dict) else None

    counted = count_reruns(ledger, killed_at)
    report.rerun, report.rerun_same_task = counted.rerun, counted.same_task
    report.reused, report.cached_after_kill = counted.reused, counted.cached
    report.new_after_kill, report.subgraph_rerun = counted.new, counted.subgraph_rerun
    report.timings["total_s"] = round(time.monotonic() - t0, 3)
    return report


async def _recover(target: DrillTarget, report: DrillReport, metadata: dict, say: Callable[[str], None]) -> RunSession:
    """After the LangGraph server restarted: re-attach to the run it re-queued, or resume the thread it forgot."""
    from langgraph_sdk import get_client

    url, tid, run_id = target.langgraph_url, report.thread_id, report.run_id
    client = get_client(url=url, timeout=10)
    try:
        try:
            run = await client.runs.get(tid, run_id)
            report.server_knew_thread = report.server_knew_run = True
            report.run_status_after_restart = run["status"]
        except Exception as exc:
            if _status_code(exc) != 404:
                raise DrillError(f"asking the restarted server for run {run_id}: {one_line(exc)}") from None
            report.server_knew_run = False
        if report.server_knew_run:
            report.recovery = "re-attached"
            report.recovery_note = (f"the restarted server still knew run {run_id} (its run index had been saved while "
                                    f"the run was running) and re-queued it ({report.run_status_after_restart} after "
                                    "the restart); lgconsole re-attached to its stream")
            say(report.recovery_note)
            return RunSession(url, tid, run_id, replay=True)
        try:
            await client.threads.get(tid)
            report.server_knew_thread = True
        except Exception as exc:
            if _status_code(exc) != 404:
                raise DrillError(f"asking the restarted server for thread {tid}: {one_line(exc)}") from None
            report.server_knew_thread = False
        if not report.server_knew_thread:
            await client.threads.create(thread_id=tid, if_exists="do_nothing", metadata=metadata)
    finally:
        await client.aclose()
    assistant = metadata.get("graph_id") or target.assistant
    resumed = await RunSession.start(url, assistant, thread_id=tid)  # input=None: from the latest checkpoint
    report.resume_run_id = resumed.run_id
    if report.server_knew_thread:
        report.recovery = "resumed"
        report.recovery_note = (f"the restarted dev server had lost run {run_id} (its run index is saved every ~10 s) "
                                f"but knew the thread; lgconsole resumed the thread from its last checkpoint in "
                                f"Postgres with a new run {resumed.run_id} (input=None)")
    else:
        report.recovery = "re-created"
        report.recovery_note = (f"the restarted dev server had lost run {run_id} and thread {tid} (its thread/run "
                                "index is saved every ~10 s; the checkpoints are in Postgres); lgconsole re-created "
                                f"the thread with the same id and metadata (graph_id={metadata.get('graph_id')}) and "
                                f"resumed it from its last checkpoint with a new run {resumed.run_id} (input=None)")
    say(report.recovery_note)
    return resumed
