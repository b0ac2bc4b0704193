"""Benchmark: thread search by the text of the latest messages (`lgconsole threads --text`, the Threads filter's
`text:WORD`) on a few thousand chat threads written by LangGraph's PostgresSaver, next to the way without it: read
every thread's latest state (`get_state`, the compiled graph's own read) and look in its messages.

Not a test. Starts a stack of its own in /tmp (or uses `--state-dir`'s), makes a scratch database there, writes
`--templates` chat threads of `--turns` turns (a human message and an AI answer of ~60 words each, from a fixed
vocabulary; each template has one word of its own, `marker<N>`), then copies them in SQL into `--threads` threads
(thread id replaced), VACUUM ANALYZE, and times (warm, median and p90 of `--repeat`):
    threads_with_message_text for a word in every thread, a word in 1/templates of them, a word in none, two words
    list_threads(limit=200, thread_ids=found) + count(thread_ids=found): what the screen's page costs after it
    the naive way: get_state on every thread, then a look at its messages (once: it is slow)

    .venv/bin/python tests/bench/bench_message_search.py --threads 3000

Measured on this 2-core box shared with other jobs (load average 5.5-5.8, Dec 2026), 3030 threads, 90,900
checkpoints, 20 messages (~11 KB, 34 MB in all) at each head; median ms of 5:
    a word in every thread 2878 (SQL ~2300: every head blob sent; decoding 3030 heads ~1150), in capitals 2172,
    in 1/30 of them 1328 (101 found), in none 365, two words 1604; then the page + count of those 10;
    the naive way, get_state on every thread: 2363 (once). The search reads every head's messages blob once
    (no index can look inside msgpack bytes); lower(... COLLATE "C") costs ~2x a case-sensitive position().
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for stackutil
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/bench/, for timing

import psycopg

from lgconsole.stack.checkpoints.message_search import threads_with_message_text
from lgconsole.stack.checkpoints.reader import CheckpointReader
from stackutil import bench_stack
from timing import row, timed

VOCABULARY = ("the service restarted after the deploy and the queue drained slowly while the on call engineer "
              "checked latency dashboards error budgets retries timeouts database replicas cache hit rates and "
              "wrote a summary for the incident review with next steps owners and dates").split()


def chat_graph(saver):
    from langchain_core.messages import AIMessage
    from langgraph.graph import END, START, MessagesState, StateGraph

    def answer(state):
        rng = random.Random(len(state["messages"]))
        return {"messages": [AIMessage(" ".join(rng.choice(VOCABULARY) for _ in range(60)))]}

    b = StateGraph(MessagesState)
    b.add_node("answer", answer)
    b.add_edge(START, "answer")
    b.add_edge("answer", END)
    return b.compile(checkpointer=saver)


def write_templates(url: str, templates: int, turns: int) -> list[str]:
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.postgres import PostgresSaver

    ids = []
    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
        graph = chat_graph(saver)
        for t in range(templates):
            tid = f"tpl-{t:04d}"
            rng = random.Random(t)
            for turn in range(turns):
                words = [rng.choice(VOCABULARY) for _ in range(60)]
                if turn == turns // 2:
                    words[7] = f"marker{t}"
                graph.invoke({"messages": [HumanMessage(" ".join(words))]}, {"configurable": {"thread_id": tid}})
            ids.append(tid)
    return ids


def clone(url: str, templates: list[str], threads: int) -> None:
    """Each template copied into threads/len(templates) threads `bench-<template>-<n>`, every row of its own."""
    copies = max(1, threads // len(templates))
    with psycopg.connect(url, autocommit=True) as conn:
        for table, columns in (
                ("checkpoints", "checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata"),
                ("checkpoint_blobs", "checkpoint_ns, channel, version, type, blob"),
                ("checkpoint_writes", "checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob, task_path")):
            conn.execute(f"""INSERT INTO {table} (thread_id, {columns})
                             SELECT 'bench-' || t.thread_id || '-' || n, {columns}
                             FROM {table} t CROSS JOIN generate_series(1, %s) n
                             WHERE t.thread_id LIKE 'tpl-%%'""", (copies,))
        conn.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=3000)
    parser.add_argument("--templates", type=int, default=30)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--state-dir", default=None)
    args = parser.parse_args()
    with bench_stack(args.state_dir) as (_, services, _own):
        pg_url = services["postgres"].url()
        name = f"lgc_bench_msgsearch_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{pg_url.rpartition('/')[0]}/{name}"
        try:
            t0 = time.perf_counter()
            templates = write_templates(url, args.templates, args.turns)
            clone(url, templates, args.threads)
            with psycopg.connect(url) as conn:
                n_threads, n_ckpt = conn.execute(
                    "SELECT count(DISTINCT thread_id), count(*) FROM checkpoints").fetchone()
                blob_bytes = conn.execute("SELECT pg_size_pretty(sum(octet_length(blob))) FROM checkpoint_blobs"
                                          " WHERE channel = 'messages'").fetchone()[0]
            print(f"{n_threads} threads, {n_ckpt} checkpoints, messages blobs {blob_bytes} "
                  f"({args.turns * 2} messages a thread at its head), made in {time.perf_counter() - t0:.0f}s")
            print(f"  {'what':<58} {'median ms':>9} {'p90 ms':>9}   found")
            with CheckpointReader(url) as reader:
                for label, words in (("a word in every thread (`deploy`)", ["deploy"]),
                                     ("the same, typed in capitals (`DEPLOY`)", ["DEPLOY"]),
                                     (f"a word in 1/{args.templates} of them (`marker3`)", ["marker3"]),
                                     ("a word in none (`kubernetes`)", ["kubernetes"]),
                                     ("two words (`marker3`, `replicas`)", ["marker3", "replicas"])):
                    samples, found = timed(lambda: threads_with_message_text(reader.db, words), args.repeat, 1)
                    print(row(label, samples, f"{len(found)} threads"))
                found = threads_with_message_text(reader.db, ["marker3"])
                samples, page = timed(lambda: (reader.list_threads(limit=200, thread_ids=found),
                                               reader.count(thread_ids=found)), args.repeat, 1)
                print(row("then list_threads(limit=200) + count() of those", samples, f"{len(page[0])} rows"))
                samples, _ = timed(lambda: reader.list_threads(limit=200), args.repeat, 1)
                print(row("(list_threads(limit=200) with no filter, for scale)", samples))
            from langgraph.checkpoint.postgres import PostgresSaver

            with PostgresSaver.from_conn_string(url) as saver, psycopg.connect(url) as conn:
                graph = chat_graph(saver)
                ids = [r[0] for r in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")]
                t0 = time.perf_counter()
                hits = 0
                for tid in ids:
                    values = graph.get_state({"configurable": {"thread_id": tid}}).values
                    hits += any("marker3" in m.text.lower() for m in values.get("messages", []))
                took = (time.perf_counter() - t0) * 1000
                print(row("naive: get_state on every thread, then its messages", [took], f"{hits} threads (once)"))
        finally:
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
