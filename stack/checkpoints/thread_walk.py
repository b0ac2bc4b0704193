"""The newest threads and the number of threads without a GROUP BY over every checkpoint: loose index scans of the
saver's primary key (thread_id, checkpoint_ns, checkpoint_id), used where the planner's statistics say they pay.

A walk costs one index probe per (thread, namespace) pair, 25-65x what a GROUP BY spends on one row (measured on
tests/bench/bench_threads_1m.py's tables and on root-only threads, on a loaded 2-core box): it wins where threads
hold many checkpoints per namespace (a chat thread with hundreds of root checkpoints) and loses where subgraph calls
make a namespace every few checkpoints. Both give the same answer; the choice is only about speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROBE_COST_ROWS = 40  # one walk step costs about as much as a GROUP BY over this many rows (25-65 measured)
CHECKPOINTS_PER_SUBGRAPH_CALL = 4  # a subgraph namespace holds about this many checkpoints (its input + steps)
MIN_WALK_ROWS = 20_000  # below this the GROUP BY takes a few ms: not worth a statistics lookup's guess

# Newest first: each step is one backward probe for the (thread, namespace) pair just below the previous one, and
# the first row it meets is that pair's newest checkpoint. `max_steps` stops a walk that would cost more than the
# GROUP BY (the statistics misjudged the tables): its caller then takes the GROUP BY.
NEWEST_THREADS_SQL = """
    WITH RECURSIVE walk AS (
        (SELECT thread_id, checkpoint_ns, checkpoint_id, 1 AS step FROM checkpoints
         ORDER BY thread_id DESC, checkpoint_ns DESC, checkpoint_id DESC LIMIT 1)
        UNION ALL
        SELECT nxt.thread_id, nxt.checkpoint_ns, nxt.checkpoint_id, walk.step + 1
        FROM walk CROSS JOIN LATERAL (
            SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id FROM checkpoints c
            WHERE (c.thread_id, c.checkpoint_ns) < (walk.thread_id, walk.checkpoint_ns)
            ORDER BY c.thread_id DESC, c.checkpoint_ns DESC, c.checkpoint_id DESC LIMIT 1) nxt
        WHERE walk.step < %(max_steps)s
    )
    SELECT coalesce((SELECT max(step) FROM walk), 0),
           array(SELECT thread_id FROM walk GROUP BY thread_id
                 ORDER BY max(checkpoint_id) DESC, thread_id LIMIT %(wanted)s)"""

# One probe per thread: the next thread id after the previous one.
THREAD_COUNT_SQL = """
    WITH RECURSIVE walk AS (
        (SELECT thread_id FROM checkpoints ORDER BY thread_id LIMIT 1)
        UNION ALL
        SELECT (SELECT c.thread_id FROM checkpoints c WHERE c.thread_id > walk.thread_id
                ORDER BY c.thread_id LIMIT 1)
        FROM walk WHERE walk.thread_id IS NOT NULL
    )
    SELECT count(thread_id) FROM walk"""

# The planner's statistics of the checkpoints table that the search path finds: rows, distinct threads, and the
# share of root checkpoints (checkpoint_ns = '') when '' is among the most common namespaces.
TABLE_STATS_SQL = """
    SELECT c.reltuples::bigint,
           (SELECT s.n_distinct FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname
                AND s.attname = 'thread_id'),
           (SELECT coalesce(s.most_common_freqs[array_position(s.most_common_vals::text::text[], '')], 0)
            FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname
                AND s.attname = 'checkpoint_ns')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = to_regclass('checkpoints')"""


@dataclass(frozen=True)
class TableShape:
    """What the planner's statistics say about the checkpoints table (estimates; zero where ANALYZE never ran)."""

    rows: float
    threads: float
    root_share: float  # of the rows, those in the root namespace

    @classmethod
    def from_stats(cls, row: tuple | None) -> TableShape:
        if not row:
            return cls(0.0, 0.0, 0.0)
        rows = max(float(row[0] or 0), 0.0)
        distinct = float(row[1] or 0)
        threads = -distinct * rows if distinct < 0 else distinct  # negative: a share of the rows
        return cls(rows, threads, min(max(float(row[2] or 0), 0.0), 1.0))

    @property
    def pairs(self) -> float:
        """(thread, namespace) pairs, about: every thread's root plus one namespace per subgraph call."""
        return self.threads + self.rows * (1.0 - self.root_share) / CHECKPOINTS_PER_SUBGRAPH_CALL

    def newest_walk_pays(self) -> bool:
        return self.rows >= MIN_WALK_ROWS and self.threads > 0 and self.pairs * PROBE_COST_ROWS < self.rows

    def count_walk_pays(self) -> bool:
        return self.rows >= MIN_WALK_ROWS and self.threads > 0 and self.threads * PROBE_COST_ROWS < self.rows

    @property
    def max_walk_steps(self) -> int:
        """Where a walk gives up: past the cost of a GROUP BY over the table (the statistics misjudged it)."""
        return max(1000, int(self.rows / PROBE_COST_ROWS))


def table_shape(conn: Any) -> TableShape:
    return TableShape.from_stats(conn.execute(TABLE_STATS_SQL).fetchone())


def newest_thread_ids(conn: Any, wanted: int, max_steps: int) -> list[str] | None:
    """The `wanted` most recently active threads (newest checkpoint in any namespace), newest first, ties by thread
    id as the GROUP BY orders them; None when the walk passed `max_steps` before reaching the last pair."""
    steps, ids = conn.execute(NEWEST_THREADS_SQL, {"max_steps": max_steps, "wanted": wanted}).fetchone()
    if steps >= max_steps:
        return None
    return list(ids)


def thread_count(conn: Any) -> int:
    return conn.execute(THREAD_COUNT_SQL).fetchone()[0]


def recent_thread_ids(conn: Any, wanted: int) -> list[str] | None:
    """The `wanted` newest threads, newest first, by walking the newest checkpoints backwards on lgconsole's opt-in
    index (stack/checkpoints/index.py); None when that would read a large part of the table (few threads with very
    many checkpoints each: the GROUP BY is as good). Exact: a thread's first appearance in the walk is its newest
    checkpoint, so once `wanted` distinct threads are seen they are the newest ones."""
    scan = max(1000, wanted * 200)
    total = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('checkpoints')").fetchone()
    while True:
        scanned, ids = conn.execute(
            """WITH s AS (SELECT thread_id, checkpoint_id FROM checkpoints ORDER BY checkpoint_id DESC LIMIT %s)
               SELECT (SELECT count(*) FROM s), array(SELECT thread_id FROM s GROUP BY thread_id
                                                     ORDER BY max(checkpoint_id) DESC, thread_id LIMIT %s)""",
            (scan, wanted)).fetchone()
        if len(ids) >= wanted or scanned < scan:  # enough threads, or every checkpoint was read
            return list(ids)
        if scan * 16 > max((total[0] if total else 0) or 0, 0):
            return None
        scan *= 4


def has_recent_index(conn: Any) -> bool:
    """Whether lgconsole's opt-in index on checkpoint ids is there and valid."""
    from lgconsole.stack.checkpoints.index import RECENT_INDEX

    found = conn.execute("SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                         "WHERE c.relname = %s AND c.relkind = 'i'", (RECENT_INDEX,)).fetchone()
    return bool(found and found[0])
