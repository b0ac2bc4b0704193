"""Reads and deletes items of the LangGraph server's long-term store (`/store/...`) through langgraph-sdk's
`client.store`: namespaces, items with their values and timestamps, search under a prefix.

Every failure is a `StackError` with one line: server down, a server without a store, an item that is gone.
The SDK client comes from the same maker as the assistants' reads, so a change there (headers, timeouts) holds here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from lgconsole.stack.errors import StackError
from lgconsole.stack.server.assistants import READ_TIMEOUT_S, _client, call_sdk

MAX_NAMESPACES = 1000  # the server answers at most this many in one page; a store with more is paged


class StoreUnavailable(StackError):
    """The server has no store API (it answers 404 under /store)."""


class StoreItemNotFound(StackError):
    """No item under that namespace and key (never written, or deleted meanwhile)."""


@dataclass(frozen=True)
class StoreItem:
    namespace: tuple[str, ...]
    key: str
    value: dict = field(default_factory=dict)
    created_at: str | None = None  # ISO 8601, as the server says it
    updated_at: str | None = None
    score: float | None = None  # a semantic search's similarity; None when the store has no vector index

    @classmethod
    def from_api(cls, data: dict) -> StoreItem:
        def when(key: str) -> str | None:
            value = data.get(key)
            return value.isoformat() if hasattr(value, "isoformat") else str(value) if value else None

        value = data.get("value")
        return cls(namespace=tuple(str(part) for part in data.get("namespace") or ()), key=str(data.get("key", "")),
                   value=value if isinstance(value, dict) else {"value": value},
                   created_at=when("created_at"), updated_at=when("updated_at"), score=data.get("score"))

    @property
    def path(self) -> str:
        """`demo/memories/user-1:thread-id`, how the CLI names an item."""
        return "/".join(self.namespace) + ":" + self.key


def where(namespace: Sequence[str], key: str | None = None) -> str:
    """An item's or a namespace's name in a message: `demo/memories` or `demo/memories:key`."""
    text = "/".join(namespace) or "(root)"
    return text if key is None else f"{text}:{key}"


async def list_namespaces(url: str, prefix: Sequence[str] = (), *, max_depth: int | None = None,
                          limit: int = MAX_NAMESPACES, timeout: float = READ_TIMEOUT_S) -> list[tuple[str, ...]]:
    """The namespaces under `prefix` (every one that holds items; cut at `max_depth` parts), sorted."""
    async with _client(url, timeout) as client:
        call = client.store.list_namespaces(prefix=list(prefix) or None, max_depth=max_depth, limit=limit)
        found = await _call(url, call, timeout)
    return sorted(tuple(str(part) for part in namespace) for namespace in (found or {}).get("namespaces") or ())


async def search_items(url: str, prefix: Sequence[str] = (), *, query: str | None = None,
                       filter: dict[str, Any] | None = None, limit: int = 100, offset: int = 0,
                       timeout: float = READ_TIMEOUT_S) -> list[StoreItem]:
    """Items under `prefix`, newest first; `query` is the server's semantic search (ignored by a store that has no
    vector index: then every item comes back with `score` None)."""
    async with _client(url, timeout) as client:
        call = client.store.search_items(list(prefix), filter=filter, limit=limit, offset=offset, query=query or None)
        found = await _call(url, call, timeout)
    return [StoreItem.from_api(item) for item in (found or {}).get("items") or ()]


async def get_item(url: str, namespace: Sequence[str], key: str, *, timeout: float = READ_TIMEOUT_S) -> StoreItem:
    async with _client(url, timeout) as client:
        found = await _call(url, client.store.get_item(list(namespace), key=key), timeout, where(namespace, key))
    if not found:  # the server answers a missing item with null, not 404
        raise StoreItemNotFound(f"no store item {where(namespace, key)} on the LangGraph server at {url}")
    return StoreItem.from_api(found)


async def delete_item(url: str, namespace: Sequence[str], key: str, *, timeout: float = READ_TIMEOUT_S) -> StoreItem:
    """Delete one item and return what it held. The server deletes a missing item without a word, so the item is
    read first: one deleted meanwhile (by a run, or a second console) is reported, not silently "deleted" again."""
    item = await get_item(url, namespace, key, timeout=timeout)
    async with _client(url, timeout) as client:
        await _call(url, client.store.delete_item(list(namespace), key=key), timeout, where(namespace, key))
    return item


async def _call(url: str, request, timeout: float, item: str | None = None):
    """Await one SDK request and turn what can go wrong into a one-line StackError."""
    def refused(status: int | None, message: str) -> StackError | None:
        if status == 404 and item is not None:
            return StoreItemNotFound(f"no store item {item} on the LangGraph server at {url}")
        if status in (404, 405):
            return StoreUnavailable(f"the LangGraph server at {url} has no store (/store answered {status}): its "
                                    "langgraph.json configures none, or the server does not serve the store API")
        return None

    return await call_sdk(url, request, timeout, refused)
