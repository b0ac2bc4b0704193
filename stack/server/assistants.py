"""Assistants on a LangGraph server: the list, a graph's topology, its schemas and subgraphs; an assistant's versions,
and creating, updating (a new version), activating a version of and deleting one.

A thin typed layer over `langgraph_sdk` (imported lazily, off the event loop: the import takes ~0.8 s). Every
failure becomes a `StackError` with a one-line message: server not answering, unknown assistant, timeout.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from lgconsole.stack.errors import StackError
from lgconsole.stack.server.credentials import credentials_for

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 15.0


class LangGraphUnavailable(StackError):
    """Nothing answers at the server's URL (refused, unreachable, or the connection dropped)."""


class LangGraphTimeout(StackError):
    """The server accepted the connection but did not answer in time."""


class AssistantNotFound(StackError):
    """No assistant (or graph) with that id on the server."""


class LangGraphApiError(StackError):
    """The server answered with an error status."""


@dataclass(frozen=True)
class Assistant:
    assistant_id: str
    graph_id: str
    name: str
    version: int | None = None
    description: str | None = None
    config: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    created_at: str | None = None  # ISO 8601, as the server says it
    updated_at: str | None = None

    @classmethod
    def from_api(cls, data: dict) -> Assistant:
        def when(key: str) -> str | None:
            value = data.get(key)
            return value.isoformat() if hasattr(value, "isoformat") else str(value) if value else None

        return cls(assistant_id=str(data.get("assistant_id", "")), graph_id=str(data.get("graph_id", "")),
                   name=str(data.get("name") or data.get("graph_id") or ""), version=data.get("version"),
                   description=data.get("description"), config=dict(data.get("config") or {}),
                   context=dict(data.get("context") or {}), metadata=dict(data.get("metadata") or {}),
                   created_at=when("created_at"), updated_at=when("updated_at"))

    @property
    def system(self) -> bool:
        """The assistant the server made for its graph (the graph id works in its place)."""
        return self.metadata.get("created_by") == "system"

    def label(self) -> str:
        """"report · v2" (the name when it is not the graph id; the version when the server keeps one)."""
        text = self.graph_id if self.name in ("", self.graph_id) else f"{self.graph_id} ({self.name})"
        return text + (f" · v{self.version}" if self.version is not None else "")


@dataclass(frozen=True)
class AssistantSchemas:
    """JSON Schemas of a graph; a schema the graph does not declare is None."""

    graph_id: str
    input_schema: dict | None = None
    output_schema: dict | None = None
    state_schema: dict | None = None
    config_schema: dict | None = None
    context_schema: dict | None = None

    @classmethod
    def from_api(cls, data: dict) -> AssistantSchemas:
        return cls(graph_id=str(data.get("graph_id", "")),
                   **{key: data.get(key) for key in ("input_schema", "output_schema", "state_schema",
                                                      "config_schema", "context_schema")})


async def list_assistants(url: str, *, limit: int = 100, timeout: float = READ_TIMEOUT_S) -> list[Assistant]:
    """Every assistant on the server (one per graph unless more were created), sorted by graph id then name."""
    async with _client(url, timeout) as client:
        found = await _call(url, None, client.assistants.search(limit=limit), timeout)
    assistants = [Assistant.from_api(a) for a in found]
    return sorted(assistants, key=lambda a: (a.graph_id, a.name, a.assistant_id))


async def get_graph(url: str, assistant_id: str, *, xray: bool | int = False,
                    timeout: float = READ_TIMEOUT_S) -> dict[str, Any]:
    """The topology `{"nodes": [...], "edges": [...]}`; `xray` flattens subgraphs into `parent:child` nodes."""
    async with _client(url, timeout) as client:
        return await _call(url, assistant_id, client.assistants.get_graph(assistant_id, xray=xray), timeout)


async def get_schemas(url: str, assistant_id: str, *, timeout: float = READ_TIMEOUT_S) -> AssistantSchemas:
    async with _client(url, timeout) as client:
        data = await _call(url, assistant_id, client.assistants.get_schemas(assistant_id), timeout)
    return AssistantSchemas.from_api(data)


async def get_subgraphs(url: str, assistant_id: str, *, namespace: str | None = None, recurse: bool = True,
                        timeout: float = READ_TIMEOUT_S) -> dict[str, dict]:
    """Subgraph namespace -> its schemas."""
    async with _client(url, timeout) as client:
        call = client.assistants.get_subgraphs(assistant_id, namespace=namespace, recurse=recurse)
        return await _call(url, assistant_id, call, timeout)


async def get_assistant(url: str, assistant_id: str, *, timeout: float = READ_TIMEOUT_S) -> Assistant:
    """One assistant as it is now (its active version's config, context and name)."""
    async with _client(url, timeout) as client:
        return Assistant.from_api(await _call(url, assistant_id, client.assistants.get(assistant_id), timeout))


async def list_versions(url: str, assistant_id: str, *, limit: int = 100,
                        timeout: float = READ_TIMEOUT_S) -> list[Assistant]:
    """Every version of an assistant, newest first (each with the config, context and name it had)."""
    async with _client(url, timeout) as client:
        found = await _call(url, assistant_id, client.assistants.get_versions(assistant_id, limit=limit), timeout)
    return sorted((Assistant.from_api(v) for v in found), key=lambda a: -(a.version or 0))


async def create_assistant(url: str, graph_id: str, *, name: str | None = None, description: str | None = None,
                           config: dict | None = None, context: dict | None = None, metadata: dict | None = None,
                           timeout: float = READ_TIMEOUT_S) -> Assistant:
    """A new assistant of a served graph (version 1)."""
    async with _client(url, timeout) as client:
        created = client.assistants.create(graph_id, config=config, context=context, metadata=metadata, name=name,
                                           description=description)
        return Assistant.from_api(await _call(url, graph_id, created, timeout))


async def update_assistant(url: str, assistant_id: str, *, name: str | None = None, description: str | None = None,
                           config: dict | None = None, context: dict | None = None, metadata: dict | None = None,
                           timeout: float = READ_TIMEOUT_S) -> Assistant:
    """A new version of the assistant, made active; what is not given (None) is kept from the active version."""
    async with _client(url, timeout) as client:
        updated = client.assistants.update(assistant_id, config=config, context=context, metadata=metadata, name=name,
                                           description=description)
        return Assistant.from_api(await _call(url, assistant_id, updated, timeout))


async def activate_version(url: str, assistant_id: str, version: int, *,
                           timeout: float = READ_TIMEOUT_S) -> Assistant:
    """Make an earlier (or later) version the one runs use."""
    async with _client(url, timeout) as client:
        return Assistant.from_api(await _call(url, assistant_id, client.assistants.set_latest(assistant_id, version),
                                              timeout))


async def delete_assistant(url: str, assistant_id: str, *, timeout: float = READ_TIMEOUT_S) -> None:
    """Delete the assistant and all its versions (its threads stay)."""
    async with _client(url, timeout) as client:
        await _call(url, assistant_id, client.assistants.delete(assistant_id), timeout)


# --- plumbing ---------------------------------------------------------------------------------------------------------

async def _sdk():
    if "langgraph_sdk" in sys.modules:
        return sys.modules["langgraph_sdk"]
    return await asyncio.to_thread(importlib.import_module, "langgraph_sdk")


@asynccontextmanager
async def _client(url: str, timeout: float) -> AsyncIterator[Any]:
    """An SDK client whose connection attempts fail fast: the SDK's default transport retries a refused
    connection five times with backoff (7.5 s before it reports a server that is simply down)."""
    sdk = await _sdk()
    import httpx

    defaults = sdk.get_client(url=url, **credentials_for(url).sdk_kwargs())
    headers = defaults.http.client.headers  # user agent and the server's credentials
    await defaults.aclose()
    http = httpx.AsyncClient(base_url=url, headers=headers, transport=httpx.AsyncHTTPTransport(retries=1),
                             timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout)))
    client = sdk.client.LangGraphClient(http)
    try:
        yield client
    finally:
        await client.aclose()


async def _call(url: str, assistant_id: str | None, request, timeout: float):
    """Await one SDK request and turn what can go wrong into a one-line StackError."""
    def refused(status: int | None, message: str) -> StackError | None:
        # an id that is neither a UUID nor a graph id is refused with 422 "Invalid assistant ID"
        if assistant_id is not None and (status == 404 or (status == 422 and "assistant" in message.lower())):
            return AssistantNotFound(f"no assistant or graph {assistant_id!r} on the LangGraph server at {url}")
        return None

    return await call_sdk(url, request, timeout, refused)


async def call_sdk(url: str, request, timeout: float, refused=None):
    """Await one SDK request; what can go wrong becomes a one-line StackError: the transport's failures, and an
    HTTP error status as `refused(status, message)` names it (None: the server's own words)."""
    import httpx

    try:
        return await request
    except httpx.TimeoutException as exc:
        raise LangGraphTimeout(f"the LangGraph server at {url} did not answer within {timeout:g}s") from exc
    except httpx.ConnectError as exc:
        raise LangGraphUnavailable(f"the LangGraph server at {url} is not answering (connection refused): start the "
                                   "stack with `lgconsole up` (`lgconsole status` says which service is down)") from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise LangGraphUnavailable(f"the LangGraph server at {url} dropped the connection") from exc
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code if exc.response is not None else None
        message = " ".join(str(getattr(exc, "message", "") or exc).split())
        named = refused(status, message) if refused is not None else None
        if named is not None:
            raise named from exc
        raise LangGraphApiError(f"the LangGraph server at {url} answered {status}: {message}") from exc
    except httpx.HTTPError as exc:
        raise LangGraphUnavailable(f"the LangGraph server at {url} failed: {type(exc).__name__}: {exc}") from exc
