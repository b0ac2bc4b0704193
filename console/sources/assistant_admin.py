"""Managing assistants for `lgconsole assistants …` and the console's Assistants view: find one by id, name or graph,
create and update them with config and context checked against the graph's schemas first (nothing is sent when a
check fails), list versions, activate one, delete; and the root-graph nodes breakpoints may name."""

from __future__ import annotations

from typing import Any

from lgconsole.stack.errors import StackError
from lgconsole.stack.server.assistants import Assistant, AssistantNotFound, activate_version, create_assistant, \
    delete_assistant, get_assistant, get_graph, get_schemas, list_assistants, list_versions, update_assistant

from lgconsole.console.model.breakpoints import Breakpoints, check_nodes
from lgconsole.console.model.input_template import JsonFieldError, check_config, check_context, parse_json_field
from lgconsole.console.model.masking import MASK


class AssistantRefused(StackError):
    """An assistant's config, context or name that was not sent: malformed JSON, a key the graph's schemas refuse,
    an unknown graph or node; one line."""


def parse_object(text: str | None, what: str) -> dict | None:
    """A JSON object typed for `what` (config, context, metadata); None when nothing was typed."""
    if text is None:
        return None
    try:
        return parse_json_field(text, what, want_object=True)
    except JsonFieldError as exc:
        raise AssistantRefused(str(exc)) from None


def restore_masked(edited: Any, original: Any) -> Any:
    """An edited config or context with each secret still shown as `***` given its real value back from `original`
    (the editor shows them masked; an unchanged `***` is never sent)."""
    if edited == MASK and original not in (None, MASK):
        return original
    if isinstance(edited, dict) and isinstance(original, dict):
        return {k: restore_masked(v, original.get(k)) for k, v in edited.items()}
    return edited


def fields_error(schemas: Any, config: dict | None, context: dict | None) -> str | None:
    """The first of config and context that does not fit the graph's schemas, in one line."""
    if schemas is None:
        return None
    return check_config(config, schemas.config_schema) or check_context(context, schemas.context_schema)


def _served(assistants: list[Assistant]) -> str:
    return ", ".join(dict.fromkeys(a.graph_id for a in assistants)) or "no graphs"


def pick(assistants: list[Assistant], wanted: str) -> Assistant | None:
    """By assistant id; else by name; else a graph id's own (system) assistant, or the only one of that graph."""
    for found in ([a for a in assistants if a.assistant_id == wanted], [a for a in assistants if a.name == wanted]):
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise AssistantRefused(f"{len(found)} assistants are named {wanted!r}: give the id of one "
                                   f"({', '.join(a.assistant_id for a in found)})")
    of_graph = [a for a in assistants if a.graph_id == wanted]
    system = [a for a in of_graph if a.system]
    return (system or of_graph or [None])[0] if len(system) == 1 or len(of_graph) == 1 else None


class AssistantAdmin:
    """The assistants of the LangGraph server at `url` (async: the SDK is)."""

    def __init__(self, url: str):
        self.url = url

    async def assistants(self, graph_id: str | None = None) -> list[Assistant]:
        found = await list_assistants(self.url)
        return [a for a in found if graph_id is None or a.graph_id == graph_id]

    async def find(self, wanted: str) -> Assistant:
        """An assistant by id, name or graph id; an unknown one says what the server serves."""
        assistants = await list_assistants(self.url)
        found = pick(assistants, wanted)
        if found is not None:
            return found
        try:  # an assistant past the first 100 listed, by its id
            return await get_assistant(self.url, wanted)
        except AssistantNotFound:
            raise AssistantNotFound(f"no assistant {wanted!r} on the LangGraph server at {self.url} (by id, name or "
                                    f"graph; it serves: {_served(assistants)})") from None

    async def versions(self, wanted: str) -> tuple[Assistant, list[Assistant]]:
        """The assistant as it is (its active version) and all its versions, newest first."""
        assistant = await self.find(wanted)
        return assistant, await list_versions(self.url, assistant.assistant_id)

    async def _schemas(self, graph_id: str):
        """The graph's schemas, read through its own assistant; an unknown graph lists the served ones."""
        assistants = await list_assistants(self.url)
        of_graph = [a for a in assistants if a.graph_id == graph_id]
        if not of_graph:
            raise AssistantRefused(f"the LangGraph server at {self.url} serves no graph {graph_id!r} (it serves: "
                                   f"{_served(assistants)}); nothing was created")
        own = next((a for a in of_graph if a.system), of_graph[0])
        return await get_schemas(self.url, own.assistant_id)

    async def _check(self, graph_id: str, config: dict | None, context: dict | None, what: str) -> None:
        error = fields_error(await self._schemas(graph_id), config, context)
        if error:
            raise AssistantRefused(f"{what}: {error}; nothing was sent")

    async def create(self, graph_id: str, *, name: str | None = None, description: str | None = None,
                     config: dict | None = None, context: dict | None = None) -> Assistant:
        await self._check(graph_id, config, context, f"new assistant of {graph_id}")
        return await create_assistant(self.url, graph_id, name=name, description=description, config=config,
                                      context=context)

    async def update(self, wanted: str, *, name: str | None = None, description: str | None = None,
                     config: dict | None = None, context: dict | None = None) -> Assistant:
        """A new version with what was given changed (the rest kept), made active."""
        assistant = await self.find(wanted)
        if name is None and description is None and config is None and context is None:
            raise AssistantRefused(f"update {assistant.name}: nothing to change (give --config, --context, --name or "
                                   "--description)")
        await self._check(assistant.graph_id, config, context, f"update {assistant.name}")
        return await update_assistant(self.url, assistant.assistant_id, name=name, description=description,
                                      config=config, context=context)

    async def activate(self, wanted: str, version: int) -> Assistant:
        assistant, versions = await self.versions(wanted)
        known = [v.version for v in versions]
        if version not in known:
            raise AssistantRefused(f"{assistant.name} has no version {version} (versions: "
                                   f"{', '.join(str(v) for v in known)})")
        return await activate_version(self.url, assistant.assistant_id, version)

    async def delete(self, assistant: Assistant) -> None:
        await delete_assistant(self.url, assistant.assistant_id)


async def root_nodes(url: str, assistant: str) -> list[str]:
    """The nodes of an assistant's root graph: where a breakpoint can stop (not START or END)."""
    graph = await get_graph(url, assistant, xray=False)
    return [str(n["id"]) for n in graph.get("nodes") or [] if n.get("id") not in ("__start__", "__end__")]


async def check_breakpoints(url: str, assistant: str, breakpoints: Breakpoints) -> None:
    """Refuse breakpoints at nodes the graph does not have, in one line listing its nodes."""
    if not breakpoints:
        return
    error = check_nodes(breakpoints, await root_nodes(url, assistant), assistant)
    if error:
        raise AssistantRefused(f"{error}; nothing was started")
