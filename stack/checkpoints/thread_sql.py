"""The SQL of the thread list: sort keys, filters (status, metadata, text), and one row per thread with its head,
the head's parent and its status from the head's pending writes. Text only; CheckpointReader runs it."""

from __future__ import annotations

from lgconsole.stack.checkpoints.records import ThreadStatus
from lgconsole.stack.checkpoints.writes import ERROR, INTERRUPT, NULL_TASK_ID, SPECIAL_WRITES, TASKS

SORT_KEYS = {
    "last_activity": "last_id",
    "thread_id": "thread_id",
    "checkpoint_count": "n",
    "step": "step",
    "status": "status",
}

def due_nodes_sql(head: str) -> str:
    """The nodes due at checkpoint `head`: a `branch:to:NODE` channel holding a value at a version NODE has not
    seen (as writes.next_nodes reads them). Reads the checkpoint's JSON: only where the status needs it."""
    return f"""array(SELECT substr(v.key, 11) FROM jsonb_each_text({head}.checkpoint -> 'channel_versions') v
                     WHERE v.key LIKE 'branch:to:%%' AND {head}.checkpoint -> 'channel_values' ? v.key
                       AND v.value > coalesce({head}.checkpoint -> 'versions_seen' -> substr(v.key, 11) ->> v.key, '')
                     ORDER BY v.key)"""


# Sends waiting at the head in `__pregel_tasks` (a blob holding more than an empty list).
SENDS_DUE_SQL = f"""EXISTS (SELECT 1 FROM checkpoint_blobs b
                           WHERE b.thread_id = agg.thread_id AND b.checkpoint_ns = '' AND b.channel = '{TASKS}'
                             AND b.version = h.checkpoint -> 'channel_versions' ->> '{TASKS}'
                             AND b.type <> 'empty' AND octet_length(b.blob) > 1)"""
RECENT_SQL = "coalesce((h.checkpoint ->> 'ts')::timestamptz > now() - make_interval(secs => %(running_s)s), false)"

# A thread's status from the server's busy threads, its head's pending writes (`s`) and the nodes due at its head.
# Nodes due and no error or interrupt: a step in flight, or paused (a static breakpoint, a stopped run). A step
# half-saved (some tasks' writes) in the last `running_s` seconds is running; a server that answers and runs nothing
# there, or a head older than that with no writes, means paused; else it cannot be told. The branches are tried in
# order, so the head's JSON is read only for threads neither busy, errored nor waiting on an interrupt.
STATUS_SQL = f"""CASE WHEN agg.thread_id = ANY(%(busy)s::text[]) THEN 'running'
                     WHEN s.errored THEN 'errored' WHEN s.waiting THEN 'waiting'
                     WHEN h.checkpoint IS NULL
                          OR cardinality({due_nodes_sql("h")}) = 0 AND NOT {SENDS_DUE_SQL} THEN 'idle'
                     WHEN s.task_writes AND {RECENT_SQL} THEN 'running'
                     WHEN %(server_up)s OR NOT s.task_writes AND NOT {RECENT_SQL} THEN 'waiting'
                     ELSE 'unknown' END"""
HEAD_WRITES_JOIN = f"""LEFT JOIN LATERAL (
                SELECT coalesce(bool_or(w.channel = '{ERROR}'), false) AS errored,
                       coalesce(bool_or(w.channel = '{INTERRUPT}'), false) AS waiting,
                       coalesce(bool_or(w.task_id <> '{NULL_TASK_ID}'
                                        AND w.channel NOT IN ({", ".join(f"'{c}'" for c in sorted(SPECIAL_WRITES))})),
                                false) AS task_writes
                FROM checkpoint_writes w
                WHERE w.thread_id = agg.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = agg.head_id) s ON true"""

# The metadata of the thread's latest checkpoint written by a run: it carries the thread's metadata, which a
# checkpoint made by update_state (a fork) does not. The test sits in a CASE so that the planner takes it for a
# common one (almost every checkpoint is a run's) and walks the primary key backwards to the first match; written
# plainly it is guessed rare, and every root checkpoint of the thread is read and sorted (10x slower).
RUN_METADATA_JOIN = """LEFT JOIN LATERAL (
                SELECT m.metadata FROM checkpoints m
                WHERE m.thread_id = {thread} AND m.checkpoint_ns = ''
                  AND CASE WHEN m.metadata ->> 'source' IN ('loop', 'input') THEN true ELSE false END
                ORDER BY m.checkpoint_id DESC LIMIT 1) r ON true"""


def thread_filters(status: ThreadStatus | str | None, metadata_filter: dict | None,
                   text: str | None, thread_ids: list[str] | None = None) -> tuple[str, str, str, dict]:
    """(inner WHERE on checkpoints, metadata join, outer WHERE on the per-thread rows, parameters) of a listing.
    `thread_ids`: only these threads (those a message search found). The parameters lack the status inputs:
    `status_params` gives them."""
    inner: list[str] = []
    outer: list[str] = []
    params: dict = {}
    if thread_ids is not None:
        inner.append("thread_id = ANY(%(only_threads)s)")
        params["only_threads"] = list(thread_ids)
    if text:
        inner.append("thread_id ILIKE %(text)s ESCAPE '\\'")
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["text"] = f"%{escaped}%"
    meta_join = ""
    if metadata_filter:
        from psycopg.types.json import Jsonb

        meta_join = RUN_METADATA_JOIN.format(thread="agg.thread_id")
        outer.append("(coalesce(r.metadata, '{}'::jsonb) || coalesce(h.metadata, '{}'::jsonb)) @> %(meta)s")
        params["meta"] = Jsonb(metadata_filter)
    if status:
        outer.append(f"({STATUS_SQL}) = %(status)s")
        params["status"] = ThreadStatus(status).value
    where_inner = f"WHERE {' AND '.join(inner)}" if inner else ""
    where_outer = f"WHERE {' AND '.join(outer)}" if outer else ""
    return where_inner, meta_join, where_outer, params


def status_params(busy: frozenset[str] | None, running_s: float) -> dict:
    """STATUS_SQL's inputs: the server's busy threads (None: the server was not asked or did not answer)."""
    return {"busy": sorted(busy or ()), "server_up": busy is not None, "running_s": float(running_s)}


def threads_sql(where_inner: str, meta_join: str, where_outer: str, agg_tail: str = "") -> str:
    """One row per thread: counts and ids from one GROUP BY (paged right there when `agg_tail` has the LIMIT, and
    then each head found by one probe of the primary key for the page's threads only, not by a FILTER on every
    row), then the head row and its parent by primary key, and the head's writes for the status."""
    if agg_tail:
        agg = f"""WITH paged AS (
            SELECT thread_id, count(*) AS n, max(checkpoint_id) AS last_id
            FROM checkpoints {where_inner}
            GROUP BY thread_id {agg_tail}
        ), agg AS (
            SELECT paged.*, (SELECT max(m.checkpoint_id) FROM checkpoints m
                             WHERE m.thread_id = paged.thread_id AND m.checkpoint_ns = '') AS head_id
            FROM paged
        )"""
    else:
        agg = f"""WITH agg AS (
            SELECT thread_id, count(*) AS n, max(checkpoint_id) AS last_id,
                   max(checkpoint_id) FILTER (WHERE checkpoint_ns = '') AS head_id
            FROM checkpoints {where_inner}
            GROUP BY thread_id
        )"""
    return f"""
        {agg}
        SELECT agg.thread_id, agg.n, agg.last_id, agg.head_id, h.metadata AS head_metadata,
               h.parent_checkpoint_id AS parent_id, p.parent_checkpoint_id AS grandparent_id,
               (h.metadata ->> 'step')::int AS step, {STATUS_SQL} AS status
        FROM agg
        LEFT JOIN checkpoints h ON h.thread_id = agg.thread_id AND h.checkpoint_ns = ''
            AND h.checkpoint_id = agg.head_id
        LEFT JOIN checkpoints p ON p.thread_id = agg.thread_id AND p.checkpoint_ns = ''
            AND p.checkpoint_id = h.parent_checkpoint_id
        {HEAD_WRITES_JOIN}
        {meta_join}
        {where_outer}"""
