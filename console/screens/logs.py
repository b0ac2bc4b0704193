"""A service's full log, followed live like `tail -f`."""

from __future__ import annotations

import os
import time
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Log, Static
from textual.worker import get_current_worker

from lgconsole.stack.services.service import strip_ansi, tail_lines
from lgconsole.widgets.footer import KeyFooter

INITIAL_LINES = 2000


class LogScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("g", "top", "Top", show=False),
        Binding("G", "bottom", "Bottom", show=False),
    ]

    def __init__(self, service: str, path: Path):
        super().__init__()
        self.service = service
        self.path = Path(path)
        self.follow = True

    def compose(self) -> ComposeResult:
        yield Static(f" {self.service} · {self.path} · following", id="log-title")
        yield Log(id="log", highlight=False, max_lines=20000)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.tail_file()

    @work(thread=True, exclusive=True, name="log-tail")
    def tail_file(self) -> None:
        """Read the last lines, then poll for appended bytes; runs until the screen goes away."""
        worker = get_current_worker()
        log = self.query_one(Log)
        if not self.path.exists():
            self.app.call_from_thread(log.write_line, f"(no log yet at {self.path})")
        lines = tail_lines(self.path, INITIAL_LINES, max_bytes=INITIAL_LINES * 300)
        self.app.call_from_thread(log.write_lines, lines)
        position = self.path.stat().st_size if self.path.exists() else 0
        pending = b""
        while not worker.is_cancelled:
            try:
                size = os.path.getsize(self.path)
            except OSError:
                size = 0
            if size < position:  # truncated or replaced
                position = 0
            if size > position:
                with open(self.path, "rb") as fh:
                    fh.seek(position)
                    data = pending + fh.read(size - position)
                position = size
                *complete, pending = data.split(b"\n")
                if complete:
                    text = [strip_ansi(c.decode(errors="replace")) for c in complete]
                    self.app.call_from_thread(self._append, text)
            time.sleep(0.25)

    def _append(self, lines: list[str]) -> None:
        log = self.query_one(Log)
        log.auto_scroll = self.follow
        log.write_lines(lines)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.query_one(Log).auto_scroll = self.follow
        self.query_one("#log-title", Static).update(
            f" {self.service} · {self.path} · {'following' if self.follow else 'paused'}")

    def action_top(self) -> None:
        self.follow = False
        self.query_one(Log).scroll_home()

    def action_bottom(self) -> None:
        self.query_one(Log).scroll_end()
