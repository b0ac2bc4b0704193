"""The one index lgconsole may add to the checkpoint tables, and only when the user asks (`lgconsole threads
--create-index`): `checkpoints (checkpoint_id) INCLUDE (thread_id)`.

Why: the saver's schema has nothing on time. Listing the most recently active threads is then a GROUP BY over every
checkpoint (435 ms at 1M checkpoints, every refresh of the Threads screen), or a walk of the primary key where
threads hold many checkpoints per namespace (stack/checkpoints/thread_walk.py); with this index the newest checkpoints
are walked backwards until a page of distinct threads is found (~2 ms), and the page's counts and statuses come
from the primary key (tests/bench/bench_threads_1m.py has the numbers). Cost: ~100 MB per 1M checkpoints and one
more index entry per checkpoint written. It is built CONCURRENTLY (no lock on a live saver's writes); drop it with
`DROP INDEX CONCURRENTLY lgconsole_checkpoints_recent`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line, redact_url

RECENT_INDEX = "lgconsole_checkpoints_recent"
RECENT_INDEX_DDL = (f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {RECENT_INDEX} "
                    "ON checkpoints (checkpoint_id) INCLUDE (thread_id)")


class CheckpointIndexError(StackError):
    """The index could not be created; str() is one line."""


@dataclass
class IndexResult:
    created: bool  # False: it was there already
    seconds: float
    size: str  # pg_size_pretty of the index
    rows: int  # checkpoints it covers (planner's estimate)


def _state(conn) -> tuple[bool, bool] | None:
    """(exists, valid) of the index; None when it does not exist."""
    row = conn.execute(
        "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE c.relname = %s AND c.relkind = 'i'", (RECENT_INDEX,)).fetchone()
    return None if row is None else (True, bool(row[0]))


def create_recent_index(url: str, connect_timeout: float = 5.0) -> IndexResult:
    """Create the index (CONCURRENTLY, so the saver keeps writing meanwhile). An invalid leftover of an interrupted
    build is dropped and built again."""
    import psycopg

    where = redact_url(url) or "Postgres"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(connect_timeout))) as conn:
            if conn.execute("SELECT to_regclass('checkpoints')").fetchone()[0] is None:
                raise CheckpointIndexError(f"no checkpoints table in the database at {where}: nothing to index")
            state = _state(conn)
            if state is not None and not state[1]:
                conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {RECENT_INDEX}")
                state = None
            t0 = time.monotonic()
            if state is None:
                conn.execute(RECENT_INDEX_DDL)
            took = time.monotonic() - t0
            size, rows = conn.execute(
                "SELECT pg_size_pretty(pg_relation_size(%s::regclass)), "
                "(SELECT reltuples::bigint FROM pg_class WHERE relname = 'checkpoints')", (RECENT_INDEX,)).fetchone()
    except CheckpointIndexError:
        raise
    except psycopg.errors.InsufficientPrivilege as exc:
        raise CheckpointIndexError(f"cannot create {RECENT_INDEX} at {where}: {one_line(exc)} (it needs the table's "
                          "owner); nothing was changed") from None
    except psycopg.Error as exc:
        raise CheckpointIndexError(f"creating {RECENT_INDEX} at {where} failed: {one_line(exc)}") from None
    return IndexResult(state is None, took, size, max(0, int(rows or 0)))
