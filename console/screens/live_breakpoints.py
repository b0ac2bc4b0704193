"""The Live screen's keys at a breakpoint: the stop (where, and the state there) in a panel, `r` continues (a run with
no input on the same thread, the same breakpoints kept), `e` opens the state in the Threads screen's fork editor and
goes on from the edited checkpoint. A mixin of LiveScreen: it uses the screen's `live`, `thread_id`,
`run_breakpoints` and `run_stream`."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.widgets import Static

from lgconsole.widgets.palette import Palette

from lgconsole.console.model.breakpoints import stop_text
from lgconsole.console.model.interrupts import payload_json
from lgconsole.console.model.masking import mask_secrets
from lgconsole.console.model.status import RunStatus
from lgconsole.console.model.sanitise import printable

BREAK_STATE_KEYS = 8  # state keys shown at a breakpoint's stop


class BreakpointKeys:
    """`r` continue and `e` edit-then-continue for a run stopped at a breakpoint, and the panel that says where."""

    @property
    def at_breakpoint(self) -> bool:
        """The run stopped at a breakpoint: the thread waits, with no interrupt() to answer."""
        return self.live.status == RunStatus.WAITING and not self.live.interrupts

    def _paint_breakpoint(self) -> None:
        """Where a run stopped at a breakpoint waits, the state there, and the keys that go on."""
        panel = self.query_one("#breakpoint-panel", Static)
        panel.display = self.at_breakpoint
        if not self.at_breakpoint:
            return
        palette = Palette.of(self)
        outcome = self.live.outcome
        last = next((s.node for s in reversed(self.live.steps)), None)
        where = stop_text(list(getattr(outcome, "next", None) or []), self.run_breakpoints, last)
        text = Text()
        width = max(40, self.size.width - 4)  # one line a key: the editor (e) shows them whole
        text.append(f"◆ stopped at a breakpoint {where}", style=palette.style("waiting", "bold"))
        text.append("   r: continue   e: edit the state, then continue", style="dim")
        for key, value in list(self.live.state.items())[:BREAK_STATE_KEYS]:
            text.append(f"\n  {key}: ", style=palette.style("waiting"))
            text.append(printable(payload_json(mask_secrets({key: value})[key], limit=max(10, width - len(key) - 4))))
        if len(self.live.state) > BREAK_STATE_KEYS:
            text.append(f"\n  … {len(self.live.state) - BREAK_STATE_KEYS} more keys (e shows them all)", style="dim")
        panel.update(text)

    def action_continue_run(self) -> None:
        if not self.at_breakpoint or not self.thread_id:
            self.notify("the run is not stopped at a breakpoint", severity="warning")
            return
        self.run_stream("continue", thread_id=self.thread_id)

    def action_edit_and_continue(self) -> None:
        """The state at the stop in the fork editor (the Threads screen's): the edit is written as a new checkpoint
        on the thread, and the run goes on from it with the same breakpoints."""
        outcome = self.live.outcome
        if not self.at_breakpoint or not self.thread_id or outcome is None or not outcome.checkpoint_id:
            self.notify("the run is not stopped at a breakpoint", severity="warning")
            return
        self._open_editor(self.thread_id, outcome.checkpoint_id)

    @work(group="live-edit", name="read the state at the breakpoint", exit_on_error=False)
    async def _open_editor(self, thread_id: str, checkpoint_id: str) -> None:
        from lgconsole.console.screens.threads_modals import ForkScreen
        from lgconsole.console.sources.threads import ThreadsSource

        source = ThreadsSource(self.app.config)
        try:
            state = await asyncio.to_thread(source.read_state, thread_id, checkpoint_id)
        except BaseException:
            await asyncio.to_thread(source.close)
            raise
        breakpoints = self.run_breakpoints

        async def submit(update: dict, as_node: str | None):
            return await source.fork(thread_id, checkpoint_id, update, as_node, run_kwargs=breakpoints.run_kwargs())

        def done(result) -> None:
            source.close()
            if result is not None and result.session is not None:
                self.run_stream("adopt", session=result.session)

        last = next((s.node for s in reversed(self.live.steps)), "")
        self.app.push_screen(ForkScreen(thread_id, state, last, submit, title=f"Edit the state of thread {thread_id} "
                                        "at the breakpoint, then continue", action="Continue",
                                        then="the run then goes on from the new checkpoint"), done)

