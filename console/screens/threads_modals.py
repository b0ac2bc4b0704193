"""The Threads screen's two editors: fork (the state at a checkpoint as JSON, edited) and resume (an answer to the
interrupt a thread waits on). Each sends through the screen's source itself, so an error keeps it open with the
input intact. Styled in screens/threads.tcss."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from lgconsole.stack.checkpoints.records import CheckpointState
from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line

from lgconsole.console.rows.shown import shown
from lgconsole.console.model.interrupts import AnswerError, parse_answer
from lgconsole.console.rows.threads import EditError, fork_update, values_json


class _SendingModal(ModalScreen):
    """A modal whose submit awaits the server itself: an error keeps it open with the input intact."""

    def __init__(self, submit: Callable[..., Awaitable[Any]]):
        super().__init__()
        self.submit = submit
        self.sending = False

    def show_error(self, text: str) -> None:
        self._show_line(text, progress=False)

    def show_progress(self, text: str) -> None:
        self._show_line(text, progress=True)

    def _show_line(self, text: str, progress: bool) -> None:
        """The line under the input: an error, or (class -progress) what is being done; coloured in screens/threads.tcss."""
        line = self.query_one(".modal-error", Static)
        line.set_class(progress, "-progress")
        line.update(Text(shown(text, multiline=True)))

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


SendingModal = _SendingModal  # shared with the Assistants view's editor


class ForkScreen(_SendingModal):
    """The state at a checkpoint as JSON, to edit; validated before anything is sent; an optional as-node."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Fork and run")]

    def __init__(self, thread_id: str, state: CheckpointState, nodes_hint: str,
                 submit: Callable[[dict, str | None], Awaitable[Any]], *, title: str | None = None,
                 action: str = "Fork and run", then: str = "the graph then runs from the new checkpoint, a new branch"):
        super().__init__(submit)
        self.thread_id = thread_id
        self.state = state
        self.nodes_hint = nodes_hint
        self.title_text = title or f"Fork thread {thread_id} at step {state.step} ({state.checkpoint_id})"
        self.action_text, self.then = action, then

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(shown(self.title_text)), id="fork-title")
            yield Static("Edit the state below. Only the keys you change are sent (update_state: reducers apply, so "
                         f"messages merge by id); {self.then}.", id="fork-hint")
            yield TextArea(values_json(self.state.mapping), id="fork-values", language=None, soft_wrap=False)
            yield Label(Text(shown(f"As node (optional; decides what runs next)"
                                   f"{': ' + self.nodes_hint if self.nodes_hint else ''}")))
            yield Input(placeholder="empty: as the node that wrote this checkpoint", id="fork-as-node")
            yield Static("", classes="modal-error")
            with Horizontal():
                yield Button(f"{self.action_text} (ctrl+s)", variant="primary", id="fork-submit")
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
            update = fork_update(self.state.mapping, self.query_one(TextArea).text)
        except EditError as exc:
            self.show_error(str(exc))
            return
        as_node = self.query_one("#fork-as-node", Input).value.strip() or None
        self.send(update, as_node)


class ResumeScreen(_SendingModal):
    """The interrupt's question and an answer (JSON or text)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, thread_id: str, question: str, submit: Callable[[Any], Awaitable[Any]]):
        super().__init__(submit)
        self.thread_id = thread_id
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(shown(f"Resume thread {self.thread_id}")), id="resume-title")
            yield Static(Text(self.question or "(the interrupt carries no question)"), id="resume-question")
            yield Input(placeholder='answer: JSON (true, {"approved": false, "note": "..."}) or text; enter sends',
                        id="resume-value")
            yield Static("", classes="modal-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.sending:
            return
        try:
            value = parse_answer(event.value)
        except AnswerError as exc:
            self.show_error(str(exc))
            return
        self.send(value)
