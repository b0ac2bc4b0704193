"""Where the Graph screen gets its data: the LangGraph server's assistants API, or recorded answers.

`LiveGraphSource` finds the server's URL from the config (`[langgraph] url` / `LANGGRAPH_URL`, else the port of
the stack lgconsole runs) and reads through `lgconsole.stack.server.assistants`. Every method is async and runs in a
worker; failures are `StackError`s with a one-line message.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from lgconsole.stack.server.assistants import (Assistant, AssistantNotFound, AssistantSchemas, get_graph, get_schemas,
                                               list_assistants)
from lgconsole.stack.errors import StackError

from lgconsole.console.config import Config
from lgconsole.console.sources.urls import langgraph_url


class GraphSource(Protocol):
    async def url(self) -> str: ...

    async def assistants(self) -> list[Assistant]: ...

    async def graph(self, assistant_id: str, xray: bool) -> dict: ...

    async def schemas(self, assistant_id: str) -> AssistantSchemas: ...


class LiveGraphSource:
    """Reads the real server."""

    def __init__(self, config: Config):
        self.config = config
        self._url: str | None = None

    async def url(self) -> str:
        if self._url is None:
            self._url = await asyncio.to_thread(langgraph_url, self.config)
        return self._url

    async def assistants(self) -> list[Assistant]:
        return await list_assistants(await self.url())

    async def graph(self, assistant_id: str, xray: bool) -> dict:
        return await get_graph(await self.url(), assistant_id, xray=xray)

    async def schemas(self, assistant_id: str) -> AssistantSchemas:
        return await get_schemas(await self.url(), assistant_id)


class RecordedGraphSource:
    """Fixed answers, as a server gave them: for tests, screenshots and demos without a server. With `error`,
    every call fails with it (a server that is down)."""

    def __init__(self, assistants: list[Assistant], graphs: dict[tuple[str, bool], dict],
                 schemas: dict[str, AssistantSchemas] | None = None, error: StackError | None = None,
                 url: str = "http://127.0.0.1:2024"):
        self._assistants = assistants
        self._graphs = graphs
        self._schemas = schemas or {}
        self.error = error
        self._url = url
        self.calls: list[tuple] = []

    async def url(self) -> str:
        return self._url

    def _check(self, *call) -> None:
        self.calls.append(call)
        if self.error is not None:
            raise self.error

    async def assistants(self) -> list[Assistant]:
        self._check("assistants")
        return list(self._assistants)

    async def graph(self, assistant_id: str, xray: bool) -> dict:
        self._check("graph", assistant_id, xray)
        try:
            return self._graphs[assistant_id, xray]
        except KeyError:
            raise AssistantNotFound(f"no assistant or graph {assistant_id!r} on the LangGraph server at "
                                    f"{self._url}") from None

    async def schemas(self, assistant_id: str) -> AssistantSchemas:
        self._check("schemas", assistant_id)
        return self._schemas.get(assistant_id, AssistantSchemas(graph_id=assistant_id))
