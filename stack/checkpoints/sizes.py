"""How big a thread's state is at each checkpoint, and when each run ran and on which thread, read from SQL without
decoding state.

Sizes are the stored bytes of each state key: `octet_length` of the blob the checkpoint's `channel_versions` point at
(Postgres reads that from the value's header, no detoasting), or of the JSON text of a value stored inline in the
checkpoint. A list's length (messages) comes from the first bytes of its msgpack blob (the array header).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lgconsole.stack.checkpoints.connection import CheckpointDb
from lgconsole.stack.checkpoints.decoder import _read_array_header
from lgconsole.stack.checkpoints.ids import checkpoint_id_floor, checkpoint_time
from lgconsole.stack.checkpoints.records import UnknownThread

LIST_HEADER_BYTES = 5  # a msgpack array header is at most 5 bytes

# The newest `limit` root checkpoints of each thread, and the stored bytes of each state key at each of them.
_SIZES_SQL = """
WITH cps AS (
    SELECT thread_id, checkpoint_id, checkpoint, metadata FROM (
        SELECT c.*, row_number() OVER (PARTITION BY thread_id ORDER BY checkpoint_id DESC) AS newest
        FROM checkpoints c WHERE thread_id = ANY(%(threads)s) AND checkpoint_ns = '') ranked
    WHERE newest <= %(limit)s)
SELECT c.thread_id, c.checkpoint_id, c.metadata->>'run_id', c.metadata->>'step', v.key,
       octet_length(b.blob), substring(b.blob FROM 1 FOR {header}), b.type
FROM cps c
CROSS JOIN LATERAL jsonb_each_text(coalesce(c.checkpoint->'channel_versions', '{{}}'::jsonb)) v(key, version)
LEFT JOIN checkpoint_blobs b ON b.thread_id = c.thread_id AND b.checkpoint_ns = '' AND b.channel = v.key
                            AND b.version = v.version
UNION ALL
SELECT c.thread_id, c.checkpoint_id, c.metadata->>'run_id', c.metadata->>'step', iv.key,
       octet_length(iv.value::text), NULL, 'inline'
FROM cps c
CROSS JOIN LATERAL jsonb_each(coalesce(c.checkpoint->'channel_values', '{{}}'::jsonb)) iv(key, value)
""".format(header=LIST_HEADER_BYTES)

# Every run that saved a checkpoint in a time window: its first and last checkpoint (any namespace).
_RUN_SPANS_SQL = """
SELECT metadata->>'run_id', thread_id, min(checkpoint_id), max(checkpoint_id) FROM checkpoints
WHERE checkpoint_id >= %(since)s AND checkpoint_id <= %(until)s AND metadata ? 'run_id'
GROUP BY 1, 2
"""


@dataclass
class CheckpointSize:
    """The stored size of a thread's root state at one checkpoint."""

    checkpoint_id: str
    created_at: datetime | None
    run_id: str | None
    step: int | None
    bytes_by_key: dict[str, int] = field(default_factory=dict)  # state keys only (no `__` or `branch:` channels)
    items_by_key: dict[str, int] = field(default_factory=dict)  # list-valued keys: how many items (messages)

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_key.values())

    def to_json(self) -> dict:
        return {"checkpoint_id": self.checkpoint_id,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "run_id": self.run_id, "step": self.step, "total_bytes": self.total_bytes,
                "bytes_by_key": dict(self.bytes_by_key), "items_by_key": dict(self.items_by_key)}


@dataclass(frozen=True)
class RunSpan:
    """When a run was saving checkpoints: its first and last checkpoint's time."""

    run_id: str
    thread_id: str
    started: datetime
    ended: datetime


def _state_key(channel: str) -> bool:
    return not channel.startswith("__") and ":" not in channel


def _list_length(prefix: bytes | memoryview | None, type_: str | None) -> int | None:
    if not prefix or type_ != "msgpack":
        return None
    try:
        return _read_array_header(bytes(prefix), 0)[0]
    except (ValueError, IndexError):
        return None


def state_sizes(db: CheckpointDb, thread_ids: list[str], limit: int = 200) -> dict[str, list[CheckpointSize]]:
    """Per thread, the newest `limit` root checkpoints' state sizes, oldest first. A thread with no checkpoint is
    left out."""
    if not thread_ids:
        return {}
    with db.transaction() as conn:
        rows = conn.execute(_SIZES_SQL, {"threads": list(thread_ids), "limit": limit}).fetchall()
    found: dict[tuple[str, str], CheckpointSize] = {}
    for thread_id, checkpoint_id, run_id, step, key, size, prefix, type_ in rows:
        entry = found.get((thread_id, checkpoint_id))
        if entry is None:
            entry = found[(thread_id, checkpoint_id)] = CheckpointSize(
                checkpoint_id, checkpoint_time(checkpoint_id), run_id,
                int(step) if step not in (None, "") and str(step).lstrip("-").isdigit() else None)
        if not _state_key(key) or size is None:
            continue  # bookkeeping channels, and versions whose blob was never written (already consumed)
        entry.bytes_by_key[key] = entry.bytes_by_key.get(key, 0) + int(size)
        items = _list_length(prefix, type_)
        if items is not None:
            entry.items_by_key[key] = items
    out: dict[str, list[CheckpointSize]] = {}
    for (thread_id, _), entry in sorted(found.items()):
        out.setdefault(thread_id, []).append(entry)
    return out


def thread_state_sizes(db: CheckpointDb, thread_id: str, limit: int = 200) -> list[CheckpointSize]:
    """One thread's newest `limit` root checkpoints' state sizes, oldest first."""
    sizes = state_sizes(db, [thread_id], limit).get(thread_id)
    if not sizes:
        raise UnknownThread(f"unknown thread {thread_id!r}: no checkpoint has this thread id")
    return sizes


def run_thread(db: CheckpointDb, run_id: str) -> str | None:
    """The thread a run saved its checkpoints on (None: no checkpoint names that run)."""
    with db.transaction() as conn:
        row = conn.execute("SELECT thread_id FROM checkpoints WHERE metadata->>'run_id' = %s LIMIT 1",
                           (run_id,)).fetchone()
    return row[0] if row else None


def run_spans(db: CheckpointDb, since: datetime, until: datetime) -> list[RunSpan]:
    """Every run with a checkpoint saved between `since` and `until`, with its first and last checkpoint's time
    (within that window). A scan of the checkpoint ids in the window: keep the window short."""
    with db.transaction() as conn:
        rows = conn.execute(_RUN_SPANS_SQL, {"since": checkpoint_id_floor(since),
                                             "until": checkpoint_id_floor(until)}).fetchall()
    spans = []
    for run_id, thread_id, first, last in rows:
        started, ended = checkpoint_time(first), checkpoint_time(last)
        if run_id and started and ended:
            spans.append(RunSpan(run_id, thread_id, started, ended))
    return spans
