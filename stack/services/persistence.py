"""Checkpointer and store factories that the LangGraph server loads from the `langgraph.json` lgconsole writes.

The server imports this file by path (`"checkpointer": {"path": ".../persistence.py:make_checkpointer"}`), so it
uses absolute imports only. Both use a small connection pool instead of the single shared connection of
`from_conn_string`: the pool reconnects after a Postgres restart, and API reads do not queue behind runs.

The supervisor launches the server alongside its Postgres (initdb may still be running): before opening the pool,
the server waits until Postgres accepts a connection to the stack's database, trying every 25 ms.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from contextlib import asynccontextmanager
from importlib import import_module

POOL_MAX = int(os.environ.get("LGCONSOLE_POSTGRES_POOL_MAX", "8"))
WAIT_S = float(os.environ.get("LGCONSOLE_POSTGRES_WAIT_S", "60"))
RETRY_S = 0.025  # a refused connection costs about a millisecond: Postgres is noticed within 25 ms of being ready
# errors that waiting does not cure (wrong password, refused by pg_hba.conf): reported at once
_FINAL_SQLSTATES = ("28P01", "28000")


def _postgres_url() -> str:
    url = os.environ.get("LGCONSOLE_POSTGRES_URL")
    if not url:
        raise RuntimeError("LGCONSOLE_POSTGRES_URL is not set: lgconsole starts the server with it")
    return url


async def wait_for_postgres(url: str, wait_s: float = WAIT_S) -> None:
    """Return once Postgres accepts a connection to `url`'s database: refused, still starting up, or the database
    not created yet (the supervisor creates it once the cluster runs) are retried every RETRY_S until `wait_s` have
    passed; then, or at once for a wrong password, a RuntimeError names the last error."""
    import psycopg

    deadline = time.monotonic() + wait_s
    said = False
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=5)
        except psycopg.OperationalError as exc:
            last = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if exc.sqlstate in _FINAL_SQLSTATES:
                raise RuntimeError(f"lgconsole: Postgres refused the server's connection: {last}") from None
            if time.monotonic() >= deadline:
                raise RuntimeError(f"lgconsole: Postgres did not accept connections within {wait_s:g}s: {last}") \
                    from None
            if not said:  # one line in the server's log, where the supervisor shows it while the server starts
                print(f"lgconsole: waiting for Postgres to accept connections (up to {wait_s:g}s): {last}",
                      file=sys.stderr, flush=True)
                said = True
            await asyncio.sleep(RETRY_S)
        else:
            await conn.close()
            return


@asynccontextmanager
async def _pool():
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    await wait_for_postgres(_postgres_url())
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

    import_module("langgraph.store.postgres.aio")  # make_store's, entered next: imported while Postgres starts

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
