"""Read LangGraph checkpoints straight from the Postgres checkpointer's tables, with or without the LangGraph server.

`CheckpointReader` lists threads (status from pending writes), one thread's checkpoints with parent links and
subgraph namespaces, and the decoded state at one checkpoint. Decoding never unpickles and never imports the user's
graph code: values of types that are not on langgraph's strict allowlist come back as labelled placeholders.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any
from uuid import UUID

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line, redact_url

# The checkpointer's write channels with a meaning of their own (langgraph.checkpoint.base.WRITES_IDX_MAP).
ERROR = "__error__"
INTERRUPT = "__interrupt__"
RESUME = "__resume__"
SCHEDULED = "__scheduled__"
TASKS = "__pregel_tasks"
SPECIAL_WRITES = frozenset({ERROR, INTERRUPT, RESUME, SCHEDULED})

# `len(MIGRATIONS) - 1` of langgraph-checkpoint-postgres 3.2.0 (the last migration adds checkpoint_writes.task_path).
KNOWN_SCHEMA_VERSION = 9
MIN_SCHEMA_VERSION = 9  # every query here reads checkpoint_writes.task_path

PLACEHOLDER_KEY = "__lgconsole_unknown__"
SEND_PREFIX_BYTES = 512  # enough of a Send blob to read its node name without fetching the state it carries


# --- errors ----------------------------------------------------------------------------------------------------------

class CheckpointReaderError(StackError):
    """A problem reading the checkpoint tables; str() is one line."""


class CheckpointDbUnreachable(CheckpointReaderError):
    """Postgres does not answer, refuses the login, or the connection broke."""


class NoCheckpointTables(CheckpointReaderError):
    """The database has no `checkpoints` table: the checkpointer never ran `setup()` there."""


class UnsupportedSchema(CheckpointReaderError):
    """The tables are older than the layout this reader understands."""


class UnknownThread(CheckpointReaderError):
    """No checkpoint has this thread id."""


class UnknownCheckpoint(CheckpointReaderError):
    """The thread has no checkpoint with this id (or the prefix matches none, or several)."""


# --- records ---------------------------------------------------------------------------------------------------------

class ThreadStatus(str, Enum):
    ERRORED = "errored"  # the latest checkpoint has a pending `__error__` write
    WAITING = "waiting"  # the latest checkpoint has a pending `__interrupt__` write (a human must answer)
    IDLE = "idle"  # neither: finished, between runs, running, or stopped at a static breakpoint


@dataclass
class ThreadSummary:
    thread_id: str
    last_activity: datetime | None  # newest checkpoint of any namespace (from its uuid6 id)
    checkpoint_count: int  # every namespace, subgraphs included
    head_checkpoint_id: str | None  # the latest root-namespace checkpoint
    latest_step: int | None
    latest_source: str | None  # input | loop | update | fork
    latest_nodes: list[str]  # the node(s) whose writes made the latest checkpoint
    status: ThreadStatus
    status_node: str | None = None  # the node that failed or waits
    error: str | None = None  # the error text (`RuntimeError('...')`), when errored
    interrupts: list[Any] = field(default_factory=list)  # decoded interrupt payloads ({"value", "id"}), when waiting
    metadata: dict = field(default_factory=dict)  # the latest checkpoint's metadata

    def to_json(self) -> dict:
        return {
            "thread_id": self.thread_id,
            "last_activity": self.last_activity.isoformat() if self.last_activity else None,
            "checkpoint_count": self.checkpoint_count,
            "head_checkpoint_id": self.head_checkpoint_id,
            "latest_step": self.latest_step,
            "latest_source": self.latest_source,
            "latest_nodes": list(self.latest_nodes),
            "status": self.status.value,
            "status_node": self.status_node,
            "error": self.error,
            "interrupts": jsonable(self.interrupts),
            "metadata": jsonable(self.metadata),
        }


@dataclass
class CheckpointNode:
    """One checkpoint of a thread's history: ids and metadata only, no state."""

    checkpoint_id: str
    parent_checkpoint_id: str | None
    checkpoint_ns: str  # "" for the root graph, `node:<task_id>` (nested with `|`) for a subgraph call
    step: int | None
    source: str | None
    writers: list[str]  # the node(s) whose writes made this checkpoint
    created_at: datetime | None
    parents: dict[str, str] = field(default_factory=dict)  # namespace -> checkpoint id of the enclosing graphs
    metadata: dict = field(default_factory=dict)
    error: str | None = None  # a pending `__error__` write on this checkpoint
    error_node: str | None = None
    interrupted: bool = False  # a pending `__interrupt__` write on this checkpoint
    interrupt_node: str | None = None

    def to_json(self) -> dict:
        return {
            "checkpoint_id": self.checkpoint_id,
            "parent_checkpoint_id": self.parent_checkpoint_id,
            "checkpoint_ns": self.checkpoint_ns,
            "step": self.step,
            "source": self.source,
            "writers": list(self.writers),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "parents": dict(self.parents),
            "error": self.error,
            "error_node": self.error_node,
            "interrupted": self.interrupted,
            "interrupt_node": self.interrupt_node,
            "metadata": jsonable(self.metadata),
        }


@dataclass
class PendingWrite:
    task_id: str
    node: str | None  # the task's node, when it can be told from the task path
    channel: str
    value: Any
    idx: int
    task_path: str = ""


@dataclass
class CheckpointState:
    thread_id: str
    checkpoint_id: str
    checkpoint_ns: str
    parent_checkpoint_id: str | None
    step: int | None
    source: str | None
    created_at: datetime | None
    metadata: dict
    values: dict[str, Any]  # the graph's state channels, decoded
    channels: dict[str, Any]  # internal channels (`branch:to:*`, `__start__`, `__pregel_tasks`, ...), decoded
    pending_writes: list[PendingWrite]
    next: list[str]  # nodes due at the next super-step, as far as the tables tell
    error: str | None = None
    interrupts: list[Any] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # labels of values shown as placeholders

    def to_json(self) -> dict:
        return {
            "thread_id": self.thread_id,
            "checkpoint_id": self.checkpoint_id,
            "checkpoint_ns": self.checkpoint_ns,
            "parent_checkpoint_id": self.parent_checkpoint_id,
            "step": self.step,
            "source": self.source,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "metadata": jsonable(self.metadata),
            "values": jsonable(self.values),
            "channels": jsonable(self.channels),
            "pending_writes": [
                {"task_id": w.task_id, "node": w.node, "channel": w.channel, "idx": w.idx, "value": jsonable(w.value)}
                for w in self.pending_writes
            ],
            "next": list(self.next),
            "error": self.error,
            "interrupts": jsonable(self.interrupts),
            "unreadable": list(self.unreadable),
        }


@dataclass
class SchemaInfo:
    version: int | None  # the highest row of checkpoint_migrations; None when missing or empty
    expected: int  # the version this reader was written against
    status: str  # current | older | newer | unknown (table empty) | missing (no checkpoint_migrations)
    message: str  # one line for a person

    @property
    def ok(self) -> bool:
        return self.status == "current"


# --- safe decoding ---------------------------------------------------------------------------------------------------

def placeholder(label: str, reason: str, **extra: Any) -> dict:
    """The stand-in for a value that is not decoded: `{"__lgconsole_unknown__": label, "reason": ..., ...}`."""
    return {PLACEHOLDER_KEY: label, "reason": reason, **extra}


def is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and PLACEHOLDER_KEY in value


_EXT_CONSTRUCTOR_SINGLE_ARG = 0
_EXT_CONSTRUCTOR_POS_ARGS = 1
_EXT_CONSTRUCTOR_KW_ARGS = 2
_EXT_METHOD_SINGLE_ARG = 3
_EXT_PYDANTIC_V1 = 4
_EXT_PYDANTIC_V2 = 5
_EXT_NUMPY_ARRAY = 6
_EXT_DELTA_SNAPSHOT = 7


class _BlockedEvents(threading.local):
    """Serde events of the decode running on this thread (the listener is process-wide)."""

    def __init__(self) -> None:
        self.sink: list[str] | None = None


_events = _BlockedEvents()
_listener_lock = threading.Lock()
_listener_registered = False


def _on_serde_event(event: dict) -> None:
    sink = _events.sink
    if sink is not None and str(event.get("kind", "")).endswith("blocked"):
        sink.append(f"{event.get('module')}.{event.get('name')}")


class SafeDecoder:
    """Decodes checkpoint blobs without unpickling and without importing modules outside langgraph's allowlist.

    msgpack ext values are unpacked here, one level at a time, so each blocked value is replaced in place by a
    placeholder naming its class (`{"__lgconsole_unknown__": "pkg.mod.Class", "reason": "blocked", "fields": ...}`).
    LangChain messages and langgraph's own types become plain dicts (a message keeps `id`, `type`, `content`, ...);
    stdlib values on the allowlist (datetime, UUID, Decimal, set, ...) are built by langgraph's strict serializer,
    `JsonPlusSerializer(allowed_msgpack_modules=None)`, whose serde events are captured too.
    """

    def __init__(self) -> None:
        import ormsgpack
        from langgraph.checkpoint.serde import _msgpack as lg_msgpack

        self._ormsgpack = ormsgpack
        self._safe_types = lg_msgpack.SAFE_MSGPACK_TYPES
        self._safe_methods = lg_msgpack.SAFE_MSGPACK_METHODS
        self._strict_serde = None
        self._strict_lock = threading.Lock()

    @property
    def _strict(self):
        """langgraph's strict serializer, built on first need: its module imports langchain_core (~0.3 s), which
        messages, Sends and interrupts (the common values, unpacked here) never need."""
        if self._strict_serde is None:
            with self._strict_lock:
                if self._strict_serde is None:
                    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

                    self._register_listener()
                    self._strict_serde = JsonPlusSerializer(allowed_msgpack_modules=None)
        return self._strict_serde

    @staticmethod
    def _register_listener() -> None:
        global _listener_registered
        with _listener_lock:
            if not _listener_registered:
                from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

                register_serde_event_listener(_on_serde_event)
                _listener_registered = True

    def decode(self, type_: str | None, data: bytes | memoryview | None, labels: list[str] | None = None) -> Any:
        """One stored value; never raises. `labels` collects the labels of the placeholders produced."""
        found: list[str] = [] if labels is None else labels
        previous, _events.sink = _events.sink, found
        try:
            return self._decode(type_, bytes(data) if data is not None else None, found)
        except RecursionError:
            found.append("corrupt")
            return placeholder("corrupt", "corrupt", type=type_, size=len(data or b""), error="nested too deeply")
        finally:
            _events.sink = previous

    def _decode(self, type_: str | None, data: bytes | None, found: list[str]) -> Any:
        size = len(data or b"")
        if type_ in (None, "null") and not data:
            return None
        if type_ == "empty":
            return None
        if type_ == "bytes":
            return data
        if type_ == "bytearray":
            return bytearray(data or b"")
        if type_ == "pickle":
            found.append("pickle")
            return placeholder("pickle", "pickle is never unpickled", size=size)
        if type_ == "msgpack":
            try:
                return self._ormsgpack.unpackb(data, ext_hook=self._ext_hook,
                                               option=self._ormsgpack.OPT_NON_STR_KEYS)
            except Exception as exc:  # malformed bytes: say so, keep going
                found.append("corrupt")
                return placeholder("corrupt", "corrupt", type=type_, size=size, error=one_line(exc))
        if type_ == "json":
            try:
                return _plain(self._strict.loads_typed((type_, data or b"")))
            except Exception as exc:
                found.append("corrupt")
                return placeholder("corrupt", "corrupt", type=type_, size=size, error=one_line(exc))
        label = str(type_)
        found.append(label)
        return placeholder(label, "unknown serialization type", size=size)

    def _unpack(self, data: bytes) -> Any:
        return self._ormsgpack.unpackb(data, ext_hook=self._ext_hook, option=self._ormsgpack.OPT_NON_STR_KEYS)

    def _ext_hook(self, code: int, data: bytes) -> Any:
        sink = _events.sink if _events.sink is not None else []
        if code == _EXT_DELTA_SNAPSHOT:
            return self._unpack(data)
        if code == _EXT_NUMPY_ARRAY:
            try:
                dtype, shape = self._ormsgpack.unpackb(data)[:2]
                sink.append("numpy.ndarray")
                return placeholder("numpy.ndarray", "not decoded", dtype=str(dtype), shape=list(shape))
            except Exception as exc:
                sink.append("corrupt")
                return placeholder("corrupt", "corrupt", ext=code, size=len(data), error=one_line(exc))
        if code not in (_EXT_CONSTRUCTOR_SINGLE_ARG, _EXT_CONSTRUCTOR_POS_ARGS, _EXT_CONSTRUCTOR_KW_ARGS,
                        _EXT_METHOD_SINGLE_ARG, _EXT_PYDANTIC_V1, _EXT_PYDANTIC_V2):
            sink.append(f"ext{code}")
            return placeholder(f"ext{code}", "unknown msgpack extension", size=len(data))
        try:
            tup = self._unpack(data)
            module, name, payload = tup[0], tup[1], tup[2]
            if not (isinstance(module, str) and isinstance(name, str)):
                raise ValueError("no class name")
        except Exception as exc:
            sink.append("corrupt")
            return placeholder("corrupt", "corrupt", ext=code, size=len(data), error=one_line(exc))
        label = f"{module}.{name}"
        if (module, name) not in self._safe_types or (
            code == _EXT_METHOD_SINGLE_ARG and (module, name, tup[3] if len(tup) > 3 else None) not in self._safe_methods
        ):
            sink.append(label)
            return placeholder(label, "blocked", fields=payload)
        if code in (_EXT_PYDANTIC_V1, _EXT_PYDANTIC_V2) or module.startswith(("langchain_core.", "langgraph.")):
            # Messages, documents and langgraph's own records: their fields, as plain data.
            if (module, name) == ("langgraph.types", "Send") and isinstance(payload, (list, tuple)) and payload:
                send = {"node": payload[0], "arg": payload[1] if len(payload) > 1 else None}
                if len(payload) > 2:
                    send["timeout"] = payload[2]
                return send
            return payload
        try:  # datetime, UUID, Decimal, set, ...: built by strict mode, which imports nothing off its allowlist
            return self._strict.loads_typed(("msgpack", self._ormsgpack.packb(self._ormsgpack.Ext(code, data))))
        except Exception as exc:
            sink.append("corrupt")
            return placeholder("corrupt", "corrupt", ext=code, size=len(data), error=one_line(exc))


def _plain(value: Any) -> Any:
    """LangChain objects revived from legacy `json` rows, as plain dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return _plain(dump())
        except Exception:
            return placeholder(f"{type(value).__module__}.{type(value).__name__}", "not decoded")
    return value


_decoder: SafeDecoder | None = None
_decoder_lock = threading.Lock()


def get_decoder() -> SafeDecoder:
    """The process's decoder, built on first use."""
    global _decoder
    with _decoder_lock:
        if _decoder is None:
            _decoder = SafeDecoder()
        return _decoder


def decode_value(type_: str | None, data: bytes | memoryview | None, labels: list[str] | None = None) -> Any:
    return get_decoder().decode(type_, data, labels)


def jsonable(value: Any) -> Any:
    """Decoded values as JSON-compatible data for `--json` (datetimes as ISO text, sets as lists, bytes by size)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return {"__lgconsole_bytes__": len(raw), "head": raw[:32].hex()}
    if isinstance(value, datetime):
        return value.isoformat()
    iso = getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return jsonable(dump())
        except Exception:
            pass
    pattern = getattr(value, "pattern", None)
    if isinstance(pattern, str):
        return pattern
    return str(value)


# --- ids, task paths, sends ------------------------------------------------------------------------------------------

_UUID_EPOCH_100NS = 0x01B21DD213814000  # 100-ns intervals from 1582-10-15 to 1970-01-01


def checkpoint_time(checkpoint_id: str | None) -> datetime | None:
    """When a checkpoint was written, from its time-ordered uuid6 id (to the microsecond, no float rounding);
    None for ids of another kind."""
    if not checkpoint_id:
        return None
    try:
        value = UUID(checkpoint_id)
    except (ValueError, TypeError):
        return None
    if value.version != 6:
        return None
    ticks = ((value.int >> 80) << 12) | ((value.int >> 64) & 0x0FFF)
    return _UNIX_EPOCH + timedelta(microseconds=(ticks - _UUID_EPOCH_100NS) // 10)


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def checkpoint_id_floor(when: datetime) -> str:
    """The smallest uuid6 checkpoint id written at or after `when`: ids compare as strings in time order, so
    `checkpoint_id >= checkpoint_id_floor(t)` selects what was written since t."""
    ticks = (when - _UNIX_EPOCH) // timedelta(microseconds=1) * 10 + _UUID_EPOCH_100NS
    value = ((ticks >> 12) << 80) | (6 << 76) | ((ticks & 0x0FFF) << 64) | (1 << 63)  # RFC 4122 variant
    return str(UUID(int=value))


def _read_str(buf: bytes, pos: int) -> tuple[str, int]:
    tag = buf[pos]
    if 0xA0 <= tag <= 0xBF:
        n, pos = tag & 0x1F, pos + 1
    elif tag == 0xD9:
        n, pos = buf[pos + 1], pos + 2
    elif tag == 0xDA:
        n, pos = int.from_bytes(buf[pos + 1:pos + 3], "big"), pos + 3
    elif tag == 0xDB:
        n, pos = int.from_bytes(buf[pos + 1:pos + 5], "big"), pos + 5
    else:
        raise ValueError("not a string")
    if pos + n > len(buf):
        raise ValueError("truncated")
    return buf[pos:pos + n].decode("utf-8"), pos + n


def _read_array_header(buf: bytes, pos: int) -> tuple[int, int]:
    tag = buf[pos]
    if 0x90 <= tag <= 0x9F:
        return tag & 0x0F, pos + 1
    if tag == 0xDC:
        return int.from_bytes(buf[pos + 1:pos + 3], "big"), pos + 3
    if tag == 0xDD:
        return int.from_bytes(buf[pos + 1:pos + 5], "big"), pos + 5
    raise ValueError("not an array")


def send_node_from_prefix(prefix: bytes | memoryview | None) -> str | None:
    """The node name of a msgpack `Send` from the first bytes of its blob, without decoding the state it carries."""
    if not prefix:
        return None
    buf = bytes(prefix)
    try:
        tag, pos = buf[0], 1
        if 0xD4 <= tag <= 0xD8:  # fixext 1..16
            pos += 1
        elif tag == 0xC7:
            pos += 2
        elif tag == 0xC8:
            pos += 3
        elif tag == 0xC9:
            pos += 5
        else:
            return None
        if buf[pos - 1] != _EXT_CONSTRUCTOR_POS_ARGS:
            return None
        n, pos = _read_array_header(buf, pos)
        if n < 3:
            return None
        module, pos = _read_str(buf, pos)
        name, pos = _read_str(buf, pos)
        if (module, name) != ("langgraph.types", "Send"):
            return None
        _, pos = _read_array_header(buf, pos)
        node, _ = _read_str(buf, pos)
        return node
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


@dataclass
class _WriteRow:
    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    task_path: str
    idx: int
    channel: str
    type: str | None
    blob: bytes | None  # only for the channels a query asked the blob of
    prefix: bytes | None  # the first bytes of `__pregel_tasks` writes


def _sends_by_checkpoint(rows: list[_WriteRow]) -> dict[tuple[str, str], list[str | None]]:
    """(ns, checkpoint id) -> the node names of the Sends written there, in the order the next step numbers them."""
    found: dict[tuple[str, str], list[_WriteRow]] = {}
    for row in rows:
        if row.channel == TASKS:
            found.setdefault((row.checkpoint_ns, row.checkpoint_id), []).append(row)
    return {key: [send_node_from_prefix(r.prefix) for r in sorted(group, key=lambda r: (r.task_path, r.task_id, r.idx))]
            for key, group in found.items()}


def task_node(task_path: str, sends: list[str | None] | None) -> str | None:
    """A task's node from the task path the checkpointer stores: `~__pregel_pull, NODE` names it; a Send's
    `~__pregel_push, IDX, ...` is the IDX-th Send written on the parent checkpoint."""
    if task_path.startswith("~__pregel_pull, "):
        return task_path[len("~__pregel_pull, "):]
    if task_path.startswith("~__pregel_push, "):
        first = task_path[len("~__pregel_push, "):].split(", ", 1)[0]
        if first.isdigit():
            idx = int(first)
            if sends and idx < len(sends) and sends[idx]:
                return sends[idx]
            return f"send[{idx}]"
        return "call"
    return None


def _pick_error(errors: list[tuple[str | None, str]]) -> tuple[str | None, str] | None:
    """The error that explains the failure: sibling tasks cancelled because of it come last."""
    if not errors:
        return None
    real = [e for e in errors if not e[1].startswith("CancelledError")]
    return (real or errors)[0]


# --- the reader ------------------------------------------------------------------------------------------------------

SORT_KEYS = {
    "last_activity": "last_id",
    "thread_id": "thread_id",
    "checkpoint_count": "n",
    "step": "step",
    "status": "status",
}

# A thread's status from its head's pending writes; `s` is the lateral lookup of those writes (primary-key prefix).
_STATUS_SQL = "CASE WHEN s.errored THEN 'errored' WHEN s.waiting THEN 'waiting' ELSE 'idle' END"
_HEAD_WRITES_JOIN = f"""LEFT JOIN LATERAL (
                SELECT coalesce(bool_or(w.channel = '{ERROR}'), false) AS errored,
                       coalesce(bool_or(w.channel = '{INTERRUPT}'), false) AS waiting
                FROM checkpoint_writes w
                WHERE w.thread_id = agg.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = agg.head_id) s ON true"""

# The metadata of the thread's latest checkpoint written by a run: it carries the thread's metadata, which a
# checkpoint made by update_state (a fork) does not.
_RUN_METADATA_JOIN = """LEFT JOIN LATERAL (
                SELECT m.metadata FROM checkpoints m
                WHERE m.thread_id = {thread} AND m.checkpoint_ns = '' AND m.metadata ->> 'source' IN ('loop', 'input')
                ORDER BY m.checkpoint_id DESC LIMIT 1) r ON true"""


class CheckpointReader:
    """Read-only access to the langgraph-checkpoint-postgres tables through a small psycopg pool.

    Every query runs in a READ ONLY transaction. Connection problems, a database without the tables, unknown ids:
    each raises a `CheckpointReaderError` with a one-line message (the URL in it has no password).
    """

    def __init__(self, url: str, *, connect_timeout: float = 3.0, max_connections: int = 4,
                 statement_timeout_s: float = 30.0):
        self.url = url
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.statement_timeout_s = statement_timeout_s
        self._pool = None
        self._lock = threading.Lock()
        self._tables_checked = False
        self._recent_index_checked: tuple[float, bool] | None = None  # (when, present)

    @property
    def public_url(self) -> str:
        return redact_url(self.url) or ""

    # --- connections --------------------------------------------------------------------------------------------
    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _scrub(self, text: str) -> str:
        from urllib.parse import unquote, urlsplit

        try:
            password = urlsplit(self.url).password
        except ValueError:
            password = None
        for secret in {password, unquote(password) if password else None} - {None, ""}:
            text = text.replace(secret, "***")
        return text

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
        conn.execute("SELECT set_config('statement_timeout', %s, false), set_config('application_name', %s, false)",
                     (f"{int(self.statement_timeout_s * 1000)}", "lgconsole"))
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
    def _transaction(self) -> Iterator[Any]:
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = self._ensure_pool()
        try:
            with pool.connection(timeout=self.connect_timeout) as conn:
                if not self._tables_checked:
                    self._check_tables(conn)
                yield conn
        except PoolTimeout:
            self._probe()
            raise self._unreachable("no free connection within the timeout") from None
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

    # --- schema -------------------------------------------------------------------------------------------------
    def schema_version(self) -> SchemaInfo:
        """The migration level of the tables, compared with the layout this reader knows."""
        with self._transaction() as conn:
            if conn.execute("SELECT to_regclass('checkpoint_migrations')").fetchone()[0] is None:
                return SchemaInfo(None, KNOWN_SCHEMA_VERSION, "missing",
                                  "schema version unknown: the checkpoint tables exist but checkpoint_migrations does "
                                  "not (made by hand or by another tool?); reading them as version "
                                  f"{KNOWN_SCHEMA_VERSION}")
            version = conn.execute("SELECT max(v) FROM checkpoint_migrations").fetchone()[0]
        if version is None:
            return SchemaInfo(None, KNOWN_SCHEMA_VERSION, "unknown",
                              "schema version unknown: checkpoint_migrations is empty; reading the tables as version "
                              f"{KNOWN_SCHEMA_VERSION}")
        if version == KNOWN_SCHEMA_VERSION:
            return SchemaInfo(version, KNOWN_SCHEMA_VERSION, "current", f"checkpoint schema version {version}")
        if version > KNOWN_SCHEMA_VERSION:
            return SchemaInfo(version, KNOWN_SCHEMA_VERSION, "newer",
                              f"checkpoint schema version {version} is newer than the {KNOWN_SCHEMA_VERSION} lgconsole "
                              "knows: reading it anyway; some fields may be missing")
        return SchemaInfo(version, KNOWN_SCHEMA_VERSION, "older",
                          f"checkpoint schema version {version} is older than {MIN_SCHEMA_VERSION}: upgrade "
                          "langgraph-checkpoint-postgres and run setup(); some reads will fail")

    # --- threads ------------------------------------------------------------------------------------------------
    def _thread_filters(self, status: ThreadStatus | str | None, metadata_filter: dict | None,
                        text: str | None) -> tuple[str, str, str, dict]:
        inner, outer, params = [], [], {}
        if text:
            inner.append("thread_id ILIKE %(text)s ESCAPE '\\'")
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params["text"] = f"%{escaped}%"
        meta_join = ""
        if metadata_filter:
            from psycopg.types.json import Jsonb

            meta_join = _RUN_METADATA_JOIN.format(thread="agg.thread_id")
            outer.append("(coalesce(r.metadata, '{}'::jsonb) || coalesce(h.metadata, '{}'::jsonb)) @> %(meta)s")
            params["meta"] = Jsonb(metadata_filter)
        if status:
            outer.append(f"({_STATUS_SQL}) = %(status)s")
            params["status"] = ThreadStatus(status).value
        where_inner = f"WHERE {' AND '.join(inner)}" if inner else ""
        where_outer = f"WHERE {' AND '.join(outer)}" if outer else ""
        return where_inner, meta_join, where_outer, params

    def _threads_sql(self, where_inner: str, meta_join: str, where_outer: str, agg_tail: str = "") -> str:
        """One row per thread: counts and ids from one GROUP BY (paged right there when `agg_tail` has the LIMIT),
        then the head row and its parent by primary key, and the head's writes for the status."""
        return f"""
            WITH agg AS (
                SELECT thread_id, count(*) AS n, max(checkpoint_id) AS last_id,
                       max(checkpoint_id) FILTER (WHERE checkpoint_ns = '') AS head_id
                FROM checkpoints {where_inner}
                GROUP BY thread_id {agg_tail}
            )
            SELECT agg.thread_id, agg.n, agg.last_id, agg.head_id, h.metadata AS head_metadata,
                   h.parent_checkpoint_id AS parent_id, p.parent_checkpoint_id AS grandparent_id,
                   (h.metadata ->> 'step')::int AS step, {_STATUS_SQL} AS status
            FROM agg
            LEFT JOIN checkpoints h ON h.thread_id = agg.thread_id AND h.checkpoint_ns = ''
                AND h.checkpoint_id = agg.head_id
            LEFT JOIN checkpoints p ON p.thread_id = agg.thread_id AND p.checkpoint_ns = ''
                AND p.checkpoint_id = h.parent_checkpoint_id
            {_HEAD_WRITES_JOIN}
            {meta_join}
            {where_outer}"""

    def list_threads(self, limit: int = 50, offset: int = 0, status: ThreadStatus | str | None = None,
                     metadata_filter: dict | None = None, text: str | None = None,
                     sort: str = "-last_activity") -> list[ThreadSummary]:
        """One page of threads. `sort` is a key of SORT_KEYS, `-` in front for descending; `text` matches inside the
        thread id; `metadata_filter` must be contained in the thread's metadata: that of its latest checkpoint
        written by a run (where the server copies the thread's metadata), overlaid by its latest checkpoint's."""
        descending = sort.startswith("-")
        key = sort.lstrip("-+")
        if key not in SORT_KEYS:
            raise CheckpointReaderError(f"cannot sort threads by {key!r}; choose one of {', '.join(SORT_KEYS)}")
        order = f"{SORT_KEYS[key]} {'DESC' if descending else 'ASC'} NULLS LAST"
        if key != "thread_id":
            order += ", thread_id"
        where_inner, meta_join, where_outer, params = self._thread_filters(status, metadata_filter, text)
        params.update(limit=max(0, int(limit)), offset=max(0, int(offset)))
        if key == "last_activity" and descending and not (status or metadata_filter or text):
            recent = self._recent_thread_ids(params["limit"] + params["offset"])
            if recent is not None:  # the page's threads, found through lgconsole's index: aggregate only those
                where_inner = "WHERE thread_id = ANY(%(page_ids)s)"
                params.update(page_ids=recent[params["offset"]:], offset=0)
        page_sql = "ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s".format(order=order)
        if not status and not metadata_filter and key in ("last_activity", "thread_id", "checkpoint_count"):
            # Paged in the GROUP BY: heads and statuses are looked up for one page of threads only.
            page = self._threads_sql(where_inner, "", "", agg_tail=page_sql)
        else:
            page = f"{self._threads_sql(where_inner, meta_join, where_outer)} {page_sql}"
        # The run metadata (thread labels) is looked up for the page only, after LIMIT.
        sql = f"""
            WITH page AS ({page})
            SELECT page.thread_id, n, last_id, head_id, parent_id, grandparent_id,
                   coalesce(r.metadata, '{{}}'::jsonb) || coalesce(head_metadata, '{{}}'::jsonb), status
            FROM page {_RUN_METADATA_JOIN.format(thread="page.thread_id")}
            ORDER BY {order}"""
        with self._transaction() as conn:
            rows = conn.execute(sql, params).fetchall()
            keys = [(r[0], cid) for r in rows for cid in (r[3], r[4], r[5]) if cid]
            writes = self._writes_at(conn, keys) if keys else []
            by_checkpoint: dict[tuple[str, str], list[_WriteRow]] = {}
            for thread_id, row in writes:
                by_checkpoint.setdefault((thread_id, row.checkpoint_id), []).append(row)
            unnamed = self._fill_unnamed_writers(conn, [
                (r[0], "", r[3], r[4]) for r in rows
                if r[3] and r[4] and (r[6] or {}).get("source") == "loop"
                and _unnamed_tasks(by_checkpoint.get((r[0], r[4]), []))])
        decoder = get_decoder()
        summaries = []
        for thread_id, n, last_id, head_id, parent_id, grandparent_id, metadata, status_value in rows:
            metadata = metadata or {}
            head_rows = by_checkpoint.get((thread_id, head_id), [])
            parent_rows = by_checkpoint.get((thread_id, parent_id), [])
            gp_rows = by_checkpoint.get((thread_id, grandparent_id), [])
            parent_sends = _sends_by_checkpoint(parent_rows).get(("", parent_id))
            gp_sends = _sends_by_checkpoint(gp_rows).get(("", grandparent_id))
            summary = ThreadSummary(
                thread_id=thread_id,
                last_activity=checkpoint_time(last_id),
                checkpoint_count=n,
                head_checkpoint_id=head_id,
                latest_step=_int_or_none(metadata.get("step")),
                latest_source=metadata.get("source"),
                latest_nodes=unnamed.get((thread_id, "", head_id))
                or _writers(metadata.get("source"), parent_rows, gp_sends),
                status=ThreadStatus(status_value),
                metadata=metadata,
            )
            errors = [(task_node(r.task_path, parent_sends), _error_text(decoder.decode(r.type, r.blob)))
                      for r in head_rows if r.channel == ERROR]
            picked = _pick_error(errors)
            if picked and summary.status == ThreadStatus.ERRORED:
                summary.status_node, summary.error = picked
            if summary.status == ThreadStatus.WAITING:
                for r in head_rows:
                    if r.channel == INTERRUPT:
                        summary.status_node = summary.status_node or task_node(r.task_path, parent_sends)
                        value = decoder.decode(r.type, r.blob)
                        summary.interrupts.extend(value if isinstance(value, list) else [value])
            summaries.append(summary)
        return summaries

    def _recent_thread_ids(self, wanted: int) -> list[str] | None:
        """The `wanted` most recently active threads, newest first, by walking the newest checkpoints backwards on
        lgconsole's opt-in index (stack/checkpoint_index.py); None when the index is not there (or the walk would
        read a large part of the table: then the plain GROUP BY is as good). Exact: a thread's first appearance
        in the walk is its newest checkpoint, so once `wanted` distinct threads are seen they are the newest ones."""
        if wanted <= 0 or not self.has_recent_index():
            return None
        scan = max(1000, wanted * 200)
        with self._transaction() as conn:
            total = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'checkpoints'").fetchone()[0]
            while True:
                scanned, ids = conn.execute(
                    """WITH s AS (SELECT thread_id, checkpoint_id FROM checkpoints ORDER BY checkpoint_id DESC LIMIT %s)
                       SELECT (SELECT count(*) FROM s), array(SELECT thread_id FROM s GROUP BY thread_id
                                                             ORDER BY max(checkpoint_id) DESC LIMIT %s)""",
                    (scan, wanted)).fetchone()
                if len(ids) >= wanted or scanned < scan:  # enough threads, or every checkpoint was read
                    return list(ids)
                if scan * 16 > max(total or 0, 0):
                    return None  # few threads with very many checkpoints each: the GROUP BY is as good
                scan *= 4

    def has_recent_index(self) -> bool:
        """Whether lgconsole's opt-in index on checkpoint ids is there (checked at most once a minute)."""
        from lgconsole.stack.checkpoints.index import RECENT_INDEX

        now = time.monotonic()
        if self._recent_index_checked is None or now - self._recent_index_checked[0] > 60:
            with self._transaction() as conn:
                found = conn.execute(
                    "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                    "WHERE c.relname = %s AND c.relkind = 'i'", (RECENT_INDEX,)).fetchone()
            self._recent_index_checked = (now, bool(found and found[0]))
        return self._recent_index_checked[1]

    def estimated_checkpoints(self) -> int:
        """The planner's row estimate of the checkpoints table (free; 0 before the first ANALYZE)."""
        with self._transaction() as conn:
            found = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'checkpoints'").fetchone()
        return max(0, int(found[0] or 0)) if found else 0

    def count(self, status: ThreadStatus | str | None = None, metadata_filter: dict | None = None,
              text: str | None = None) -> int:
        """How many threads `list_threads` would page through with the same filters."""
        where_inner, meta_join, where_outer, params = self._thread_filters(status, metadata_filter, text)
        if not status and not metadata_filter:
            sql = f"SELECT count(DISTINCT thread_id) FROM checkpoints {where_inner}"
        else:
            sql = f"SELECT count(*) FROM ({self._threads_sql(where_inner, meta_join, where_outer)}) AS t"
        with self._transaction() as conn:
            return conn.execute(sql, params).fetchone()[0]

    def _writes_at(self, conn: Any, keys: list[tuple[str, str]], namespace: str = "") -> list[tuple[str, _WriteRow]]:
        rows = conn.execute(
            f"""SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.task_path, w.idx, w.channel, w.type,
                       CASE WHEN w.channel IN ('{ERROR}', '{INTERRUPT}') THEN w.blob END,
                       CASE WHEN w.channel = '{TASKS}' THEN substring(w.blob FROM 1 FOR {SEND_PREFIX_BYTES}) END
                FROM unnest(%s::text[], %s::text[]) AS k(thread_id, checkpoint_id)
                JOIN checkpoint_writes w ON w.thread_id = k.thread_id AND w.checkpoint_ns = %s
                    AND w.checkpoint_id = k.checkpoint_id""",
            ([k[0] for k in keys], [k[1] for k in keys], namespace)).fetchall()
        return [(r[0], _WriteRow(*r[1:])) for r in rows]

    def _fill_unnamed_writers(self, conn: Any, wanted: list[tuple[str, str, str, str]]) -> dict[tuple, list[str]]:
        """(thread, ns, checkpoint, parent) -> writers from `versions_seen`, for checkpoints whose parent's writes
        carry no task path. Reads those checkpoints' JSON, so only for the few that need it."""
        if not wanted:
            return {}
        keys = {(t, ns, c) for t, ns, c, _ in wanted} | {(t, ns, p) for t, ns, _, p in wanted}
        rows = conn.execute(
            """SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.checkpoint -> 'versions_seen'
               FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(thread_id, checkpoint_ns, checkpoint_id)
               JOIN checkpoints c USING (thread_id, checkpoint_ns, checkpoint_id)""",
            ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])).fetchall()
        seen = {(t, ns, c): v for t, ns, c, v in rows}
        return {(t, ns, c): _writers_by_versions_seen(seen.get((t, ns, c)), seen.get((t, ns, p)))
                for t, ns, c, p in wanted}

    # --- one thread ---------------------------------------------------------------------------------------------
    def history(self, thread_id: str, include_subgraphs: bool = True) -> list[CheckpointNode]:
        """Every checkpoint of a thread (all branches; subgraph namespaces too unless told not to), oldest first."""
        ns_filter = "" if include_subgraphs else "AND checkpoint_ns = ''"
        with self._transaction() as conn:
            rows = conn.execute(
                f"""SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints
                    WHERE thread_id = %s {ns_filter} ORDER BY checkpoint_id, checkpoint_ns""", (thread_id,)).fetchall()
            if not rows:
                raise UnknownThread(f"unknown thread {thread_id!r}: no checkpoint has this thread id")
            write_rows = [_WriteRow(*r) for r in conn.execute(
                f"""SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type,
                           CASE WHEN channel = '{ERROR}' THEN blob END,
                           CASE WHEN channel = '{TASKS}' THEN substring(blob FROM 1 FOR {SEND_PREFIX_BYTES}) END
                    FROM checkpoint_writes WHERE thread_id = %s {ns_filter}""", (thread_id,)).fetchall()]
            writes: dict[tuple[str, str], list[_WriteRow]] = {}
            for w in write_rows:
                writes.setdefault((w.checkpoint_ns, w.checkpoint_id), []).append(w)
            unnamed = self._fill_unnamed_writers(conn, [
                (thread_id, ns, cid, parent) for ns, cid, parent, metadata in rows
                if parent and (metadata or {}).get("source") == "loop" and _unnamed_tasks(writes.get((ns, parent), []))])
        sends = _sends_by_checkpoint(write_rows)
        parent_of = {(ns, cid): parent for ns, cid, parent, _ in rows}
        decoder = get_decoder()
        nodes = []
        for ns, cid, parent, metadata in rows:
            metadata = metadata or {}
            here = writes.get((ns, cid), [])
            grandparent = parent_of.get((ns, parent)) if parent else None
            node = CheckpointNode(
                checkpoint_id=cid, parent_checkpoint_id=parent, checkpoint_ns=ns,
                step=_int_or_none(metadata.get("step")), source=metadata.get("source"),
                writers=unnamed.get((thread_id, ns, cid))
                or _writers(metadata.get("source"), writes.get((ns, parent), []) if parent else [],
                            sends.get((ns, grandparent)) if grandparent else None),
                created_at=checkpoint_time(cid),
                parents=dict(metadata.get("parents") or {}), metadata=metadata,
            )
            parent_sends = sends.get((ns, parent)) if parent else None
            picked = _pick_error([(task_node(w.task_path, parent_sends), _error_text(decoder.decode(w.type, w.blob)))
                                  for w in here if w.channel == ERROR])
            if picked:
                node.error_node, node.error = picked
            for w in here:
                if w.channel == INTERRUPT:
                    node.interrupted = True
                    node.interrupt_node = node.interrupt_node or task_node(w.task_path, parent_sends)
            nodes.append(node)
        self._name_sends_after_forks(thread_id, nodes)
        return nodes

    def _name_sends_after_forks(self, thread_id: str, nodes: list[CheckpointNode]) -> None:
        """Writers shown as `send[i]` ran Sends whose TASKS writes are not on the grandparent: the parent is a
        fork or update_state checkpoint, which carries them in its `__pregel_tasks` blob instead. Name them from
        that blob (read only for the few checkpoints that need it)."""
        wanted = {(n.checkpoint_ns, n.parent_checkpoint_id) for n in nodes
                  if n.parent_checkpoint_id and any(w.startswith("send[") for w in n.writers)}
        if not wanted:
            return
        with self._transaction() as conn:
            rows = conn.execute(
                f"""SELECT c.checkpoint_ns, c.checkpoint_id, b.type, b.blob
                    FROM unnest(%s::text[], %s::text[]) AS k(checkpoint_ns, checkpoint_id)
                    JOIN checkpoints c ON c.thread_id = %s AND c.checkpoint_ns = k.checkpoint_ns
                        AND c.checkpoint_id = k.checkpoint_id
                    JOIN checkpoint_blobs b ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
                        AND b.channel = '{TASKS}' AND b.version = c.checkpoint -> 'channel_versions' ->> '{TASKS}'""",
                ([ns for ns, _ in wanted], [cid for _, cid in wanted], thread_id)).fetchall()
        decoder = get_decoder()
        names: dict[tuple[str, str], list] = {}
        for ns, cid, type_, blob in rows:
            value = decoder.decode(type_, blob)
            if isinstance(value, list):
                names[(ns, cid)] = [v.get("node") if isinstance(v, dict) else None for v in value]
        for n in nodes:
            found = names.get((n.checkpoint_ns, n.parent_checkpoint_id or ""))
            if not found:
                continue
            renamed: list[str] = []
            for w in n.writers:
                if w.startswith("send[") and w.endswith("]") and w[5:-1].isdigit() and int(w[5:-1]) < len(found):
                    w = found[int(w[5:-1])] or w
                if w not in renamed:
                    renamed.append(w)
            n.writers = renamed

    def find_checkpoint(self, thread_id: str, id_or_prefix: str) -> tuple[str, str]:
        """(namespace, full id) of the one checkpoint of the thread whose id is or starts with `id_or_prefix`."""
        prefix = id_or_prefix.strip()
        if not prefix:
            raise UnknownCheckpoint("an empty checkpoint id matches nothing")
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT checkpoint_ns, checkpoint_id FROM checkpoints WHERE thread_id = %s "
                "AND checkpoint_id LIKE %s ESCAPE '\\' ORDER BY checkpoint_ns = '' DESC, checkpoint_id LIMIT 3",
                (thread_id, escaped + "%")).fetchall()
            exact = [r for r in rows if r[1] == prefix]
            if exact:
                return exact[0][0], exact[0][1]
            if not rows:
                self._require_thread(conn, thread_id)
                raise UnknownCheckpoint(f"unknown checkpoint {prefix!r} in thread {thread_id!r}")
        if len({r[1] for r in rows}) > 1:
            raise UnknownCheckpoint(f"checkpoint prefix {prefix!r} matches several checkpoints of thread "
                                    f"{thread_id!r}; give more of the id")
        return rows[0][0], rows[0][1]

    def _require_thread(self, conn: Any, thread_id: str) -> None:
        if conn.execute("SELECT 1 FROM checkpoints WHERE thread_id = %s LIMIT 1", (thread_id,)).fetchone() is None:
            raise UnknownThread(f"unknown thread {thread_id!r}: no checkpoint has this thread id")

    def state_at(self, thread_id: str, checkpoint_id: str, checkpoint_ns: str | None = "") -> CheckpointState:
        """The full state at one checkpoint: inline values plus its blobs, decoded; its pending writes; what runs next.
        `checkpoint_ns=None` looks the id up in every namespace."""
        ns_sql = "" if checkpoint_ns is None else "AND checkpoint_ns = %(ns)s"
        params = {"thread": thread_id, "id": checkpoint_id, "ns": checkpoint_ns}
        with self._transaction() as conn:
            row = conn.execute(
                f"""SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata FROM checkpoints
                    WHERE thread_id = %(thread)s AND checkpoint_id = %(id)s {ns_sql}
                    ORDER BY checkpoint_ns LIMIT 1""", params).fetchone()
            if row is None:
                self._require_thread(conn, thread_id)
                where = "" if checkpoint_ns in ("", None) else f" namespace {checkpoint_ns!r} of"
                raise UnknownCheckpoint(f"unknown checkpoint {checkpoint_id!r} in{where} thread {thread_id!r}")
            ns, cid, parent, checkpoint, metadata = row
            checkpoint = checkpoint if isinstance(checkpoint, dict) else {}
            versions = checkpoint.get("channel_versions") or {}
            blobs = conn.execute(
                """SELECT b.channel, b.type, b.blob FROM jsonb_each_text(%(versions)s::jsonb) AS v(channel, version)
                   JOIN checkpoint_blobs b ON b.thread_id = %(thread)s AND b.checkpoint_ns = %(ns)s
                       AND b.channel = v.channel AND b.version = v.version""",
                {"versions": _json(versions), "thread": thread_id, "ns": ns}).fetchall()
            write_rows = [_WriteRow(*r) for r in conn.execute(
                f"""SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob,
                           CASE WHEN channel = '{TASKS}' THEN substring(blob FROM 1 FOR {SEND_PREFIX_BYTES}) END
                    FROM checkpoint_writes WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s""",
                (thread_id, ns, cid)).fetchall()]
            parent_sends = None
            if parent:
                parent_rows = [_WriteRow(ns, parent, *r, None, p) for *r, p in conn.execute(
                    f"""SELECT task_id, task_path, idx, channel, type, substring(blob FROM 1 FOR {SEND_PREFIX_BYTES})
                        FROM checkpoint_writes WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s
                        AND channel = '{TASKS}'""", (thread_id, ns, parent)).fetchall()]
                parent_sends = _sends_by_checkpoint(parent_rows).get((ns, parent))
        return self._build_state(thread_id, ns, cid, parent, checkpoint, metadata or {}, blobs, write_rows,
                                 parent_sends)

    def _build_state(self, thread_id: str, ns: str, cid: str, parent: str | None, checkpoint: dict, metadata: dict,
                     blobs: list, write_rows: list[_WriteRow], parent_sends: list[str | None] | None) -> CheckpointState:
        decoder = get_decoder()
        unreadable: list[str] = []
        raw: dict[str, Any] = dict(checkpoint.get("channel_values") or {})
        for channel, type_, blob in blobs:
            raw[channel] = decoder.decode(type_, blob, unreadable)  # a blob wins over an inline DeltaChannel marker
        values = {k: v for k, v in raw.items() if not _internal_channel(k)}
        channels = {k: v for k, v in raw.items() if _internal_channel(k)}
        pending = []
        for w in sorted(write_rows, key=lambda r: (r.task_path, r.task_id, r.idx)):
            pending.append(PendingWrite(task_id=w.task_id, node=task_node(w.task_path, parent_sends),
                                        channel=w.channel, value=decoder.decode(w.type, w.blob, unreadable),
                                        idx=w.idx, task_path=w.task_path))
        errors = [(p.node, _error_text(p.value)) for p in pending if p.channel == ERROR]
        interrupts: list[Any] = []
        for p in pending:
            if p.channel == INTERRUPT:
                interrupts.extend(p.value if isinstance(p.value, list) else [p.value])
        picked = _pick_error(errors)
        return CheckpointState(
            thread_id=thread_id, checkpoint_id=cid, checkpoint_ns=ns, parent_checkpoint_id=parent,
            step=_int_or_none(metadata.get("step")), source=metadata.get("source"), created_at=checkpoint_time(cid),
            metadata=metadata, values=values, channels=channels, pending_writes=pending,
            next=_next_nodes(checkpoint, raw), error=picked[1] if picked else None, interrupts=interrupts,
            unreadable=sorted(set(unreadable)),
        )


# --- helpers ---------------------------------------------------------------------------------------------------------

def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _internal_channel(name: str) -> bool:
    if name == "__root__":
        return False
    return name.startswith(("__", "branch:", "join:", "start:"))


def _error_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if is_placeholder(value):
        return f"<{value[PLACEHOLDER_KEY]}>"
    return repr(value)


def _writers(source: str | None, parent_writes: list[_WriteRow], parent_sends: list[str | None] | None) -> list[str]:
    """The nodes whose writes made a checkpoint: the tasks that wrote on its parent and finished there."""
    if source == "input":
        return ["__input__"]
    if source in ("update", "fork"):
        return []  # update_state leaves no trace of `as_node` in the tables
    tasks: dict[str, tuple[str, bool]] = {}
    for w in parent_writes:
        done = w.channel not in SPECIAL_WRITES
        path, finished = tasks.get(w.task_id, (w.task_path, False))
        tasks[w.task_id] = (path, finished or done)
    names = []
    for path, finished in sorted(tasks.values()):
        name = task_node(path, parent_sends) if finished else None
        if name and name not in names:
            names.append(name)
    return names


def _unnamed_tasks(parent_writes: list[_WriteRow]) -> bool:
    """Writes without task paths: a thread copied by the server's `threads.copy` (it drops `task_path`)."""
    return any(not w.task_path and w.task_id != _NULL_TASK_ID for w in parent_writes)


_NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"  # the task id of a run's global `__resume__` write


def _writers_by_versions_seen(child: dict | None, parent: dict | None) -> list[str]:
    """The nodes whose `versions_seen` moved between a checkpoint and its parent: the pull tasks that ran (and a
    Send's node the first time it ran)."""
    child, parent = child or {}, parent or {}
    return sorted(node for node, seen in child.items()
                  if node not in ("__input__", "__interrupt__") and parent.get(node) != seen)


def _next_nodes(checkpoint: dict, values: dict[str, Any]) -> list[str]:
    """Nodes due at the next step: a `branch:to:NODE` channel with a version the node has not seen, plus pending Sends.
    (Static breakpoints leave no `__interrupt__` write: this is how the tables tell what waits.)"""
    versions = checkpoint.get("channel_versions") or {}
    seen = checkpoint.get("versions_seen") or {}
    nodes = []
    for channel, version in versions.items():
        if channel.startswith("branch:to:") and channel in values:
            node = channel[len("branch:to:"):]
            if str(version) > str((seen.get(node) or {}).get(channel, "")):
                nodes.append(node)
    tasks = values.get(TASKS)
    if isinstance(tasks, list) and str(versions.get(TASKS, "")) > "":
        for send in tasks:
            if isinstance(send, dict) and isinstance(send.get("node"), str):
                nodes.append(send["node"])
    return nodes
