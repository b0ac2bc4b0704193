"""The spot-eviction drill, orchestrated: SIGKILL a service of the stack in the middle of a node, let the supervisor
bring it back, resume the interrupted thread from its last checkpoint, count the nodes that ran twice, and finish the
thread. Its bookkeeping (which tasks ran, when to kill, the report) is console/model/drill.py; the runs are followed
by the one RunFollower; the kill, the supervisor's state and the saved writes are read through stack/."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lgconsole.stack.checkpoints.tasks import SavedTasks, saved_task_ids
from lgconsole.stack.errors import StackError
from lgconsole.stack.server.runs import RunError, RunEvent, RunOutcome, get_run, get_thread, recreate_thread
from lgconsole.stack.services.eviction import kill_now, managed_process, wait_restart
from lgconsole.stack.services.service import one_line

from lgconsole.console.model.drill import (ALONE_AFTER_S, DrillReport, KillDecision, TaskLedger, count_reruns,
                                           kill_moment, report_lines)
from lgconsole.console.model.status import RunStatus
from lgconsole.console.sources.run_follower import RunFollower

__all__ = ["DRILL_SERVICES", "DEFAULT_DELAY_S", "HELD_FOR_S", "HELD_NODE", "DrillError", "DrillTarget", "drill_target",
           "report_lines", "run_drill"]

DRILL_SERVICES = ("langgraph", "postgres", "redis")
DEMO_GRAPH = "demo"
DEFAULT_DELAY_S = 3.0
# The worker the drill kills in a demo run of its own: it sleeps HELD_FOR_S longer than its siblings, so the moment
# "siblings done, it alone in flight" lasts seconds. Left to chance it lasts ~0.2 s (the researcher's simulated search),
# less than the stream's and Postgres' latency on a loaded 2-core machine: the run ran past it.
HELD_NODE = "researcher"
HELD_FOR_S = 3.0
WRITES_VISIBLE_WAIT_S = 1.0  # how long to wait for finished siblings' writes to show in Postgres
EVENT_WAIT_S = 0.1  # the kill moment is re-checked on each stream event, and this often for the lone-node rule
FOLLOW_TIMEOUT_S = 180.0


class DrillError(StackError):
    """The drill could not run or could not finish; one line."""


@dataclass
class DrillTarget:
    state_dir: Path
    langgraph_url: str
    postgres_url: str
    assistant: str = DEMO_GRAPH
    runtime: str = "dev"  # [langgraph] runtime, named in the report


def drill_target(config: Any, assistant: str = DEMO_GRAPH) -> DrillTarget:
    from lgconsole.console.sources.urls import langgraph_url, postgres_url

    return DrillTarget(config.state_path, langgraph_url(config), postgres_url(config), assistant,
                       config.langgraph.runtime)


async def _outcome(follower: RunFollower, timeout: float = FOLLOW_TIMEOUT_S) -> RunOutcome:
    """The followed run's outcome, as a DrillError when it did not come."""
    try:
        return await follower.wait(timeout)
    except TimeoutError:
        raise DrillError(f"run {follower.run_id} did not finish within {timeout:.0f}s") from None
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise DrillError(f"following run {follower.run_id}: {one_line(exc)}") from None


# --- the drill -------------------------------------------------------------------------------------------------------

async def run_drill(target: DrillTarget, service: str = "langgraph", *, delay: float = DEFAULT_DELAY_S,
                    thread_id: str | None = None, progress: Callable[[str], None] | None = None,
                    alone_after_s: float = ALONE_AFTER_S) -> DrillReport:
    """Kill `service` while a node of a demo run is in flight, resume the thread, answer its approval, report."""
    say = progress or (lambda _line: None)
    if service not in DRILL_SERVICES:
        raise DrillError(f"cannot drill {service!r}: choose one of {', '.join(DRILL_SERVICES)}")
    ref, _ = managed_process(target.state_dir, service)
    url, assistant = target.langgraph_url, target.assistant
    t0 = time.monotonic()
    ledger = TaskLedger()
    fed = asyncio.Event()  # set on each stream event: the kill moment is decided on arrival, not on a later poll

    def on_event(event: RunEvent) -> None:
        ledger.feed(event)
        fed.set()

    follower = RunFollower(url, on_event=on_event)

    # 1. a run with slow nodes, one of them held past its siblings (or the given thread's run in progress)
    payload = {"task": f"spot-eviction drill {uuid.uuid4().hex[:8]}", "delay": delay,  # unique task: no cache hit
               "node_delays": {HELD_NODE: delay + HELD_FOR_S}}
    sleeps = f"each worker sleeps {delay:g}s, {HELD_NODE} {delay + HELD_FOR_S:g}s"
    held: str | None = HELD_NODE  # None: a run started elsewhere, whatever node runs alone long enough
    metadata: dict = {"graph_id": assistant, "lgconsole_drill": "spot-eviction"}
    if thread_id:
        try:
            thread = await get_thread(url, thread_id)
        except RunError as exc:
            raise DrillError(str(exc)) from None
        if thread is None:
            raise DrillError(f"thread {thread_id}: not found on the server")
        metadata = thread.get("metadata") or {"graph_id": assistant}
        assistant = metadata.get("graph_id") or assistant
        try:
            session = await follower.attach(thread_id)
            held = None
            say(f"attached to run {session.run_id} on thread {thread_id}")
        except RunError:
            if assistant != DEMO_GRAPH:
                raise DrillError(f"thread {thread_id} (graph {assistant}) has no run in progress: start one, or let "
                                 "the drill start a demo run on a new thread") from None
            session = await follower.start(assistant, input=payload, thread_id=thread_id)
            say(f"started run {session.run_id} on thread {thread_id} ({sleeps})")
    else:
        session = await follower.start(assistant, input=payload, metadata=metadata)
        say(f"started run {session.run_id} on a new thread {session.thread_id} ({sleeps})")
    tid, run_id = session.thread_id, session.run_id
    follower.follow_in_background()

    # 2. wait for the moment: one node in flight (the held one), its finished siblings' writes durable
    deadline = time.monotonic() + max(30.0, 4 * (delay + HELD_FOR_S) + 30)

    # 3. the kill, by the PID (and start time) the supervisor recorded, right after the last look at the ledger: no
    # await in between, or the node could end (its event handled by the follower) between the look and the kill
    def kill() -> float:
        nonlocal ref
        ref, _ = managed_process(target.state_dir, service)  # a plain file read: no await
        return kill_now(ref)

    async with SavedTasks(target.postgres_url, tid) as saved_writes:  # connected before the moment, not in it
        decision, saved, killed_at = await _kill_moment(follower, ledger, fed, saved_writes, held, alone_after_s,
                                                        deadline, t0, kill)
    in_flight = ledger.in_flight_at(killed_at)
    say(f"killed {service} (pid {ref.pid}) while {', '.join(t.node for t in in_flight)} ran ({decision.reason})")
    if service != "postgres":  # what a resume will find: the writes durable at the kill
        saved = await saved_task_ids(target.postgres_url, tid)
    if service == "langgraph":
        await follower.stop()  # that stream is gone with the server; the drill re-attaches explicitly

    # 4. the supervisor brings it back
    to_restart, to_healthy, new_pid, restarts = await wait_restart(target.state_dir, service, ref.pid, killed_at)
    say(f"{service} restarted after {to_restart:.1f}s (pid {new_pid}), healthy after {to_healthy:.1f}s")
    report = DrillReport(
        service=service, runtime=target.runtime, pid_killed=ref.pid, new_pid=new_pid, thread_id=tid, run_id=run_id,
        killed_during=[t.node for t in in_flight], kill_reason=decision.reason,
        completed_before=[t.node for t in ledger.done(killed_at)],  # never the in-flight ones: see done()
        saved_before=[t.node for t in ledger.done(killed_at) if t.task_id in saved],
        time_to_restart_s=round(to_restart, 3), time_to_healthy_s=round(to_healthy, 3), recovery="",
        recovery_note="", restarts=restarts,
    )
    report.timings["run_to_kill_s"] = round(killed_at - t0, 3)

    # 5. the interrupted thread resumes from its last checkpoint
    if service == "langgraph":
        ledger.stream += 1
        await _recover(target, report, metadata, say, follower)
        follower.follow_in_background()
    outcome = await _outcome(follower)
    if outcome.status == "error" and service != "langgraph":
        # the run failed while its dependency was down: resume it from the last checkpoint
        report.notes.append(f"run {run_id} failed while {service} was down ({outcome.error}); resumed with input=None")
        ledger.stream += 1
        resumed = await follower.start(assistant, thread_id=tid)
        report.recovery, report.resume_run_id = "resumed", resumed.run_id
        report.recovery_note = (f"the run failed while {service} was down; a new run {resumed.run_id} continued the "
                                "thread from its last checkpoint (input=None)")
        outcome = await _outcome(follower)
    elif service != "langgraph":
        report.recovery = "rode-through"
        report.recovery_note = f"the run kept going while {service} restarted and ended {outcome.status}"
    first_after = next((t.at for t in ledger.starts if t.at >= killed_at), None)
    if first_after is not None:
        report.timings["kill_to_resumed_s"] = round(first_after - killed_at, 3)
    if outcome.status not in ("success", "interrupted") or outcome.thread_status == "error":
        report.notes.append(f"the resumed run ended {outcome.status}: {outcome.error or 'no error message'}")

    # 6. the approval interrupt, answered (only the demo graph's: another graph's question is not ours to answer)
    waiting = follower.live.status == RunStatus.WAITING
    if waiting and assistant != DEMO_GRAPH:
        report.interrupt_reached = True
        report.notes.append("the thread waits for input at an interrupt of its graph; the drill does not answer it")
    elif waiting:
        report.interrupt_reached = True
        report.timings["kill_to_interrupt_s"] = round(time.monotonic() - killed_at, 3)
        say("the thread waits at the approval interrupt: answering yes")
        ledger.stream += 1
        await follower.resume(True, thread_id=tid, assistant=assistant)
        report.answered = (await _outcome(follower)).status == "success"
    thread = await get_thread(url, tid) or {}
    report.thread_status = thread.get("status")
    report.outcome = (thread.get("values") or {}).get("outcome") if isinstance(thread.get("values"), dict) else None

    counted = count_reruns(ledger, killed_at)
    report.rerun, report.rerun_same_task = counted.rerun, counted.same_task
    report.reused, report.cached_after_kill = counted.reused, counted.cached
    report.new_after_kill, report.subgraph_rerun = counted.new, counted.subgraph_rerun
    report.timings["total_s"] = round(time.monotonic() - t0, 3)
    return report


async def _kill_moment(follower: RunFollower, ledger: TaskLedger, fed: asyncio.Event, saved_writes: SavedTasks,
                       held: str | None, alone_after_s: float, deadline: float, t0: float,
                       kill: Callable[[], float]) -> tuple[KillDecision, set[str], float]:
    """Wait until the ledger says: kill now, and the finished siblings' writes are visible in Postgres; then `kill()`
    at once. Returns the decision, the saved task ids at that moment and the kill's time.monotonic()."""
    run_id = follower.run_id
    while True:
        if follower.finished:
            try:
                ended = await follower.wait(0)
            except StackError as exc:
                raise DrillError(f"following run {run_id}: {exc}") from None
            how = f"{ended.status}{': ' + ended.error if ended.error else ''}"
            raise DrillError(f"run {run_id} ended ({how}) before a node could be caught in flight; use a longer "
                             "--delay")
        if time.monotonic() > deadline:
            await follower.stop()
            raise DrillError(f"no moment with a single node in flight came within {deadline - t0:.0f}s")
        fed.clear()
        decision = kill_moment(ledger, time.monotonic(), alone_after_s, held)
        if decision is None:
            try:
                await asyncio.wait_for(fed.wait(), EVENT_WAIT_S)
            except TimeoutError:
                pass
            continue
        want = {t.task_id for t in decision.siblings_done}
        visible_by = time.monotonic() + WRITES_VISIBLE_WAIT_S
        while not want <= (saved := await saved_writes.read()) and time.monotonic() < visible_by:
            await asyncio.sleep(0.01)
        if kill_moment(ledger, time.monotonic(), alone_after_s, held) is not None:
            return decision, saved, kill()
        # the node finished while we looked: wait for the next one


async def _recover(target: DrillTarget, report: DrillReport, metadata: dict, say: Callable[[str], None],
                   follower: RunFollower) -> None:
    """After the LangGraph server restarted: re-attach to the run it re-queued, or resume the thread it forgot."""
    url, tid, run_id = target.langgraph_url, report.thread_id, report.run_id
    try:
        run = await get_run(url, tid, run_id)
    except RunError as exc:
        raise DrillError(f"asking the restarted server for run {run_id}: {exc}") from None
    report.server_knew_run = run is not None
    if run is not None:
        report.server_knew_thread = True
        report.run_status_after_restart = run["status"]
        report.recovery = "re-attached"
        report.recovery_note = (f"the restarted server still knew run {run_id} (its run index had been saved while "
                                f"the run was running) and re-queued it ({report.run_status_after_restart} after "
                                "the restart); lgconsole re-attached to its stream")
        say(report.recovery_note)
        await follower.attach(tid, run_id)
        return
    try:
        report.server_knew_thread = await get_thread(url, tid) is not None
    except RunError as exc:
        raise DrillError(f"asking the restarted server for thread {tid}: {exc}") from None
    if not report.server_knew_thread:
        await recreate_thread(url, tid, metadata)
    assistant = metadata.get("graph_id") or target.assistant
    resumed = await follower.start(assistant, thread_id=tid)  # input=None: from the latest checkpoint
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
