"""The server's assistants and their schemas for the New-run dialog and `lgconsole assistants`/`run`, the last input
typed per assistant (a small JSON file under the state dir), and a check of a run's input, config and context
against the graph's schemas before anything is sent."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lgconsole.stack.errors import StackError
from lgconsole.stack.server.assistants import Assistant, AssistantNotFound, AssistantSchemas, get_schemas, \
    list_assistants

from lgconsole.console.config import Config
from lgconsole.console.model.input_template import check_config, check_context, check_input, is_chat, message_key
from lgconsole.console.sources.urls import langgraph_url

REMEMBERED_FILE = "console-inputs.json"
MAX_REMEMBERED = 50  # assistants
MAX_REMEMBERED_CHARS = 20_000  # per field


class RunArgumentsError(StackError):
    """Input, config or context that does not fit the graph's schemas; one line naming the key."""


@dataclass(frozen=True)
class AssistantList:
    """What the dialog shows: the server's assistants, or why they could not be read (a state, not a failure)."""

    assistants: tuple[Assistant, ...] = ()
    error: str | None = None

    def find(self, assistant_id: str) -> Assistant | None:
        """By assistant id or graph id (a run takes either; the schema read takes only the assistant id)."""
        return find_assistant(self.assistants, assistant_id)


def find_assistant(assistants, wanted: str) -> Assistant | None:
    """The assistant with that id, else the one serving that graph id, else the one of that name."""
    for key in ("assistant_id", "graph_id", "name"):
        found = next((a for a in assistants if getattr(a, key) == wanted), None)
        if found is not None:
            return found
    return None


class AssistantCatalog:
    """Reads the server's assistants and schemas (async: the SDK is) for the console's config."""

    def __init__(self, config: Config):
        self.config = config
        self._schemas: dict[str, AssistantSchemas] = {}
        self._listed: tuple[Assistant, ...] = ()

    async def assistants(self) -> AssistantList:
        import asyncio

        try:
            url = await asyncio.to_thread(langgraph_url, self.config)
            self._listed = tuple(await list_assistants(url))
            return AssistantList(self._listed)
        except StackError as exc:
            return AssistantList((), str(exc))

    async def schemas(self, assistant_id: str) -> AssistantSchemas:
        """The graph's schemas (cached for the session: a graph's schemas change only with a server restart)."""
        import asyncio

        if assistant_id not in self._schemas:
            url = await asyncio.to_thread(langgraph_url, self.config)
            found = find_assistant(self._listed, assistant_id)  # the server reads schemas by assistant id only
            self._schemas[assistant_id] = await get_schemas(url, found.assistant_id if found else assistant_id)
        return self._schemas[assistant_id]

    async def chat_key(self, assistant_id: str | None) -> str | None:
        """The input key of the graph's message list when the graph is talked to (a chat graph), else None; None too
        when its schemas cannot be read (the attach goes on without chat mode)."""
        if not assistant_id:
            return None
        try:
            schema = (await self.schemas(self.graph_of(assistant_id) or assistant_id)).input_schema
        except StackError:
            return None
        return message_key(schema) if is_chat(schema) else None

    def graph_of(self, assistant_id: str | None) -> str | None:
        """The graph id of an assistant listed last (an attached run names its assistant by its UUID)."""
        found = find_assistant(self._listed, assistant_id) if assistant_id else None
        return found.graph_id if found is not None else None

    def remembered(self) -> RememberedInputs:
        return RememberedInputs(self.config.state_path / REMEMBERED_FILE)

    async def check_breakpoints(self, assistant_id: str, breakpoints) -> None:
        """Refuse breakpoints at nodes the assistant's root graph does not have (one line listing its nodes)."""
        import asyncio

        from lgconsole.console.sources.assistant_admin import check_breakpoints

        url = await asyncio.to_thread(langgraph_url, self.config)
        found = find_assistant(self._listed, assistant_id)
        await check_breakpoints(url, found.assistant_id if found else assistant_id, breakpoints)


class RememberedInputs:
    """The last input, config and context typed per assistant, in one JSON file written atomically, mode 0600 (an
    input may hold anything a user pasted)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, assistant_id: str) -> dict | None:
        entry = self._read().get(assistant_id)
        return entry if isinstance(entry, dict) else None

    def put(self, assistant_id: str, entry: dict) -> None:
        data = self._read()
        data.pop(assistant_id, None)
        data[assistant_id] = {k: str(v)[:MAX_REMEMBERED_CHARS] for k, v in entry.items()}
        while len(data) > MAX_REMEMBERED:
            data.pop(next(iter(data)))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".console-inputs-", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def run_arguments_error(schemas: AssistantSchemas | None, input: Any = None, config: Any = None,
                        context: Any = None) -> str | None:
    """The first of input, config and context that does not fit the graph's schemas, in one line; None if all fit."""
    if schemas is None:
        return None
    return (check_input(input, schemas.input_schema) or check_config(config, schemas.config_schema)
            or check_context(context, schemas.context_schema))


async def check_run_arguments(url: str, assistant_id: str, input: Any = None, config: Any = None,
                              context: Any = None) -> AssistantSchemas:
    """Raise RunArgumentsError when input/config/context do not fit; an unknown assistant's error lists the server's
    assistants. Returns the schemas read."""
    found = find_assistant(await list_assistants(url), assistant_id)
    if found is None:  # (an assistant past the first 100 listed is still asked for by its id)
        try:
            schemas = await get_schemas(url, assistant_id)
        except AssistantNotFound:
            raise AssistantNotFound(await unknown_assistant_line(url, assistant_id)) from None
    else:
        schemas = await get_schemas(url, found.assistant_id)
    error = run_arguments_error(schemas, input, config, context)
    if error:
        raise RunArgumentsError(f"{assistant_id}: {error}")
    return schemas


async def unknown_assistant_line(url: str, assistant_id: str) -> str:
    """"no such assistant or graph 'x' on the LangGraph server at URL; it serves: demo, report (Report bot)"."""
    said = f"no such assistant or graph {assistant_id!r} on the LangGraph server at {url}"
    try:
        found = await list_assistants(url)
    except StackError:
        return said
    names = [a.graph_id if a.name in (a.graph_id, "") else f"{a.graph_id} ({a.name})" for a in found]
    return f"{said}; it serves: {', '.join(dict.fromkeys(names)) or 'no assistants'}"
