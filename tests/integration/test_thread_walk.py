"""The primary-key walks (stack/checkpoints/thread_walk.py) list the same newest threads, with the same counts and
statuses, and count the same threads as the plain GROUP BY, on generated tables: subgraph namespaces, threads
with no root checkpoint, equal checkpoint times and ids shared between threads, an empty table."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgconsole.console.sources.urls import postgres_url
from lgconsole.stack.checkpoints import thread_walk
from lgconsole.stack.checkpoints.ids import checkpoint_id_floor
from lgconsole.stack.checkpoints.reader import CheckpointReader
from stackutil import wait_for

pytestmark = pytest.mark.integration

TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations")
NAMESPACES = ("", "review:1", "review:2", "review:2|inner:7", "a")
THREAD_IDS = ("t-a", "t-b", "T-c", "t_d", "t%e", "thread-with-a-longer-id", "é", "z")
BASE = datetime(2026, 12, 1, tzinfo=timezone.utc)


def checkpoint_id(second: int, serial: int) -> str:
    """A uuid6 id `second` seconds after BASE; ids of one second differ only in their last digits."""
    return checkpoint_id_floor(BASE + timedelta(seconds=second))[:-12] + f"{serial:012x}"


# A thread: (namespace, second, serial) triples; few seconds and serials, so times and whole ids repeat.
checkpoint_rows = st.lists(st.tuples(st.sampled_from(NAMESPACES), st.integers(0, 6), st.integers(0, 2)),
                           max_size=12, unique=True)
tables = st.dictionaries(st.sampled_from(THREAD_IDS), checkpoint_rows, max_size=len(THREAD_IDS))


@pytest.fixture(scope="module")
def scratch(live_stack):
    """A schema of its own with empty copies of the saver's tables; yields a URL whose search path finds them."""
    url = postgres_url(live_stack)
    schema = f"lgc_walk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        wait_for(lambda: conn.execute("SELECT to_regclass('public.checkpoint_writes')").fetchone()[0],
                 what="the saver's tables")
        conn.execute(f"CREATE SCHEMA {schema}")
        for table in TABLES:
            conn.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
        conn.execute(f"INSERT INTO {schema}.checkpoint_migrations SELECT * FROM public.checkpoint_migrations")
    try:
        yield url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}", schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def fill(url: str, threads: dict[str, list[tuple[str, int, int]]]) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE checkpoints, checkpoint_blobs, checkpoint_writes")
        rows = []
        for thread_id, checkpoints in threads.items():
            for step, (ns, second, serial) in enumerate(sorted(checkpoints, key=lambda c: (c[1], c[2]))):
                cid = checkpoint_id(second, serial)
                body = {"v": 4, "id": cid, "ts": (BASE + timedelta(seconds=second)).isoformat(),
                        "channel_values": {}, "channel_versions": {}, "versions_seen": {}}
                meta = {"source": "loop", "step": step}
                rows.append((thread_id, ns, cid, json.dumps(body), json.dumps(meta)))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, checkpoint, metadata) "
                            "VALUES (%s, %s, %s, %s, %s)", rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(threads=tables, limit=st.integers(1, 5), offset=st.integers(0, 4))
def test_the_walks_find_what_the_group_by_finds(scratch, threads, limit, offset):
    url, _ = scratch
    fill(url, threads)
    plain, walked = CheckpointReader(url), CheckpointReader(url)
    plain.thread_walk, walked.thread_walk = "never", "always"
    try:
        for page in ({"limit": limit, "offset": offset}, {"limit": 50}):
            expected = [s.to_json() for s in plain.list_threads(**page)]
            assert [s.to_json() for s in walked.list_threads(**page)] == expected
        assert walked.count() == plain.count() == sum(1 for rows in threads.values() if rows)  # empty: no thread
        every = plain.list_threads(limit=50)  # heads by a probe for the page; with a status, by a FILTER on all rows
        for status in {s.status for s in every}:
            assert ([s.to_json() for s in plain.list_threads(limit=50, status=status)]
                    == [s.to_json() for s in every if s.status == status])
        with walked._transaction() as conn:
            newest = thread_walk.newest_thread_ids(conn, len(THREAD_IDS), max_steps=10_000)
        assert newest == [s.thread_id for s in plain.list_threads(limit=len(THREAD_IDS))]
    finally:
        plain.close()
        walked.close()


def test_a_walk_that_passes_its_step_limit_gives_way_to_the_group_by(scratch):
    url, _ = scratch
    fill(url, {"t-a": [("", 1, 0), ("review:1", 2, 0)], "t-b": [("", 3, 0)]})
    with CheckpointReader(url) as reader, reader._transaction() as conn:
        assert thread_walk.newest_thread_ids(conn, 5, max_steps=2) is None  # three (thread, namespace) pairs
        assert thread_walk.newest_thread_ids(conn, 5, max_steps=4) == ["t-b", "t-a"]

