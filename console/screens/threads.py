"""The Threads screen: every thread from Postgres (filter, status keys, sort, live refresh), a thread's checkpoint
tree (forks are branches, subgraph calls nested), the state at the selected checkpoint and its diff to the parent;
replay, fork (edit the state as JSON), resume and copy through the LangGraph server.

Reads run in thread workers (the reader is psycopg sync) and come back as messages; time travel runs in async
workers and the run it starts is followed by the one RunFollower. The screen's state is one `ThreadsView`
(console/model/thread_browser.py); rows and lines come from console/rows/threads.py. When the server is down the
screen stays useful, read-only, and says so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from lgconsole.stack.checkpoints.records import CheckpointNode, CheckpointState
from lgconsole.widgets.checkpoint_tree_view import CheckpointTreeView
from lgconsole.widgets.diff_view import DiffView
from lgconsole.widgets.filter_input import FilterInput
from lgconsole.widgets.palette import Palette
from lgconsole.widgets.state_view import StateView
from lgconsole.widgets.thread_table import ThreadTable, detail_width

from lgconsole.console.rows.shown import shown
from lgconsole.console.model.thread_browser import ThreadsView, split_key
from lgconsole.console.rows.threads import (
    checkpoint_info,
    diff_sections,
    state_entries,
    status_segments,
    thread_rows,
    tree_items,
)
from lgconsole.console.screens.base import ConsoleScreen
from lgconsole.console.screens.threads_compare import CompareKeys
from lgconsole.console.screens.threads_growth import StateGrowthSection
from lgconsole.console.screens.threads_modals import ForkScreen, ResumeScreen
from lgconsole.console.screens.threads_time_travel import TimeTravelKeys, why
from lgconsole.console.sources.threads import PAGE_SIZE, ServerState, ThreadsData, ThreadsPage, ThreadsSource

__all__ = ["ForkScreen", "ResumeScreen", "ThreadsScreen"]

MIN_REFRESH_SECONDS = 2.0  # the thread list is one GROUP BY over the checkpoint table: not every 100 ms


class ThreadsScreen(CompareKeys, StateGrowthSection, TimeTravelKeys, ConsoleScreen):
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("u", "status('running')", "Running", show=False),
        Binding("e", "status('errored')", "Errored", show=False),
        Binding("w", "status('waiting')", "Waiting", show=False),
        Binding("i", "status('idle')", "Idle", show=False),
        Binding("a", "status('')", "All", show=False),
        Binding("s", "sort", "Sort"),
        Binding("right_square_bracket", "next_page", "Next page", key_display="]", show=False),
        Binding("left_square_bracket", "previous_page", "Previous page", key_display="[", show=False),
        Binding("S", "reverse", "Reverse sort", show=False),
        Binding("p", "replay", "Replay"),
        Binding("f", "fork", "Fork"),
        Binding("r", "resume", "Resume"),
        Binding("y", "copy", "Copy"),
        Binding("t", "trace", "Trace", show=False),
        Binding("g", "growth", "State growth", show=False),
        Binding("m", "mark", "Mark to compare", show=False),
        Binding("equals_sign", "compare", "Compare with marked", key_display="=", show=False),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
    ]

    class ThreadsRead(Message):
        def __init__(self, page: ThreadsPage, query: tuple[str, str, str], offset: int = 0) -> None:
            super().__init__()
            self.page, self.query, self.offset = page, query, offset

    class ThreadsCounted(Message):
        def __init__(self, total: int | str, query: tuple[str, str, str]) -> None:
            super().__init__()
            self.total, self.query = total, query  # a str: why it could not be counted

    class HistoryRead(Message):
        def __init__(self, thread_id: str, nodes: list[CheckpointNode] | None, error: str | None = None) -> None:
            super().__init__()
            self.thread_id, self.nodes, self.error = thread_id, nodes, error

    class StateRead(Message):
        """A checkpoint's state, its parent's, and both already laid out as diff and state lines (in the worker:
        a 10k-message state is ~0.8 s of diffing and formatting, which must not freeze the screen)."""

        def __init__(self, thread_id: str, key: str, state: CheckpointState | None,
                     parent: CheckpointState | None, error: str | None = None,
                     diff: list | None = None, entries: list | None = None) -> None:
            super().__init__()
            self.thread_id, self.key, self.state, self.parent, self.error = thread_id, key, state, parent, error
            self.diff, self.entries = diff or [], entries or []

    class ReadFailed(Message):
        def __init__(self, error: str, server: ServerState | None = None) -> None:
            super().__init__()
            self.error, self.server = error, server

    def __init__(self, source: ThreadsData | None = None, poll: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source: ThreadsData | None = source  # None: the stack's, made on mount
        self.poll = poll
        self.view = ThreadsView()

    # what other screens, tests and benchmarks read of the screen
    @property
    def text_filter(self) -> str:
        return self.view.query.text

    @property
    def state(self) -> CheckpointState | None:
        """The selected checkpoint's state, once read."""
        return self.view.focus.state

    # --- layout ------------------------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static(id="threads-status")
        yield FilterInput(placeholder="filter: text in the thread id, KEY=VALUE in its metadata (user_id=ana), "
                                      "text:WORD in its latest messages; enter applies, esc clears",
                          id="threads-filter")
        yield ThreadTable(id="thread-table")
        with Horizontal(id="thread-detail"):
            yield CheckpointTreeView(id="checkpoint-tree")
            with VerticalScroll(id="checkpoint-pane"):
                yield from self.growth_widgets()
                yield Static(id="checkpoint-info")
                yield DiffView(id="checkpoint-diff")
                yield StateView(id="checkpoint-state")

    def on_mount(self) -> None:  # (ConsoleScreen.on_mount is called by Textual too: handlers run along the MRO)
        if self.source is None:
            self.source = ThreadsSource(self.console.config)
        self._paint_status()
        self.tree_view.show_message("select a thread")
        self.table.focus()
        self.refresh_threads()
        if self.poll:
            seconds = max(MIN_REFRESH_SECONDS, float(self.console.config.ui.refresh_seconds))
            self.set_interval(seconds, self._tick)

    def on_unmount(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    @property
    def table(self) -> ThreadTable:
        return self.query_one(ThreadTable)

    @property
    def tree_view(self) -> CheckpointTreeView:
        return self.query_one(CheckpointTreeView)

    # --- reading (thread workers) ------------------------------------------------------------------------------
    def _tick(self) -> None:
        self.refresh_threads()
        threads, focus = self.view.threads, self.view.focus
        if threads.history_stale and focus.thread_id:
            threads.history_stale = False
            self.load_history(focus.thread_id)

    def refresh_threads(self) -> None:
        if self.view.threads.reading:  # a slow read skips ticks instead of piling up threads
            return
        self.view.threads.reading = True
        self._read_threads(*self.view.query.key, self.view.query.offset)

    @work(thread=True, group="threads-read", exit_on_error=False)
    def _read_threads(self, status: str, text: str, sort: str, offset: int = 0) -> None:
        try:
            page = self.source.read_threads(status, text, sort, offset=offset)
        except Exception as exc:
            server = None
            try:
                server = self.source.server_state()
            except Exception:
                pass
            self.post_message(self.ReadFailed(why(exc), server))
            return
        self.post_message(self.ThreadsRead(page, (status, text, sort), offset))
        if page.total is None:  # the rows are on their way; the count (a scan of every checkpoint) follows
            try:
                total: int | str = self.source.count_threads(status, text)
            except Exception as exc:
                total = why(exc)
            self.post_message(self.ThreadsCounted(total, (status, text, sort)))

    @work(thread=True, exclusive=True, group="threads-history", exit_on_error=False)
    def load_history(self, thread_id: str) -> None:
        try:
            nodes = self.source.read_history(thread_id)
        except Exception as exc:
            self.post_message(self.HistoryRead(thread_id, None, why(exc)))
            return
        self.post_message(self.HistoryRead(thread_id, nodes))

    @work(thread=True, exclusive=True, group="threads-state", exit_on_error=False)
    def load_state(self, thread_id: str, key: str, parent_key: str | None, width: int) -> None:
        try:
            state, parent = self.source.read_state_with_parent(thread_id, *split_key(key),
                                                               parent=split_key(parent_key) if parent_key else None)
            # diff lines wrap in the pane: a changed value is worth two or three lines, not a cut at the half width
            diff = diff_sections(state, parent, max(160, 3 * width))
            entries = state_entries(state.mapping, width=width - 10)
        except Exception as exc:
            self.post_message(self.StateRead(thread_id, key, None, None, why(exc)))
            return
        self.post_message(self.StateRead(thread_id, key, state, parent, diff=diff, entries=entries))

    # --- messages ----------------------------------------------------------------------------------------------
    def on_threads_screen_threads_read(self, message: ThreadsRead) -> None:
        threads, focus = self.view.threads, self.view.focus
        threads.reading = False
        if message.query != self.view.query.key or message.offset != self.view.query.offset:  # changed since
            self.refresh_threads()
            return
        page = message.page
        if page.total is None and threads.page is not None and threads.page.total is not None \
                and threads.answered[:2] == message.query[:2]:
            page = dataclasses.replace(page, total=threads.page.total)  # the last count stands until the next one
        elif page.total is None:
            threads.count_error = None  # a new count is on its way
        previous = threads.summary(focus.thread_id)
        threads.page, threads.server, threads.read_error = page, page.server, None
        threads.answered = message.query
        width = self.table.size.width or self.size.width
        self.table.show(thread_rows(page.summaries, page.now, detail_width(width)), select=focus.pending_thread)
        if focus.pending_thread and focus.pending_thread in {s.thread_id for s in page.summaries}:
            focus.pending_thread = None
        current = threads.summary(focus.thread_id)
        if focus.thread_id and current is not None and previous is not None and (
                current.head_checkpoint_id != previous.head_checkpoint_id
                or current.checkpoint_count != previous.checkpoint_count):
            self.load_history(focus.thread_id)  # the thread moved on: new checkpoints
        self._paint_status()
        self.refresh_bindings()

    def on_threads_screen_threads_counted(self, message: ThreadsCounted) -> None:
        threads = self.view.threads
        if threads.page is None or message.query[:2] != self.view.query.key[:2]:  # counted for other filters
            return
        if isinstance(message.total, int):
            threads.page = dataclasses.replace(threads.page, total=message.total)
            threads.count_error = None
        else:
            threads.count_error = message.total
        self._paint_status()

    def on_threads_screen_read_failed(self, message: ReadFailed) -> None:
        threads = self.view.threads
        threads.reading = False
        threads.read_error = message.error
        if message.server is not None:
            threads.server = message.server
        self._paint_status()
        self.refresh_bindings()

    def on_thread_table_thread_selected(self, message: ThreadTable.ThreadSelected) -> None:
        focus = self.view.focus
        if message.thread_id == focus.thread_id:
            return
        focus.open(message.thread_id)
        self._clear_detail()
        if focus.thread_id is None:
            page = self.view.threads.page
            self.tree_view.show_message("no threads" if page and not page.summaries else "select a thread")
            return
        self.tree_view.show_message("reading the thread's checkpoints…")
        self.load_history(focus.thread_id)
        self.refresh_growth()

    def on_threads_screen_history_read(self, message: HistoryRead) -> None:
        focus = self.view.focus
        if message.thread_id != focus.thread_id:
            return
        if message.error:
            self.tree_view.show_message(shown(message.error))
            return
        latest, select = focus.history_read(message.nodes or [])
        self.tree_view.show(tree_items(focus.tree, focus.new, latest), select=select)
        if select is not None and select == focus.checkpoint:
            self._load_selected()  # same checkpoint, maybe new pending writes

    def on_checkpoint_tree_view_checkpoint_selected(self, message: CheckpointTreeView.CheckpointSelected) -> None:
        if self.view.focus.tree is None or message.key.startswith(("branch:", "sub:")):
            return
        self.view.focus.checkpoint = message.key
        self._load_selected()

    def _load_selected(self) -> None:
        keys = self.view.focus.to_read()
        if keys is None:
            return
        width = max(40, self.query_one("#checkpoint-pane").size.width - 4)
        self.load_state(self.view.focus.thread_id, *keys, width)

    def on_threads_screen_state_read(self, message: StateRead) -> None:
        focus = self.view.focus
        if message.thread_id != focus.thread_id or message.key != focus.checkpoint:
            return
        info = self.query_one("#checkpoint-info", Static)
        info.set_class(bool(message.error), "-error")  # coloured in screens/threads.tcss
        if message.error:
            focus.state = None
            info.update(Text(shown(message.error, multiline=True)))
            self.query_one(DiffView).show([])
            self.query_one(StateView).show("state", [])
            return
        state = focus.state = message.state
        info.update(Text("\n".join(checkpoint_info(state, focus.node_at(message.key)))))
        self.query_one(DiffView).show(message.diff)
        self.query_one(StateView).show(f"state at step {state.step}", message.entries)
        self.refresh_bindings()

    def _clear_detail(self) -> None:
        self.query_one("#checkpoint-info", Static).update("")
        self.query_one(DiffView).show([])  # (not update(""): the view redraws what it was last shown on a theme change)
        self.query_one(StateView).clear()

    def _paint_status(self) -> None:
        palette = Palette.of(self)
        segments = status_segments(self.view, self.size.width)
        self.query_one("#threads-status", Static).update(Text.assemble(
            *((text, palette.style(status, *attributes.split())) for text, status, attributes in segments)))

    def restyle(self) -> None:
        """The status line in the new theme (the table, tree, diff and state views redraw themselves)."""
        self._paint_status()

    # --- keys --------------------------------------------------------------------------------------------------
    def select(self, thread_id: str) -> None:
        """Open one thread (a jump from Triage): the table filtered to it, its checkpoints read."""
        self.view.query.set_text(thread_id)
        self._apply()

    def action_filter(self) -> None:
        self.query_one(FilterInput).open(self.view.query.text)

    def on_filter_input_cleared(self, message: FilterInput.Cleared) -> None:
        message.stop()
        self.table.focus()
        if self.view.query.text:
            self.view.query.set_text("")
            self._apply()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, FilterInput):
            return super().on_input_submitted(event)
        event.stop()
        self.view.query.set_text(event.value.strip())
        event.input.close()
        self.table.focus()
        self._apply()

    def action_status(self, status: str) -> None:
        self.view.query.toggle_status(status)
        self._apply()

    def action_sort(self) -> None:
        self.view.query.next_sort()
        self._apply()

    def action_reverse(self) -> None:
        self.view.query.reverse()
        self._apply()

    trace_source = None  # what the Trace view reads (None: the stack's; tests give recorded data)

    def action_trace(self) -> None:
        """The selected thread's latest run as a trace, with the thread's state growth."""
        from lgconsole.console.screens.trace import TraceScreen

        if self.view.focus.thread_id is None:
            self.notify("trace: select a thread first", severity="warning")
            return
        self.app.push_screen(TraceScreen(self.view.focus.thread_id, self.trace_source))

    def action_next_page(self) -> None:
        page = self.view.threads.page
        if page is not None and self.view.query.next_page(len(page.summaries), self.page_size, page.total):
            self._apply()

    def action_previous_page(self) -> None:
        if self.view.query.previous_page(self.page_size):
            self._apply()

    @property
    def page_size(self) -> int:
        return getattr(self.source, "page_size", PAGE_SIZE)

    def action_refresh(self) -> None:
        self._apply()
        if self.view.focus.thread_id:
            self.load_history(self.view.focus.thread_id)

    def _apply(self) -> None:
        self._paint_status()
        self.view.threads.reading = False
        self.refresh_threads()
