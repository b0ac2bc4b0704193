"""The Postgres database that holds the checkpoint tables, through a small read-only psycopg pool (or, for one-shot
commands, one connection): it fails fast, checks the tables are there, and turns every connection problem into a
one-line typed error without the password."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lgconsole.stack.checkpoints.records import CheckpointDbUnreachable, NoCheckpointTables, UnsupportedSchema
from lgconsole.stack.services.service import one_line, redact_url, scrub_password

# The reads here are short and interactive. Postgres' default JIT (on from a plan cost of 100,000: a GROUP BY over
# ~1M checkpoints) compiles the thread listing's ~80 expressions first: 0.1 s, and 0.8-1 s once its cost passes the
# inlining and optimisation thresholds (measured with EXPLAIN ANALYZE on PostgreSQL 15), more than the query runs.
# Warm at 1M: list_threads(50) 490 -> 404 ms, the 200-row page 579 -> 457 ms. The checkpointer's and the server's
# sessions keep the server's setting.
NO_JIT = "set_config('jit', 'off', false)"


class CheckpointDb:
    """Pooled READ ONLY connections to the checkpointer's database (statement timeout and application name set).
    `max_connections=1`: one connection, no pool (a CLI command: no pool threads, one connect instead of the probe's
    and the pool's)."""

    def __init__(self, url: str, *, connect_timeout: float = 3.0, max_connections: int = 4,
                 statement_timeout_s: float = 30.0):
        self.url = url
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.statement_timeout_s = statement_timeout_s
        self._pool = None
        self._direct: Any = None
        self._lock = threading.Lock()
        self._tables_checked = False

    @property
    def public_url(self) -> str:
        return redact_url(self.url) or ""

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            direct, self._direct = self._direct, None
        if pool is not None:
            pool.close()
        if direct is not None:
            direct.close()

    def _scrub(self, text: str) -> str:
        return scrub_password(text, self.url)

    def _unreachable(self, reason: BaseException | str) -> CheckpointDbUnreachable:
        text = reason if isinstance(reason, str) else one_line(reason)
        return CheckpointDbUnreachable(f"cannot connect to Postgres at {self.public_url}: {self._scrub(text)}")

    def _probe(self) -> None:
        """One direct connection: fails fast, with libpq's own reason (the pool only says it timed out)."""
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=max(1, round(self.connect_timeout)), autocommit=True).close()
        except Exception as exc:  # psycopg.Error, or a malformed URL
            raise self._unreachable(exc) from None

    def _configure(self, conn: Any) -> None:
        conn.autocommit = True
        conn.execute("SELECT set_config('statement_timeout', %s, false), set_config('application_name', %s, false), "
                     f"{NO_JIT}", (f"{int(self.statement_timeout_s * 1000)}", "lgconsole"))
        conn.autocommit = False
        conn.read_only = True

    def _ensure_pool(self) -> Any:
        with self._lock:
            if self._pool is not None:
                return self._pool
            from psycopg_pool import ConnectionPool, PoolTimeout

            self._probe()
            pool = ConnectionPool(
                self.url, min_size=1, max_size=self.max_connections, open=False, name="lgconsole-checkpoints",
                kwargs={"connect_timeout": max(1, round(self.connect_timeout))}, configure=self._configure,
                check=ConnectionPool.check_connection,  # a Postgres restart leaves dead connections in the pool
                timeout=self.connect_timeout, reconnect_timeout=60,
            )
            try:
                pool.open(wait=True, timeout=self.connect_timeout + 2)
            except PoolTimeout:
                pool.close()
                self._probe()
                raise self._unreachable("no connection within the timeout") from None
            self._pool = pool
            return pool

    @contextmanager
    def _pooled(self) -> Iterator[Any]:
        from psycopg_pool import PoolTimeout

        pool = self._ensure_pool()
        try:
            with pool.connection(timeout=self.connect_timeout) as conn:
                yield conn
        except PoolTimeout:
            self._probe()
            raise self._unreachable("no free connection within the timeout") from None

    @contextmanager
    def _one_connection(self) -> Iterator[Any]:
        """The one connection (made again if it broke), one block at a time. In autocommit, every statement its own
        read-only transaction (the session's default): under READ COMMITTED that is what a transaction around them
        gives too, without a BEGIN and a COMMIT round trip per block."""
        import psycopg

        with self._lock:
            if self._direct is None or self._direct.closed:
                conn = psycopg.connect(self.url, connect_timeout=max(1, round(self.connect_timeout)), autocommit=True)
                conn.execute("SELECT set_config('statement_timeout', %s, false), set_config('application_name', %s, "
                             f"false), set_config('default_transaction_read_only', 'on', false), {NO_JIT}",
                             (f"{int(self.statement_timeout_s * 1000)}", "lgconsole"))
                self._direct = conn
            yield self._direct

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A pooled connection in a READ ONLY transaction; connection and schema problems as typed errors."""
        import psycopg

        try:
            with self._one_connection() if self.max_connections == 1 else self._pooled() as conn:
                if not self._tables_checked:
                    self._check_tables(conn)
                yield conn
        except psycopg.errors.UndefinedTable:
            self._tables_checked = False
            raise NoCheckpointTables(self._no_tables_message()) from None
        except psycopg.errors.UndefinedColumn as exc:
            raise UnsupportedSchema(f"the checkpoint tables at {self.public_url} have an older layout "
                                    f"({one_line(exc)}); upgrade langgraph-checkpoint-postgres and run setup()") from None
        except psycopg.OperationalError as exc:
            raise self._unreachable(exc) from None

    def _no_tables_message(self) -> str:
        return (f"no checkpoint tables in the database at {self.public_url}: the LangGraph Postgres checkpointer "
                "never ran setup() there (wrong database?)")

    def _check_tables(self, conn: Any) -> None:
        row = conn.execute("SELECT to_regclass('checkpoints') IS NOT NULL, to_regclass('checkpoint_writes') IS NOT NULL,"
                           " to_regclass('checkpoint_blobs') IS NOT NULL").fetchone()
        if not all(row):
            raise NoCheckpointTables(self._no_tables_message())
        self._tables_checked = True
