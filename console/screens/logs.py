"""A service's full log, followed live like `tail -f`."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Log, Static
from textual.worker import get_current_worker

from lgconsole.console.rows.shown import shown, shown_lines
from lgconsole.console.screens.base import WorkerErrors
from lgconsole.console.sources.stack import follow_log
from lgconsole.widgets.footer import KeyFooter

INITIAL_LINES = 2000


class LogScreen(WorkerErrors, Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("g", "top", "Top", show=False),
        Binding("G", "bottom", "Bottom", show=False),
    ]

    class LinesRead(Message):
        """Lines of the log: its last lines first, then each batch appended since."""

        def __init__(self, lines: list[str]) -> None:
            super().__init__()
            self.lines = lines

    def __init__(self, service: str, path: Path):
        super().__init__()
        self.service = service
        self.path = Path(path)
        self.follow = True

    def compose(self) -> ComposeResult:
        yield Static(Text(f" {self.service} · {shown(self.path)} · following"), id="log-title")
        yield Log(id="log", highlight=False, max_lines=20000)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.tail_file()

    @work(thread=True, exclusive=True, name="log tail", exit_on_error=False)
    def tail_file(self) -> None:
        """Runs until the screen goes away (the worker is cancelled with it)."""
        worker = get_current_worker()
        for lines in follow_log(self.path, INITIAL_LINES, lambda: worker.is_cancelled):
            self.post_message(self.LinesRead(lines))

    def on_log_screen_lines_read(self, message: LinesRead) -> None:
        log = self.query_one(Log)
        log.auto_scroll = self.follow
        log.write_lines(shown_lines(message.lines))  # a service's output: masked, and it cannot drive the terminal

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.query_one(Log).auto_scroll = self.follow
        self.query_one("#log-title", Static).update(
            Text(f" {self.service} · {shown(self.path)} · {'following' if self.follow else 'paused'}"))

    def action_top(self) -> None:
        self.follow = False
        self.query_one(Log).scroll_home()

    def action_bottom(self) -> None:
        self.query_one(Log).scroll_end()
