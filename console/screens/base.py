"""What every console screen shares: the stack header on top, the footer, and the `:` command line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from lgconsole.widgets.footer import KeyFooter
from lgconsole.widgets.stack_header import StackHeader


class CommandLine(Input):
    """The k9s-style `:` prompt; hidden until `:` is pressed."""

    DEFAULT_CSS = """
    CommandLine { dock: bottom; display: none; border: none; height: 1; padding: 0 1; background: $boost; }
    CommandLine.-open { display: block; }
    """
    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    def action_close(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.screen.focus_next()


class ConsoleScreen(Screen):
    """Base screen: header + body (compose_body) + command line + footer."""

    BINDINGS = [Binding("colon", "open_command", "Command", key_display=":")]

    def compose(self) -> ComposeResult:
        yield StackHeader(id="stack-header")
        yield from self.compose_body()
        yield CommandLine(placeholder="command: stack | restart SERVICE | stop SERVICE | start SERVICE | logs SERVICE | up | down | help | quit",
                          id="command-line")
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self._snapshot_changed, init=True)

    def _snapshot_changed(self, snapshot) -> None:
        if snapshot is None:
            return
        header = self.query_one(StackHeader)
        sup = f"pid {snapshot.supervisor_pid}" if snapshot.supervisor_running else "not running"
        header.show(snapshot.healthy_count, len(snapshot.enabled), sup, snapshot.model_backend,
                    str(self.app.config.state_path))
        self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot) -> None:
        """Screens override this to render the stack snapshot."""

    def action_open_command(self) -> None:
        line = self.query_one(CommandLine)
        line.add_class("-open")
        line.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if isinstance(event.input, CommandLine):
            event.stop()
            text = event.value
            event.input.action_close()
            self.app.run_command_line(text)
