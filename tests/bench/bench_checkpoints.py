"""Benchmark: threads and history read straight from Postgres (CheckpointReader) vs the LangGraph server API.

Not a test. Brings up a stack of its own in /tmp (or uses a running one with --state-dir), fills it with demo-graph
threads (`delay: 0`), then times, warm, on the same data:

    SQL   list_threads(limit=50) [+ count()]     vs  API threads.search(limit=50) [select=...], threads.count()
    SQL   history(thread) / state_at(head)        vs  API threads.get_history(limit=100) / threads.get_state()

    .venv/bin/python tests/bench/bench_checkpoints.py --threads 300 --long-runs 8
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for stackutil
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/bench/, for timing

from stackutil import bench_stack  # noqa: E402
from timing import row as timing_row, size_of, thread_read_rows, timed  # noqa: E402

from lgconsole.stack.checkpoints.reader import CheckpointReader  # noqa: E402

GRAPH = "demo"


async def fill(lg_url: str, threads: int, long_runs: int, concurrency: int) -> str:
    """`threads` demo threads (a third each: waiting, approved, failing in coder) and one long thread of
    `long_runs` approved runs. Returns the long thread's id."""
    from lgconsole.stack.server.credentials import sdk_client

    client = sdk_client(url=lg_url, timeout=300)
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(i: int) -> None:
        nonlocal done
        async with gate:
            kind = ("waiting", "approved", "errored")[i % 3]
            payload = {"task": f"bench task {i}", "delay": 0}
            if kind == "errored":
                payload["fail_at"] = "coder"
            tid = (await client.threads.create(metadata={"bench": kind, "graph_id": GRAPH}))["thread_id"]
            await client.runs.wait(tid, GRAPH, input=payload, raise_error=False)
            if kind == "approved":
                await client.runs.wait(tid, GRAPH, command={"resume": True}, raise_error=False)
            done += 1
            if done % 50 == 0:
                print(f"  {done}/{threads} threads", flush=True)

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(threads)))
    long_tid = (await client.threads.create(metadata={"bench": "long", "graph_id": GRAPH}))["thread_id"]
    for run in range(long_runs):
        await client.runs.wait(long_tid, GRAPH, input={"task": f"long run {run}", "delay": 0}, raise_error=False)
        await client.runs.wait(long_tid, GRAPH, command={"resume": True}, raise_error=False)
    print(f"  filled in {time.monotonic() - t0:.0f}s")
    return long_tid


def row(name: str, samples: list[float], note: str = "") -> str:
    return timing_row(name, samples, note, width=58, digits=2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=300)
    parser.add_argument("--long-runs", type=int, default=8, help="runs on the long thread (~13 checkpoints each)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--state-dir", help="use this running stack instead of starting one (and do not fill it "
                                            "unless --fill)")
    parser.add_argument("--fill", action="store_true")
    parser.add_argument("--long-thread", help="with --state-dir: the thread to read history of")
    args = parser.parse_args()

    with bench_stack(args.state_dir) as (_, services, own):
        pg_url, lg_url = services["postgres"].url(), services["langgraph"].url()
        long_tid = args.long_thread
        if own or args.fill:
            print(f"filling: {args.threads} threads + 1 thread of {args.long_runs} runs ...", flush=True)
            long_tid = asyncio.run(fill(lg_url, args.threads, args.long_runs, args.concurrency))
        report(pg_url, lg_url, long_tid, args.repeat)
    return 0


def report(pg_url: str, lg_url: str, long_tid: str | None, repeat: int) -> None:
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(url=lg_url, timeout=120)
    reader = CheckpointReader(pg_url)
    try:
        total = reader.count()
        with reader._transaction() as conn:  # the table sizes, for the record
            sizes = conn.execute("SELECT (SELECT count(*) FROM checkpoints), (SELECT count(*) FROM checkpoint_blobs), "
                                 "(SELECT count(*) FROM checkpoint_writes), "
                                 "pg_size_pretty(pg_total_relation_size('checkpoints') + "
                                 "pg_total_relation_size('checkpoint_blobs') + "
                                 "pg_total_relation_size('checkpoint_writes'))").fetchone()
        if long_tid is None:
            long_tid = max(reader.list_threads(limit=200), key=lambda s: s.checkpoint_count).thread_id
        history = reader.history(long_tid)
        head = [n for n in history if not n.checkpoint_ns][-1]
        print(f"\ndata: {total} threads; {sizes[0]} checkpoints, {sizes[1]} blobs, {sizes[2]} writes, {sizes[3]}; "
              f"history thread {long_tid}: {len(history)} checkpoints "
              f"({sum(1 for n in history if not n.checkpoint_ns)} root)")
        print(f"  {'(ms, warm, ' + str(repeat) + ' runs)':<58} {'median':>9} {'p90':>9}   response")

        s, page = timed(lambda: reader.list_threads(limit=50), repeat)
        print(row("SQL  list_threads(limit=50)", s, f"{len(page)} threads"))
        s, _ = timed(lambda: (reader.list_threads(limit=50), reader.count()), repeat)
        print(row("SQL  list_threads(limit=50) + count()", s))
        s, page = timed(lambda: reader.list_threads(limit=50, status="errored"), repeat)
        print(row("SQL  list_threads(limit=50, status='errored')", s, f"{len(page)} threads"))
        s, found = timed(lambda: client.threads.search(limit=50), repeat)
        print(row("API  threads.search(limit=50)", s, size_of(found)))
        fields = ["thread_id", "status", "updated_at", "metadata", "interrupts"]
        s, found = timed(lambda: client.threads.search(limit=50, select=fields), repeat)
        print(row("API  threads.search(limit=50, select=5 fields)", s, size_of(found)))
        s, _ = timed(lambda: client.threads.count(), repeat)
        print(row("API  threads.count()", s))

        for name, s, note in thread_read_rows(reader, client, long_tid, head.checkpoint_id, repeat):
            print(row(name, s, note))
    finally:
        reader.close()
        client.close()


if __name__ == "__main__":
    raise SystemExit(main())
