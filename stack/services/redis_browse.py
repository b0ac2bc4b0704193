"""Browses the stack's Redis: keys under a prefix (SCAN, never KEYS) with their type, size and TTL, one key's value
as a bounded preview, and deleting a key.

Synchronous `redis` client with short timeouts (callers run it in a thread). Every failure is a `StackError` with
one line that names host:port, never the URL's password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lgconsole.stack.errors import StackError

SCAN_BATCH = 500  # keys per SCAN call: Redis walks about this many slots per round trip
MAX_KEYS = 1000  # a listing stops here and says it was cut
PREVIEW_ITEMS = 50  # elements of a hash, list, set, sorted set or stream in a preview
PREVIEW_BYTES = 16_384  # of a string value
CONNECT_TIMEOUT_S = 1.5
COMMAND_TIMEOUT_S = 3.0


class RedisUnavailable(StackError):
    """Redis does not answer (down, refused, wrong password)."""


class RedisKeyNotFound(StackError):
    """No such key (never written, expired, or deleted meanwhile)."""


@dataclass(frozen=True)
class RedisKey:
    key: str
    type: str  # string | hash | list | set | zset | stream | none (expired between SCAN and TYPE)
    size_bytes: int | None  # MEMORY USAGE: what the key costs Redis, value and overhead
    ttl_s: float | None  # None: no expiry


@dataclass(frozen=True)
class KeyListing:
    keys: tuple[RedisKey, ...]
    prefix: str
    cut: bool = False  # more keys match than MAX_KEYS
    total_keys: int | None = None  # DBSIZE: every key of the database, for "shown of total"


@dataclass(frozen=True)
class RedisValue:
    key: RedisKey
    value: Any  # str for a string; dict, list or list of [member, score] pairs for the others
    length: int | None = None  # elements (STRLEN for a string)
    cut: bool = False  # the preview holds less than the whole value
    extra: dict = field(default_factory=dict)


def redis_where(url: str) -> str:
    """`Redis at 127.0.0.1:6379`: the URL's host and port, never its password."""
    parts = urlsplit(url)
    return f"Redis at {parts.hostname or 'localhost'}:{parts.port or 6379}"


class RedisBrowser:
    def __init__(self, url: str):
        self.url = url
        self._client = None

    def _redis(self):
        if self._client is None:
            import redis

            try:
                self._client = redis.Redis.from_url(self.url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                                    socket_timeout=COMMAND_TIMEOUT_S)
            except ValueError as exc:  # a malformed URL; its text may hold the password: say only what is wrong
                raise RedisUnavailable(f"the Redis URL is not valid: {type(exc).__name__}") from None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def keys(self, prefix: str = "", limit: int = MAX_KEYS) -> KeyListing:
        """Keys starting with `prefix` (glob characters in it match literally), sorted, each with type, size, TTL."""
        pattern = _glob_escape(prefix) + "*"
        with self._errors():
            client = self._redis()
            found: list[bytes] = []
            cursor, cut = 0, False
            while True:
                cursor, batch = client.scan(cursor=cursor, match=pattern, count=SCAN_BATCH)
                found.extend(batch)
                if len(found) > limit:
                    found, cut = found[:limit], True
                    break
                if cursor == 0:
                    break
            found = sorted(set(found))
            described = self._describe(client, found)
            total = client.dbsize()
        return KeyListing(tuple(described), prefix, cut, total)

    def value(self, key: str, items: int = PREVIEW_ITEMS) -> RedisValue:
        """A bounded preview of one key's value; RedisKeyNotFound when it is gone."""
        raw_key = key.encode("utf-8", "surrogateescape")
        with self._errors():
            client = self._redis()
            described = self._describe(client, [raw_key])[0]
            if described.type == "none":
                raise RedisKeyNotFound(f"no key {key!r} in {redis_where(self.url)} (expired or deleted)")
            value, length, cut = _read_value(client, raw_key, described.type, items)
        return RedisValue(described, value, length, cut)

    def delete(self, key: str) -> RedisKey:
        """Delete one key and return what it was; RedisKeyNotFound when it was already gone."""
        raw_key = key.encode("utf-8", "surrogateescape")
        with self._errors():
            client = self._redis()
            described = self._describe(client, [raw_key])[0]
            if described.type == "none" or client.delete(raw_key) == 0:
                raise RedisKeyNotFound(f"no key {key!r} in {redis_where(self.url)} (expired or deleted)")
        return described

    @staticmethod
    def _describe(client, keys: list[bytes]) -> list[RedisKey]:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
            pipe.memory_usage(key)
            pipe.pttl(key)
        answers = pipe.execute(raise_on_error=False)
        described = []
        for n, key in enumerate(keys):
            kind, size, pttl = answers[3 * n: 3 * n + 3]
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            size = size if isinstance(size, int) else None  # MEMORY USAGE is refused on some managed Redis
            ttl = pttl / 1000 if isinstance(pttl, int) and pttl >= 0 else None
            described.append(RedisKey(decode(key), kind, size, ttl))
        return described

    def _errors(self):
        return _RedisErrors(self.url)


class _RedisErrors:
    """Turns redis-py's errors into one-line StackErrors naming host:port."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, StackError):
            return False
        import redis

        where = redis_where(self.url)
        if isinstance(exc, redis.AuthenticationError):
            raise RedisUnavailable(f"{where} refused the password") from None
        if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, OSError)):
            raise RedisUnavailable(f"{where} is not answering ({type(exc).__name__}): start the stack with "
                                   "`lgconsole up` (`lgconsole status` says which service is down)") from None
        if isinstance(exc, redis.RedisError):
            raise StackError(f"{where}: {' '.join(str(exc).split())}") from None
        return False


def decode(raw: Any) -> str:
    """Bytes as text: UTF-8, undecodable bytes kept as `\\xNN` escapes."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "backslashreplace")
    return str(raw)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _read_value(client, key: bytes, kind: str, items: int) -> tuple[Any, int | None, bool]:
    if kind == "string":
        length = client.strlen(key)
        raw = client.getrange(key, 0, PREVIEW_BYTES - 1)
        return decode(raw), length, length > PREVIEW_BYTES
    if kind == "hash":
        length = client.hlen(key)
        cursor, found = client.hscan(key, 0, count=items)
        pairs = {decode(k): decode(v) for k, v in list(found.items())[:items]}
        return pairs, length, length > len(pairs)
    if kind == "list":
        length = client.llen(key)
        return [decode(v) for v in client.lrange(key, 0, items - 1)], length, length > items
    if kind == "set":
        length = client.scard(key)
        cursor, found = client.sscan(key, 0, count=items)
        members = sorted(decode(v) for v in found)[:items]
        return members, length, length > len(members)
    if kind == "zset":
        length = client.zcard(key)
        pairs = [[decode(m), s] for m, s in client.zrange(key, 0, items - 1, withscores=True)]
        return pairs, length, length > items
    if kind == "stream":
        length = client.xlen(key)
        entries = [[decode(i), {decode(k): decode(v) for k, v in fields.items()}]
                   for i, fields in client.xrange(key, count=items)]
        return entries, length, length > items
    return f"(a {kind} value: no preview)", None, False
