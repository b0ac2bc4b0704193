"""The spot-eviction drill's bookkeeping: the tasks seen on a run's streams (`TaskLedger`), when to kill
(`kill_moment`), which nodes ran again after the kill (`count_reruns`), and the report (`DrillReport`,
`report_lines`). Plain Python, fed stream events; the orchestration is console/sources/drill.py.

What "re-run" means: LangGraph runs a super-step's tasks in parallel and saves each finished task's writes at once
(`checkpoint_writes` on the super-step's checkpoint). A run resumed from that checkpoint hands the saved writes back
and executes only the tasks without saved writes: the ones in flight at the kill. So the drill kills when exactly
one node is in flight (its parallel siblings, if any, done and their writes visible in Postgres) and counts the
root-graph nodes that start again after the kill; the promise holds when that set is the in-flight set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lgconsole.console.model.live_run import StreamEvent
from lgconsole.console.model.status import StepStatus

ALONE_AFTER_S = 1.0  # a node with no parallel siblings is killed once it has run this long


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
    """Tasks seen on a run's streams, in order; fed stream events (the stack's `RunEvent`s).

    A `tasks` start event is emitted for every task of a super-step, also for those whose writes a resume hands back
    without running them; only a task that ran emits a result event (finished, failed or interrupted). Handed-back
    writes show as `updates` events marked `__metadata__: {"cached": true}`."""

    def __init__(self) -> None:
        self.starts: list[TaskStart] = []
        self.ended: dict[tuple[int, str], tuple[StepStatus, float]] = {}  # (stream, task id) -> (how it ended, at)
        self.cached: list[tuple[int, str]] = []  # (stream, node) whose saved writes were handed back
        self.superstep = 0
        self.stream = 0  # bumped by the caller when it follows a new stream (a resumed or answering run)

    def feed(self, event: StreamEvent) -> None:
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
            status = (StepStatus.ERROR if data.get("error") else StepStatus.INTERRUPTED if data.get("interrupts")
                      else StepStatus.DONE)
            self.ended[(self.stream, task_id)] = (status, event.received)

    def status(self, task: TaskStart) -> str | None:
        ended = self.ended.get((task.attempt, task.task_id))
        return ended[0] if ended else None

    def root(self, stream: int | None = None) -> list[TaskStart]:
        return [t for t in self.starts if not t.namespace and (stream is None or t.attempt == stream)]

    def in_flight(self) -> list[TaskStart]:
        """Root tasks of the current stream that started and did not end."""
        return [t for t in self.root(self.stream) if self.status(t) is None]

    def in_flight_at(self, moment: float) -> list[TaskStart]:
        """Root tasks of the stream followed at `moment` that had started and not ended by then (an end event that
        came later does not make them finished before it)."""
        streams = [t.attempt for t in self.root() if t.at < moment]
        current = max(streams, default=self.stream)
        return [t for t in self.root(current) if t.at < moment
                and ((t.attempt, t.task_id) not in self.ended or self.ended[(t.attempt, t.task_id)][1] >= moment)]

    def done(self, before: float | None = None) -> list[TaskStart]:
        """Root tasks that finished (before `before`): by their end event's arrival, so a task in flight at that
        moment (`in_flight_at`) is never among them."""
        return [t for t in self.root() if self.status(t) == StepStatus.DONE
                and (before is None or self.ended[(t.attempt, t.task_id)][1] < before)]


@dataclass
class KillDecision:
    in_flight: TaskStart
    siblings_done: list[TaskStart]  # finished tasks of the same super-step
    reason: str


def kill_moment(ledger: TaskLedger, now: float, alone_after_s: float = ALONE_AFTER_S,
                node: str | None = None) -> KillDecision | None:
    """Kill now? Yes when exactly one root node is in flight and either its parallel siblings have finished, or it has
    no siblings and has run `alone_after_s`. Several nodes in flight: wait until only one is left. With `node`, only
    while that node is the one in flight: the drill makes it outlast its siblings by seconds, so the moment is wide
    enough to be caught on a busy machine (a node that merely happens to run alone longest leaves it a fraction of
    a second, and a quick lone node that the load slows past `alone_after_s` is not the one the drill means to kill)."""
    running = ledger.in_flight()
    if len(running) != 1:
        return None
    task = running[0]
    if node is not None and task.node != node:
        return None
    siblings = [t for t in ledger.root(ledger.stream) if t.superstep == task.superstep and t.task_id != task.task_id]
    done = [t for t in siblings if ledger.status(t) == StepStatus.DONE]
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
        reused=[t.node for t in before if not t.namespace and ledger.status(t) == StepStatus.DONE
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
    runtime: str = "dev"  # the LangGraph server runtime of the stack ([langgraph] runtime): drills compare them

    @property
    def rerun_count(self) -> int:
        return len(self.rerun)

    @property
    def run_lost(self) -> bool | None:
        """The killed server came back without the run (a client polling it would get 404); langgraph drills only."""
        return None if self.server_knew_run is None else not self.server_knew_run

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
        return {**asdict(self), "rerun_count": self.rerun_count, "run_lost": self.run_lost, "completed": self.completed,
                "only_in_flight_rerun": self.only_in_flight_rerun, "ok": self.ok}


def _names(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def report_lines(r: DrillReport) -> list[str]:
    """The report as text, one fact per line."""
    t = r.timings
    lines = [
        (f"spot-eviction drill: {r.service} killed with SIGKILL (pid {r.pid_killed}) "
         f"{t.get('run_to_kill_s', 0):.1f}s into run {r.run_id} on thread {r.thread_id} (server runtime {r.runtime})"),
        f"  in flight at the kill: {_names(r.killed_during)} ({r.kill_reason})",
        f"  finished before the kill: {_names(r.completed_before)}; writes saved in Postgres: {_names(r.saved_before)}",
    ]
    if r.time_to_restart_s is not None:
        lines.append(f"  the supervisor restarted {r.service} after {r.time_to_restart_s:.1f}s (pid {r.new_pid}); "
                     f"healthy after {r.time_to_healthy_s:.1f}s; restarts so far: {r.restarts}")
    lines.append(f"  recovery: {r.recovery}: {r.recovery_note}")
    if r.run_lost is not None:
        lines.append(f"  runs lost: {int(r.run_lost)}; nodes re-run: {r.rerun_count}")
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
