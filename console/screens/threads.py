"""The Threads screen: every thread from Postgres (filter, status keys, sort, live refresh), a thread's checkpoint
tree (forks are branches, subgraph calls nested), the state at the selected checkpoint and its diff to the parent;
replay, fork (edit the state as JSON), resume and copy through the LangGraph server.

Reads run in thread workers (the reader is psycopg sync) and come back as messages; time travel runs in async
workers and the run it starts is streamed into a LiveRun. When the server is down the screen stays useful,
read-only, and says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Awaitable, Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from lgconsole.stack.checkpoints.reader import CheckpointNode, CheckpointState, ThreadSummary
from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line
from lgconsole.widgets.checkpoint_tree_view import CheckpointTreeView
from lgconsole.widgets.diff_view import DiffView
from lgconsole.widgets.state_view import StateView
from lgconsole.widgets.thread_table import ThreadTable, detail_width

from lgconsole.console.model.checkpoint_tree import CheckpointTree
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.sources.threads import (
    SORT_TITLES,
    SORTS,
    EditError,
    ServerState,
    ThreadsPage,
    ThreadsSource,
    checkpoint_info,
    checkpoint_key,
    diff_sections,
    fork_update,
    interrupt_question,
    latest_checkpoint,
    parse_answer,
    split_key,
    state_entries,
    thread_rows,
    tree_items,
    values_json,
)
from lgconsole.console.screens.base import ConsoleScreen

MIN_REFRESH_SECONDS = 2.0  # the thread list is one GROUP BY over the checkpoint table: not every 100 ms
STATUS_KEYS = {"errored": "e", "waiting": "w", "idle": "i"}
READ_ONLY = ("LangGraph server down: read-only. History, state and diffs come from Postgres; "
             "replay, fork, resume and copy need the server")


# --- modals ------------------------------------------------------------------------------------------------------

class _SendingModal(ModalScreen):
    """A modal whose submit awaits the server itself: an error keeps it open with the input intact."""

    def __init__(self, submit: Callable[..., Awaitable[Any]]):
        super().__init__()
        self.submit = submit
        self.sending = False

    def show_error(self, text: str) -> None:
        self.query_one(".modal-error", Static).update(Text(text, style="bold red"))

    def show_progress(self, text: str) -> None:
        self.query_one(".modal-error", Static).update(Text(text, style="italic"))

    @work(exclusive=True, group="modal-send", exit_on_error=False)
    async def send(self, *args: Any) -> None:
        from lgconsole.stack.server.time_travel import ForkRunFailed

        self.sending = True
        self.show_progress("sending…")
        try:
            result = await self.submit(*args)
        except ForkRunFailed as exc:  # the checkpoint was written: the edit is spent, say what to do next
            self.app.notify(str(exc), severity="error", timeout=15)
            self.dismiss(None)
            return
        except StackError as exc:
            self.show_error(str(exc))
            return
        except Exception as exc:  # never lose the edit to a traceback
            self.show_error(f"{type(exc).__name__}: {one_line(exc)}")
            return
        finally:
            self.sending = False
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ForkScreen(_SendingModal):
    """The state at a checkpoint as JSON, to edit; validated before anything is sent; an optional as-node."""

    DEFAULT_CSS = """
    ForkScreen { align: center middle; }
    ForkScreen > Vertical { width: 100; max-width: 95%; height: 90%; border: round $accent; background: $surface;
                            padding: 0 1; }
    ForkScreen #fork-title { text-style: bold; }
    ForkScreen #fork-hint { color: $text-muted; height: auto; }
    ForkScreen TextArea { height: 1fr; }
    ForkScreen .modal-error { height: auto; }
    ForkScreen Horizontal { height: auto; align-horizontal: right; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Fork and run")]

    def __init__(self, thread_id: str, state: CheckpointState, nodes_hint: str,
                 submit: Callable[[dict, str | None], Awaitable[Any]]):
        super().__init__(submit)
        self.thread_id = thread_id
        self.state = state
        self.nodes_hint = nodes_hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Fork thread {self.thread_id} at step {self.state.step} ({self.state.checkpoint_id})",
                        id="fork-title")
            yield Static("Edit the state below. Only the keys you change are sent (update_state: reducers apply, so "
                         "messages merge by id); the graph then runs from the new checkpoint, a new branch.",
                         id="fork-hint")
            yield TextArea(values_json(self.state.values), id="fork-values", language=None, soft_wrap=False)
            yield Label(f"As node (optional; decides what runs next){': ' + self.nodes_hint if self.nodes_hint else ''}")
            yield Input(placeholder="empty: as the node that wrote this checkpoint", id="fork-as-node")
            yield Static("", classes="modal-error")
            with Horizontal():
                yield Button("Fork and run (ctrl+s)", variant="primary", id="fork-submit")
                yield Button("Cancel (esc)", id="fork-cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "fork-submit":
            self.action_submit()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        if self.sending:
            return
        try:
            update = fork_update(self.state.values, self.query_one(TextArea).text)
        except EditError as exc:
            self.show_error(str(exc))
            return
        as_node = self.query_one("#fork-as-node", Input).value.strip() or None
        self.send(update, as_node)


class ResumeScreen(_SendingModal):
    """The interrupt's question and an answer (JSON or text)."""

    DEFAULT_CSS = """
    ResumeScreen { align: center middle; }
    ResumeScreen > Vertical { width: 90; max-width: 95%; height: auto; border: round $accent; background: $surface;
                              padding: 0 1; }
    ResumeScreen #resume-question { height: auto; max-height: 8; margin-bottom: 1; }
    ResumeScreen .modal-error { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, thread_id: str, question: str, submit: Callable[[Any], Awaitable[Any]]):
        super().__init__(submit)
        self.thread_id = thread_id
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Resume thread {self.thread_id}", id="resume-title")
            yield Static(Text(self.question or "(the interrupt carries no question)", style="bold magenta"),
                         id="resume-question")
            yield Input(placeholder='answer: JSON (true, {"approved": false, "note": "..."}) or text; enter sends',
                        id="resume-value")
            yield Static("", classes="modal-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.sending:
            return
        try:
            value = parse_answer(event.value)
        except EditError as exc:
            self.show_error(str(exc))
            return
        self.send(value)


class FilterInput(Input):
    DEFAULT_CSS = """
    FilterInput { display: none; height: 1; border: none; padding: 0 1; background: $boost; }
    FilterInput.-open { display: block; }
    """
    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    def action_close(self) -> None:
        self.screen.close_filter(clear=True)


# --- the screen --------------------------------------------------------------------------------------------------

class ThreadsScreen(ConsoleScreen):
    DEFAULT_CSS = """
    ThreadsScreen #threads-status { height: auto; padding: 0 1; }
    ThreadsScreen #thread-table { height: auto; max-height: 35%; min-height: 4; }
    ThreadsScreen #thread-detail { height: 1fr; border-top: solid $panel; }
    ThreadsScreen #checkpoint-tree { width: 48%; border-right: vkey $panel; overflow-x: hidden; }
    ThreadsScreen #checkpoint-pane { width: 1fr; }
    ThreadsScreen #checkpoint-info { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("e", "status('errored')", "Errored", show=False),
        Binding("w", "status('waiting')", "Waiting", show=False),
        Binding("i", "status('idle')", "Idle", show=False),
        Binding("a", "status('')", "All", show=False),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse sort", show=False),
        Binding("p", "replay", "Replay"),
        Binding("f", "fork", "Fork"),
        Binding("r", "resume", "Resume"),
        Binding("y", "copy", "Copy"),
        Binding("ctrl+r", "refresh", "Refresh", show=False),
    ]
    SERVER_ACTIONS = ("replay", "fork", "resume", "copy")

    class ThreadsRead(Message):
        def __init__(self, page: ThreadsPage, query: tuple[str, str, str]) -> None:
            super().__init__()
            self.page, self.query = page, query

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

    def __init__(self, source: Any = None, poll: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.poll = poll
        self.status_filter = ""
        self.text_filter = ""
        self.sort_key = "last_activity"
        self.descending = True
        self.page: ThreadsPage | None = None
        self.server: ServerState | None = None
        self.read_error: str | None = None
        self.thread_id: str | None = None
        self.nodes: list[CheckpointNode] | None = None
        self.ctree: CheckpointTree | None = None
        self.checkpoint: str | None = None  # the selected tree key
        self.state: CheckpointState | None = None
        self.run_label: str | None = None
        self.run: LiveRun | None = None
        self.run_note: str | None = None
        self.count_error: str | None = None  # why the last count failed
        self._page_query: tuple[str, str, str] = ("", "", "")  # what self.page answered
        self._reading = False
        self._history_dirty = False
        self._pending_select: str | None = None  # a tree key, or "latest"
        self._pending_thread: str | None = None
        self._before: set[str] | None = None  # the thread's checkpoints before our last write: the rest are new
        self._new: set[str] = set()

    # --- layout ------------------------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static(id="threads-status")
        yield FilterInput(placeholder="filter: text in the thread id; enter applies, esc clears", id="threads-filter")
        yield ThreadTable(id="thread-table")
        with Horizontal(id="thread-detail"):
            yield CheckpointTreeView(id="checkpoint-tree")
            with VerticalScroll(id="checkpoint-pane"):
                yield Static(id="checkpoint-info")
                yield DiffView(id="checkpoint-diff")
                yield StateView(id="checkpoint-state")

    def on_mount(self) -> None:
        super().on_mount()
        if self.source is None:
            self.source = ThreadsSource(self.app.config)
        self._paint_status()
        self.query_one(CheckpointTreeView).show_message("select a thread")
        self.table.focus()
        self.refresh_threads()
        if self.poll:
            seconds = max(MIN_REFRESH_SECONDS, float(self.app.config.ui.refresh_seconds))
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
        if self._history_dirty and self.thread_id:
            self._history_dirty = False
            self.load_history(self.thread_id)

    @property
    def list_query(self) -> tuple[str, str, str]:
        """What the table shows: (status, text, sort)."""
        return self.status_filter, self.text_filter, ("-" if self.descending else "") + self.sort_key

    def refresh_threads(self) -> None:
        if self._reading:  # a slow read skips ticks instead of piling up threads
            return
        self._reading = True
        self._read_threads(*self.list_query)

    @work(thread=True, group="threads-read", exit_on_error=False)
    def _read_threads(self, status: str, text: str, sort: str) -> None:
        try:
            page = self.source.read_threads(status, text, sort)
        except Exception as exc:
            server = None
            try:
                server = self.source.server_state()
            except Exception:
                pass
            self.post_message(self.ReadFailed(str(exc) if isinstance(exc, StackError) else
                                              f"{type(exc).__name__}: {one_line(exc)}", server))
            return
        self.post_message(self.ThreadsRead(page, (status, text, sort)))
        if page.total is None:  # the rows are on their way; the count (a scan of every checkpoint) follows
            try:
                total: int | str = self.source.count_threads(status, text)
            except Exception as exc:
                total = str(exc) if isinstance(exc, StackError) else f"{type(exc).__name__}: {one_line(exc)}"
            self.post_message(self.ThreadsCounted(total, (status, text, sort)))

    @work(thread=True, exclusive=True, group="threads-history", exit_on_error=False)
    def load_history(self, thread_id: str) -> None:
        try:
            nodes = self.source.read_history(thread_id)
        except Exception as exc:
            self.post_message(self.HistoryRead(thread_id, None, str(exc) if isinstance(exc, StackError)
                                               else f"{type(exc).__name__}: {one_line(exc)}"))
            return
        self.post_message(self.HistoryRead(thread_id, nodes))

    @work(thread=True, exclusive=True, group="threads-state", exit_on_error=False)
    def load_state(self, thread_id: str, key: str, parent_key: str | None, width: int) -> None:
        cid, ns = split_key(key)
        try:
            state = self.source.read_state(thread_id, cid, ns)
            parent = None
            if parent_key:
                pid, pns = split_key(parent_key)
                parent = self.source.read_state(thread_id, pid, pns)
            # diff lines wrap in the pane: a changed value is worth two or three lines, not a cut at the half width
            diff = diff_sections(state, parent, max(160, 3 * width))
            entries = state_entries(state.values, width=width - 10)
        except Exception as exc:
            self.post_message(self.StateRead(thread_id, key, None, None, str(exc) if isinstance(exc, StackError)
                                             else f"{type(exc).__name__}: {one_line(exc)}"))
            return
        self.post_message(self.StateRead(thread_id, key, state, parent, diff=diff, entries=entries))

    # --- messages ----------------------------------------------------------------------------------------------
    def on_threads_screen_threads_read(self, message: ThreadsRead) -> None:
        self._reading = False
        if message.query != self.list_query:  # answered for a filter or sort changed since: read again
            self.refresh_threads()
            return
        page = message.page
        if page.total is None and self.page is not None and self.page.total is not None \
                and self._page_query[:2] == message.query[:2]:
            page = dataclasses.replace(page, total=self.page.total)  # the last count stands until the next one
        elif page.total is None:
            self.count_error = None  # a new count is on its way
        previous = self._summary(self.thread_id)
        self.page, self.server, self.read_error = page, page.server, None
        self._page_query = message.query
        width = self.table.size.width or self.size.width
        self.table.show(thread_rows(page.summaries, page.now, detail_width(width)), select=self._pending_thread)
        if self._pending_thread and self._pending_thread in {s.thread_id for s in page.summaries}:
            self._pending_thread = None
        current = self._summary(self.thread_id)
        if self.thread_id and current is not None and previous is not None and (
                current.head_checkpoint_id != previous.head_checkpoint_id
                or current.checkpoint_count != previous.checkpoint_count):
            self.load_history(self.thread_id)  # the thread moved on: new checkpoints
        self._paint_status()
        self.refresh_bindings()

    def on_threads_screen_threads_counted(self, message: ThreadsCounted) -> None:
        if self.page is None or message.query[:2] != self.list_query[:2]:  # counted for other filters
            return
        if isinstance(message.total, int):
            self.page = dataclasses.replace(self.page, total=message.total)
            self.count_error = None
        else:
            self.count_error = message.total
        self._paint_status()

    def on_threads_screen_read_failed(self, message: ReadFailed) -> None:
        self._reading = False
        self.read_error = message.error
        if message.server is not None:
            self.server = message.server
        self._paint_status()
        self.refresh_bindings()

    def on_thread_table_thread_selected(self, message: ThreadTable.ThreadSelected) -> None:
        thread_id = message.thread_id
        if thread_id == self.thread_id:
            return
        self.thread_id, self.nodes, self.ctree, self.checkpoint, self.state = thread_id, None, None, None, None
        self._before, self._new = None, set()
        if self._pending_select is not None and thread_id != self._pending_thread:
            self._pending_select = None
        if thread_id is None:
            self.tree_view.show_message("no threads" if self.page and not self.page.summaries else "select a thread")
            self._clear_detail()
            return
        self.tree_view.show_message("reading the thread's checkpoints…")
        self._clear_detail()
        self.load_history(thread_id)

    def on_threads_screen_history_read(self, message: HistoryRead) -> None:
        if message.thread_id != self.thread_id:
            return
        if message.error:
            self.tree_view.show_message(message.error)
            return
        nodes = message.nodes or []
        self.nodes = nodes
        self.ctree = CheckpointTree(nodes)
        keys = {checkpoint_key(n.checkpoint_id, n.checkpoint_ns) for n in nodes}
        if self._before is not None:
            self._new = keys - self._before
        latest = latest_checkpoint(nodes)
        pending, select = self._pending_select, None
        if pending == "latest":
            select, self._pending_select = latest, None
        elif pending is not None and pending in keys:  # else not written yet: keep waiting for it
            select, self._pending_select = pending, None
        if select is None and self.checkpoint is None:
            select = latest
        self.tree_view.show(tree_items(self.ctree, self._new, latest), select=select)
        if select is not None and select == self.checkpoint:
            self._load_selected()  # same checkpoint, maybe new pending writes

    def on_checkpoint_tree_view_checkpoint_selected(self, message: CheckpointTreeView.CheckpointSelected) -> None:
        key = message.key
        if self.ctree is None or key.startswith(("branch:", "sub:")):
            return
        self.checkpoint = key
        self._load_selected()

    def _load_selected(self) -> None:
        if self.ctree is None or self.checkpoint is None or self.thread_id is None:
            return
        cid, ns = split_key(self.checkpoint)
        try:
            parent = self.ctree.parent(cid, ns)
        except KeyError:
            return
        parent_key = checkpoint_key(parent.checkpoint_id, parent.checkpoint_ns) if parent is not None else None
        width = max(40, self.query_one("#checkpoint-pane").size.width - 4)
        self.load_state(self.thread_id, self.checkpoint, parent_key, width)

    def on_threads_screen_state_read(self, message: StateRead) -> None:
        if message.thread_id != self.thread_id or message.key != self.checkpoint:
            return
        info = self.query_one("#checkpoint-info", Static)
        if message.error:
            self.state = None
            info.update(Text(message.error, style="bold red"))
            self.query_one(DiffView).show([])
            self.query_one(StateView).show("state", [])
            return
        state = message.state
        self.state = state
        cid, ns = split_key(message.key)
        node = self.ctree.node(cid, ns).checkpoint if self.ctree is not None and cid in self.ctree else None
        info.update(Text("\n".join(checkpoint_info(state, node))))
        self.query_one(DiffView).show(message.diff)
        self.query_one(StateView).show(f"state at step {state.step}", message.entries)
        self.refresh_bindings()

    def _clear_detail(self) -> None:
        self.query_one("#checkpoint-info", Static).update("")
        self.query_one(DiffView).update("")
        self.query_one(StateView).update("")

    def _summary(self, thread_id: str | None) -> ThreadSummary | None:
        if thread_id is None or self.page is None:
            return None
        return next((s for s in self.page.summaries if s.thread_id == thread_id), None)

    # --- the status lines --------------------------------------------------------------------------------------
    def _paint_status(self) -> None:
        text = Text()
        page = self.page
        text.append("Threads", style="bold")
        if page is not None:
            what = f"{self.status_filter} thread" if self.status_filter else "thread"
            if page.total is None:
                text.append(f"  showing {len(page.summaries):,} {what}s", style="")
                text.append(f" · count failed: {self.count_error}" if self.count_error else " · counting…",
                            style="dim")
            else:
                text.append(f"  {page.total:,} {what}{'s' if page.total != 1 else ''} in Postgres")
                if page.total > len(page.summaries):
                    text.append(f" · showing {len(page.summaries)}", style="dim")
        if self.text_filter:
            text.append(f"  · filter '{self.text_filter}'", style="bold")
        text.append(f"  · sort {SORT_TITLES[self.sort_key]} {'↓' if self.descending else '↑'}")
        if page is not None and page.schema is not None and not page.schema.ok:
            text.append(f"  · {page.schema.message}", style="yellow")
        server = self.server
        if server is None:
            text.append("  · server: checking…", style="dim")
        elif server.up:
            text.append("  · server ", style="")
            text.append("● up", style="bold green")
        else:
            text.append("  ")
            text.append(" READ-ONLY ", style="bold reverse yellow")
        keys = "   e/w/i/a status · / filter · s sort"
        if len(text.plain) + len(keys) <= self.size.width - 2:
            text.append(keys, style="dim")
        if self.read_error:
            text.append(f"\n{self.read_error}", style="bold red")
        elif page is not None and page.hint:
            text.append(f"\n{page.hint}", style="dim yellow")
        if server is not None and not server.up:
            text.append(f"\n{READ_ONLY} ({server.detail})", style="yellow")
        run_line = self._run_line()
        if run_line is not None:
            text.append("\n")
            text.append_text(run_line)
        self.query_one("#threads-status", Static).update(text)

    def _run_line(self) -> Text | None:
        if self.run_label is None:
            return None
        run = self.run
        text = Text()
        if run is None:
            text.append(f"{self.run_label}: starting…", style="yellow")
            return text
        nodes = [s.node for s in run.steps]
        style = {"running": "bold yellow", "success": "bold green", "waiting": "bold magenta",
                 "error": "bold red"}.get(run.status, "bold")
        text.append(f"{self.run_label}: ", style="bold")
        text.append(run.status, style=style)
        text.append(f" · {run.step_count} node step{'s' if run.step_count != 1 else ''}")
        if nodes:
            text.append(f" ({', '.join(nodes[-6:])}{', …' if len(nodes) > 6 else ''})", style="dim")
        if run.error:
            text.append(f" · {run.error}", style="red")
        if self.run_note:
            text.append(f" · {self.run_note}", style="dim")
        return text

    # --- keys --------------------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.SERVER_ACTIONS and self.server is not None and not self.server.up:
            return None  # shown disabled: the status line says why
        return True

    def select(self, thread_id: str) -> None:
        """Open one thread (a jump from Triage): the table filtered to it, its checkpoints read."""
        self.text_filter = thread_id
        self._apply()

    def action_filter(self) -> None:
        box = self.query_one(FilterInput)
        box.value = self.text_filter
        box.add_class("-open")
        box.focus()

    def close_filter(self, clear: bool = False) -> None:
        box = self.query_one(FilterInput)
        if clear:
            box.value = ""
            if self.text_filter:
                self.text_filter = ""
                self._apply()
        box.remove_class("-open")
        self.table.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, FilterInput):
            return super().on_input_submitted(event)
        event.stop()
        self.text_filter = event.value.strip()
        self.close_filter()
        self._apply()

    def action_status(self, status: str) -> None:
        self.status_filter = "" if status == self.status_filter else status
        self._apply()

    def action_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self.descending = self.sort_key != "thread_id"
        self._apply()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self._apply()

    def action_refresh(self) -> None:
        self._apply()
        if self.thread_id:
            self.load_history(self.thread_id)

    def _apply(self) -> None:
        self._paint_status()
        self._reading = False
        self.refresh_threads()

    # --- time travel -------------------------------------------------------------------------------------------
    def _selected_root_state(self, what: str) -> CheckpointState | None:
        if self.thread_id is None or self.state is None:
            self.notify(f"{what}: select a thread and a checkpoint first", severity="warning")
            return None
        if self.state.checkpoint_ns:
            self.notify(f"{what}: this checkpoint is inside a subgraph call; pick one of the root graph",
                        severity="warning")
            return None
        return self.state

    def _expect_new(self, thread_id: str, select: str | None) -> None:
        """Mark the checkpoints that exist now; what the coming write adds shows as new, `select` gets the cursor."""
        if thread_id == self.thread_id and self.nodes is not None:
            self._before = {checkpoint_key(n.checkpoint_id, n.checkpoint_ns) for n in self.nodes}
        self._pending_select = select

    def action_replay(self) -> None:
        state = self._selected_root_state("replay")
        if state is None:
            return
        from lgconsole.console.app import ConfirmScreen

        thread_id = self.thread_id
        nxt = ", ".join(dict.fromkeys(state.next)) or "whatever is due"

        def answered(yes: bool | None) -> None:
            if yes:
                self._expect_new(thread_id, "latest")
                self.replay(thread_id, state.checkpoint_id, state.step)

        self.app.push_screen(ConfirmScreen(f"Replay thread {thread_id} from step {state.step}? It runs {nxt} "
                                           "again, on a new branch."), answered)

    @work(group="threads-action", exit_on_error=False)
    async def replay(self, thread_id: str, checkpoint_id: str, step: int | None) -> None:
        label = f"replay from step {step}"
        self._start_run_line(label)
        try:
            started = await self.source.replay(thread_id, checkpoint_id)
        except Exception as exc:
            self._run_failed(label, exc)
            return
        self.follow_run(label, thread_id, started.session)

    def action_fork(self) -> None:
        state = self._selected_root_state("fork")
        if state is None:
            return
        thread_id = self.thread_id
        nodes = sorted({w for n in self.nodes or [] if not n.checkpoint_ns for w in n.writers
                        if not w.startswith(("__", "send["))})

        async def submit(update: dict, as_node: str | None):
            self._expect_new(thread_id, None)
            return await self.source.fork(thread_id, state.checkpoint_id, update, as_node)

        def done(result: Any) -> None:
            if result is None:
                return
            keys = ", ".join(result.update) or "no keys"
            self._pending_select = checkpoint_key(result.checkpoint_id)
            self.notify(f"forked at step {state.step}: new checkpoint {result.checkpoint_id} ({keys})")
            if result.session is not None:
                self.follow_run(f"fork at step {state.step} ({keys})", thread_id, result.session)
            elif thread_id == self.thread_id:
                self.load_history(thread_id)

        self.app.push_screen(ForkScreen(thread_id, state, ", ".join(nodes), submit), done)

    def action_resume(self) -> None:
        if self.thread_id is None:
            self.notify("resume: select a thread first", severity="warning")
            return
        thread_id = self.thread_id
        summary = self._summary(thread_id)
        if summary is not None and summary.status.value != "waiting":
            self.notify(f"resume: thread {thread_id} does not wait on an interrupt (it is {summary.status.value})",
                        severity="warning")
            return

        async def submit(value: Any):
            self._expect_new(thread_id, "latest")
            return await self.source.resume(thread_id, value)

        def done(started: Any) -> None:
            if started is not None:
                self.follow_run("resume", thread_id, started.session)

        self.app.push_screen(ResumeScreen(thread_id, interrupt_question(summary), submit), done)

    def action_copy(self) -> None:
        if self.thread_id is None:
            self.notify("copy: select a thread first", severity="warning")
            return
        self.copy(self.thread_id)

    @work(group="threads-action", exit_on_error=False)
    async def copy(self, thread_id: str) -> None:
        try:
            result = await self.source.copy(thread_id)
        except Exception as exc:
            self.notify(str(exc) if isinstance(exc, StackError) else f"copy: {one_line(exc)}", severity="error",
                        timeout=10)
            return
        self.notify(f"copied thread {thread_id} to {result.thread_id}")
        self._pending_thread = result.thread_id
        self._apply()

    # --- the run a replay, fork or resume started --------------------------------------------------------------
    def _start_run_line(self, label: str) -> None:
        self.run_label, self.run, self.run_note = label, None, None
        self._paint_status()

    def _run_failed(self, label: str, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, StackError) else f"{type(exc).__name__}: {one_line(exc)}"
        self.run_label, self.run = None, None
        self._pending_select = None
        self._paint_status()
        self.notify(message, severity="error", timeout=10)

    @work(exclusive=True, group="threads-run", exit_on_error=False)
    async def follow_run(self, label: str, thread_id: str, session: Any) -> None:
        run = LiveRun()
        self.run_label, self.run, self.run_note = label, run, f"run {session.run_id}"
        run.status = "running"
        self._paint_status()
        try:
            async for event in session.events():
                run.feed(event)
                if event.mode in ("updates", "values") and thread_id == self.thread_id:
                    self._history_dirty = True
                self._paint_status()
            outcome = await session.outcome()
            status = "cancelled" if outcome.cancelled else "waiting" if outcome.waiting_for_input else outcome.status
            run.finish(status, outcome.error, outcome.interrupts)
            if outcome.thread_status:
                self.run_note = f"thread is {outcome.thread_status}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            run.status, run.error = "error", str(exc) if isinstance(exc, StackError) else one_line(exc)
            self.notify(run.error, severity="error", timeout=10)
        finally:
            await session.close()
        if self._pending_select is None:
            self._pending_select = "latest"
        self._paint_status()
        self._apply()
        if thread_id == self.thread_id:
            self.load_history(thread_id)
