"""Where the Threads screen's data comes from: `ThreadsSource` reads the checkpoint tables (blocking: call it from
thread workers only), probes the LangGraph server, and does time travel through it (async). What it returns are the
reader's records; console/rows/threads.py turns them into what the widgets show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from lgconsole.stack.checkpoints.records import CheckpointNode, CheckpointState, SchemaInfo, ThreadSummary

from lgconsole.console.config import Config
from lgconsole.console.model.thread_filter import parse_filter

PAGE_SIZE = 200  # threads the table holds (filter and sort run in SQL over all of them)
COUNT_SECONDS = 15.0  # the total is a count over every checkpoint (0.3 s at 1M): not on every refresh
SLOW_LIST_SECONDS = 0.25
MESSAGE_SEARCH_SECONDS = 15.0  # a message search reads every thread's head (~1 s per 3k threads): not every refresh


# --- records ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerState:
    up: bool
    detail: str  # "http://127.0.0.1:P" when up, else why not


@dataclass
class ThreadsPage:
    summaries: list[ThreadSummary]
    total: int | None  # None: not counted yet (the screen counts after showing the rows)
    schema: SchemaInfo | None
    server: ServerState
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    hint: str | None = None  # e.g. that the listing is slow for want of lgconsole's index


def warm_imports() -> None:
    """Import what the first read of a `ThreadsSource` needs (the checkpoint reader, the Postgres driver and its
    pool: ~0.25 s on a cold start), from a background thread while the console shows another screen."""
    from importlib import import_module

    for module in ("psycopg", "psycopg_pool", "lgconsole.stack.checkpoints.reader"):
        import_module(module)


# --- the source ------------------------------------------------------------------------------------------------------

class ThreadsData(Protocol):
    """What the Threads screen asks of its source: `ThreadsSource` over the stack, or recorded threads in tests and
    snapshots (tests/fakes.py FixedThreads). Reads block (thread workers); time travel is async."""

    def server_state(self) -> ServerState: ...
    def read_threads(self, status: str | None, text: str | None, sort: str, offset: int = 0) -> ThreadsPage: ...
    def count_threads(self, status: str | None, text: str | None) -> int: ...
    def read_history(self, thread_id: str) -> list[CheckpointNode]: ...
    def read_state_with_parent(self, thread_id: str, checkpoint_id: str, ns: str = "",
                               parent: tuple[str, str] | None = None
                               ) -> tuple[CheckpointState, CheckpointState | None]: ...
    def close(self) -> None: ...
    async def replay(self, thread_id: str, checkpoint_id: str) -> Any: ...
    async def fork(self, thread_id: str, checkpoint_id: str, update: dict, as_node: str | None = None) -> Any: ...
    async def resume(self, thread_id: str, value: Any) -> Any: ...
    async def copy(self, thread_id: str) -> Any: ...


class ThreadsSource:
    """The real stack: Postgres through a CheckpointReader, the LangGraph server through TimeTravel."""

    def __init__(self, config: Config, page_size: int = PAGE_SIZE, probe_timeout: float = 1.5):
        self.config = config
        self.page_size = page_size
        self.probe_timeout = probe_timeout
        self._reader = None
        self._count: tuple[float, tuple, int] | None = None  # (when, filters, total)
        self._found: tuple[float, tuple[str, ...], list[str]] | None = None  # (when, message words, thread ids)

    # --- blocking reads (thread workers) ----------------------------------------------------------------------
    @property
    def reader(self):
        if self._reader is None:
            from lgconsole.stack.checkpoints.reader import CheckpointReader

            from lgconsole.console.sources.urls import graph_spec, postgres_url

            self._reader = CheckpointReader(postgres_url(self.config), graph_spec=graph_spec(self.config))
        return self._reader

    def server_url(self) -> str:
        from lgconsole.console.sources.urls import langgraph_url

        return langgraph_url(self.config)

    def server_state(self) -> ServerState:
        from lgconsole.stack.server.health import probe_server

        try:
            url = self.server_url()
        except Exception as exc:
            return ServerState(False, str(exc))
        health = probe_server(url, self.probe_timeout)
        if health.error is not None:
            return ServerState(False, f"{url} does not answer ({health.error})")
        if not health.ok:
            return ServerState(False, f"{url}/ok answered {health.status_code}")
        return ServerState(True, url)

    def read_threads(self, status: str | None, text: str | None, sort: str, offset: int = 0) -> ThreadsPage:
        """The page of threads from `offset`; its `total` only when a recent count for these filters is at hand
        (else None: `count_threads` is a scan of every checkpoint, 0.3-0.5 s at 1M, and the rows should not wait
        for it). `text` is the filter box's: `KEY=VALUE` words match the metadata, `text:WORD` the messages of the
        latest state, the rest the thread id."""
        from concurrent.futures import ThreadPoolExecutor

        wanted = parse_filter(text)
        # the server's busy threads are asked for while the database answers (its first read opens the pool)
        with ThreadPoolExecutor(1, thread_name_prefix="lgconsole-threads-server") as asking:
            server_view = asking.submit(self.server_view)
            reader = self.reader
            schema = reader.schema_version()
            server, busy = server_view.result()
        t0 = time.monotonic()
        summaries = reader.list_threads(limit=self.page_size, offset=offset, status=status or None,
                                        metadata_filter=wanted.metadata_filter, text=wanted.text or None, sort=sort,
                                        server=busy, thread_ids=self._message_matches(wanted.message_words))
        took = time.monotonic() - t0
        cached = self._count
        total = None
        if cached is not None and cached[1] == (status or None, text or None) and \
                time.monotonic() - cached[0] < COUNT_SECONDS:
            total = cached[2]
        elif len(summaries) < self.page_size and (summaries or not offset):  # the last page: that is the count
            total = offset + len(summaries)
        hint = None
        if took > SLOW_LIST_SECONDS and sort.lstrip("-") == "last_activity" and not reader.has_recent_index():
            hint = (f"listing the threads took {took:.1f}s for want of an index on time: "
                    "`lgconsole threads --create-index` adds one (~20 ms at 1M checkpoints)")
        return ThreadsPage(summaries, total, schema, server, hint=hint)

    def server_view(self) -> tuple[ServerState, Any]:
        """The server's state and its busy threads (a ServerView; None when it does not answer: the statuses then
        come from Postgres alone). The busy search is the probe: a server that answers it is up (a `GET /ok` first
        cost another round trip and an httpx client, ~40 ms a read and ~0.2 s of imports on the first)."""
        from lgconsole.stack.checkpoints.records import ServerView
        from lgconsole.stack.errors import StackError
        from lgconsole.stack.server.busy import busy_thread_ids

        try:
            url = self.server_url()
        except Exception as exc:
            return ServerState(False, str(exc)), None
        try:
            return ServerState(True, url), ServerView(busy_thread_ids(url, self.probe_timeout))
        except StackError as exc:
            return ServerState(False, str(exc)), None

    def count_threads(self, status: str | None, text: str | None) -> int:
        """How many threads match (kept COUNT_SECONDS for the pages that follow)."""
        _, busy = self.server_view() if status else (None, None)
        wanted = parse_filter(text)
        total = self.reader.count(status=status or None, metadata_filter=wanted.metadata_filter,
                                  text=wanted.text or None, server=busy,
                                  thread_ids=self._message_matches(wanted.message_words))
        self._count = (time.monotonic(), (status or None, text or None), total)
        return total

    def _message_matches(self, words: tuple[str, ...]) -> list[str] | None:
        """The threads whose latest messages hold `words` (None: no words), searched again when the words change
        or MESSAGE_SEARCH_SECONDS after the last search (the pages, counts and refreshes between reuse it)."""
        if not words:
            return None
        found = self._found
        if found is None or found[1] != words or time.monotonic() - found[0] > MESSAGE_SEARCH_SECONDS:
            from lgconsole.stack.checkpoints.message_search import threads_with_message_text

            found = (time.monotonic(), words, threads_with_message_text(self.reader.db, words))
            self._found = found
        return found[2]

    def read_history(self, thread_id: str) -> list[CheckpointNode]:
        return self.reader.history(thread_id)

    def read_state(self, thread_id: str, checkpoint_id: str, ns: str = "") -> CheckpointState:
        return self.reader.state_at(thread_id, checkpoint_id, ns)

    def read_state_with_parent(self, thread_id: str, checkpoint_id: str, ns: str = "",
                               parent: tuple[str, str] | None = None) -> tuple[CheckpointState, CheckpointState | None]:
        """The state at a checkpoint and at `parent` ((checkpoint id, namespace): the one it is compared with;
        None for none), in one read."""
        if parent is None:
            return self.reader.state_at(thread_id, checkpoint_id, ns), None
        return self.reader.state_with_parent(thread_id, checkpoint_id, ns, parent=parent)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # --- time travel (async workers) -----------------------------------------------------------------------------
    def _time_travel(self):
        from lgconsole.stack.server.time_travel import TimeTravel

        return TimeTravel(self.server_url(), self.reader)

    async def replay(self, thread_id: str, checkpoint_id: str):
        async with self._time_travel() as tt:
            return await tt.replay(thread_id, checkpoint_id)

    async def fork(self, thread_id: str, checkpoint_id: str, update: dict, as_node: str | None = None,
                   run_kwargs: dict | None = None):
        async with self._time_travel() as tt:
            return await tt.fork(thread_id, checkpoint_id, update, as_node=as_node, run_kwargs=run_kwargs)

    async def resume(self, thread_id: str, value: Any):
        async with self._time_travel() as tt:
            return await tt.resume(thread_id, value)

    async def copy(self, thread_id: str):
        async with self._time_travel() as tt:
            return await tt.copy(thread_id)
