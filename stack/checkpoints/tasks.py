"""Which tasks of a thread's latest root super-step have their writes saved: the tasks a resume from that checkpoint
hands back instead of running again (read straight from Postgres, so it works while the LangGraph server is down)."""

from __future__ import annotations

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line

_SAVED_TASKS_SQL = (
    "SELECT DISTINCT task_id FROM checkpoint_writes WHERE thread_id = %(t)s AND checkpoint_ns = '' "
    "AND checkpoint_id = (SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = %(t)s AND checkpoint_ns = '')")


class SavedTasksUnreadable(StackError):
    """The checkpoint writes could not be read; one line."""


async def saved_task_ids(postgres_url: str, thread_id: str, connect_timeout: int = 5) -> set[str]:
    """Task ids with writes on the thread's latest root checkpoint."""
    import psycopg

    try:
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True,
                                                         connect_timeout=connect_timeout) as conn:
            rows = await (await conn.execute(_SAVED_TASKS_SQL, {"t": thread_id})).fetchall()
    except psycopg.Error as exc:
        raise SavedTasksUnreadable(f"reading the thread's writes from Postgres: {one_line(exc)}") from None
    return {r[0] for r in rows}
