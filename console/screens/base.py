"""What every console screen shares: the stack header on top, the footer, the `:` command line, and the one way
I/O results and I/O errors reach the screen.

One way from a worker to a screen (Textual's workers guide):

1. Blocking I/O (a source's read, a supervisor command, a file tail) runs in a thread worker,
   `@work(thread=True, exit_on_error=False, ...)`, never in `compose`, `on_mount` or a handler.
2. The worker body calls the source and POSTS ITS RESULT AS A MESSAGE named for what happened
   (`self.post_message(self.FindingsRead(findings))`; `post_message` is thread-safe). It does not touch widgets,
   does not call `call_from_thread`, and does not set reactives: the message handler (`on_<screen>_<message>`) runs
   on the event loop and hands the data to widgets, or sets a reactive that others watch (the app's `snapshot`).
3. The worker body does NOT catch errors to report them: an exception ends the worker in `WorkerState.ERROR`, and
   `WorkerErrors.on_worker_state_changed` below (mixed into every console screen and into the app) logs it with its
   traceback and shows its first line in the UI. The default shows a notification; a screen with its own status
   line overrides `worker_failed(worker, cause)` (the GPU screen does) and may clear its in-flight bookkeeping there.
   A worker catches only errors it turns into data (a server that is down is a state to draw, not a failure).
4. Name the worker (`name=`): the user reads "<name> failed: <cause>" ("triage failed: connection refused").
5. Do not define `on_worker_state_changed` in a screen (Textual calls the handlers of every class in the MRO, so
   both would run): override `worker_failed`, or handle a message. The same holds for `on_mount`: Textual calls
   `ConsoleScreen.on_mount` itself, a subclass's `on_mount` need not (and should not) call `super().on_mount()`.

Screens reach the app through `self.console` (typed by the `ConsoleApp` protocol), never by importing
`lgconsole.console.app`: the app imports the screens, not the other way round.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from lgconsole.console.config import LOCAL_CONTEXT
from lgconsole.console.model.text import error_line
from lgconsole.console.rows.shown import shown
from lgconsole.widgets.footer import KeyFooter
from lgconsole.widgets.stack_header import StackHeader

if TYPE_CHECKING:
    from textual.widgets import Input

LOG = logging.getLogger("lgconsole.console")


@runtime_checkable
class ConsoleApp(Protocol):
    """What screens may ask of the running console app (implemented by `LgConsoleApp`)."""

    config: object
    snapshot: object  # the latest StackSnapshot (a reactive screens watch), None before the first read

    def service_command(self, verb: str, service: str) -> None: ...
    def stack_command(self, verb: str) -> None: ...
    def confirm_stack_down(self) -> None: ...
    def open_logs(self, service: str) -> None: ...
    def jump_to(self, screen: str, target: str | None = None) -> None: ...
    def run_command_line(self, text: str) -> None: ...


class WorkerErrors:
    """The one handler for failed workers: mixed into every console screen and the app (Textual's
    `Worker.StateChanged` goes only to the node that started the worker, so each node needs the handler)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        error = worker.error
        what = worker.name or worker.group
        cause = error_line(error) if error is not None else "failed"
        LOG.error("%s failed: %s", what, cause, exc_info=error)
        self.log.error(f"{what} failed: {cause}")  # type: ignore[attr-defined]  # Textual's devtools log
        self.worker_failed(worker, cause)

    def worker_failed(self, worker: Worker, cause: str) -> None:
        """Show a failed worker's cause in the UI; screens with a status line override this."""
        what = worker.name or worker.group
        self.notify(f"{what} failed: {cause}", severity="error", timeout=8)  # type: ignore[attr-defined]


class ConsoleScreen(WorkerErrors, Screen):
    """Base screen: header + body (compose_body) + command line + footer."""

    BINDINGS = [Binding("colon", "open_command", "Command", key_display=":")]

    @property
    def console(self) -> ConsoleApp:
        """The running app, as the protocol screens may rely on."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        # the `:` command line is mounted when first opened (above the footer): an Input, its stylesheet and its
        # styling were ~5 ms of every screen's first frame, for a line hidden until `:`
        yield StackHeader(id="stack-header")
        yield from self.compose_body()
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    _watching = False

    def on_mount(self) -> None:
        # Textual calls every class's on_mount along the MRO, so a subclass's own on_mount must not call this one;
        # the flag keeps one watch and one subscription for subclasses that still do
        if self._watching:
            return
        self._watching = True
        self.watch(self.app, "snapshot", self._snapshot_changed, init=True)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme) -> None:
        """Status colours are resolved from the theme when text is built: build it again in the new theme."""
        self._snapshot_changed(self.console.snapshot)
        self.restyle()

    def restyle(self) -> None:
        """Screens that keep coloured text of their own (not from the snapshot) rebuild it here."""

    def _snapshot_changed(self, snapshot) -> None:
        if snapshot is None:
            return
        header = self.query_one(StackHeader)
        sup = f"pid {snapshot.supervisor_pid}" if snapshot.supervisor_running else \
            "not running" if snapshot.needs_supervisor else "not needed (all external)"
        config = self.console.config
        context = "" if config.context == LOCAL_CONTEXT else shown(config.context)
        header.show(snapshot.healthy_count, len(snapshot.enabled), sup, shown(snapshot.model_backend),
                    shown(config.state_path), context)
        self.show_snapshot(snapshot)

    def show_snapshot(self, snapshot) -> None:
        """Screens override this to render the stack snapshot."""

    async def action_open_command(self) -> None:
        from lgconsole.console.screens.command_line import PLACEHOLDER, CommandLine

        found = self.query(CommandLine)
        if found:
            line = found.first()
        else:
            line = CommandLine(placeholder=PLACEHOLDER, id="command-line")
            await self.mount(line, before=self.query_one(KeyFooter))
        line.add_class("-open")
        line.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from lgconsole.console.screens.command_line import CommandLine

        if isinstance(event.input, CommandLine):
            event.stop()
            # screens that override this handler call it through super(): without this, Textual would call it
            # again on its walk down the MRO and run the command twice
            event.prevent_default()
            text = event.value
            event.input.action_close()
            self.console.run_command_line(text)
