"""Time travel through the LangGraph server: replay from a checkpoint, fork with edited state, resume an interrupt,
copy a thread.

Everything is checked before anything is written, because the server itself checks little: `update_state` with a
checkpoint id it does not know writes a new parentless checkpoint, and a key the graph's state does not have is
accepted. So the checkpoint is looked up in Postgres (the truth, also when the server lost its thread index), the
edit is checked against the graph's state schema and the node against the graph, and the server is probed first.
Runs are started with `RunSession`; the caller streams them.

The dev runtime keeps its thread index in memory (pickled every ~10 s): a thread whose checkpoints are only in
Postgres is 404 on the server. It is re-attached by creating it again with the same id and its `graph_id`
(`threads.create(thread_id=..., if_exists="do_nothing")`); the server then reads its history from Postgres.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from lgconsole.stack.checkpoints.reader import CheckpointReader
from lgconsole.stack.checkpoints.records import UnknownCheckpoint, UnknownThread
from lgconsole.stack.errors import StackError
from lgconsole.stack.server.health import probe_server_async
from lgconsole.stack.server.runs import RunSession
from lgconsole.stack.services.service import one_line

READ_ONLY_NOTE = "the thread history stays readable from Postgres (read-only)"
RUN_SOURCES = ("loop", "input")
# checkpoint metadata that belongs to one run or checkpoint, not to the thread (left out when re-attaching)
_RUN_ONLY_METADATA = frozenset({"step", "source", "parents", "writes", "thread_id", "checkpoint_id", "checkpoint_ns",
                                "run_id", "run_attempt", "user_id", "created_by"})  # checkpoints written by a run carry the thread's metadata (graph_id, ...)


# --- errors ----------------------------------------------------------------------------------------------------------

class TimeTravelError(StackError):
    """Replay, fork, resume or copy could not be done; str() is one line and says whether anything was written."""


class ServerDown(TimeTravelError):
    """The LangGraph server does not answer: nothing was sent."""


class ThreadBusy(TimeTravelError):
    """The thread has a run in flight (HTTP 409): nothing was written."""


class UpdateRejected(TimeTravelError):
    """The edit or the request was refused before it was written (schema, node, HTTP 400/422)."""


class NotResumable(TimeTravelError):
    """The thread does not wait on an interrupt."""


class ForkRunFailed(TimeTravelError):
    """The fork's checkpoint was written but its run did not start; `checkpoint_id` is the new checkpoint."""

    def __init__(self, message: str, thread_id: str, checkpoint_id: str):
        super().__init__(message)
        self.thread_id = thread_id
        self.checkpoint_id = checkpoint_id


# --- records ---------------------------------------------------------------------------------------------------------

@dataclass
class ForkResult:
    thread_id: str
    from_checkpoint_id: str  # the checkpoint that was forked
    checkpoint_id: str  # the new checkpoint update_state wrote (the new branch starts here)
    update: dict
    as_node: str | None = None
    session: RunSession | None = None  # the run from the new checkpoint, when one was started
    reattached: bool = False


@dataclass
class RunStarted:
    """A replay or resume under way: stream `session.events()`."""

    thread_id: str
    session: RunSession
    checkpoint_id: str | None = None  # the full id replayed from (None for a resume)
    reattached: bool = False


@dataclass
class CopyResult:
    from_thread_id: str
    thread_id: str
    reattached: bool = False


@dataclass
class _Target:
    thread_id: str
    checkpoint_id: str | None  # the full id, resolved from a prefix
    thread: dict = field(default_factory=dict)  # the server's thread record ({} while it does not know it)
    assistant_id: str | None = None
    reattached: bool = False
    metadata: dict | None = None  # the run metadata from Postgres, when it was needed


# --- checks on an edit (pure) ----------------------------------------------------------------------------------------

_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _allowed_types(prop: dict) -> set[str] | None:
    """The JSON types a schema property allows; None when it does not say (a $ref, no type: anything goes)."""
    if not isinstance(prop, dict):
        return None
    kinds = prop.get("type")
    if isinstance(kinds, str):
        return {kinds}
    if isinstance(kinds, list):
        return {k for k in kinds if isinstance(k, str)}
    found: set[str] = set()
    for key in ("anyOf", "oneOf"):
        for option in prop.get(key) or []:
            inner = _allowed_types(option)
            if inner is None:
                return None
            found |= inner
    return found or None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    for name, kind in _JSON_TYPES.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__


def check_update(update: Any, state_schema: dict | None) -> list[str]:
    """What is wrong with a state update for a graph with this state schema (JSON Schema of the server's
    `get_schemas`); empty when it can be sent. Unknown keys and top-level type mismatches are caught here: the
    server accepts the first silently and answers the second with a bare 500."""
    if not isinstance(update, dict):
        return [f"the state edit must be a JSON object of keys to new values, not {_json_type(update)}"]
    problems = []
    props = (state_schema or {}).get("properties")
    if not isinstance(props, dict) or not props:
        return problems
    open_schema = (state_schema or {}).get("additionalProperties") is True
    for key, value in update.items():
        if key not in props:
            if not open_schema:
                problems.append(f"unknown state key {key!r}: the graph's state has {', '.join(sorted(props))}")
            continue
        allowed = _allowed_types(props[key])
        if allowed is None:
            continue
        kind = _json_type(value)
        ok = kind in allowed or (kind == "integer" and "number" in allowed) or (
            kind == "number" and "integer" in allowed and float(value).is_integer())
        if not ok:
            problems.append(f"state key {key!r} must be {' or '.join(sorted(allowed))}, not {kind}")
    return problems


# --- the client ------------------------------------------------------------------------------------------------------

def _status_of(exc: BaseException) -> int | None:
    return getattr(getattr(exc, "response", None), "status_code", None)


def _detail_of(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            detail = response.json().get("detail")
            if detail:
                return " ".join(str(detail).split())[:300]
        except Exception:
            pass
    return one_line(exc)


def _is_transport_error(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, (httpx.TransportError, ConnectionError, OSError)) and _status_of(exc) is None


class TimeTravel:
    """Replay, fork, resume and copy on one LangGraph server, checked against the checkpoint tables first.

    `reader` is the Postgres CheckpointReader of the same stack (its blocking calls run in a thread); without it
    checkpoints are checked through the server only and ids must be given in full.
    """

    def __init__(self, url: str, reader: CheckpointReader | None = None, timeout: float = 30.0,
                 probe_timeout: float = 2.0):
        self.url = url.rstrip("/")
        self.reader = reader
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self._client = None
        self._schemas: dict[str, dict | None] = {}
        self._nodes: dict[str, list[str] | None] = {}

    @property
    def client(self):
        if self._client is None:
            from lgconsole.stack.server.credentials import sdk_client

            self._client = sdk_client(self.url, self.timeout)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> TimeTravel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the server ---------------------------------------------------------------------------------------------
    def _down(self, what: str, reason: str, written: str = "nothing was sent") -> ServerDown:
        return ServerDown(f"{what}: the LangGraph server at {self.url} does not answer ({reason}); {written}. "
                          f"Replay, fork, resume and copy need it; {READ_ONLY_NOTE}")

    async def check_server(self, what: str = "time travel") -> None:
        """GET /ok with a short timeout: ServerDown when it does not answer 200."""
        health = await probe_server_async(self.url, self.probe_timeout)
        if health.error is not None:
            raise self._down(what, health.error)
        if not health.ok:
            raise self._down(what, f"GET /ok answered {health.status_code}")

    async def _call(self, what: str, coro, thread_id: str | None = None, written: str = "nothing was written"):
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._error(what, exc, thread_id, written) from None

    def _error(self, what: str, exc: BaseException, thread_id: str | None, written: str) -> StackError:
        """A typed one-line error for a failed server call."""
        status = _status_of(exc)
        if status is None and _is_transport_error(exc):
            return self._down(what, one_line(exc) or type(exc).__name__, written)
        detail = _detail_of(exc)
        if status == 404:
            return UnknownThread(f"{what}: the server does not know thread {thread_id!r} ({detail})")
        if status == 409:
            return ThreadBusy(f"{what}: thread {thread_id} is busy with a run; wait for it to end (or cancel it) "
                              f"and try again; {written}")
        if status in (400, 422):
            return UpdateRejected(f"{what}: the server refused it: {detail}; {written}")
        if status is not None and status >= 500:
            return TimeTravelError(f"{what}: the server failed ({status} {detail}); see `lgconsole logs langgraph`")
        return TimeTravelError(f"{what}: {detail}")

    # --- Postgres -----------------------------------------------------------------------------------------------
    async def _resolve(self, thread_id: str, checkpoint_id: str) -> str:
        """The full id of a root-graph checkpoint of the thread (a unique prefix is enough with a reader)."""
        if self.reader is None:
            state = await self._call(f"checkpoint {checkpoint_id}", self.client.threads.get_state(
                thread_id, checkpoint_id=checkpoint_id), thread_id)
            if not state.get("metadata"):  # the server answers an unknown checkpoint with an empty state
                raise UnknownCheckpoint(f"unknown checkpoint {checkpoint_id!r} in thread {thread_id!r}")
            return checkpoint_id
        ns, full = await asyncio.to_thread(self.reader.find_checkpoint, thread_id, checkpoint_id)
        if ns:
            raise UpdateRejected(f"checkpoint {full} is inside the subgraph call {ns.split('|')[-1]!r}: replay or "
                                 "fork from a checkpoint of the root graph (the one the call started from)")
        return full

    def _run_metadata(self, thread_id: str) -> dict:
        """The metadata a run wrote on the thread's checkpoints (graph_id, assistant_id, the thread's own keys)."""
        if self.reader is None:
            return {}
        nodes = self.reader.history(thread_id, include_subgraphs=False)
        for node in reversed(nodes):
            if node.source in RUN_SOURCES and node.metadata.get("graph_id"):
                return dict(node.metadata)
        return dict(nodes[-1].metadata) if nodes else {}

    def _head_waits(self, thread_id: str) -> bool:
        """Whether the thread's latest root checkpoint has a pending interrupt (from the tables)."""
        if self.reader is None:
            return False
        nodes = self.reader.history(thread_id)
        root = [n for n in nodes if not n.checkpoint_ns]
        if not root:
            return False
        head = max(root, key=lambda n: n.checkpoint_id)
        # an interrupt on the head, or inside a subgraph call started from it
        return head.interrupted or any(n.interrupted and n.checkpoint_ns and n.parents.get("") == head.checkpoint_id
                                       for n in nodes)

    # --- the thread on the server ---------------------------------------------------------------------------------
    async def _server_thread(self, what: str, thread_id: str) -> dict | None:
        """The server's thread record; None when the server does not know the thread (404)."""
        from langgraph_sdk.errors import NotFoundError

        try:
            return await self.client.threads.get(thread_id)
        except NotFoundError:
            return None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._error(what, exc, thread_id, "nothing was written") from None

    async def _reattach(self, what: str, target: _Target) -> None:
        """Create the thread again on the server with its id and graph_id (and the thread's own metadata keys):
        the dev runtime forgot it, its checkpoints are in Postgres and the server reads them from there."""
        metadata = target.metadata or {}
        graph_id = metadata.get("graph_id")
        if not graph_id:
            raise TimeTravelError(f"{what}: thread {target.thread_id} is in Postgres but not on the server, and its "
                                  "checkpoints do not say which graph it ran (no graph_id): cannot re-attach it")
        keep = {k: v for k, v in metadata.items()
                if k not in _RUN_ONLY_METADATA and not k.startswith("langgraph_") and isinstance(v, (str, int, float, bool))}
        target.thread = await self._call(f"{what} (re-attaching the thread to the server)", self.client.threads.create(
            thread_id=target.thread_id, if_exists="do_nothing", metadata={**keep, "graph_id": graph_id}),
            target.thread_id)
        target.reattached = True

    @staticmethod
    def _assistant(thread: dict, metadata: dict | None = None) -> str | None:
        for source in (thread.get("metadata") or {}, metadata or {}):
            for key in ("assistant_id", "graph_id"):
                if source.get(key):
                    return str(source[key])
        return None

    async def _target(self, what: str, thread_id: str, checkpoint_id: str | None, assistant_id: str | None,
                      need_assistant: bool = True, attach: bool = True) -> _Target:
        """Checks the thread (and checkpoint) and finds its assistant; re-attaches a thread only Postgres knows
        unless `attach=False` (then the caller does, after its own checks)."""
        full = await self._resolve_first(thread_id, checkpoint_id)
        await self.check_server(what)
        thread = await self._server_thread(what, thread_id)
        metadata = None
        if thread is None or (need_assistant and not assistant_id and self._assistant(thread) is None):
            metadata = await asyncio.to_thread(self._run_metadata, thread_id) if self.reader is not None else {}
            if thread is None and not metadata:
                raise UnknownThread(f"unknown thread {thread_id!r}: neither the server nor Postgres has it")
        if thread is not None and thread.get("status") == "busy":
            raise ThreadBusy(f"{what}: thread {thread_id} is busy with a run; wait for it to end (or cancel it) and "
                             "try again; nothing was written")
        assistant = assistant_id or self._assistant(thread or {}, metadata)
        if assistant is None and need_assistant:
            raise TimeTravelError(f"{what}: cannot tell which assistant ran thread {thread_id}; give one")
        target = _Target(thread_id, full, thread or {}, assistant, False, metadata)
        if attach and thread is None:
            await self._reattach(what, target)
        return target

    async def _resolve_first(self, thread_id: str, checkpoint_id: str | None) -> str | None:
        if checkpoint_id is None:
            if self.reader is not None:
                await asyncio.to_thread(self._run_metadata, thread_id)  # raises UnknownThread
            return None
        if self.reader is None:
            await self.check_server()
        return await self._resolve(thread_id, checkpoint_id)

    async def _start(self, what: str, target: _Target, **kwargs: Any) -> RunSession:
        try:
            return await RunSession.start(self.url, target.assistant_id, thread_id=target.thread_id, **kwargs)
        except StackError as exc:
            try:
                await self.check_server(what)
            except ServerDown as down:
                raise down from None
            raise TimeTravelError(f"{what}: {exc}") from None

    # --- graph facts for checking an edit ---------------------------------------------------------------------------
    async def _assistant_uuid(self, assistant: str) -> str | None:
        from uuid import UUID

        try:
            UUID(assistant)
            return assistant
        except ValueError:
            found = await self._call("assistants", self.client.assistants.search(graph_id=assistant, limit=1))
            return found[0]["assistant_id"] if found else None

    async def state_schema(self, assistant: str) -> dict | None:
        """The graph's state schema (JSON Schema), None when the server has none for it."""
        if assistant not in self._schemas:
            uid = await self._assistant_uuid(assistant)
            schemas = await self._call("graph schema", self.client.assistants.get_schemas(uid)) if uid else {}
            self._schemas[assistant] = (schemas or {}).get("state_schema")
        return self._schemas[assistant]

    async def graph_nodes(self, assistant: str) -> list[str] | None:
        """The graph's node names (what `as_node` may be)."""
        if assistant not in self._nodes:
            uid = await self._assistant_uuid(assistant)
            graph = await self._call("graph", self.client.assistants.get_graph(uid)) if uid else {}
            self._nodes[assistant] = [n["id"] for n in (graph or {}).get("nodes", [])
                                      if n.get("id") not in ("__start__", "__end__")] or None
        return self._nodes[assistant]

    # --- the operations -----------------------------------------------------------------------------------------
    async def replay(self, thread_id: str, checkpoint_id: str, assistant_id: str | None = None) -> RunStarted:
        """Run the thread again from a past checkpoint (`input=None`): the nodes due after it run; a new branch."""
        what = f"replay thread {thread_id} from {checkpoint_id}"
        target = await self._target(what, thread_id, checkpoint_id, assistant_id)
        session = await self._start(what, target, input=None, checkpoint_id=target.checkpoint_id)
        return RunStarted(thread_id, session, target.checkpoint_id, target.reattached)

    async def fork(self, thread_id: str, checkpoint_id: str, update: dict, as_node: str | None = None,
                   assistant_id: str | None = None, run: bool = True, run_kwargs: dict | None = None) -> ForkResult:
        """Write `update` as a new checkpoint after `checkpoint_id` (update_state, reducers apply), then run the
        graph from it (unless `run=False`; `run_kwargs`: its breakpoints). Nothing is written when a check fails."""
        what = f"fork thread {thread_id} at {checkpoint_id}"
        target = await self._target(what, thread_id, checkpoint_id, assistant_id, attach=False)
        problems = check_update(update, await self.state_schema(target.assistant_id))
        if problems:
            raise UpdateRejected(f"{what}: {problems[0]}{' (and more)' if len(problems) > 1 else ''}; nothing was "
                                 "written")
        if as_node:
            nodes = await self.graph_nodes(target.assistant_id)
            if nodes is not None and as_node not in nodes:
                raise UpdateRejected(f"{what}: the graph has no node {as_node!r} (nodes: {', '.join(nodes)}); "
                                     "nothing was written")
        if not target.thread:  # every check passed: only now re-attach a thread the server forgot
            await self._reattach(what, target)
        written = await self._call(what, self.client.threads.update_state(
            thread_id, update, checkpoint_id=target.checkpoint_id, as_node=as_node or None), thread_id)
        new_id = (written.get("checkpoint") or {}).get("checkpoint_id") or written.get("checkpoint_id")
        result = ForkResult(thread_id, target.checkpoint_id, new_id, update, as_node, None, target.reattached)
        if run:
            try:
                result.session = await RunSession.start(self.url, target.assistant_id, thread_id=thread_id,
                                                        input=None, checkpoint_id=new_id, **(run_kwargs or {}))
            except StackError as exc:
                raise ForkRunFailed(
                    f"{what}: wrote checkpoint {new_id} (the new branch) but its run did not start ({exc}); "
                    f"start it with `lgconsole replay {thread_id} --checkpoint {new_id}`", thread_id, new_id) from None
        return result

    async def resume(self, thread_id: str, value: Any, assistant_id: str | None = None) -> RunStarted:
        """Answer the thread's pending interrupt with `value` (`command={"resume": value}`)."""
        what = f"resume thread {thread_id}"
        target = await self._target(what, thread_id, None, assistant_id)
        waits = target.thread.get("status") == "interrupted" or await asyncio.to_thread(self._head_waits, thread_id)
        if not waits:
            raise NotResumable(f"{what}: it does not wait on an interrupt (status "
                               f"{target.thread.get('status') or 'unknown'}; no pending interrupt on its latest "
                               "checkpoint); nothing was sent")
        session = await self._start(what, target, command={"resume": value})
        return RunStarted(thread_id, session, None, target.reattached)

    async def proceed(self, thread_id: str, assistant_id: str | None = None, **run_kwargs: Any) -> RunStarted:
        """Go on from a breakpoint (`interrupt_before`/`interrupt_after`): a run with no input, the nodes due run. A
        thread that waits on `interrupt()` needs an answer instead (`resume`)."""
        what = f"continue thread {thread_id}"
        target = await self._target(what, thread_id, None, assistant_id)
        if target.thread.get("status") != "interrupted":
            raise NotResumable(f"{what}: it is not stopped at a breakpoint (status "
                               f"{target.thread.get('status') or 'unknown'}); nothing was sent")
        if any(target.thread.get("interrupts") or {}):
            raise NotResumable(f"{what}: it waits on interrupt(), which needs an answer: `lgconsole resume "
                               f"{thread_id} VALUE`; nothing was sent")
        session = await self._start(what, target, input=None, **run_kwargs)
        return RunStarted(thread_id, session, None, target.reattached)

    async def copy(self, thread_id: str) -> CopyResult:
        """A new thread with all of this thread's checkpoints (same checkpoint ids)."""
        what = f"copy thread {thread_id}"
        target = await self._target(what, thread_id, None, None, need_assistant=False)
        copied = await self._call(what, self.client.threads.copy(thread_id), thread_id)
        return CopyResult(thread_id, copied["thread_id"], target.reattached)
