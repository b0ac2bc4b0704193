"""Benchmark: the Threads screen's reads on ~1M checkpoints (10k threads x ~100), straight from Postgres
(CheckpointReader) next to the LangGraph server's API on the same tables.

Not a test. Starts a stack of its own in /tmp (its database is the scratch database: nothing of yours is touched),
then:
1.-2. the shared generator (tests/bench/checkpoint_data.py): template threads by real demo runs (idle, waiting on
   the interrupt, errored in `coder`, forked at a mid checkpoint; ~12 checkpoints a run, subgraph namespaces
   included), cloned in SQL (batches of `--batch` threads) into `--threads` threads with every id shifted in time,
   so ids stay time-ordered uuid6 and each thread's activity is one second after the previous;
3. VACUUM ANALYZE, re-attaches `--attach` of the clones to the server (threads.create with the same id and
   graph_id: the dev server only knows threads in its own index, the clones are in Postgres only);
4. times, warm, median and p90 of `--repeat`:
       SQL  list_threads(limit=50) / + count() / status='errored' / text filter
       SQL  history(thread) / state_at(head)
       API  threads.search(limit=50) (over the server's index only) / get_history(limit=100) / get_state
   and, to decide whether an index is worth asking for, the thread list again with a candidate index on the
   thread side (no gain) and with lgconsole's opt-in index on checkpoint ids (`lgconsole threads --create-index`),
   plus what that index costs the saver's inserts.

    .venv/bin/python tests/bench/bench_threads_1m.py                 # 10k threads x ~100 = ~1M
    .venv/bin/python tests/bench/bench_threads_1m.py --threads 1000  # a quick look

Measured on this 2-core box (Nov 2026), 10k threads: 1,043,650 checkpoints, 1.48M blobs, 4.03M writes, 9.6 GB,
generated in 238 s (4.4k checkpoints/s with their blobs and writes). Warm, median ms:
    SQL list_threads(limit=50) 435-570 (a GROUP BY over every checkpoint), count() 310-490, status='errored' 460-560,
        text filter 550-720; history(thread, 108 checkpoints) 3.0-3.7; state_at(head) 1.3
    API threads.search(limit=50) 1.6-4.6 (its in-memory index of 1003 threads: the 1M rows are invisible to it),
        get_history(limit=100) 155-203 (1.1 MB), get_state 5.5-7.1
    an index on the thread side (thread_id, checkpoint_id DESC): list 350-390 (the plan stays a full GROUP BY)
    lgconsole's index on checkpoint ids (`lgconsole threads --create-index`, 104 MB, 3 s CONCURRENTLY):
        list_threads(limit=50) 17, limit=200 (the screen's page) 70 vs 690 without; inserts ~10 us/row dearer
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for stackutil
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/bench/, for timing

from checkpoint_data import attach, bench_thread_ids, generate_dataset, runs_for
from lgconsole.stack.checkpoints import thread_walk
from lgconsole.stack.checkpoints.index import RECENT_INDEX, create_recent_index
from lgconsole.stack.checkpoints.reader import CheckpointReader
from lgconsole.stack.services.supervisor import StackSpec, build_services
from stackutil import (
    make_config,
    new_state_dir,
    remove_state_dir,
    start_stack,
    stop_stack,
)
from timing import row as timing_row
from timing import size_of, thread_read_rows, timed, timed_together


def clone_ids(pg_url: str, count: int) -> list[str]:
    return bench_thread_ids(count)


# --- 4. timings ----------------------------------------------------------------------------------------------

def row(name: str, samples: list[float], note: str = "") -> str:
    return timing_row(name, samples, note, width=72, digits=1)


CANDIDATES = [  # indexes that do NOT change the list's plan shape, measured for the record
    ("lgc_bench_thread_recent", "CREATE INDEX lgc_bench_thread_recent ON checkpoints (thread_id, checkpoint_id DESC) "
                                "INCLUDE (checkpoint_ns)"),
]


def _insert_cost(pg_url: str, thread_ids: list[str]) -> None:
    """What one more index costs the saver: ~1000 checkpoint rows (10 threads', read by primary key) copied in one
    transaction, rolled back."""
    import psycopg

    with psycopg.connect(pg_url) as conn:
        conn.execute(
            """INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type,
                                        checkpoint, metadata)
               SELECT 'lgc-bench-insert-' || thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type,
                      checkpoint, metadata
               FROM checkpoints WHERE thread_id = ANY(%s)""", (thread_ids,))
        conn.rollback()


def report(pg_url: str, lg_url: str, thread_id: str, attached: int, repeat: int,
           sample: list[str] | None = None) -> None:
    import psycopg
    from lgconsole.stack.server.credentials import sdk_sync_client

    with psycopg.connect(pg_url, autocommit=True) as conn:  # start without lgconsole's index
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {RECENT_INDEX}")
    client = sdk_sync_client(url=lg_url, timeout=300)
    reader = CheckpointReader(pg_url, statement_timeout_s=300)
    try:
        history = reader.history(thread_id)
        head = max((n for n in history if not n.checkpoint_ns), key=lambda n: n.checkpoint_id)
        print(f"\nwarm timings in ms ({repeat} runs): history thread {thread_id} has {len(history)} checkpoints "
              f"({sum(1 for n in history if not n.checkpoint_ns)} root); the server's index holds "
              f"{client.threads.count()} threads ({attached} clones re-attached + the templates)")
        print(f"  {'':<72} {'median':>9} {'p90':>9}   response")
        lines = []

        def out(text: str) -> None:
            lines.append(text)
            print(text, flush=True)

        for line in floor_rows(pg_url, reader, repeat):
            out(line)
        s, total = timed(lambda: reader.count(), repeat)
        out(row("SQL  count()", s, f"{total:,} threads"))
        s, page = timed(lambda: reader.list_threads(limit=200), repeat)
        out(row("SQL  list_threads(limit=200) [the screen's page]", s, f"{len(page)} threads"))
        s, page = timed(lambda: reader.list_threads(limit=50, status="errored"), repeat)
        out(row("SQL  list_threads(limit=50, status='errored')", s, f"{len(page)} threads"))
        s, page = timed(lambda: reader.list_threads(limit=50, text="abc"), repeat)
        out(row("SQL  list_threads(limit=50, text='abc')", s, f"{len(page)} threads"))
        s, found = timed(lambda: client.threads.search(limit=50, select=["thread_id", "status", "updated_at",
                                                                           "metadata", "interrupts"]), repeat)
        out(row("API  threads.search(limit=50, select=5 fields) [its index only]", s, size_of(found)))
        s, found = timed(lambda: client.threads.search(limit=50), repeat)
        out(row("API  threads.search(limit=50) [its index only]", s, size_of(found)))

        for name, s, note in thread_read_rows(reader, client, thread_id, head.checkpoint_id, repeat):
            out(row(name, s, note))

        with psycopg.connect(pg_url, autocommit=True) as conn:
            plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) SELECT thread_id, count(*), max(checkpoint_id) "
                                "FROM checkpoints GROUP BY thread_id ORDER BY 3 DESC LIMIT 50").fetchone()[0][0]
        print(f"\n  without an index the list is a GROUP BY over every checkpoint: {_scan_nodes(plan['Plan'])}, "
              f"{plan['Execution Time']:.0f} ms", flush=True)
        for name, ddl in CANDIDATES:  # what an index on the thread id side would give: measured, then dropped
            with psycopg.connect(pg_url, autocommit=True) as conn:
                t0 = time.monotonic()
                conn.execute(ddl)
                conn.execute("ANALYZE checkpoints")
                built = time.monotonic() - t0
                size = conn.execute("SELECT pg_size_pretty(pg_relation_size(%s::regclass))", (name,)).fetchone()[0]
            s, _ = timed(lambda: reader.list_threads(limit=50), repeat)
            out(row(f"SQL  list_threads(limit=50) + {name} ({size}, {built:.0f}s)", s))
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f"DROP INDEX {name}")

        result = create_recent_index(pg_url)  # what `lgconsole threads --create-index` does
        reader._recent_index_checked = None  # noticed at once, not within the minute
        out(f"  with lgconsole's index ({RECENT_INDEX}: {result.size}, built CONCURRENTLY in {result.seconds:.0f}s):")
        s, page = timed(lambda: reader.list_threads(limit=50), repeat)
        out(row("SQL  list_threads(limit=50) + lgconsole's index", s, f"{len(page)} threads"))
        s, page = timed(lambda: reader.list_threads(limit=50, offset=150), repeat)
        out(row("SQL  list_threads(limit=50, offset=150) + lgconsole's index", s, f"{len(page)} threads"))
        s, page = timed(lambda: reader.list_threads(limit=200), repeat)
        out(row("SQL  list_threads(limit=200) + lgconsole's index [the screen's page]", s, f"{len(page)} threads"))
        s, nodes = timed(lambda: reader.history(thread_id), repeat)
        out(row("SQL  history(thread) + lgconsole's index", s))
        sample = sample or [thread_id]
        s, _ = timed(lambda: _insert_cost(pg_url, sample), 5)
        out(row(f"SQL  insert {len(sample)} threads' checkpoints (rolled back), with the index", s))
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP INDEX {RECENT_INDEX}")
        s, _ = timed(lambda: _insert_cost(pg_url, sample), 5)
        out(row(f"SQL  insert {len(sample)} threads' checkpoints (rolled back), without", s))
    finally:
        reader.close()
        client.close()


# The raw-SQL floors of "the 50 newest threads with their counts": no status, no heads, nothing decoded.
FLOOR_GROUP_BY = ("SELECT thread_id, count(*), max(checkpoint_id) FROM checkpoints GROUP BY thread_id "
                  "ORDER BY 3 DESC, thread_id LIMIT 50")
FLOOR_WALK = f"""WITH newest AS (SELECT unnest(ids) AS thread_id FROM ({thread_walk.NEWEST_THREADS_SQL}) AS w(steps, ids))
                 SELECT n.thread_id, (SELECT count(*) FROM checkpoints c WHERE c.thread_id = n.thread_id)
                 FROM newest n"""


def floor_rows(pg_url: str, reader: CheckpointReader, repeat: int) -> list[str]:
    """list_threads(50) and count() by each way lgconsole can take, next to the raw-SQL floors, measured in turns
    (timing.timed_together) so a shared box's load falls on all alike; the ratio is to the faster floor."""
    import psycopg

    walk_params = {"max_steps": 2**31 - 1, "wanted": 50}
    plain, walked = CheckpointReader(pg_url, statement_timeout_s=300), CheckpointReader(pg_url, statement_timeout_s=300)
    plain.thread_walk, walked.thread_walk = "never", "always"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET jit = off")  # the floors at their best, as lgconsole's own sessions run
        shape = thread_walk.table_shape(conn)
        pairs = conn.execute("SELECT count(*) FROM (SELECT DISTINCT thread_id, checkpoint_ns FROM checkpoints) p"
                             ).fetchone()[0]
        samples = timed_together({
            "floor: GROUP BY": lambda: conn.execute(FLOOR_GROUP_BY).fetchall(),
            "floor: primary-key walk": lambda: conn.execute(FLOOR_WALK, walk_params).fetchall(),
            "list_threads(50), auto": lambda: reader.list_threads(limit=50),
            "list_threads(50), GROUP BY": lambda: plain.list_threads(limit=50),
            "list_threads(50), walk": lambda: walked.list_threads(limit=50),
            "count(), auto": lambda: reader.count(),
            "count(), count(DISTINCT)": lambda: plain.count(),
            "count(), walk": lambda: walked.count(),
        }, repeat)
    plain.close()
    walked.close()
    floor = min(statistics.median(samples["floor: GROUP BY"]), statistics.median(samples["floor: primary-key walk"]))
    lines = [f"  (tables: {shape.rows:,.0f} checkpoints, {shape.threads:,.0f} threads, {pairs:,} (thread, namespace) "
             f"pairs, estimated {shape.pairs:,.0f}; auto walks for the list: {shape.newest_walk_pays()}, for the "
             f"count: {shape.count_walk_pays()}; measured in turns)"]
    for name, s in samples.items():
        lines.append(row(f"SQL  {name}", s, f"{statistics.median(s) / floor:.2f}x the faster floor"))
    return lines


def _scan_nodes(plan: dict) -> str:
    found = []

    def walk(node: dict) -> None:
        if "Scan" in node.get("Node Type", ""):
            found.append(f"{node['Node Type']} on {node.get('Relation Name') or node.get('Index Name')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return ", ".join(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=10_000, help="clones to make (default 10000)")
    parser.add_argument("--checkpoints", type=int, default=100, help="checkpoints a thread, about (default 100)")
    parser.add_argument("--batch", type=int, default=250, help="clones per INSERT transaction")
    parser.add_argument("--attach", type=int, default=1000, help="clones to re-attach to the server's index")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="leave the stack running (prints its state dir)")
    parser.add_argument("--reuse", metavar="STATE_DIR", help="time again on a stack left by --keep (same --threads "
                                                             "and --attach); nothing is generated")
    args = parser.parse_args()

    if args.reuse:
        services = build_services(StackSpec.load(Path(args.reuse)))
        ids = clone_ids(services["postgres"].url(), args.threads)
        report(services["postgres"].url(), services["langgraph"].url(), ids[-1], min(args.attach, len(ids)),
               args.repeat, ids[:10])
        return 0
    state_dir = new_state_dir()
    config = make_config(state_dir)
    try:
        print(f"starting a stack in {state_dir} ...", flush=True)
        start_stack(config)
        services = build_services(StackSpec.load(state_dir))
        pg_url, lg_url = services["postgres"].url(), services["langgraph"].url()
        print(f"generating {args.threads:,} threads x ~{args.checkpoints} checkpoints (tests/bench/checkpoint_data.py)"
              " ...", flush=True)
        made = generate_dataset(pg_url, lg_url, args.threads, args.checkpoints, batch=args.batch)
        sizes = made["sizes"]
        print(f"  templates made by real runs in {made['templates_s']:.0f}s ({runs_for(args.checkpoints)} runs each):"
              f" {made['templates']}\n  data: {sizes[0]:,} checkpoints, {sizes[1]:,} blobs, {sizes[2]:,} writes, "
              f"{sizes[3]} (generated in {made['generate_s']:.0f}s, VACUUM ANALYZE {made['vacuum_s']:.0f}s)",
              flush=True)
        ids = clone_ids(pg_url, args.threads)
        attached = min(args.attach, len(ids))
        took = asyncio.run(attach(lg_url, ids[-attached:]))  # the newest clones
        print(f"  re-attached {attached} clones to the server in {took:.1f}s", flush=True)
        report(pg_url, lg_url, ids[-1], attached, args.repeat, ids[:10])
    finally:
        if args.keep:
            print(f"stack left running: {state_dir} (`lgconsole --state-dir {state_dir} down` stops it)")
        else:
            stop_stack(config)
            remove_state_dir(state_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
