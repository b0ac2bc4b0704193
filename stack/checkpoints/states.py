"""The decoded state at one checkpoint from the rows the reader fetched: its channels (inline values, blobs, rebuilt
DeltaChannels), its pending writes, the error or interrupts they hold, and what runs next, as LangGraph's
`get_state` shows them (for the newest checkpoint: finished tasks' writes applied, only the rest next)."""

from __future__ import annotations

import copy
import json
from typing import Any

from lgconsole.stack.checkpoints.decoder import array_header, get_decoder
from lgconsole.stack.checkpoints.ids import checkpoint_time
from lgconsole.stack.checkpoints.records import CheckpointState, PendingWrite
from lgconsole.stack.checkpoints.replay import apply_writes, delta_values, finished_writes, missing_delta_channels
from lgconsole.stack.checkpoints.writes import (
    ERROR,
    INTERRUPT,
    WriteRow,
    error_text,
    internal_channel,
    next_nodes,
    pick_error,
    task_node,
)


PREFIX_MIN_BYTES = 4096  # below this, two lists are decoded each on its own: nothing to gain


def state_blobs(conn: Any, thread_id: str, rows: list[tuple]) -> list[list[tuple[str, str | None, bytes | None]]]:
    """Each state's blobs, `(channel, type, blob)`, in one query. A blob two of the states name (same namespace,
    channel and version: a channel the steps between them did not write) is sent once; decode_blobs gives each
    state values of its own."""
    found = conn.execute(  # in binary (bytea as text is hex: twice the bytes, and a decode)
        """SELECT i, channel, version, checkpoint_ns, type, CASE WHEN first THEN blob END
           FROM (SELECT k.i, b.channel, b.version, b.checkpoint_ns, b.type, b.blob,
                        row_number() OVER (PARTITION BY b.checkpoint_ns, b.channel, b.version ORDER BY k.i) = 1 AS first
                 FROM unnest(%s::int[], %s::text[], %s::text[]) AS k(i, checkpoint_ns, versions)
                 CROSS JOIN LATERAL jsonb_each_text(k.versions::jsonb) AS v(channel, version)
                 JOIN checkpoint_blobs b ON b.thread_id = %s AND b.checkpoint_ns = k.checkpoint_ns
                     AND b.channel = v.channel AND b.version = v.version) AS named
           ORDER BY i""",
        (list(range(len(rows))), [r[0] for r in rows], [json.dumps(r[3].get("channel_versions") or {}) for r in rows],
         thread_id), binary=True).fetchall()
    sent = {(ns, channel, version): blob for _, channel, version, ns, _, blob in found if blob is not None}
    out: list[list[tuple[str, str | None, bytes | None]]] = [[] for _ in rows]
    for i, channel, version, ns, type_, blob in found:
        out[i].append((channel, type_, sent.get((ns, channel, version)) if blob is None else blob))
    return out


def decode_blobs(blobs: list[list[tuple[str, str | None, bytes | None]]],
                 unreadable: list[list[str]]) -> list[dict[str, Any]]:
    """Each state's blob values, decoded (the labels of placeholders into `unreadable[i]`); each state gets values
    of its own, and what two states hold alike is one object (a diff then passes it by identity; read-only):
    - a list whose bytes start another state's list of that channel (messages appended: the common step) is
      decoded once, and the longer one is its elements, the same objects, then those of its own bytes after them;
    - other blobs of a channel both states name are decoded in the decoder's `sharing()` memo (their messages,
      Sends, ... one object each)."""
    decoder = get_decoder()
    values: list[dict[str, Any]] = [{} for _ in blobs]
    by_channel: dict[str, list[tuple[int, str | None, bytes | None]]] = {}
    for i, state in enumerate(blobs):
        for channel, type_, blob in state:
            by_channel.setdefault(channel, []).append((i, type_, blob))
    for channel, named in by_channel.items():
        if len(named) == 2 and _decode_as_prefix(decoder, channel, named, values, unreadable):
            continue
        for i, type_, blob in named:
            values[i][channel] = decoder.decode(type_, blob, unreadable[i], share=len(named) > 1)
    return values


def _decode_as_prefix(decoder: Any, channel: str, named: list[tuple[int, str | None, bytes | None]],
                      values: list[dict[str, Any]], unreadable: list[list[str]]) -> bool:
    """Two states' msgpack lists of `channel`, decoded once where the shorter one's element bytes start the longer
    one's (into `values`); False when they do not (or the bytes do not bear it out: decode both as usual)."""
    (i, type_i, blob_i), (j, type_j, blob_j) = named
    if type_i != "msgpack" or type_j != "msgpack" or not blob_i or not blob_j or blob_i is blob_j:
        return False
    if len(blob_i) > len(blob_j):
        (i, blob_i), (j, blob_j) = (j, blob_j), (i, blob_i)
    short, long = array_header(blob_i), array_header(blob_j)
    if short is None or long is None or len(blob_i) - short[1] < PREFIX_MIN_BYTES:
        return False
    if not blob_j.startswith(memoryview(blob_i)[short[1]:], long[1]):
        return False
    labels_i: list[str] = []
    base = decoder.decode_list_prefix(blob_i, labels_i)
    if base is None:
        return False
    labels_j = list(labels_i)
    value = decoder.decode_list_tail(base, blob_j, long[1] + len(blob_i) - short[1], labels_j)
    if value is None:
        return False
    values[i][channel], values[j][channel] = base, value
    unreadable[i].extend(labels_i)
    unreadable[j].extend(labels_j)
    return True


def raw_values(conn: Any, thread_id: str, row: tuple, blob_values: dict[str, Any],
               unreadable: list[str]) -> dict[str, Any]:
    """A checkpoint's channels: inline values, its blobs' values (a blob wins over an inline DeltaChannel marker),
    and the DeltaChannels stored only as writes, rebuilt from their nearest snapshot."""
    ns, _, parent, checkpoint, metadata, *_ = row
    raw: dict[str, Any] = dict(checkpoint.get("channel_values") or {})
    raw.update(blob_values)
    raw.update(delta_values(conn, get_decoder(), thread_id, ns, parent, missing_delta_channels(checkpoint, raw),
                            unreadable))
    # A DeltaChannel not written yet: LangGraph shows its empty value; the metadata's counters name it.
    counters = (metadata or {}).get("counters_since_delta_snapshot")
    for channel in counters if isinstance(counters, dict) else ():
        if isinstance(channel, str) and channel not in raw and not internal_channel(channel):
            raw[channel] = []
    return raw


def graph_shape(spec: dict | None, metadata: dict, ns: str) -> dict | None:
    """What the served graph says of the channels at this checkpoint (stack/services/graph_spec.py): the
    checkpoint's graph (its metadata's `graph_id`), the subgraph at its namespace (`node:<task id>|child:<task id>`
    is `node|child` there); None when unknown."""
    graphs = (spec or {}).get("graphs") or {}
    graph = graphs.get((metadata or {}).get("graph_id")) if isinstance(metadata, dict) else None
    if not isinstance(graph, dict):
        return None
    shape = graph.get("|".join(part.split(":", 1)[0] for part in ns.split("|")) if ns else "")
    return shape if isinstance(shape, dict) else None


def _graph_values(raw: dict[str, Any], shape: dict | None) -> Any:
    """The values LangGraph's `get_state` reads: the graph's output channels. A key no one wrote yet shows the
    channel's empty value (`[]` for a list reducer); a Functional API workflow's values are its one `__end__`
    channel, its return value ({} before it returned, as the server shows it). Unknown graph: every state channel
    written."""
    if shape is None:
        return {k: v for k, v in raw.items() if not internal_channel(k)}
    selected, empty = shape.get("values"), shape.get("empty") or {}
    if isinstance(selected, str):
        return raw[selected] if selected in raw else copy.deepcopy(empty.get(selected, {}))
    values = {}
    for key in selected if isinstance(selected, list) else ():
        if key in raw:
            values[key] = raw[key]
        elif key in empty:
            values[key] = copy.deepcopy(empty[key])
    return values


def build_state(thread_id: str, ns: str, cid: str, parent: str | None, checkpoint: dict, metadata: dict,
                 raw: dict[str, Any], live: bool, write_rows: list[WriteRow],
                 parent_sends: list[str | None] | None, unreadable: list[str],
                 shape: dict | None = None) -> CheckpointState:
    decoder = get_decoder()
    values = _graph_values(raw, shape)
    channels = {k: v for k, v in raw.items() if internal_channel(k)}
    pending = []
    for w in sorted(write_rows, key=lambda r: (r.task_path, r.task_id, r.idx)):
        pending.append(PendingWrite(task_id=w.task_id, node=task_node(w.task_path, parent_sends),
                                    channel=w.channel, value=decoder.decode(w.type, w.blob, unreadable),
                                    idx=w.idx, task_path=w.task_path))
    errors = [(p.node, error_text(p.value)) for p in pending if p.channel == ERROR]
    interrupts: list[Any] = []
    for p in pending:
        if p.channel == INTERRUPT:
            interrupts.extend(p.value if isinstance(p.value, list) else [p.value])
    picked = pick_error(errors)
    start = shape.get("start") if shape else None
    due = next_nodes(checkpoint, raw, start if isinstance(start, list) else None)
    if live:  # as get_state shows the latest checkpoint: finished tasks' writes applied, only the rest is next
        writes, paths = finished_writes(write_rows, lambda w: decoder.decode(w.type, w.blob, unreadable))
        if isinstance(values, dict):  # (a workflow's `__end__` is not a state write: it is read as it is)
            apply_writes(values, [(ch, v) for ch, v in writes if shape is None or ch in values
                                  or ch in (shape.get("values") or ())])
        for path in paths:
            node = task_node(path, parent_sends)
            if node in due:
                due.remove(node)
    return CheckpointState(
        thread_id=thread_id, checkpoint_id=cid, checkpoint_ns=ns, parent_checkpoint_id=parent,
        step=_int_or_none(metadata.get("step")), source=metadata.get("source"), created_at=checkpoint_time(cid),
        metadata=metadata, values=values, channels=channels, pending_writes=pending,
        next=due, error=picked[1] if picked else None, interrupts=interrupts,
        unreadable=sorted(set(unreadable)),
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
