"""The Live screen's forms: a new run (an assistant from the server's list, the input prefilled from the graph's
input schema or the last one typed, a chat message for message graphs, config and context checked against the
graph's schemas before anything is sent, breakpoints prefilled from the Graph screen's picks) and the thread to
attach to. Styled in screens/live.tcss."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from lgconsole.stack.errors import StackError

from lgconsole.console.rows.shown import shown
from lgconsole.console.model.breakpoints import BreakpointError, Breakpoints, book_of
from lgconsole.console.model.input_template import JsonFieldError, chat_input, describe_keys, input_template, \
    is_chat, message_key, parse_json_field, unknown_input_keys
from lgconsole.console.sources.assistants import AssistantList, run_arguments_error


class NewRunScreen(ModalScreen[dict | None]):
    """Dismissed with {"assistant", "input", "config", "context", "thread_id", "breakpoints", "chat_key", "remember"}
    or None.

    `catalog` is an `AssistantCatalog` (or a stand-in with the same `assistants()`, `schemas(id)` and
    `remembered()`). The input is prefilled when an assistant is chosen, unless the user has edited it since."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Start")]

    class AssistantsRead(Message):
        def __init__(self, found: AssistantList):
            super().__init__()
            self.found = found

    class SchemasRead(Message):
        def __init__(self, assistant_id: str, schemas: Any, remembered: dict | None, error: str | None):
            super().__init__()
            self.assistant_id, self.schemas, self.remembered, self.error = assistant_id, schemas, remembered, error

    def __init__(self, catalog, assistant: str | None = None, thread_id: str = ""):
        super().__init__()
        self.catalog = catalog
        self.assistant, self.thread_id = assistant or "", thread_id
        self.found = AssistantList()
        self.schemas = None  # of the assistant typed, once read
        self._schemas_for: str | None = None
        self._prefilled = ""  # the input text put there last: replaced on a new choice unless edited since
        self._breaks_prefilled = ""  # the same for the breakpoints (the Graph screen's picks for the assistant)
        self._warned: tuple[str, str] | None = None  # the input an unknown-key warning was shown for

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Assistant (the server's; or type an id)")
            yield OptionList(id="new-run-assistants")
            with Horizontal(classes="field"):
                yield Label("id", classes="field-label")
                yield Input(self.assistant, id="new-run-assistant", compact=True)
            yield Static("reading the server's assistants…", id="new-run-keys")
            with Horizontal(classes="field", id="new-run-message-row"):
                yield Label("message", classes="field-label")
                yield Input(placeholder="sent as one user message", id="new-run-message", compact=True)
            yield Label("Input (JSON)")
            yield TextArea("", id="new-run-input", language=None)
            with Horizontal(classes="field"):
                yield Label("config", classes="field-label")
                yield Input(placeholder='optional: {"configurable": {...}, "recursion_limit": 50}',
                            id="new-run-config", compact=True)
            with Horizontal(classes="field"):
                yield Label("context", classes="field-label")
                yield Input(placeholder="optional: the graph's context, a JSON object", id="new-run-context",
                            compact=True)
            with Horizontal(classes="field"):
                yield Label("breaks", classes="field-label")
                yield Input(placeholder="optional: before approval; after join (the Graph screen's b / B pick them)",
                            id="new-run-breaks", compact=True)
            with Horizontal(classes="field"):
                yield Label("thread", classes="field-label")
                yield Input(self.thread_id, placeholder="empty: a new thread", id="new-run-thread", compact=True)
            yield Static("", id="new-run-error")
            with Horizontal(classes="buttons"):
                yield Button("Start (ctrl+s)", variant="primary", id="new-run-start", compact=True)
                yield Button("Cancel (esc)", id="new-run-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#new-run-message-row").display = False
        self._read_assistants()

    # --- the server's answers ------------------------------------------------------------------------------------
    @work(exclusive=True, group="new-run-assistants", name="assistants", exit_on_error=False)
    async def _read_assistants(self) -> None:
        self.post_message(self.AssistantsRead(await self.catalog.assistants()))

    @work(exclusive=True, group="new-run-schemas", name="schemas", exit_on_error=False)
    async def _read_schemas(self, assistant_id: str) -> None:
        import asyncio

        try:
            schemas, error = await self.catalog.schemas(assistant_id), None
        except StackError as exc:  # a state to show: the input is then not checked before sending
            schemas, error = None, str(exc)
        remembered = await asyncio.to_thread(self.catalog.remembered().get, assistant_id)
        self.post_message(self.SchemasRead(assistant_id, schemas, remembered, error))

    def on_new_run_screen_assistants_read(self, message: AssistantsRead) -> None:
        self.found = message.found
        options = self.query_one("#new-run-assistants", OptionList)
        options.clear_options()
        graphs = [a.graph_id for a in self.found.assistants]
        for assistant in self.found.assistants:
            label = Text(shown(assistant.label()))  # the server's words: masked and escaped
            if assistant.description:
                label.append(f"  {shown(assistant.description)}", style="dim")
            options.add_option(Option(label, id=self._id_of(assistant, graphs)))
        if message.found.error:
            self._keys_line(Text(f"assistants not read: {message.found.error}"))
        elif not self.found.assistants:
            self._keys_line(Text("the server serves no assistants"))
        typed = self.query_one("#new-run-assistant", Input)
        if not typed.value and self.found.assistants:
            typed.value = self._id_of(self.found.assistants[0], graphs)  # the first; the demo is not special
        elif typed.value:
            self._assistant_typed(typed.value)
        self._highlight(typed.value)

    @staticmethod
    def _id_of(assistant, graphs: list[str]) -> str:
        """The graph id when one assistant serves it (what users type), else the assistant's own id."""
        return assistant.graph_id if graphs.count(assistant.graph_id) == 1 else assistant.assistant_id

    def _highlight(self, assistant_id: str) -> None:
        options = self.query_one("#new-run-assistants", OptionList)
        for index in range(options.option_count):
            if options.get_option_at_index(index).id == assistant_id:
                options.highlighted = index
                return

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id and event.option.id != self.query_one("#new-run-assistant", Input).value:
            self.query_one("#new-run-assistant", Input).value = event.option.id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chat = self.query_one("#new-run-message-row").display
        self.query_one("#new-run-message" if chat else "#new-run-input").focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "new-run-assistant":
            event.stop()
            self._assistant_typed(event.value.strip())

    def _assistant_typed(self, assistant_id: str) -> None:
        self._prefill_breakpoints(assistant_id)
        if assistant_id == self._schemas_for:
            return
        self.schemas = None
        self.query_one("#new-run-message-row").display = False
        if self.found.find(assistant_id) is not None:
            self._schemas_for = assistant_id
            self._read_schemas(assistant_id)
            return
        self._schemas_for = None  # (read once the server's list says it is one of its assistants)
        if self.found.assistants:
            served = ", ".join(dict.fromkeys(a.graph_id for a in self.found.assistants))
            self._keys_line(Text(f"not one of the server's assistants ({served}): the input is not checked"))

    def _prefill_breakpoints(self, assistant_id: str) -> None:
        """The breakpoints picked on the Graph screen for this assistant, unless the field was edited."""
        box = self.query_one("#new-run-breaks", Input)
        if box.value != self._breaks_prefilled:
            return
        found = self.found.find(assistant_id)
        picked = book_of(self.app).get(found.assistant_id if found is not None else None, assistant_id)
        box.value = self._breaks_prefilled = picked.text()

    def on_new_run_screen_schemas_read(self, message: SchemasRead) -> None:
        if message.assistant_id != self._schemas_for:
            return  # another assistant was chosen meanwhile
        self.schemas = message.schemas
        schema = message.schemas.input_schema if message.schemas is not None else None
        if message.error:
            self._keys_line(Text(f"schemas not read ({message.error}): the input is not checked"))
        else:
            keys = describe_keys(schema)
            self._keys_line(Text(f"input keys: {keys}" if keys else "the graph declares no input keys"))
        key = message_key(schema)
        self.query_one("#new-run-message-row").display = key is not None
        remembered = message.remembered or {}
        area = self.query_one("#new-run-input", TextArea)
        if area.text == self._prefilled:  # not edited since the last prefill
            if "input" in remembered:
                text = remembered["input"]
            else:
                template = input_template(schema)
                text = json.dumps(template, indent=1) if template else ("{}" if key and is_chat(schema) else "")
            area.text = self._prefilled = text
        for field in ("config", "context"):
            box = self.query_one(f"#new-run-{field}", Input)
            if not box.value and remembered.get(field):
                box.value = remembered[field]

    def _keys_line(self, text: Text) -> None:
        """The line under the assistant: server errors, assistant and key names, masked and escaped."""
        self.query_one("#new-run-keys", Static).update(Text(shown(text.plain), style=text.style))

    # --- sending -------------------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "new-run-start":
            self.action_submit()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id in ("new-run-message", "new-run-config", "new-run-context", "new-run-breaks",
                              "new-run-thread"):
            self.action_submit()

    def action_submit(self) -> None:
        error = self.query_one("#new-run-error", Static)
        try:
            result = self._result()
        except (JsonFieldError, BreakpointError) as exc:
            error.update(Text(shown(str(exc))))
            return
        schema = self.schemas.input_schema if self.schemas is not None and \
            result["assistant"] == self._schemas_for else None
        unknown = unknown_input_keys(result["input"], schema)
        said = (result["assistant"], json.dumps(result["input"], sort_keys=True, default=str))
        if unknown and said != self._warned:  # LangGraph drops such keys without a word: say so once, then start
            self._warned = said
            error.update(Text(shown(f"warning: {unknown}; ctrl+s again starts it as it is")))
            return
        self.dismiss(result)

    def _result(self) -> dict:
        """What to start, checked; a JsonFieldError names what is wrong (nothing is sent then)."""
        assistant = self.query_one("#new-run-assistant", Input).value.strip()
        if not assistant:
            raise JsonFieldError("the assistant id is empty")
        text = self.query_one("#new-run-input", TextArea).text
        payload = parse_json_field(text, "input")
        config_text = self.query_one("#new-run-config", Input).value
        context_text = self.query_one("#new-run-context", Input).value
        config = parse_json_field(config_text, "config", want_object=True)
        context = parse_json_field(context_text, "context", want_object=True)
        schema = self.schemas.input_schema if self.schemas is not None and assistant == self._schemas_for else None
        key = message_key(schema)
        message = self.query_one("#new-run-message", Input).value.strip() if key else ""
        if message:
            if payload is not None and not isinstance(payload, dict):
                raise JsonFieldError("input must be a JSON object to add the message to")
            payload = chat_input(message, key, payload)
        problem = run_arguments_error(self.schemas if schema is not None else None, payload, config, context)
        if problem:
            raise JsonFieldError(problem)
        thread = self.query_one("#new-run-thread", Input).value.strip() or None
        breakpoints = Breakpoints.parse(self.query_one("#new-run-breaks", Input).value)
        return {"assistant": assistant, "input": payload, "config": config, "context": context,
                "thread_id": thread, "breakpoints": breakpoints,
                "chat_key": key if key and is_chat(schema) or message else None,
                "remember": {"input": text, "config": config_text, "context": context_text}}

    def action_cancel(self) -> None:
        self.dismiss(None)


class AttachScreen(ModalScreen[str | None]):
    """The thread whose run in progress to follow (styled in screens/live.tcss)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Attach to the run in progress on thread:")
            yield Input(placeholder="thread id", id="attach-thread")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
