"""Benchmark: `prune` throughput on 1M+ checkpoints, against langgraph's own `delete_thread` on the same data.

Not a test. Brings up a stack of its own in /tmp (or uses a running one with --state-dir), makes the template threads
of tests/bench/checkpoint_data.py (idle, waiting, errored, forked; `--template-runs` runs each, ~12 checkpoints a run:
root + review subgraph), copies their real rows into a scratch database on the stack's Postgres, and replicates them
in SQL (the shared generator: thread ids rewritten, uuid6 ids and `ts` moved back) into `--threads` threads whose
latest activity falls in five interleaved 4-day bands.
Then, warm, on that data:

    plan_prune(older_than)                      the GROUP BY over every checkpoint + row counts
    execute_prune, four age bands               a fifth of the threads each, batch sizes 25 / 100 / 500 / 2000
    AsyncPostgresSaver.adelete_thread x N       the peer: langgraph's own per-thread delete, in the youngest band

    .venv/bin/python tests/bench/bench_prune.py --threads 10000 --template-runs 9
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for stackutil
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/bench/, for the generator

import psycopg
from checkpoint_data import (
    TABLES,
    admin_url,
    generate_bulk,
    install_template,
    make_templates,
)
from lgconsole.stack.checkpoints.prune import execute_prune, plan_prune
from stackutil import bench_stack

SPAN = timedelta(days=20)
BATCHES = (25, 100, 500, 2000)  # one age band each, oldest first; the youngest band is left for the peer
BANDS = len(BATCHES) + 1
CHUNK_THREADS = 250


def generate(conn: psycopg.Connection, threads: int, now: datetime) -> float:
    """`threads` copies of the templates. Thread g's latest checkpoint is in age band g % BANDS (0-4, 4-8, ... 16-20
    days), so each band is a fifth of the threads spread evenly through the tables: the slices pruned with
    different batch sizes are alike. Returns seconds."""
    band = int(SPAN.total_seconds() * 1e7) // BANDS
    return generate_bulk(conn, threads, "(g %% %(bands)s) * %(band)s::bigint + (g::bigint * %(band)s / %(n)s)",
                         {"band": band, "bands": BANDS}, now=now, batch=CHUNK_THREADS)


def table_sizes(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    sizes = {}
    for table in TABLES:
        n, size = conn.execute(f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}"
                               ).fetchone()
        sizes[table] = (n, size)
    conn.commit()
    return sizes


async def peer_delete(url: str, thread_ids: list[str]) -> float:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        t0 = time.monotonic()
        for tid in thread_ids:
            await saver.adelete_thread(tid)
        return time.monotonic() - t0


def rows_of(conn: psycopg.Connection, ids: list[str]) -> int:
    total = sum(conn.execute(f"SELECT count(*) FROM {t} WHERE thread_id = ANY(%s)", (ids,)).fetchone()[0]
                for t in TABLES)
    conn.commit()
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--template-runs", type=int, default=9,
                        help="approved demo runs in the template thread (~12 checkpoints each)")
    parser.add_argument("--peer-threads", type=int, default=500, help="threads deleted by the peer (adelete_thread)")
    parser.add_argument("--state-dir", help="use this running stack instead of starting one")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (prints its name)")
    args = parser.parse_args()

    name = f"lgc_bench_prune_{uuid.uuid4().hex[:8]}"
    with bench_stack(args.state_dir) as (_, services, _own):
        main_url, lg_url = services["postgres"].url(), services["langgraph"].url()
        try:
            measure(args, main_url, lg_url, name)
        finally:
            if args.keep:
                print(f"kept database {name}")
            else:
                with psycopg.connect(admin_url(main_url, "postgres"), autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


def measure(args: argparse.Namespace, main_url: str, lg_url: str, name: str) -> None:
    """Templates by real runs, a scratch database `name` filled in SQL, then prune's plan/execute and the peer."""
    print(f"templates: demo threads (idle, waiting, errored, forked), {args.template_runs} runs each ...",
          flush=True)
    templates = make_templates(lg_url, args.template_runs)
    with psycopg.connect(admin_url(main_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url(main_url, name)
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
    conn = psycopg.connect(url)
    tpl = install_template(conn, main_url, list(templates.values()))
    print(f"template rows: {tpl}", flush=True)
    now = datetime.now(UTC)
    print(f"generating {args.threads:,} threads in SQL ...", flush=True)
    gen_s = generate(conn, args.threads, now)
    conn.autocommit = True
    t0 = time.monotonic()
    conn.execute("VACUUM ANALYZE checkpoints, checkpoint_blobs, checkpoint_writes")
    conn.autocommit = False
    vacuum_s = time.monotonic() - t0
    sizes = table_sizes(conn)
    total_rows = sum(n for n, _ in sizes.values())
    print(f"\ndata: {args.threads:,} threads; " + ", ".join(f"{n:,} {t} ({s})" for t, (n, s) in sizes.items())
          + f"; generated in {gen_s:.0f}s ({total_rows / gen_s:,.0f} rows/s), VACUUM ANALYZE {vacuum_s:.0f}s")

    print(f"\n  {'step (plan: threads and checkpoints scanned)':<46} {'threads':>8} {'rows':>11} {'seconds':>8} "
          f"{'rows/s':>10} {'lock mean/max':>15}")

    def line(step: str, threads: int, rows: int | None, seconds: float, lock: str = "-") -> None:
        lock = f"{lock:>15}"
        rate = f"{rows / seconds:>10,.0f}" if rows and seconds else f"{'-':>10}"
        count = f"{rows:>11,}" if rows is not None else f"{'-':>11}"
        print(f"  {step:<46} {threads:>8,} {count} {seconds:>8.2f} {rate} {lock}", flush=True)

    # planning cost, cold-ish then warm, with nothing deleted
    band_days = SPAN.days / BANDS
    for attempt in ("first", "warm"):
        plan = plan_prune(url, timedelta(days=SPAN.days - band_days), set(), now=now)
        line(f"plan_prune [{attempt}]: finds {len(plan.candidates):,} threads", plan.threads_total,
             sizes["checkpoints"][0], plan.elapsed_s)
    # one band per batch size, oldest first: each deletes a fifth of the threads
    for n, batch in enumerate(BATCHES, 1):
        age = timedelta(days=SPAN.days - n * band_days)
        plan = plan_prune(url, age, set(), now=now)
        result = execute_prune(url, plan, batch_threads=batch)
        assert len(result.deleted) == len(plan.candidates) and result.total_rows == plan.total_rows
        line(f"execute_prune(older than {age.days}d, batch {batch})", len(result.deleted), result.total_rows,
             result.elapsed_s, f"{result.lock_held_ms_mean:.0f}/{result.lock_held_ms_max:.0f} ms")
    # the peer on the same data: langgraph's per-thread delete of the next slice
    peer_ids = [r[0] for r in conn.execute(
        "SELECT thread_id FROM checkpoints GROUP BY thread_id ORDER BY max(checkpoint_id COLLATE \"C\") LIMIT %s",
        (args.peer_threads,)).fetchall()]
    peer_rows = rows_of(conn, peer_ids)
    peer_s = asyncio.run(peer_delete(url, peer_ids))
    assert rows_of(conn, peer_ids) == 0
    line("peer: AsyncPostgresSaver.adelete_thread x N", len(peer_ids), peer_rows, peer_s)
    conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
