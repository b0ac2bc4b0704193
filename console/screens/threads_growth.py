"""The Threads screen's state-growth section: `g` shows (and hides) the selected thread's state size per checkpoint
as a sparkline, its message count, largest keys and the keys that grew, read from SQL by a thread worker (the trace
source's `growth`). A mixin of ThreadsScreen: it reads the screen's `view.focus` and `trace_source`."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from lgconsole.widgets.sparkline import TitledSparkline

from lgconsole.console.model.masking import mask_text
from lgconsole.console.model.text import format_bytes
from lgconsole.console.rows.trace_text import growth_lines


class StateGrowthSection:
    """`g`: the selected thread's state growth above its checkpoint's detail; hidden until asked for."""

    growth_shown = False
    _growth_source: Any = None

    class GrowthRead(Message):
        def __init__(self, thread_id: str, growth: Any, error: str | None = None) -> None:
            super().__init__()
            self.thread_id, self.growth, self.error = thread_id, growth, error

    def growth_widgets(self):
        yield TitledSparkline("state size", title_width=11, text_width=18, id="thread-growth")
        yield Static(id="thread-growth-keys")

    def action_growth(self) -> None:
        self.growth_shown = not self.growth_shown
        for widget in (self.query_one("#thread-growth"), self.query_one("#thread-growth-keys")):
            widget.set_class(self.growth_shown, "-shown")  # shown by screens/threads.tcss
        if self.growth_shown:
            self.refresh_growth()

    def refresh_growth(self) -> None:
        """Read the selected thread's growth again, when the section is shown."""
        thread_id = self.view.focus.thread_id
        if not self.growth_shown:
            return
        if thread_id is None:
            self.query_one("#thread-growth-keys", Static).update(Text("select a thread", style="dim"))
            return
        self.read_growth(thread_id)

    @work(thread=True, exclusive=True, group="threads-growth", exit_on_error=False)
    def read_growth(self, thread_id: str) -> None:
        source = self.trace_source or self._growth_source
        if source is None:
            from lgconsole.console.sources.trace import TraceSource

            source = self._growth_source = TraceSource(self.app.config)
        try:
            growth = source.growth(thread_id)
        except Exception as exc:
            from lgconsole.console.screens.threads_time_travel import why

            self.post_message(self.GrowthRead(thread_id, None, why(exc)))
            return
        self.post_message(self.GrowthRead(thread_id, growth))

    def on_state_growth_section_growth_read(self, message: GrowthRead) -> None:
        if message.thread_id != self.view.focus.thread_id:
            return
        keys = self.query_one("#thread-growth-keys", Static)
        if message.error:
            keys.update(Text(f"state growth: {message.error}"))
            return
        growth = message.growth
        messages = [m for m in growth.messages if m is not None]
        text = format_bytes(growth.head_bytes) + (f", {messages[-1]} msgs" if messages else "")
        self.query_one("#thread-growth", TitledSparkline).show(growth.totals, text, alert=growth.keeps_growing())
        keys.update(Text(mask_text("\n".join(growth_lines(growth)[1:]))))

    def on_unmount(self) -> None:
        if self._growth_source is not None:
            self._growth_source.close()
            self._growth_source = None
