"""The Trace view (a modal over the Live and Threads screens): a run's node steps as a waterfall with their model
calls and tokens, the run's totals, cost and tracer link, the thread's state size per checkpoint with its largest
keys, and the slowest nodes across recent runs. The read runs in a thread worker (TraceSource); a running run is
read again every few seconds. Styled in screens/threads.tcss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from lgconsole.widgets.sparkline import TitledSparkline
from lgconsole.widgets.waterfall import Waterfall

from lgconsole.console.model.text import format_bytes
from lgconsole.console.rows.shown import shown
from lgconsole.console.rows.trace import waterfall_rows
from lgconsole.console.rows.trace_text import growth_lines, slowest_lines, summary_lines
from lgconsole.console.screens.base import WorkerErrors

RUNNING_REFRESH_S = 2.0


class TraceData(Protocol):
    def report(self, ref: str, first_token_by_task: Mapping[str, float] | None = None,
               status: str | None = None) -> Any: ...


def _text(lines: list[str]) -> Text:
    return Text(shown("\n".join(lines), multiline=True))  # a user's node names, errors, keys: masked, escaped, no markup


class TraceScreen(WorkerErrors, ModalScreen):
    BINDINGS = [Binding("escape,q", "close", "Close"), Binding("r", "reload", "Reload")]

    class TraceRead(Message):
        def __init__(self, report: Any) -> None:
            super().__init__()
            self.report = report

    def __init__(self, ref: str, source: TraceData | None = None, first_tokens: Mapping[str, float] | None = None,
                 status: str | None = None, poll: bool = True):
        super().__init__()
        self.ref = ref  # a run id, or a thread id (its latest run)
        self.source = source
        self.first_tokens = dict(first_tokens or {})
        self.status = status
        self.poll = poll
        self.report: Any = None

    def compose(self) -> ComposeResult:
        with Vertical(id="trace-box"):
            yield Static(Text(f"Trace of {self.ref}", style="bold"), id="trace-title")
            with VerticalScroll(id="trace-body"):
                yield Static(Text("reading the run's checkpoints…", style="italic"), id="trace-summary")
                yield Waterfall(id="trace-waterfall")
                yield TitledSparkline("state size", title_width=11, text_width=18, id="trace-growth")
                yield Static(id="trace-growth-keys")
                yield Static(id="trace-slowest")

    def on_mount(self) -> None:
        if self.source is None:
            from lgconsole.console.sources.trace import TraceSource

            self.source = TraceSource(self.app.config)  # type: ignore[attr-defined]
        self.load()

    def on_unmount(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    @work(thread=True, exclusive=True, exit_on_error=False, name="trace")
    def load(self) -> None:
        self.post_message(self.TraceRead(self.source.report(self.ref, self.first_tokens, self.status)))

    def on_trace_screen_trace_read(self, message: TraceRead) -> None:
        report = self.report = message.report
        trace = report.trace
        self.query_one("#trace-title", Static).update(
            Text("Trace: node steps from the run's checkpoints (r reloads, esc closes)", style="bold"))
        self.query_one("#trace-summary", Static).update(_text(summary_lines(trace)))
        self.query_one(Waterfall).show(waterfall_rows(trace), empty="no node steps saved for this run yet")
        growth = report.growth
        spark = self.query_one("#trace-growth", TitledSparkline)
        if growth is not None:
            messages = [m for m in growth.messages if m is not None]
            text = format_bytes(growth.head_bytes) + (f", {messages[-1]} msgs" if messages else "")
            spark.show(growth.totals, text, alert=growth.keeps_growing())
            self.query_one("#trace-growth-keys", Static).update(_text(growth_lines(growth)[1:]))
        self.query_one("#trace-slowest", Static).update(
            _text(["slowest nodes across recent runs (mean duration):", *slowest_lines(report.slowest)]))
        if self.poll and trace.status in ("pending", "running"):
            self.set_timer(RUNNING_REFRESH_S, self.load)

    def worker_failed(self, worker, cause: str) -> None:
        self.query_one("#trace-summary", Static).update(Text(f"trace failed: {cause}", style="bold"))

    def action_reload(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
