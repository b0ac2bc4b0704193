"""Two checkpoints of a thread side by side: `m` on the Threads screen marks the selected checkpoint, `=` on another
opens CompareScreen (a modal) with both states in two columns, each key and message marked where the two differ,
the diff from the marked one to the selected one under them, and where their branches part. The states are read in
one thread worker (the source's `read_state_with_parent`) and laid out there (console/rows/branch_compare.py)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from lgconsole.widgets.diff_view import DiffView

from lgconsole.console.model.branch_compare import fork_point
from lgconsole.console.model.thread_browser import split_key
from lgconsole.console.rows.branch_compare import compare_columns
from lgconsole.console.rows.shown import shown
from lgconsole.console.rows.threads import short_id
from lgconsole.console.screens.base import WorkerErrors


class CompareKeys:
    """`m` marks the selected checkpoint, `=` compares it with the one selected now. A mixin of ThreadsScreen."""

    compare_mark: tuple[str, str] | None = None  # (thread id, tree key) of the marked checkpoint

    def action_mark(self) -> None:
        focus = self.view.focus
        if focus.thread_id is None or focus.checkpoint is None or focus.state is None:
            self.notify("mark: select a thread and a checkpoint first", severity="warning")
            return
        self.compare_mark = (focus.thread_id, focus.checkpoint)
        self.notify(shown(f"marked {short_id(focus.state.checkpoint_id)} (step {focus.state.step}): select "
                          "another checkpoint of this thread and press = to compare them side by side"))

    def action_compare(self) -> None:
        focus = self.view.focus
        mark = self.compare_mark
        if mark is None or mark[0] != focus.thread_id:
            self.notify("compare: mark a checkpoint of this thread with m first, then select another and press =",
                        severity="warning")
            return
        if focus.checkpoint is None or focus.checkpoint == mark[1]:
            self.notify("compare: select another checkpoint than the marked one", severity="warning")
            return
        a, b = split_key(mark[1]), split_key(focus.checkpoint)
        parted = fork_point(focus.tree, a, b) if focus.tree is not None else None
        self.app.push_screen(CompareScreen(self.source, focus.thread_id, a, b, parted))


class CompareScreen(WorkerErrors, ModalScreen):
    """The marked checkpoint (left) and the selected one (right), with their diff; esc closes."""

    BINDINGS = [Binding("escape,q", "close", "Close"), Binding("x", "swap", "Swap sides")]

    class Compared(Message):
        def __init__(self, columns: tuple | None, error: str | None = None) -> None:
            super().__init__()
            self.columns, self.error = columns, error

    def __init__(self, source: Any, thread_id: str, a: tuple[str, str], b: tuple[str, str],
                 parted: Any = None) -> None:
        super().__init__()
        self.source, self.thread_id, self.a, self.b, self.parted = source, thread_id, a, b, parted
        self.labels = ("marked", "selected")

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-box"):
            yield Static(self._title(), id="compare-title")
            with Horizontal(id="compare-columns"):
                with VerticalScroll(id="compare-left"):
                    yield DiffView(id="compare-a")
                with VerticalScroll(id="compare-right"):
                    yield DiffView(id="compare-b")
            with VerticalScroll(id="compare-bottom"):
                yield DiffView(id="compare-diff")

    def _title(self) -> Text:
        where = "their branches part at "
        if self.parted is None:
            where += "no common checkpoint"
        elif self.parted.checkpoint_id in (self.a[0], self.b[0]):
            where = f"one descends from the other ({short_id(self.parted.checkpoint_id)}, step {self.parted.step})"
        else:
            where += f"{short_id(self.parted.checkpoint_id)} (step {self.parted.step})"
        return Text(shown(f"thread {self.thread_id}: {short_id(self.a[0])} vs {short_id(self.b[0])}; {where}  "
                          "(x swaps sides, esc closes)"), style="bold")

    def on_mount(self) -> None:
        self.query_one("#compare-diff", DiffView).show([("reading both states…", [])])
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="compare")
    def load(self) -> None:
        try:
            right, left = self.source.read_state_with_parent(self.thread_id, self.b[0], self.b[1], parent=self.a)
            width = max(40, (self.size.width or 120) // 2 - 12)
            columns = compare_columns(left, right, width, self.labels)
        except Exception as exc:
            from lgconsole.console.screens.threads_time_travel import why

            self.post_message(self.Compared(None, why(exc)))
            return
        self.post_message(self.Compared(columns))

    def on_compare_screen_compared(self, message: Compared) -> None:
        if message.error:
            self.query_one("#compare-diff", DiffView).show([("compare failed", [f"! {shown(message.error)}"])])
            return
        left, right, diff = message.columns
        self.query_one("#compare-a", DiffView).show(left)
        self.query_one("#compare-b", DiffView).show(right)
        self.query_one("#compare-diff", DiffView).show(diff)

    def action_swap(self) -> None:
        self.a, self.b = self.b, self.a
        self.labels = self.labels[::-1]
        self.query_one("#compare-title", Static).update(self._title())
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
