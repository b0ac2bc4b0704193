"""The Assistants view (a modal from the Graph and Live screens, `A`): the server's assistants per graph, the
highlighted one's versions, and the actions: `n` new assistant of the graph, `e` edit (a new version), `v` make the
highlighted version active, `ctrl+d` delete (asked first), `s` start a run of it on the Live screen, `enter` show it
on the Graph screen. Config and context are edited as JSON and checked against the graph's schemas before anything is
sent (the editor stays open with the text when the server or the check refuses). Styled in screens/assistants.tcss."""

from __future__ import annotations

import asyncio
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

from lgconsole.console.model.masking import mask_secrets
from lgconsole.console.screens.confirm import ConfirmScreen
from lgconsole.console.screens.threads_modals import SendingModal


def _when(text: str | None) -> str:
    return (text or "")[:16].replace("T", " ")


def _json_line(value: Any, limit: int = 70) -> str:
    """A config or context on one line, secrets masked (the one masking policy)."""
    text = json.dumps(mask_secrets(value), default=str)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def open_assistants(screen, graph: str | None, closed) -> None:
    """The Assistants view over `screen` (the Graph or Live screen's `A`): `closed(chosen)` gets what it was left
    with ({} when nothing); `s` then opens the Live screen's New-run form for the assistant."""
    app = screen.app

    def done(chosen: dict | None) -> None:
        chosen = chosen or {}
        closed(chosen)
        if chosen.get("run"):
            app.switch_mode("live")
            app.call_later(lambda: app.screen.new_run_of(chosen["run"]))

    app.push_screen(AssistantsScreen(graph=graph), done)


class AssistantsScreen(ModalScreen[dict | None]):
    """Dismissed with {"show": assistant_id}, {"run": assistant_id} or None. `admin` is an `AssistantAdmin` (or a
    stand-in with its async methods); `graph` the graph whose assistants are highlighted first."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("n", "create", "New"),
        Binding("e", "edit", "Edit (new version)"),
        Binding("v", "activate", "Activate version"),
        Binding("ctrl+d", "delete", "Delete"),
        Binding("s", "start_run", "Run it"),
    ]

    class AssistantsRead(Message):
        def __init__(self, assistants: list, error: str | None):
            super().__init__()
            self.assistants, self.error = assistants, error

    class VersionsRead(Message):
        def __init__(self, assistant_id: str, versions: list, error: str | None):
            super().__init__()
            self.assistant_id, self.versions, self.error = assistant_id, versions, error

    def __init__(self, admin=None, graph: str | None = None):
        super().__init__()
        self.admin = admin
        self.graph = graph
        self.assistants: list = []
        self.versions: list = []
        self._versions_of: str | None = None
        self._wanted: str | None = None  # the assistant to highlight once the list is read again

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Assistants", id="assistants-title")
            with Horizontal(id="assistants-body"):
                yield OptionList(id="assistants-list")
                with Vertical(id="assistants-side"):
                    yield Static("", id="assistant-detail")
                    yield OptionList(id="assistant-versions")
            yield Static("reading the server's assistants…", classes="modal-error -progress")
            yield Static("n new · e edit (a new version) · v activate the version · ctrl+d delete · s run it · "
                         "enter show on the Graph screen · esc close", id="assistants-keys")

    def on_mount(self) -> None:
        self.query_one("#assistants-list", OptionList).focus()
        self.load()

    # --- reading ---------------------------------------------------------------------------------------------
    async def _admin(self):
        if self.admin is None:
            from lgconsole.console.sources.assistant_admin import AssistantAdmin
            from lgconsole.console.sources.urls import langgraph_url

            self.admin = AssistantAdmin(await asyncio.to_thread(langgraph_url, self.app.config))
        return self.admin

    @work(exclusive=True, group="assistants-read", name="assistants", exit_on_error=False)
    async def load(self) -> None:
        try:
            found, error = await (await self._admin()).assistants(), None
        except StackError as exc:  # a server that is down is a state to show
            found, error = [], str(exc)
        self.post_message(self.AssistantsRead(found, error))

    @work(exclusive=True, group="assistants-versions", name="versions", exit_on_error=False)
    async def load_versions(self, assistant_id: str) -> None:
        try:
            _, versions = await (await self._admin()).versions(assistant_id)
            error = None
        except StackError as exc:
            versions, error = [], str(exc)
        self.post_message(self.VersionsRead(assistant_id, versions, error))

    def on_assistants_screen_assistants_read(self, message: AssistantsRead) -> None:
        self.assistants = sorted(message.assistants, key=lambda a: (a.graph_id, not a.system, a.name))
        options = self.query_one("#assistants-list", OptionList)
        options.clear_options()
        graph = None
        for assistant in self.assistants:
            if assistant.graph_id != graph:
                graph = assistant.graph_id
                options.add_option(Option(Text(f"graph {graph}", style="bold"), disabled=True))
            label = Text(f"  {assistant.name}")
            label.append(f"  v{assistant.version}" if assistant.version is not None else "", style="dim")
            if assistant.system:
                label.append("  (the graph's own)", style="dim")
            options.add_option(Option(label, id=assistant.assistant_id))
        self._line(message.error or (f"{len(self.assistants)} assistants" if self.assistants else
                                     "the server serves no assistants"), error=message.error is not None)
        wanted = self._wanted or next((a.assistant_id for a in self.assistants if a.graph_id == self.graph), None)
        self._highlight(wanted)

    def _highlight(self, assistant_id: str | None) -> None:
        options = self.query_one("#assistants-list", OptionList)
        for index in range(options.option_count):
            option = options.get_option_at_index(index)
            if option.id is not None and (assistant_id is None or option.id == assistant_id):
                options.highlighted = index
                return

    @property
    def selected(self):
        """The highlighted assistant, or None."""
        options = self.query_one("#assistants-list", OptionList)
        if options.highlighted is None:
            return None
        wanted = options.get_option_at_index(options.highlighted).id
        return next((a for a in self.assistants if a.assistant_id == wanted), None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_list.id != "assistants-list" or self.selected is None:
            return
        assistant = self.selected
        detail = Text()
        detail.append(assistant.label(), style="bold")
        detail.append(f"\n{assistant.assistant_id}", style="dim")
        if assistant.description:
            detail.append(f"\n{assistant.description}")
        detail.append("\nconfig  ", style="dim")
        detail.append(_json_line(assistant.config))
        detail.append("\ncontext ", style="dim")
        detail.append(_json_line(assistant.context))
        self.query_one("#assistant-detail", Static).update(detail)
        self._versions_of = assistant.assistant_id
        self.load_versions(assistant.assistant_id)

    def on_assistants_screen_versions_read(self, message: VersionsRead) -> None:
        if message.assistant_id != self._versions_of:
            return
        self.versions = message.versions
        active = self.selected.version if self.selected is not None else None
        options = self.query_one("#assistant-versions", OptionList)
        options.clear_options()
        for version in message.versions:
            label = Text(f"v{version.version}", style="bold" if version.version == active else "")
            label.append("  active" if version.version == active else "        ", style="bold")
            label.append(f"  {_when(version.created_at)}  {version.name}", style="dim")
            label.append(f"  {_json_line(version.config, 40)}")
            options.add_option(Option(label, id=str(version.version)))
        if message.error:
            self._line(message.error, error=True)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "assistants-list" and event.option.id:
            self.dismiss({"show": event.option.id})

    def _line(self, text: str, error: bool = False) -> None:
        line = self.query_one(".modal-error", Static)
        line.set_class(not error, "-progress")
        line.update(Text(text))

    # --- actions ---------------------------------------------------------------------------------------------
    def _after_change(self, assistant_id: str | None, said: str) -> None:
        self._wanted = assistant_id
        self.app.notify(said)
        self.load()

    def action_create(self) -> None:
        graph = self.selected.graph_id if self.selected is not None else self.graph
        if graph is None:
            self.app.notify("no graph to make an assistant of", severity="warning")
            return

        async def submit(fields: dict):
            return await (await self._admin()).create(graph, **fields)

        def done(created) -> None:
            if created is not None:
                self._after_change(created.assistant_id, f"created assistant {created.name} of {graph}")

        self.app.push_screen(AssistantEditScreen(f"New assistant of graph {graph}", submit), done)

    def action_edit(self) -> None:
        assistant = self.selected
        if assistant is None:
            self.app.notify("highlight an assistant first", severity="warning")
            return

        async def submit(fields: dict):
            return await (await self._admin()).update(assistant.assistant_id, **fields)

        def done(updated) -> None:
            if updated is not None:
                self._after_change(updated.assistant_id, f"{updated.name}: version {updated.version} is active")

        self.app.push_screen(AssistantEditScreen(f"Edit {assistant.label()}: saved as a new version", submit,
                                                 assistant), done)

    def action_activate(self) -> None:
        assistant, versions = self.selected, self.query_one("#assistant-versions", OptionList)
        if assistant is None or versions.highlighted is None:
            self.app.notify("highlight a version first (tab to the versions)", severity="warning")
            return
        self._activate(assistant.assistant_id, int(versions.get_option_at_index(versions.highlighted).id))

    @work(group="assistants-change", name="activate", exit_on_error=False)
    async def _activate(self, assistant_id: str, version: int) -> None:
        try:
            active = await (await self._admin()).activate(assistant_id, version)
        except StackError as exc:
            self._line(str(exc), error=True)
            return
        self._after_change(active.assistant_id, f"{active.name}: version {active.version} is active")

    def action_delete(self) -> None:
        assistant = self.selected
        if assistant is None:
            self.app.notify("highlight an assistant first", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(assistant)

        self.app.push_screen(ConfirmScreen(f"Delete assistant {assistant.label()} ({assistant.assistant_id}) and all "
                                           "its versions? Its threads stay."), answered)

    @work(group="assistants-change", name="delete", exit_on_error=False)
    async def _delete(self, assistant) -> None:
        try:
            await (await self._admin()).delete(assistant)
        except StackError as exc:
            self._line(str(exc), error=True)
            return
        self._after_change(None, f"deleted assistant {assistant.label()}")

    def action_start_run(self) -> None:
        if self.selected is not None:
            self.dismiss({"run": self.selected.assistant_id})

    def action_close(self) -> None:
        self.dismiss(None)


class AssistantEditScreen(SendingModal):
    """Name, description, config and context (JSON) of a new assistant or of an assistant's next version."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Save")]

    def __init__(self, title: str, submit, assistant=None):
        super().__init__(submit)
        self.title_text = title
        self.assistant = assistant

    def compose(self) -> ComposeResult:
        a = self.assistant
        with Vertical():
            yield Label(self.title_text, id="assistant-edit-title")
            with Horizontal(classes="field"):
                yield Label("name", classes="field-label")
                yield Input(a.name if a else "", placeholder="empty: Untitled", id="assistant-name", compact=True)
            with Horizontal(classes="field"):
                yield Label("about", classes="field-label")
                yield Input((a.description or "") if a else "", placeholder="optional description",
                            id="assistant-description", compact=True)
            yield Label("Config (JSON: configurable, recursion_limit, tags…)")
            yield TextArea(json.dumps(mask_secrets(a.config), indent=1) if a and a.config else "",
                           id="assistant-config", language=None)
            yield Label("Context (JSON: the graph's context schema)")
            yield TextArea(json.dumps(mask_secrets(a.context), indent=1) if a and a.context else "",
                           id="assistant-context", language=None)
            yield Static("", classes="modal-error")
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="assistant-save", compact=True)
                yield Button("Cancel (esc)", id="assistant-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#assistant-name", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "assistant-save":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        from lgconsole.console.sources.assistant_admin import parse_object, restore_masked

        if self.sending:
            return
        try:
            fields = {"config": parse_object(self.query_one("#assistant-config", TextArea).text, "config"),
                      "context": parse_object(self.query_one("#assistant-context", TextArea).text, "context")}
        except StackError as exc:
            self.show_error(str(exc))
            return
        name = self.query_one("#assistant-name", Input).value.strip()
        description = self.query_one("#assistant-description", Input).value.strip()
        a = self.assistant
        if a is not None:  # secrets left as *** keep their values
            fields["config"] = restore_masked(fields["config"], a.config)
            fields["context"] = restore_masked(fields["context"], a.context)
        fields["name"] = name or None if a is None or name != a.name else None
        fields["description"] = description or None if a is None or description != (a.description or "") else None
        if a is not None:  # an update sends what changed: an emptied field is sent empty, not left as it was
            if fields["config"] is None and a.config:
                fields["config"] = {}
            if fields["context"] is None and a.context:
                fields["context"] = {}
        self.send(fields)
