"""Which tasks of a thread's latest root super-step have their writes saved: the tasks a resume from that checkpoint
hands back instead of running again (read straight from Postgres, so it works while the LangGraph server is down)."""

from __future__ import annotations

from typing import Any

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line

_SAVED_TASKS_SQL = (
    "SELECT DISTINCT task_id FROM checkpoint_writes WHERE thread_id = %(t)s AND checkpoint_ns = '' "
    "AND checkpoint_id = (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = %(t)s AND checkpoint_ns = '')")


class SavedTasksUnreadable(StackError):
    """The checkpoint writes could not be read; one line."""


class SavedTasks:
    """Repeated reads of one thread's saved task ids over one connection: `async with SavedTasks(url, tid) as saved:
    ids = await saved.read()`. The drill polls them inside a moment of a few seconds; importing psycopg and
    connecting (most of a second on a busy machine) happen on entering, before that moment."""

    def __init__(self, postgres_url: str, thread_id: str, connect_timeout: int = 5) -> None:
        self.postgres_url, self.thread_id, self.connect_timeout = postgres_url, thread_id, connect_timeout
        self._conn: Any = None

    async def __aenter__(self) -> SavedTasks:
        import psycopg

        try:
            self._conn = await psycopg.AsyncConnection.connect(self.postgres_url, autocommit=True,
                                                               connect_timeout=self.connect_timeout)
        except psycopg.Error as exc:
            raise SavedTasksUnreadable(f"connecting to Postgres to read the thread's writes: {one_line(exc)}") \
                from None
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def read(self) -> set[str]:
        """Task ids with writes on the thread's latest root checkpoint."""
        import psycopg

        try:
            rows = await (await self._conn.execute(_SAVED_TASKS_SQL, {"t": self.thread_id})).fetchall()
        except psycopg.Error as exc:
            raise SavedTasksUnreadable(f"reading the thread's writes from Postgres: {one_line(exc)}") from None
        return {r[0] for r in rows}


async def saved_task_ids(postgres_url: str, thread_id: str, connect_timeout: int = 5) -> set[str]:
    """Task ids with writes on the thread's latest root checkpoint (one read, on a connection of its own)."""
    async with SavedTasks(postgres_url, thread_id, connect_timeout) as saved:
        return await saved.read()
