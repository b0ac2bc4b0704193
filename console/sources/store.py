"""The Store/Redis screen's and `lgconsole store`/`redis`'s data: the LangGraph store's namespaces and items, the
stack's Redis keys and values, every value masked by the one policy (console/model/masking.py) before it leaves here.

Blocking methods (callers run them in thread workers): the store's async SDK calls run in their own event loop.
Reads that fail come back as data with an `error` line (a screen draws it); deletes raise StackError.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from typing import Any, Protocol

from lgconsole.stack.errors import StackError
from lgconsole.stack.server.store import StoreItem, delete_item, get_item, list_namespaces, search_items
from lgconsole.stack.services.redis_browse import KeyListing, RedisBrowser, RedisKey, RedisValue

from lgconsole.console.config import Config
from lgconsole.console.model.masking import mask_secrets
from lgconsole.console.model.store_browse import text_matches
from lgconsole.console.sources.urls import langgraph_url, service_url

ITEMS_PER_READ = 200


@dataclass(frozen=True)
class StoreListing:
    """Namespaces of the whole store and the items under `prefix` that match `query`."""

    namespaces: tuple[tuple[str, ...], ...] = ()
    items: tuple[StoreItem, ...] = ()
    prefix: tuple[str, ...] = ()
    query: str = ""
    text_search: bool = False  # the store has no vector index: the query was matched as text, here
    cut: bool = False  # ITEMS_PER_READ items came back: there may be more
    error: str | None = None


@dataclass(frozen=True)
class RedisListing:
    listing: KeyListing | None = None
    error: str | None = None


class StoreData(Protocol):
    """What the Store/Redis screen reads (the live source below, or fixed data in tests)."""

    def store_listing(self, prefix: tuple[str, ...] = (), query: str = "") -> StoreListing: ...
    def delete_store_item(self, namespace: tuple[str, ...], key: str) -> StoreItem: ...
    def redis_listing(self, prefix: str = "") -> RedisListing: ...
    def redis_value(self, key: str) -> RedisValue: ...
    def delete_redis_key(self, key: str) -> RedisKey: ...
    def close(self) -> None: ...


def masked_item(item: StoreItem) -> StoreItem:
    """The value masked; the key stays as it is (it names the item for a delete): rows mask it when shown."""
    return replace(item, value=mask_secrets(item.value))


def masked_value(value: RedisValue) -> RedisValue:
    """Secrets in the value masked (the key name is masked where rows show it); a string holding JSON is shown as the structure it is (masked by key as well as by shape)."""
    shown: Any = value.value
    if isinstance(shown, str) and not value.cut and shown[:1] in ("{", "["):
        try:
            shown = json.loads(shown)
        except ValueError:
            pass
    return replace(value, value=mask_secrets(shown))


class StoreSource:
    def __init__(self, config: Config):
        self.config = config
        self._redis: RedisBrowser | None = None

    # --- the LangGraph store -------------------------------------------------------------------------------
    def store_listing(self, prefix: tuple[str, ...] = (), query: str = "") -> StoreListing:
        try:
            url = langgraph_url(self.config)
            namespaces, items = asyncio.run(_read_store(url, prefix, query))
        except StackError as exc:
            return StoreListing(prefix=prefix, query=query, error=str(exc))
        # a store without a vector index ignores the query and scores nothing: match the words here instead
        text_search = bool(query) and all(item.score is None for item in items)
        cut = len(items) >= ITEMS_PER_READ
        if text_search:
            items = [item for item in items if text_matches(query, item.key, item.value)]
        return StoreListing(tuple(namespaces), tuple(masked_item(item) for item in items), prefix, query,
                            text_search, cut)

    def store_item(self, namespace: tuple[str, ...], key: str) -> StoreItem:
        return masked_item(asyncio.run(get_item(langgraph_url(self.config), namespace, key)))

    def delete_store_item(self, namespace: tuple[str, ...], key: str) -> StoreItem:
        return masked_item(asyncio.run(delete_item(langgraph_url(self.config), namespace, key)))

    # --- Redis -----------------------------------------------------------------------------------------------
    def redis(self) -> RedisBrowser:
        if self._redis is None:
            self._redis = RedisBrowser(service_url(self.config, "redis"))
        return self._redis

    def redis_listing(self, prefix: str = "") -> RedisListing:
        try:
            return RedisListing(self.redis().keys(prefix))
        except StackError as exc:
            return RedisListing(error=str(exc))

    def redis_value(self, key: str) -> RedisValue:
        return masked_value(self.redis().value(key))

    def delete_redis_key(self, key: str) -> RedisKey:
        return self.redis().delete(key)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis = None


async def _read_store(url: str, prefix: tuple[str, ...], query: str):
    namespaces = await list_namespaces(url)
    items = await search_items(url, prefix, query=query or None, limit=ITEMS_PER_READ)
    return namespaces, items
