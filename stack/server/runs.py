"""Runs on the LangGraph server: start, attach, stream, answer interrupts, cancel.

Every run lgconsole starts is a background run created with `stream_resumable=True` and then joined, so the same
code path serves "start a run", "attach to a run started elsewhere" and "reconnect after the server went away"
(`Last-Event-ID` replays what was missed). Events come out as `RunEvent` records; the stream's end is followed by
`runs.get` because a cancelled run's stream just stops without a final event.

The thread-centric stream (`threads.stream`, WebSocket or SSE) was measured not to carry `updates`, `tasks` or
`custom` (facts; again Dec 2026 on langgraph-api 0.16.7 with every channel subscribed, a run started by another
client: only `lifecycle` x2 and `values` x3 arrived, over both transports), and a node-by-node diff needs `updates`,
so runs are streamed over SSE, and a run started elsewhere gets its steps from its saved checkpoints
(console/sources/run_follower.py's SavedSteps).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from lgconsole.stack.errors import StackError
from lgconsole.stack.server.credentials import sdk_client
from lgconsole.stack.services.service import one_line

STREAM_MODES = ["updates", "values", "messages-tuple", "custom", "tasks"]
# run statuses that mean the run is over
FINAL_STATUSES = {"success", "error", "interrupted", "timeout"}


class RunError(StackError):
    """A run could not be started, joined or answered; one line."""


@dataclass
class RunEvent:
    """One streamed event: `mode` is updates|values|messages|custom|tasks|metadata|error|end."""

    mode: str
    data: Any
    namespace: tuple[str, ...] = ()  # ("review:<task_id>",) for subgraph events
    event_id: str | None = None
    received: float = field(default_factory=time.monotonic)


@dataclass
class RunOutcome:
    """How a run ended, from the server after its stream closed."""

    run_id: str
    thread_id: str
    status: str  # success | error | interrupted (cancelled) | timeout | cancelled (rolled back) | unknown
    thread_status: str | None = None  # idle | busy | interrupted (waits on interrupt()) | error
    error: str | None = None
    interrupts: list = field(default_factory=list)
    # a thread that waits: the nodes due next (a breakpoint's stop has no interrupts, only these) and its head
    next: list[str] = field(default_factory=list)
    checkpoint_id: str | None = None
    # what a client shows for it (cancelled, waiting for input) is the client's mapping, written once there


def split_event_name(name: str) -> tuple[str, tuple[str, ...]]:
    """'updates|review:abc' -> ('updates', ('review:abc',)); 'messages/partial' style names keep their mode."""
    mode, *namespace = name.split("|")
    return mode, tuple(namespace)


def describe_error(error: Any) -> str | None:
    """The server's error object ({"error": "RuntimeError", "message": ...} or text) as one line."""
    if not error:
        return None
    if isinstance(error, dict):
        kind, message = error.get("error"), error.get("message")
        return one_line(Exception(f"{kind}: {message}" if kind and message else kind or message or str(error)))
    return one_line(Exception(str(error)))


def _client(url: str, timeout: float | None = None):
    return sdk_client(url, timeout)


def _unreachable(exc: BaseException) -> bool:
    """The server did not answer at all (nothing listens, or it hangs before connecting)."""
    import httpx

    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, ConnectionRefusedError))


def not_answering(url: str | None, exc: BaseException) -> str:
    """One line: which server does not answer, why, and what to do."""
    where = f"the LangGraph server at {url}" if url else "the LangGraph server"
    return (f"{where} is not answering ({one_line(exc)}): start the stack with `lgconsole up` "
            "(`lgconsole status` says which service is down)")


async def _call(what: str, coro, url: str | None = None):
    try:
        return await coro
    except Exception as exc:
        if _unreachable(exc):
            raise RunError(f"{what}: {not_answering(url, exc)}") from None
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 404:
            raise RunError(f"{what}: not found on the server") from None
        if status == 409:
            raise RunError(f"{what}: the thread is busy with another run") from None
        if status == 422:
            text = one_line(exc)
            if "Invalid assistant" in text:
                raise RunError(f"{what}: no such assistant or graph on the server") from None
            raise RunError(f"{what}: the server rejected the request: {text}") from None
        raise RunError(f"{what}: {one_line(exc)}") from None


async def _served_graphs(client) -> str:
    """The graph ids the server serves, for the error of an unknown assistant ("demo, report")."""
    try:
        found = await client.assistants.search(limit=100)
    except Exception as exc:
        return f"(could not list them: {one_line(exc)})"
    return ", ".join(sorted({str(a.get("graph_id")) for a in found})) or "no graphs"


def _status_code(exc: BaseException) -> int | None:
    return getattr(getattr(exc, "response", None), "status_code", None)


async def get_thread(url: str, thread_id: str, timeout: float = 10) -> dict | None:
    """The server's record of a thread (status, values, metadata); None when it does not know it (404)."""
    client = _client(url, timeout)
    try:
        return await client.threads.get(thread_id)
    except Exception as exc:
        if _status_code(exc) == 404:
            return None
        raise RunError(f"thread {thread_id}: {one_line(exc)}") from None
    finally:
        await client.aclose()


async def get_run(url: str, thread_id: str, run_id: str, timeout: float = 10) -> dict | None:
    """The server's record of a run; None when it does not know it (404: gone, or lost in a restart)."""
    client = _client(url, timeout)
    try:
        return await client.runs.get(thread_id, run_id)
    except Exception as exc:
        if _status_code(exc) == 404:
            return None
        raise RunError(f"run {run_id}: {one_line(exc)}") from None
    finally:
        await client.aclose()


async def recreate_thread(url: str, thread_id: str, metadata: dict, timeout: float = 10) -> None:
    """Create the thread again with the same id and metadata (a dev server that restarted forgot it; its
    checkpoints are still in Postgres). Nothing happens when the server knows it."""
    client = _client(url, timeout)
    try:
        await _call(f"re-create thread {thread_id}",
                    client.threads.create(thread_id=thread_id, if_exists="do_nothing", metadata=metadata))
    finally:
        await client.aclose()


@dataclass
class ThreadsDeleted:
    """What `delete_threads` did on the server: deleted, unknown to it (404), and those it could not delete."""

    deleted: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None  # the first failure, one line


async def delete_threads(url: str, thread_ids: list[str], timeout: float = 10, concurrency: int = 1) -> ThreadsDeleted:
    """Delete threads from the server's own records (`threads.delete`), so it stops listing them; never raises: a
    thread it could not delete is in `failed`, with the first error. One at a time by default: the dev runtime
    (langgraph-runtime-inmem 0.36.7) answers concurrent deletes with 500 (IndexError in its thread list), seen here."""
    client = _client(url, timeout)
    done = ThreadsDeleted()
    gate = asyncio.Semaphore(concurrency)

    async def one(thread_id: str) -> None:
        async with gate:
            try:
                await client.threads.delete(thread_id)
                done.deleted.append(thread_id)
            except Exception as exc:
                if _status_code(exc) == 404:
                    done.unknown.append(thread_id)
                    return
                done.failed.append(thread_id)
                if done.error is None:
                    done.error = not_answering(url, exc) if _unreachable(exc) else one_line(exc)

    try:
        await asyncio.gather(*(one(tid) for tid in thread_ids))
    finally:
        await client.aclose()
    return done


class RunSession:
    """One run being watched: start it (or attach to it), then iterate `events()`; `outcome()` when it ends."""

    def __init__(self, url: str, thread_id: str, run_id: str, replay: bool = True):
        self.url = url
        self.thread_id = thread_id
        self.run_id = run_id
        self.last_event_id: str | None = "0" if replay else None
        self.reconnects = 0
        self.assistant_id: str | None = None  # the assistant the run runs, when known (attach reads it)
        self.attached = False  # joined a run started by anyone (attach), not started here
        self.stream_modes: list[str] = list(STREAM_MODES)  # what the run's stream carries
        self.lost = False  # the server forgot the run (restarted): see outcome()
        self._rolled_back = False
        self._client = _client(url)

    # --- how a session begins ----------------------------------------------------------------------------
    @classmethod
    async def start(cls, url: str, assistant_id: str, *, input: Any = None, thread_id: str | None = None,
                    command: dict | None = None, checkpoint_id: str | None = None, config: dict | None = None,
                    interrupt_before: list[str] | None = None, interrupt_after: list[str] | None = None,
                    metadata: dict | None = None, context: dict | None = None) -> RunSession:
        client = _client(url)
        created = thread_id is None
        if created:
            thread = await _call("create thread", client.threads.create(metadata=metadata or {}), url)
            thread_id = thread["thread_id"]
        kwargs: dict = {"stream_mode": STREAM_MODES, "stream_subgraphs": True, "stream_resumable": True}
        if input is not None:
            kwargs["input"] = input
        if command is not None:
            kwargs["command"] = command
        if checkpoint_id:
            kwargs["checkpoint_id"] = checkpoint_id
        if config:
            kwargs["config"] = config
        if context:
            kwargs["context"] = context
        if interrupt_before:
            kwargs["interrupt_before"] = interrupt_before
        if interrupt_after:
            kwargs["interrupt_after"] = interrupt_after
        try:
            run = await _call(f"start run of {assistant_id!r}", client.runs.create(thread_id, assistant_id, **kwargs),
                          url)
        except RunError as exc:
            if created:  # the thread made for a run the server refused (unknown assistant, bad input) goes too
                with contextlib.suppress(Exception):
                    await client.threads.delete(thread_id)
            if "no such assistant" not in str(exc):
                raise
            raise RunError(f"{exc}; it serves: {await _served_graphs(client)}") from None
        finally:
            await client.aclose()
        return cls(url, thread_id, run["run_id"])

    @classmethod
    async def attach(cls, url: str, thread_id: str, run_id: str | None = None) -> RunSession:
        """Attach to the thread's active run (or the given one). Replays from its start when it was resumable."""
        client = _client(url)
        try:
            if run_id is None:
                listed = await _call(f"runs of thread {thread_id}", client.runs.list(thread_id, limit=20), url)
                runs = [r for r in listed if r["status"] in ("pending", "running")]
                if not runs:
                    raise RunError(f"thread {thread_id} has no run in progress")
                run_id = sorted(runs, key=lambda r: r["created_at"])[0]["run_id"]
            run = await _call(f"run {run_id}", client.runs.get(thread_id, run_id))
        finally:
            await client.aclose()
        resumable = bool((run.get("kwargs") or {}).get("resumable") or (run.get("kwargs") or {}).get("stream_resumable"))
        session = cls(url, thread_id, run_id, replay=resumable)
        session.assistant_id = run.get("assistant_id")
        session.attached = True
        modes = (run.get("kwargs") or {}).get("stream_mode") or ["values"]
        session.stream_modes = [modes] if isinstance(modes, str) else list(modes)
        return session

    # --- streaming ---------------------------------------------------------------------------------------
    async def events(self, max_reconnects: int = 30, reconnect_delay: float = 1.0) -> AsyncIterator[RunEvent]:
        """Yield events until the run is over. A stream that ends while the run is still pending or running (the
        server was killed or restarted, the connection dropped) is joined again with Last-Event-ID."""
        while True:
            dropped = None
            parts = self._client.runs.join_stream(self.thread_id, self.run_id, last_event_id=self.last_event_id)
            try:
                async for part in parts:
                    if part.id:
                        self.last_event_id = part.id
                    mode, namespace = split_event_name(part.event)
                    yield RunEvent(mode, part.data, namespace, part.id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                dropped = one_line(exc)
            finally:  # also when the reader stops early: the SDK's stream closed now, not by the loop's shutdown
                await parts.aclose()
            status = await self._status()
            if status in FINAL_STATUSES:
                return
            if status == "missing":
                self.lost = not self._rolled_back
                return
            self.reconnects += 1
            if self.reconnects > max_reconnects:
                raise RunError(f"lost the stream of run {self.run_id}: {dropped or 'the server stopped answering'}")
            why = dropped or ("the server is not answering" if status is None else "the stream ended early")
            yield RunEvent("reconnecting", {"error": why, "attempt": self.reconnects})
            await asyncio.sleep(min(reconnect_delay * self.reconnects, 5.0))

    async def _status(self) -> str | None:
        """The run's status; "missing" when the server answers 404; None when the server does not answer."""
        try:
            return (await self._client.runs.get(self.thread_id, self.run_id))["status"]
        except Exception as exc:
            if getattr(getattr(exc, "response", None), "status_code", None) == 404:
                return "missing"
            return None

    async def outcome(self, attempts: int = 20) -> RunOutcome:
        """The run's final status; a just-ended stream can precede the status write by a few ms."""
        if self.lost:
            return RunOutcome(self.run_id, self.thread_id, "lost", None,
                              "the server lost this run: it restarted before saving its run index (dev runtime); "
                              "the thread's checkpoints are in Postgres")
        for _ in range(attempts):
            try:
                run = await self._client.runs.get(self.thread_id, self.run_id)
            except Exception as exc:
                if getattr(getattr(exc, "response", None), "status_code", None) == 404:
                    return RunOutcome(self.run_id, self.thread_id, "cancelled")  # rolled back: the run is gone
                raise RunError(f"status of run {self.run_id}: {one_line(exc)}") from None
            if run["status"] in FINAL_STATUSES:
                thread = await _call("thread", self._client.threads.get(self.thread_id))
                interrupts = [i for items in (thread.get("interrupts") or {}).values() for i in items]
                outcome = RunOutcome(self.run_id, self.thread_id, run["status"], thread.get("status"),
                                     describe_error(thread.get("error")), interrupts)
                if thread.get("status") == "interrupted":
                    state = await _call("thread state", self._client.threads.get_state(self.thread_id))
                    outcome.next = [str(n) for n in state.get("next") or []]
                    outcome.checkpoint_id = (state.get("checkpoint") or {}).get("checkpoint_id")
                return outcome
            await asyncio.sleep(0.1)
        return RunOutcome(self.run_id, self.thread_id, "unknown")

    async def cancel(self, rollback: bool = False) -> None:
        self._rolled_back = rollback
        await _call(f"cancel run {self.run_id}", self._client.runs.cancel(
            self.thread_id, self.run_id, action="rollback" if rollback else "interrupt"))

    async def move_to(self, url: str) -> None:
        """The server came back at another address (restarted on a new port): the next join and status go there."""
        if url == self.url:
            return
        old, self.url, self._client = self._client, url, _client(url)
        await old.aclose()

    async def close(self) -> None:
        await self._client.aclose()
