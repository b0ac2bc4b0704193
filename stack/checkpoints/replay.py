"""Values the tables do not hold as such, rebuilt the way LangGraph rebuilds them: a DeltaChannel's value at a
checkpoint (its nearest stored snapshot plus the writes saved after it, as the saver's `get_delta_channel_history`
walks them), and the writes that finished tasks saved on a thread's latest checkpoint (what `get_state` shows for
a failed or unfinished super-step).

The reducer is the user's code, which lgconsole never imports: writes are folded as the usual list reducers do
(`operator.add`, an event log, `add_messages`): a list write extends the list, an item is appended, an item with
the `id` of one already there replaces it, `Overwrite` resets; a dict write updates a dict; anything else replaces.
"""

from __future__ import annotations

from typing import Any

from lgconsole.stack.checkpoints.writes import NULL_TASK_ID, SPECIAL_WRITES, TASKS, WriteRow, internal_channel

MISSING = object()

# The parent chain of a checkpoint in its namespace, newest first, walked until every channel asked for has a
# stored value (a blob other than `empty`, or an inline value): that checkpoint is the channel's seed.
_STORED = """ARRAY(SELECT ch FROM unnest(%(chs)s::text[]) ch
                   WHERE coalesce(c.checkpoint -> 'channel_values' -> ch, 'null'::jsonb) <> 'null'::jsonb
                      OR EXISTS (SELECT 1 FROM checkpoint_blobs b WHERE b.thread_id = c.thread_id
                                 AND b.checkpoint_ns = c.checkpoint_ns AND b.channel = ch
                                 AND b.version = c.checkpoint -> 'channel_versions' ->> ch AND b.type <> 'empty'))"""
CHAIN_SQL = f"""
    WITH RECURSIVE chain AS (
        SELECT c.checkpoint_id, c.parent_checkpoint_id, 1 AS depth, s.stored, s.stored AS seen
        FROM checkpoints c CROSS JOIN LATERAL (SELECT {_STORED} AS stored) s
        WHERE c.thread_id = %(thread)s AND c.checkpoint_ns = %(ns)s AND c.checkpoint_id = %(start)s
        UNION ALL
        SELECT c.checkpoint_id, c.parent_checkpoint_id, chain.depth + 1, s.stored, chain.seen || s.stored
        FROM chain
        JOIN checkpoints c ON c.thread_id = %(thread)s AND c.checkpoint_ns = %(ns)s
            AND c.checkpoint_id = chain.parent_checkpoint_id
        CROSS JOIN LATERAL (SELECT {_STORED} AS stored) s
        WHERE NOT chain.seen @> %(chs)s::text[]
    )
    SELECT chain.checkpoint_id, chain.stored, c.checkpoint -> 'channel_versions', c.checkpoint -> 'channel_values'
    FROM chain JOIN checkpoints c ON c.thread_id = %(thread)s AND c.checkpoint_ns = %(ns)s
        AND c.checkpoint_id = chain.checkpoint_id
    ORDER BY chain.depth"""


def missing_delta_channels(checkpoint: dict, raw: dict[str, Any]) -> list[str]:
    """State channels with a version but no stored value here: DeltaChannels between snapshots."""
    versions = checkpoint.get("channel_versions") or {}
    return sorted(k for k in versions if not internal_channel(k) and k not in raw)


def delta_values(conn: Any, decoder: Any, thread_id: str, ns: str, parent_id: str | None, channels: list[str],
                 unreadable: list[str]) -> dict[str, Any]:
    """The value of each DeltaChannel in `channels` at the checkpoint whose parent is `parent_id`."""
    if not channels or not parent_id:
        return {}
    chain = conn.execute(CHAIN_SQL, {"thread": thread_id, "ns": ns, "start": parent_id, "chs": channels}).fetchall()
    seeds: dict[str, tuple[str, Any, Any]] = {}  # channel -> (checkpoint id, version, inline value)
    cids: dict[str, list[str]] = {ch: [] for ch in channels}
    for cid, stored, versions, inline in chain:
        for ch in channels:
            if ch in seeds:
                continue
            cids[ch].append(cid)
            if ch in (stored or []):
                seeds[ch] = (cid, (versions or {}).get(ch), (inline or {}).get(ch))
    every = sorted({c for ids in cids.values() for c in ids})
    rows = conn.execute(
        """SELECT checkpoint_id, channel, task_id, task_path, idx, type, blob FROM checkpoint_writes
           WHERE thread_id = %s AND checkpoint_ns = %s AND channel = ANY(%s) AND checkpoint_id = ANY(%s)""",
        (thread_id, ns, channels, every), binary=True).fetchall() if every else []
    blobs = {}
    wanted = [(ch, v) for ch, (_, v, _) in seeds.items() if v is not None]
    if wanted:
        for ch, type_, blob in conn.execute(
                """SELECT b.channel, b.type, b.blob FROM unnest(%s::text[], %s::text[]) AS k(channel, version)
                   JOIN checkpoint_blobs b ON b.thread_id = %s AND b.checkpoint_ns = %s AND b.channel = k.channel
                       AND b.version = k.version AND b.type <> 'empty'""",
                ([w[0] for w in wanted], [str(w[1]) for w in wanted], thread_id, ns), binary=True).fetchall():
            blobs[ch] = decoder.decode(type_, blob, unreadable)
    out = {}
    for ch in channels:
        base: Any = MISSING
        if ch in seeds:
            base = blobs[ch] if ch in blobs else seeds[ch][2]
        order = {cid: i for i, cid in enumerate(reversed(cids[ch]))}  # oldest first
        mine = sorted((r for r in rows if r[1] == ch and r[0] in order),
                      key=lambda r: (order[r[0]], r[3] or "", r[2], r[4]))
        if base is MISSING and not mine:
            continue
        value = [] if base is MISSING else base
        for r in mine:
            value = fold(value, decoder.decode(r[5], r[6], unreadable))
        out[ch] = value
    return out


def fold(current: Any, write: Any) -> Any:
    """One write applied to a value the way the common reducers apply it (see the module docstring)."""
    reset, value = _overwrite(write)
    if reset:
        return value
    if current is MISSING or current is None:
        return list(write) if isinstance(write, list) else write
    if isinstance(current, list):
        out = list(current)
        for item in (write if isinstance(write, list) else [write]):
            at = _index_by_id(out, item)
            if at is None:
                out.append(item)
            else:
                out[at] = item
        return out
    if isinstance(current, dict) and isinstance(write, dict):
        return {**current, **write}
    return write


def _overwrite(write: Any) -> tuple[bool, Any]:
    if isinstance(write, dict):
        if set(write) == {"__overwrite__"}:
            return True, write["__overwrite__"]
        if write.get("type") == "__overwrite__" and set(write) == {"type", "value"}:
            return True, write["value"]
    return False, None


def _index_by_id(items: list, item: Any) -> int | None:
    key = item.get("id") if isinstance(item, dict) else None
    if not isinstance(key, str) or not key:
        return None
    for i, old in enumerate(items):
        if isinstance(old, dict) and old.get("id") == key:
            return i
    return None


def finished_writes(write_rows: list[WriteRow], decode: Any) -> tuple[list[tuple[str, Any]], list[str]]:
    """The state writes of the tasks that finished on a checkpoint, in the order LangGraph applies them, and the
    task paths of those tasks (a failed or interrupted task saves only `__error__` / `__interrupt__`)."""
    done = [w for w in write_rows if w.task_id != NULL_TASK_ID and w.channel not in SPECIAL_WRITES]
    done.sort(key=lambda w: (w.task_path, w.task_id, w.idx))
    paths = list(dict.fromkeys((w.task_path, w.task_id) for w in done))
    writes = [(w.channel, decode(w)) for w in done if w.channel != TASKS and not internal_channel(w.channel)]
    return writes, [p for p, _ in paths]


def apply_writes(values: dict[str, Any], writes: list[tuple[str, Any]]) -> None:
    """Finished tasks' writes onto the state, in place."""
    for channel, value in writes:
        values[channel] = fold(values.get(channel, MISSING), value)
