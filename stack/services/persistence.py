"""Checkpointer and store factories that the LangGraph server loads from the `langgraph.json` lgconsole writes.

The server imports this file by path (`"checkpointer": {"path": ".../persistence.py:make_checkpointer"}`), so it
uses absolute imports only. Both use a small connection pool instead of the single shared connection of
`from_conn_string`: the pool reconnects after a Postgres restart, and API reads do not queue behind runs.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

POOL_MAX = int(os.environ.get("LGCONSOLE_POSTGRES_POOL_MAX", "8"))


def _postgres_url() -> str:
    url = os.environ.get("LGCONSOLE_POSTGRES_URL")
    if not url:
        raise RuntimeError("LGCONSOLE_POSTGRES_URL is not set: lgconsole starts the server with it")
    return url


@asynccontextmanager
async def _pool():
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(
        _postgres_url(),
        min_size=1,
        max_size=POOL_MAX,
        open=False,
        check=AsyncConnectionPool.check_connection,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    await pool.open(wait=True, timeout=30)
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def make_checkpointer():
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async with _pool() as pool:
        saver = AsyncPostgresSaver(conn=pool)
        await saver.setup()
        yield saver


@asynccontextmanager
async def make_store():
    from langgraph.store.postgres.aio import AsyncPostgresStore

    async with _pool() as pool:
        store = AsyncPostgresStore(conn=pool)
        await store.setup()
        yield store
