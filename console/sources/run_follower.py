"""The one run follower: start a run, attach to one started elsewhere, answer its interrupt, replay or fork through
time travel, cancel; it streams the run (reconnecting through the stack's `RunSession`) into the `LiveRun` it owns
and says how the run ended once (`end_status`). Used by the Live screen, `lgconsole run`/`watch`/`replay`/`fork`/
`resume`, the Threads screen and the drill."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from lgconsole.stack.server.runs import RunError, RunEvent, RunOutcome, RunSession

from lgconsole.console.model.checkpoint_steps import CheckpointFold, SavedCheckpoint, SavedWrite
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.model.status import RunStatus, end_status

ATTACH_POLL_S = 0.5
SAVED_POLL_S = 0.3
# what a stream must carry for node steps from the stream itself (lgconsole's own runs); else: saved checkpoints
STEP_MODES = {"updates", "tasks"}


class SavedSteps:
    """One run's checkpoints and writes as the checkpointer saved them in Postgres (stack/checkpoints), read again
    on each `read()`: the checkpoints of the run (metadata run_id) and their parents, each with its state and
    pending writes; a checkpoint with a child is read once, the newest ones again (their writes still grow)."""

    def __init__(self, postgres_url: str, thread_id: str, run_id: str, graph_spec: dict | None = None):
        from lgconsole.stack.checkpoints.reader import CheckpointReader

        self.thread_id, self.run_id = thread_id, run_id
        self.reader = CheckpointReader(postgres_url, graph_spec=graph_spec)
        self._done: dict[tuple[str, str], SavedCheckpoint] = {}
        self._since: str | None = None  # the oldest checkpoint of the run's window: later reads start there

    def read(self) -> list[SavedCheckpoint]:
        history = self.reader.history(self.thread_id, since=self._since)
        ours = {(n.checkpoint_ns, n.checkpoint_id) for n in history if (n.metadata or {}).get("run_id") == self.run_id}
        ours |= {(n.checkpoint_ns, n.parent_checkpoint_id) for n in history
                 if (n.checkpoint_ns, n.checkpoint_id) in ours and n.parent_checkpoint_id}
        if ours and self._since is None:  # a long thread is read whole once, then only from the run's first parent
            self._since = min(cid for _, cid in ours)
        has_child = {(n.checkpoint_ns, n.parent_checkpoint_id) for n in history}
        found = []
        for n in history:
            key = (n.checkpoint_ns, n.checkpoint_id)
            if key not in ours:
                continue
            saved = self._done.get(key)
            if saved is None:
                state = self.reader.state_at(self.thread_id, n.checkpoint_id, n.checkpoint_ns)
                saved = SavedCheckpoint(
                    tuple(n.checkpoint_ns.split("|")) if n.checkpoint_ns else (), n.checkpoint_id,
                    n.parent_checkpoint_id, n.step, n.source, n.created_at.timestamp() if n.created_at else 0.0,
                    list(n.writers), dict(state.mapping),
                    [SavedWrite(w.task_id, w.node, w.channel, w.value) for w in state.pending_writes])
                if key in has_child:
                    self._done[key] = saved
            found.append(saved)
        return found

    def close(self) -> None:
        self.reader.close()


def _latest_checkpoint(postgres_url: str, thread_id: str) -> str | None:
    """The id of the thread's newest root checkpoint (uuid6 ids sort by time), None when it has none."""
    from lgconsole.stack.checkpoints.reader import CheckpointReader

    with CheckpointReader(postgres_url) as reader:
        root = reader.history(thread_id, include_subgraphs=False)
    return max((n.checkpoint_id for n in root), default=None)


def locate_server(config) -> Callable[[], str]:
    """Where the stack's LangGraph server answers now, read again from its state dir on each call."""
    from lgconsole.console.sources.urls import langgraph_url

    return lambda: langgraph_url(config)


def saved_steps_url(config) -> str | None:
    """Where the stack's checkpoints are read for runs started elsewhere; None when no Postgres is known."""
    from lgconsole.stack.errors import StackError

    from lgconsole.console.sources.urls import postgres_url

    try:
        return postgres_url(config)
    except StackError:
        return None


class RunFollower:
    """Follows one run at a time on the LangGraph server at `url` and owns its state.

    Begin with `start`, `attach`, `resume`, `replay`, `fork` or `adopt` (a session started elsewhere); then
    `await follow()` (or `follow_in_background()`), which streams the run into `live` until it ends and returns its
    `RunOutcome`. A new run gets a new `LiveRun`; an answer to the run's interrupt (`resume`) continues the same
    timeline, so the step that waited shows how it ended. `on_event(event)` is called after each event is folded in;
    `on_change(live)` after anything changed (each event, the start, the end)."""

    def __init__(self, url: str, *, on_event: Callable[[RunEvent], None] | None = None,
                 on_change: Callable[[LiveRun], None] | None = None, live: LiveRun | None = None,
                 postgres_url: str | None = None, locate: Callable[[], str] | None = None,
                 graph_spec: dict | None = None):
        self.url = url
        self.postgres_url = postgres_url  # where the run's saved checkpoints are read (runs started elsewhere)
        # where the server answers now (the stack's state, read again): a restarted server may have a new port
        self.locate = locate
        self.graph_spec = graph_spec  # the served graphs' channels (stack/services/graph_spec.py), when known
        self.on_event = on_event
        self.on_change = on_change
        self.live = live or LiveRun()
        self.session: RunSession | None = None
        self.outcome: RunOutcome | None = None
        self.assistant: str | None = None
        self._task: asyncio.Task | None = None

    # --- what is followed ----------------------------------------------------------------------------------------
    @property
    def thread_id(self) -> str | None:
        return self.session.thread_id if self.session else None

    @property
    def run_id(self) -> str | None:
        return self.session.run_id if self.session else None

    @property
    def running(self) -> bool:
        return self.session is not None and self.live.status in (RunStatus.STARTING, RunStatus.RUNNING)

    # --- how a run begins (each returns once the server accepted it; then follow()) -------------------------------
    async def start(self, assistant: str, *, input: Any = None, thread_id: str | None = None,
                    command: dict | None = None, metadata: dict | None = None, **kwargs: Any) -> RunSession:
        """Start a run of `assistant` (a new thread unless `thread_id`); a new timeline."""
        self._begin(new_run=True)
        self.assistant = assistant
        return await self._started(RunSession.start(self.url, assistant, input=input, thread_id=thread_id,
                                                    command=command, metadata=metadata, **kwargs))

    async def attach(self, thread_id: str, run_id: str | None = None, *, wait: bool = False,
                     waiting: Callable[[], None] | None = None) -> RunSession:
        """Attach to the thread's run in progress (or `run_id`), started by anyone; its events replay from the start
        when it was started resumable. `wait=True` waits for a run to begin (`waiting()` is called once first)."""
        self._begin(new_run=True)
        said = False
        while True:
            try:
                session = await self._started(RunSession.attach(self.url, thread_id, run_id))
                self.assistant = session.assistant_id or self.assistant  # an answer runs the same assistant
                return session
            except RunError as exc:
                if not wait or "no run in progress" not in str(exc):
                    raise
                if not said and waiting is not None:
                    waiting()
                said = True
                self.live.status = RunStatus.STARTING  # _started marked it failed: still waiting, not failed
                await asyncio.sleep(ATTACH_POLL_S)

    async def resume(self, value: Any, thread_id: str | None = None, assistant: str | None = None,
                     **kwargs: Any) -> RunSession:
        """Answer the interrupt the thread waits on (`Command(resume=value)`). On the thread followed last, the same
        timeline goes on; on another thread, a new one. `kwargs` go to RunSession.start (a run's `context`)."""
        thread_id = thread_id or self.thread_id
        if thread_id is None:
            raise RunError("resume: no thread to answer (start or attach to a run first)")
        self._begin(new_run=thread_id != self.thread_id)
        self.assistant = assistant or self.assistant
        if not self.assistant:
            raise RunError(f"resume thread {thread_id}: which assistant runs it is not known")
        return await self._started(RunSession.start(self.url, self.assistant, thread_id=thread_id,
                                                    command={"resume": value}, **kwargs))

    async def proceed(self, thread_id: str | None = None, assistant: str | None = None, **kwargs: Any) -> RunSession:
        """Go on from a breakpoint: a run with no input on the thread (the nodes due run next). On the thread followed
        last, the same timeline goes on. `kwargs` go to RunSession.start (the breakpoints still set, a context)."""
        thread_id = thread_id or self.thread_id
        if thread_id is None:
            raise RunError("continue: no thread to continue (start or attach to a run first)")
        self._begin(new_run=thread_id != self.thread_id)
        self.assistant = assistant or self.assistant
        if not self.assistant:
            raise RunError(f"continue thread {thread_id}: which assistant runs it is not known")
        return await self._started(RunSession.start(self.url, self.assistant, thread_id=thread_id, input=None,
                                                    **kwargs))

    async def replay(self, travel: Any, thread_id: str, checkpoint_id: str) -> Any:
        """Replay from a past checkpoint through a `TimeTravel` (it checks against Postgres first); its RunStarted."""
        self._begin(new_run=True)
        started = await self._started_by(travel.replay(thread_id, checkpoint_id))
        self.session = started.session
        return started

    async def fork(self, travel: Any, thread_id: str, checkpoint_id: str, update: dict, as_node: str | None = None,
                   run: bool = True) -> Any:
        """Fork with edited state through a `TimeTravel`, then follow its run (when one was started); its ForkResult."""
        self._begin(new_run=True)
        result = await self._started_by(travel.fork(thread_id, checkpoint_id, update, as_node=as_node, run=run))
        self.session = result.session
        return result

    async def answer(self, travel: Any, thread_id: str, value: Any) -> Any:
        """`resume` through a `TimeTravel`, which first checks that the thread waits on an interrupt."""
        self._begin(new_run=thread_id != self.thread_id)
        started = await self._started_by(travel.resume(thread_id, value))
        self.session = started.session
        return started

    def refuse(self, error: str) -> None:
        """A run refused before anything was sent (a check failed): a new timeline that says why."""
        self._begin(new_run=True)
        self.live.fail(error)
        self._changed()

    def adopt(self, session: RunSession, *, new_run: bool = True) -> None:
        """Follow a run started elsewhere (a Threads screen action, a drill's recovery)."""
        self._begin(new_run=new_run)
        self.session = session

    # --- following ---------------------------------------------------------------------------------------------
    async def follow(self) -> RunOutcome:
        """Stream the run into `live` until it is over; the session is closed afterwards. Raises the stream's error
        (a StackError, one line) after marking the run failed."""
        session = self.session
        if session is None:
            raise RunError("no run to follow")
        live = self.live
        live.status = RunStatus.RUNNING
        live.version += 1
        self._changed()
        saved = self._saved_steps(session)
        poller = asyncio.create_task(self._poll_saved(saved)) if saved is not None else None
        events = session.events()
        try:
            async for event in events:
                if event.mode == "reconnecting":
                    await self._relocate(session)
                if saved is not None and event.mode in ("updates", "values", "tasks"):
                    continue  # the steps come from the saved checkpoints: whole, named, from the run's start
                live.feed(event)
                if self.on_event is not None:
                    self.on_event(event)
                self._changed()
            outcome = await session.outcome()
            if saved is not None:
                poller.cancel()
                await self._fold_saved(saved, final=True)  # what landed since the last read
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            live.fail(str(exc))
            self._changed()
            raise
        finally:
            if poller is not None:
                poller.cancel()
            if saved is not None:
                await asyncio.to_thread(saved[0].close)
            await events.aclose()  # left early (an error in on_event, a closed stdout): the stream ends here, not
            await session.close()  # in the loop's shutdown with a traceback on stderr
        if outcome.status == "lost":
            outcome.error = f"{outcome.error}; {await self._recovery(session)}"
        live.finish(end_status(outcome.status, outcome.thread_status), outcome.error, outcome.interrupts)
        live.outcome = self.outcome = outcome
        self._changed()
        return outcome

    def follow_in_background(self) -> asyncio.Task:
        """follow() as a task, so the caller can act between events (the drill); see `stop()` and `wait()`."""
        self._task = asyncio.create_task(self.follow())
        return self._task

    @property
    def finished(self) -> bool:
        return self._task is not None and self._task.done()

    async def wait(self, timeout: float | None = None) -> RunOutcome:
        """The background follow's outcome; asyncio.TimeoutError after `timeout` (the follow is stopped then)."""
        if self._task is None:
            return await asyncio.wait_for(self.follow(), timeout)
        try:
            return await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop following (the run goes on on the server) and close the session."""
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()
            try:
                await self._task  # follow() closes the session on its way out
            except (asyncio.CancelledError, Exception):
                pass
        elif self.session is not None:
            await self.session.close()

    async def cancel(self, rollback: bool = False) -> None:
        """Cancel the run on the server; the follow ends with status `cancelled`."""
        if self.session is None:
            raise RunError("no run to cancel")
        await self.session.cancel(rollback=rollback)

    # --- a server that restarted ---------------------------------------------------------------------------------
    async def _relocate(self, session: RunSession) -> None:
        """Before the next reconnect: when the stack's state names another address for the server (it came back on
        a new port), join there; the same address: go on retrying it."""
        if self.locate is None:
            return
        try:
            url = await asyncio.to_thread(self.locate)
        except Exception:  # the state is unreadable for a moment (being rewritten): retry where we were
            return
        if url and url != session.url:
            await session.move_to(url)
            self.url = url
            self.live.notes.append(f"the server moved to {url}: reconnecting there")

    async def _recovery(self, session: RunSession) -> str:
        """The command that continues a run the restarted server forgot, from the thread's latest checkpoint in
        Postgres (`replay` re-creates a thread the server forgot too)."""
        head = None
        if self.postgres_url is not None:
            try:
                head = await asyncio.to_thread(_latest_checkpoint, self.postgres_url, session.thread_id)
            except Exception:  # Postgres unreachable: name the command with a placeholder and where to find it
                head = None
        if head is None:
            return (f"continue it from its latest checkpoint with `lgconsole replay {session.thread_id} --checkpoint "
                    f"ID` (`lgconsole history {session.thread_id}` lists the checkpoints)")
        return f"continue it from its latest checkpoint with `lgconsole replay {session.thread_id} --checkpoint {head}`"

    # --- a run started elsewhere: its steps from the saved checkpoints ------------------------------------------
    def _saved_steps(self, session: RunSession) -> tuple[SavedSteps, CheckpointFold] | None:
        """Saved checkpoints replace the stream's steps when the stream cannot give them all: its client chose modes
        without updates and tasks, or it cannot replay what came before the attach."""
        modes = set(getattr(session, "stream_modes", None) or [])
        whole = STEP_MODES <= {m.split("-")[0] for m in modes} and session.last_event_id == "0"
        if self.postgres_url is None or whole or not getattr(session, "attached", False):
            return None
        return (SavedSteps(self.postgres_url, session.thread_id, session.run_id, self.graph_spec),
                CheckpointFold(self.live))

    async def _fold_saved(self, saved: tuple[SavedSteps, CheckpointFold], final: bool = False) -> None:
        steps, fold = saved
        checkpoints = await asyncio.to_thread(steps.read)
        if fold.update(checkpoints, time.time(), final=final):
            self._changed()

    async def _poll_saved(self, saved: tuple[SavedSteps, CheckpointFold]) -> None:
        while True:
            try:
                await self._fold_saved(saved)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: say it once a while, keep the stream going
                self.live.notes.append(f"saved checkpoints not readable: {exc}")
            await asyncio.sleep(SAVED_POLL_S)

    # --- inside ------------------------------------------------------------------------------------------------
    def _begin(self, new_run: bool) -> None:
        if new_run:
            self.live = LiveRun()
        self.live.begin()
        self.outcome = None
        self._task = None
        self._changed()

    async def _started(self, coro) -> RunSession:
        session = await self._started_by(coro)
        self.session = session
        return session

    async def _started_by(self, coro):
        try:
            return await coro
        except Exception as exc:
            self.live.fail(str(exc))
            self._changed()
            raise

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.live)
