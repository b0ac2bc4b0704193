"""Redis-backed cache for the demo graph's tool results.

A tool call is keyed by `lgconsole:demo:tool:<sha256 of {"tool": name, "args": args} as canonical JSON>` and its
JSON result is stored with a TTL (default 300 s, env `LGCONSOLE_TOOL_CACHE_TTL_S`). Redis comes from env
`LGCONSOLE_REDIS_URL`. The cache never breaks a run: with no URL the tool runs uncached (status "disabled"); when
Redis is unreachable or fails, the tool runs uncached and the status reads "error: ...".

Everything is async (`redis.asyncio`): blocking I/O inside a node raises under `langgraph dev`.
"""

import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

REDIS_URL_ENV = "LGCONSOLE_REDIS_URL"
TTL_ENV = "LGCONSOLE_TOOL_CACHE_TTL_S"
DEFAULT_TTL_S = 300
KEY_PREFIX = "lgconsole:demo:tool:"
# Short timeouts: an unreachable Redis must cost the run a moment, not the whole request.
CONNECT_TIMEOUT_S = 1.0
COMMAND_TIMEOUT_S = 2.0


def cache_key(tool_name: str, args: dict[str, Any]) -> str:
    """The Redis key of one tool call: the prefix plus the sha256 of the tool name and its arguments."""
    canonical = json.dumps({"tool": tool_name, "args": args}, sort_keys=True, separators=(",", ":"))
    return KEY_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def ttl_seconds() -> int:
    """The cache TTL from `LGCONSOLE_TOOL_CACHE_TTL_S`, or 300 s when unset or not a positive integer."""
    try:
        ttl = int(os.environ.get(TTL_ENV, DEFAULT_TTL_S))
    except ValueError:
        return DEFAULT_TTL_S
    return ttl if ttl > 0 else DEFAULT_TTL_S


def _error_status(error: BaseException) -> str:
    # Exception text from redis-py names host:port, never the URL's password.
    return f"error: {type(error).__name__}: {error}"


async def cached_tool_call(
    tool_name: str,
    args: dict[str, Any],
    run_tool: Callable[[], Awaitable[Any]],
) -> tuple[Any, dict[str, Any]]:
    """Return `(result, cache_info)` for one tool call, from Redis when cached, else by awaiting `run_tool()`.

    `cache_info` is JSON-friendly: `{"status": "enabled"|"disabled"|"error: ...", "tool", "key", "hit": bool,
    "ttl_s"}` plus `"ttl_left_s"` on a hit. The result must be JSON-serialisable to be cached.
    """
    key = cache_key(tool_name, args)
    ttl_s = ttl_seconds()
    info: dict[str, Any] = {"status": "disabled", "tool": tool_name, "key": key, "hit": False, "ttl_s": ttl_s}
    redis_url = os.environ.get(REDIS_URL_ENV, "").strip()
    if not redis_url:
        return await run_tool(), info

    try:
        client = aioredis.from_url(
            redis_url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=COMMAND_TIMEOUT_S
        )
    except ValueError as error:  # malformed URL
        info["status"] = _error_status(error)
        return await run_tool(), info

    try:
        try:
            cached = await client.get(key)
            if cached is not None:
                ttl_left = await client.ttl(key)
                info.update(status="enabled", hit=True, ttl_left_s=ttl_left)
                return json.loads(cached), info
        except (aioredis.RedisError, OSError, ValueError) as error:
            info["status"] = _error_status(error)
            return await run_tool(), info

        result = await run_tool()
        try:
            await client.set(key, json.dumps(result), ex=ttl_s)
            info["status"] = "enabled"
        except (aioredis.RedisError, OSError, TypeError, ValueError) as error:
            info["status"] = _error_status(error)
        return result, info
    finally:
        await client.aclose()
