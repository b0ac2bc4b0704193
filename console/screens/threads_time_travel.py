"""The Threads screen's time-travel keys (replay, fork, resume, copy through the LangGraph server) and the run they
start, followed by the one RunFollower into the status line. A mixin of ThreadsScreen: it acts on the screen's
`view` and `source` and asks the screen to read again (`_apply`, `load_history`, `_paint_status`)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work

from lgconsole.stack.checkpoints.records import CheckpointState
from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line

from lgconsole.console.model.thread_browser import LATEST, checkpoint_key
from lgconsole.console.rows.threads import interrupt_question
from lgconsole.console.screens.confirm import ConfirmScreen
from lgconsole.console.screens.threads_modals import ForkScreen, ResumeScreen

SERVER_ACTIONS = ("replay", "fork", "resume", "copy")


def why(exc: BaseException) -> str:
    """One line for a failed read or action: a StackError says it itself, anything else with its type."""
    return str(exc) if isinstance(exc, StackError) else f"{type(exc).__name__}: {one_line(exc)}"


class TimeTravelKeys:
    """`p` replay, `f` fork, `r` resume, `y` copy; disabled (shown so) while the server is down."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        server = self.view.threads.server
        if action in SERVER_ACTIONS and server is not None and not server.up:
            return None  # shown disabled: the status line says why
        return True

    # --- the keys ----------------------------------------------------------------------------------------------
    def _selected_root_state(self, what: str) -> CheckpointState | None:
        focus = self.view.focus
        if focus.thread_id is None or focus.state is None:
            self.notify(f"{what}: select a thread and a checkpoint first", severity="warning")
            return None
        if focus.state.checkpoint_ns:
            self.notify(f"{what}: this checkpoint is inside a subgraph call; pick one of the root graph",
                        severity="warning")
            return None
        return focus.state

    def action_replay(self) -> None:
        state = self._selected_root_state("replay")
        if state is None:
            return
        thread_id = self.view.focus.thread_id
        nxt = ", ".join(dict.fromkeys(state.next)) or "whatever is due"

        def answered(yes: bool | None) -> None:
            if yes:
                self.view.focus.expect_new(thread_id, LATEST)
                self.replay(thread_id, state.checkpoint_id, state.step)

        self.app.push_screen(ConfirmScreen(f"Replay thread {thread_id} from step {state.step}? It runs {nxt} "
                                           "again, on a new branch."), answered)

    @work(group="threads-action", exit_on_error=False)
    async def replay(self, thread_id: str, checkpoint_id: str, step: int | None) -> None:
        label, followed = f"replay from step {step}", self.view.followed
        followed.label, followed.run, followed.note = label, None, None  # "starting…"
        self._paint_status()
        try:
            started = await self.source.replay(thread_id, checkpoint_id)
        except Exception as exc:
            followed.label = None
            self.view.focus.pending = None
            self._paint_status()
            self.notify(why(exc), severity="error", timeout=10)
            return
        self.follow_run(label, thread_id, started.session)

    def action_fork(self) -> None:
        state = self._selected_root_state("fork")
        if state is None:
            return
        focus = self.view.focus
        thread_id = focus.thread_id

        async def submit(update: dict, as_node: str | None):
            focus.expect_new(thread_id, None)
            return await self.source.fork(thread_id, state.checkpoint_id, update, as_node)

        def done(result: Any) -> None:
            if result is None:
                return
            keys = ", ".join(result.update) or "no keys"
            focus.pending = checkpoint_key(result.checkpoint_id)
            self.notify(f"forked at step {state.step}: new checkpoint {result.checkpoint_id} ({keys})")
            if result.session is not None:
                self.follow_run(f"fork at step {state.step} ({keys})", thread_id, result.session)
            elif thread_id == focus.thread_id:
                self.load_history(thread_id)

        self.app.push_screen(ForkScreen(thread_id, state, ", ".join(focus.writers()), submit), done)

    def action_resume(self) -> None:
        focus = self.view.focus
        if focus.thread_id is None:
            self.notify("resume: select a thread first", severity="warning")
            return
        thread_id = focus.thread_id
        summary = self.view.threads.summary(thread_id)
        if summary is not None and summary.status.value != "waiting":
            self.notify(f"resume: thread {thread_id} does not wait on an interrupt (it is {summary.status.value})",
                        severity="warning")
            return

        async def submit(value: Any):
            focus.expect_new(thread_id, LATEST)
            return await self.source.resume(thread_id, value)

        def done(started: Any) -> None:
            if started is not None:
                self.follow_run("resume", thread_id, started.session)

        self.app.push_screen(ResumeScreen(thread_id, interrupt_question(summary), submit), done)

    def action_copy(self) -> None:
        if self.view.focus.thread_id is None:
            self.notify("copy: select a thread first", severity="warning")
            return
        self.copy(self.view.focus.thread_id)

    @work(group="threads-action", exit_on_error=False)
    async def copy(self, thread_id: str) -> None:
        try:
            result = await self.source.copy(thread_id)
        except Exception as exc:
            self.notify(str(exc) if isinstance(exc, StackError) else f"copy: {one_line(exc)}", severity="error",
                        timeout=10)
            return
        self.notify(f"copied thread {thread_id} to {result.thread_id}")
        self.view.focus.pending_thread = result.thread_id
        self._apply()

    # --- the run a replay, fork or resume started --------------------------------------------------------------
    @work(exclusive=True, group="threads-run", exit_on_error=False)
    async def follow_run(self, label: str, thread_id: str, session: Any) -> None:
        from lgconsole.console.sources.run_follower import RunFollower  # the SDK loads when a run is followed

        followed = self.view.followed

        def on_event(event: Any) -> None:
            if event.mode in ("updates", "values") and thread_id == self.view.focus.thread_id:
                self.view.threads.history_stale = True

        follower = RunFollower(session.url, on_event=on_event, on_change=lambda live: self._paint_status())
        follower.adopt(session)
        followed.label, followed.run, followed.note = label, follower.live, f"run {session.run_id}"
        try:
            outcome = await follower.follow()
            if outcome.thread_status:
                followed.note = f"thread is {outcome.thread_status}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the follower marked the run failed; say why here too
            self.notify(follower.live.error or why(exc), severity="error", timeout=10)
        focus = self.view.focus
        if focus.pending is None:
            focus.pending = LATEST
        self._apply()
        if thread_id == focus.thread_id:
            self.load_history(thread_id)
