"""The one checkpoint-data generator of the benchmarks and tests: real rows, written by the real Postgres saver
through the LangGraph server running the demo graph, copied in SQL into as many threads as wanted.

1. `make_templates(lg_url, runs)`: template threads made by real runs on the server, each `runs` runs of the demo
   graph (~12 checkpoints a run: root + the review subgraph's namespace, blobs, writes):
   idle (every run approved), waiting (the last run stops at the approval interrupt), errored (the last run fails
   in `coder`), forked (a copy of idle with a branch from a mid checkpoint: update_state at step 1).
2. `install_template(conn, source_url, thread_ids)`: those threads' rows copied into `tpl_*` tables of `conn`'s
   database (which may be the source database or a scratch one), plus the SQL function `lgc_uuid6_shift`.
3. `generate_threads(conn, ages)` (named thread ids, one template) or `generate_bulk(conn, n, ...)` (n threads,
   templates round-robin, ids `bench_thread_ids(n)`): INSERT ... SELECT of every row of the three tables, with the
   thread id replaced (also in `metadata.thread_id`) and every uuid6 checkpoint id (row ids, parent ids, the
   checkpoint JSON's `id`, `metadata.parents`) and the checkpoint's `ts` moved back in time, so ids stay time-ordered
   and each thread's latest activity is where the caller wants it.

Sizes: QUICK (200 threads x ~20 checkpoints) and FULL (10k x ~100 = ~1M checkpoints).
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
from lgconsole.stack.checkpoints.ids import checkpoint_time

TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
UUID_EPOCH_100NS = 0x01B21DD213814000
GRAPH = "demo"
CHECKPOINTS_PER_RUN = 12  # one approved demo run, root and review subgraph together
QUICK = (200, 20)  # threads, checkpoints a thread
FULL = (10_000, 100)
TEMPLATES = (  # label, the last run's input, its resume answer (None: the thread stays where the run left it)
    ("idle", {}, True),
    ("waiting", {}, None),
    ("errored", {"fail_at": "coder"}, None),
)

# uuid6 `tttttttt-tttt-6ttt-...`: the 60-bit timestamp (100 ns ticks) minus `shift`; other ids pass unchanged.
SHIFT_FUNCTION = """
CREATE OR REPLACE FUNCTION lgc_uuid6_shift(id text, shift bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN id IS NULL OR substr(id, 15, 1) <> '6' THEN id ELSE (
    SELECT lpad(to_hex(t >> 28), 8, '0') || '-' || lpad(to_hex((t >> 12) & 65535), 4, '0') || '-6'
           || lpad(to_hex(t & 4095), 3, '0') || substr(id, 19)
    FROM (SELECT ('x' || lpad(substr(id, 1, 8) || substr(id, 10, 4) || substr(id, 16, 3), 16, '0'))::bit(64)::bigint
                 - shift AS t) AS s
) END
$$;
"""

# `{gen}` is a subquery of (tid, template, shift): one row per generated thread.
GENERATE_SQL = {
    "checkpoints": """
        INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint,
                                 metadata)
        SELECT g.tid, c.checkpoint_ns, lgc_uuid6_shift(c.checkpoint_id, g.shift),
               lgc_uuid6_shift(c.parent_checkpoint_id, g.shift), c.type,
               c.checkpoint || jsonb_build_object(
                   'id', lgc_uuid6_shift(c.checkpoint ->> 'id', g.shift),
                   'ts', to_jsonb((c.checkpoint ->> 'ts')::timestamptz - make_interval(secs => g.shift / 1e7))),
               c.metadata
               || CASE WHEN c.metadata ? 'thread_id' THEN jsonb_build_object('thread_id', g.tid) ELSE '{{}}' END
               || CASE WHEN jsonb_typeof(c.metadata -> 'parents') = 'object' THEN jsonb_build_object('parents',
                      coalesce((SELECT jsonb_object_agg(k, lgc_uuid6_shift(v, g.shift))
                                FROM jsonb_each_text(c.metadata -> 'parents') AS p(k, v)), '{{}}'::jsonb))
                  ELSE '{{}}' END
        FROM {gen} AS g JOIN tpl_checkpoints c ON c.thread_id = g.template""",
    "checkpoint_blobs": """
        INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)
        SELECT g.tid, b.checkpoint_ns, b.channel, b.version, b.type, b.blob
        FROM {gen} AS g JOIN tpl_checkpoint_blobs b ON b.thread_id = g.template""",
    "checkpoint_writes": """
        INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob,
                                       task_path)
        SELECT g.tid, w.checkpoint_ns, lgc_uuid6_shift(w.checkpoint_id, g.shift), w.task_id, w.idx, w.channel, w.type,
               w.blob, w.task_path
        FROM {gen} AS g JOIN tpl_checkpoint_writes w ON w.thread_id = g.template""",
}

# uuid-shaped (version 4, variant a) md5 of 'lgc-bench-<i>': the same ids in SQL and in Python
SQL_THREAD_ID = ("substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3)"
                 " || '-' || substr(h, 21, 12)")


def runs_for(checkpoints: int) -> int:
    """Demo runs a template thread needs for about `checkpoints` checkpoints."""
    return max(1, math.ceil(checkpoints / CHECKPOINTS_PER_RUN))


def ticks(when: datetime) -> int:
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 10 + UUID_EPOCH_100NS


def admin_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def bench_thread_id(i: int) -> str:
    h = hashlib.md5(f"lgc-bench-{i}".encode()).hexdigest()
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def bench_thread_ids(n: int, lo: int = 0) -> list[str]:
    return [bench_thread_id(i) for i in range(lo, n)]


# --- 1. templates: real runs on the real server ----------------------------------------------------------------------

def make_templates(lg_url: str, runs: int, labels: tuple[str, ...] = ("idle", "waiting", "errored", "forked"),
                   ) -> dict[str, str]:
    """Template threads written by the server's own Postgres saver; returns label -> thread id."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(url=lg_url, timeout=300)
    made: dict[str, str] = {}
    try:
        for label, last_input, last_answer in TEMPLATES:
            if label not in labels and not (label == "idle" and "forked" in labels):
                continue
            tid = client.threads.create(metadata={"graph_id": GRAPH, "bench": label})["thread_id"]
            for run in range(runs):
                last = run == runs - 1
                payload = {"task": f"bench {label} run {run}", "delay": 0, **(last_input if last else {})}
                client.runs.wait(tid, GRAPH, input=payload, raise_error=False)
                answer = last_answer if last else True
                if answer is not None:
                    client.runs.wait(tid, GRAPH, command={"resume": answer}, raise_error=False)
            made[label] = tid
        if "forked" in labels:  # a branch from a mid checkpoint: the idle thread copied, edited at step 1
            copy = client.threads.copy(made["idle"])["thread_id"]
            step1 = next(h for h in client.threads.get_history(copy, limit=1000)
                         if h["metadata"].get("step") == 1)
            client.threads.update_state(copy, {"task": "forked task"},
                                        checkpoint_id=step1["checkpoint"]["checkpoint_id"])
            made["forked"] = copy
    finally:
        client.close()
    return {label: made[label] for label in labels}


def make_message_thread(lg_url: str, messages: int = 10_000) -> tuple[str, str, str]:
    """A thread whose state holds `messages` messages, at two checkpoints written by the server's saver: A (all of
    them) and B (one more message and an edited task). Returns (thread id, checkpoint A, checkpoint B)."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(url=lg_url, timeout=300)
    try:
        tid = client.threads.create(metadata={"graph_id": GRAPH, "bench": f"{messages} messages"})["thread_id"]
        client.runs.wait(tid, GRAPH, input={"task": "bench messages", "delay": 0}, raise_error=False)
        client.runs.wait(tid, GRAPH, command={"resume": True}, raise_error=False)
        batch = [{"type": "human" if i % 2 == 0 else "ai", "content": f"message {i}: " + "lorem ipsum " * 8,
                  "id": f"bench-msg-{i}"} for i in range(messages)]
        a = client.threads.update_state(tid, {"messages": batch})["checkpoint"]["checkpoint_id"]
        b = client.threads.update_state(tid, {"messages": [{"type": "human", "content": "one more",
                                                            "id": "bench-msg-last"}],
                                              "task": "edited"})["checkpoint"]["checkpoint_id"]
    finally:
        client.close()
    return tid, a, b


# --- 2. the template tables -----------------------------------------------------------------------------------------

def install_template(conn: psycopg.Connection, source_url: str, thread_ids: str | list[str]) -> dict[str, int]:
    """Copy the template threads' rows from the source database into `tpl_*` tables of `conn`'s database (created
    here, like the checkpointer's tables) and add the shift function. Returns the templates' rows per table."""
    ids = [thread_ids] if isinstance(thread_ids, str) else list(thread_ids)
    conn.execute(SHIFT_FUNCTION)
    sizes = {}
    with psycopg.connect(source_url) as source:
        for table in TABLES:
            conn.execute(f"DROP TABLE IF EXISTS tpl_{table}")
            conn.execute(f"CREATE TABLE tpl_{table} (LIKE {table})")
            columns = [r[0] for r in source.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                (table,)).fetchall()]
            cols = ", ".join(columns)
            with source.cursor().copy(f"COPY (SELECT {cols} FROM {table} WHERE thread_id = ANY(%s)) TO STDOUT",
                                      (ids,)) as out, \
                    conn.cursor().copy(f"COPY tpl_{table} ({cols}) FROM STDIN") as into:
                for chunk in out:
                    into.write(chunk)
            sizes[table] = conn.execute(f"SELECT count(*) FROM tpl_{table}").fetchone()[0]
    conn.execute("CREATE INDEX ON tpl_checkpoints (thread_id)")
    conn.execute("CREATE INDEX ON tpl_checkpoint_blobs (thread_id)")
    conn.execute("CREATE INDEX ON tpl_checkpoint_writes (thread_id)")
    conn.commit()
    return sizes


def template_ids(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute('SELECT DISTINCT thread_id FROM tpl_checkpoints ORDER BY 1').fetchall()]


def template_last(conn: psycopg.Connection, thread_id: str | None = None) -> str:
    """The latest checkpoint id of a template (of all of them when thread_id is None)."""
    if thread_id is None:
        return conn.execute('SELECT max(checkpoint_id COLLATE "C") FROM tpl_checkpoints').fetchone()[0]
    return conn.execute('SELECT max(checkpoint_id COLLATE "C") FROM tpl_checkpoints WHERE thread_id = %s',
                        (thread_id,)).fetchone()[0]


# --- 3. the generated threads ----------------------------------------------------------------------------------------

def generate_threads(conn: psycopg.Connection, ages: dict[str, timedelta], now: datetime | None = None,
                     template: str | None = None) -> None:
    """One copy of a template (the first one unless named) per thread id, its latest checkpoint written `age`
    before `now`."""
    now = now or datetime.now(UTC)
    template = template or template_ids(conn)[0]
    last = ticks(checkpoint_time(template_last(conn, template)))
    ids = list(ages)
    shifts = [last - ticks(now - ages[t]) for t in ids]
    gen = ("(SELECT u.tid, %(template)s::text AS template, u.shift "
           "FROM unnest(%(ids)s::text[], %(shifts)s::bigint[]) AS u(tid, shift))")
    for table in TABLES:
        conn.execute(GENERATE_SQL[table].format(gen=gen), {"ids": ids, "shifts": shifts, "template": template})
    conn.commit()


def generate_bulk(conn: psycopg.Connection, threads: int, age_sql: str, params: dict | None = None,
                  now: datetime | None = None, batch: int = 250, progress: bool = True) -> float:
    """`threads` threads, ids `bench_thread_ids(threads)`, templates round-robin (thread g copies template
    g % k). `age_sql` is an SQL expression of `g` (and `n`, the thread count, plus `params`) giving thread g's age
    in 100 ns ticks: its latest checkpoint is written that long before `now`. One transaction per `batch` threads.
    Returns the seconds it took."""
    now = now or datetime.now(UTC)
    templates = template_ids(conn)
    lasts = [ticks(checkpoint_time(template_last(conn, t))) - ticks(now) for t in templates]
    gen = (f"(SELECT {SQL_THREAD_ID} AS tid, (%(templates)s::text[])[1 + g %% %(k)s] AS template, "
           f"(%(lasts)s::bigint[])[1 + g %% %(k)s] + ({age_sql}) AS shift "
           "FROM generate_series(%(lo)s::int, %(hi)s::int) AS g, md5('lgc-bench-' || g) AS h)")
    t0 = time.monotonic()
    for lo in range(0, threads, batch):
        hi = min(threads, lo + batch) - 1
        for table in TABLES:
            conn.execute(GENERATE_SQL[table].format(gen=gen),
                         {**(params or {}), "templates": templates, "k": len(templates), "lasts": lasts,
                          "n": threads, "lo": lo, "hi": hi})
        conn.commit()
        done = hi + 1
        if progress and (done % (batch * 8) == 0 or done == threads):
            rate = done / (time.monotonic() - t0)
            print(f"  {done:,}/{threads:,} threads generated ({rate:.0f} threads/s)", flush=True)
    return time.monotonic() - t0


def vacuum_analyze(url: str) -> float:
    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.monotonic() - t0


def table_sizes(url: str) -> tuple[int, int, int, str]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM checkpoints), (SELECT count(*) FROM checkpoint_blobs), "
            "(SELECT count(*) FROM checkpoint_writes), pg_size_pretty(pg_total_relation_size('checkpoints') + "
            "pg_total_relation_size('checkpoint_blobs') + pg_total_relation_size('checkpoint_writes'))").fetchone()


def generate_dataset(pg_url: str, lg_url: str, threads: int, checkpoints: int, step_s: float = 1.0,
                     batch: int = 250) -> dict:
    """The whole thing in the stack's own database (what the server reads): templates by real runs, then
    `threads` clones whose latest activity is `step_s` apart, the newest (`bench_thread_id(threads - 1)`) just
    before now. Returns what was made."""
    t0 = time.monotonic()
    templates = make_templates(lg_url, runs_for(checkpoints))
    made_s = time.monotonic() - t0
    with psycopg.connect(pg_url) as conn:
        tpl = install_template(conn, pg_url, list(templates.values()))
        gen_s = generate_bulk(conn, threads, "(%(n)s - 1 - g)::bigint * %(step)s::bigint",
                              {"step": int(step_s * 1e7)}, batch=batch)
    vac_s = vacuum_analyze(pg_url)
    return {"templates": templates, "template_rows": tpl, "templates_s": made_s, "generate_s": gen_s,
            "vacuum_s": vac_s, "sizes": table_sizes(pg_url), "ids": bench_thread_ids(threads)}


async def attach(lg_url: str, thread_ids: list[str], concurrency: int = 8) -> float:
    """Make the server know generated threads (the dev server lists only threads of its own index)."""
    import asyncio

    from lgconsole.stack.server.credentials import sdk_client

    client = sdk_client(url=lg_url, timeout=120)
    gate = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()

    async def one(tid: str) -> None:
        async with gate:
            await client.threads.create(thread_id=tid, if_exists="do_nothing", metadata={"graph_id": GRAPH})

    try:
        await asyncio.gather(*(one(t) for t in thread_ids))
    finally:
        await client.aclose()
    return time.monotonic() - t0


def shape(url: str) -> dict[str, int]:
    """What the data holds: threads, subgraph checkpoints (checkpoint_ns <> ''), fork points (root checkpoints with
    more than one child), pending writes on __error__ / __interrupt__."""
    with psycopg.connect(url) as conn:
        threads, sub = conn.execute(
            "SELECT count(DISTINCT thread_id), count(*) FILTER (WHERE checkpoint_ns <> '') FROM checkpoints"
        ).fetchone()
        forks = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM checkpoints WHERE checkpoint_ns = '' AND parent_checkpoint_id IS NOT"
            " NULL GROUP BY thread_id, parent_checkpoint_id HAVING count(*) > 1) AS f").fetchone()[0]
        errors, interrupts = conn.execute(
            "SELECT count(*) FILTER (WHERE channel = '__error__'), count(*) FILTER (WHERE channel = '__interrupt__')"
            " FROM checkpoint_writes").fetchone()
    return {"threads": threads, "subgraph_checkpoints": sub, "fork_points": forks, "error_writes": errors,
            "interrupt_writes": interrupts}
