"""Thread status truth, checked against LangGraph's own reading of the same rows: graphs written the way users write
them (reducers, parallel branches, a node that raises, static breakpoints, a DeltaChannel), compiled with a
PostgresSaver on a database of their own, then read by lgconsole's checkpoint reader. The oracle is the compiled
graph's `get_state` / `get_state_history` over the same database."""

from __future__ import annotations

import io
import operator
import threading
import uuid
from typing import Annotated, Any, Sequence

import psycopg
import pytest
from langgraph.channels import DeltaChannel
from typing_extensions import TypedDict

from lgconsole.stack.checkpoints.reader import CheckpointReader
from lgconsole.stack.checkpoints.records import ServerView, ThreadStatus
from stackutil import wait_for

integration = pytest.mark.integration


@pytest.fixture
def saver_db(live_stack):
    """A database of its own on the stack's Postgres with the saver's tables; (url, saver), dropped afterwards."""
    from langgraph.checkpoint.postgres import PostgresSaver

    from lgconsole.stack.services.supervisor import StackSpec, build_services

    pg_url = build_services(StackSpec.load(live_stack.state_path))["postgres"].url()
    name = f"lgc_truth_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg_url.rpartition('/')[0]}/{name}"
    try:
        with PostgresSaver.from_conn_string(url) as saver:
            saver.setup()
            yield url, saver
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cfg(tid: str) -> dict:
    return {"configurable": {"thread_id": tid}}


def summary_of(reader: CheckpointReader, tid: str, **kw):
    return next(s for s in reader.list_threads(**kw) if s.thread_id == tid)


# --- graphs as users write them ----------------------------------------------------------------------------------

class Post(TypedDict, total=False):
    title: str
    draft: str
    reviewed: bool
    published: bool


def breakpoint_graph(saver, before=("publish",), after=()):
    from langgraph.graph import END, START, StateGraph

    b = StateGraph(Post)
    b.add_node("draft", lambda s: {"draft": f"About {s['title']}", "published": False})
    b.add_node("review", lambda s: {"reviewed": True})
    b.add_node("publish", lambda s: {"published": True})
    b.add_edge(START, "draft")
    b.add_edge("draft", "review")
    b.add_edge("review", "publish")
    b.add_edge("publish", END)
    return b.compile(checkpointer=saver, interrupt_before=list(before), interrupt_after=list(after))


class Research(TypedDict, total=False):
    query: str
    notes: Annotated[list[str], operator.add]
    fetched: str
    enriched: str
    answer: str


def parallel_graph(saver, enrich_node):
    """plan -> (fetch | enrich) -> answer; `enrich_node` decides whether the second branch fails or blocks."""
    from langgraph.graph import END, START, StateGraph

    b = StateGraph(Research)
    b.add_node("plan", lambda s: {"query": s["query"].strip(), "notes": ["planned"]})
    b.add_node("fetch", lambda s: {"fetched": f"rows for {s['query']}", "notes": ["fetched"]})
    b.add_node("enrich", enrich_node)
    b.add_node("answer", lambda s: {"answer": f"{s['fetched']} + {s['enriched']}"})
    b.add_edge(START, "plan")
    b.add_edge("plan", "fetch")
    b.add_edge("plan", "enrich")
    b.add_edge(["fetch", "enrich"], "answer")
    b.add_edge("answer", END)
    return b.compile(checkpointer=saver)


def append_events(state: list | None, writes: Sequence[Any]) -> list:
    out = list(state or [])
    for write in writes:
        out.extend(write if isinstance(write, list) else [write])
    return out


class Log(TypedDict, total=False):
    events: Annotated[list, DeltaChannel(append_events, snapshot_frequency=3)]
    rounds: int


def delta_graph(saver):
    from langgraph.graph import END, START, StateGraph

    def tick(s):
        n = s.get("rounds", 0) + 1
        return {"events": [f"tick {n}"], "rounds": n}

    b = StateGraph(Log)
    b.add_node("start", lambda s: {"events": ["start"], "rounds": 0})
    b.add_node("tick", tick)
    b.add_edge(START, "start")
    b.add_edge("start", "tick")
    b.add_conditional_edges("tick", lambda s: "tick" if s["rounds"] < 6 else END, ["tick", END])
    return b.compile(checkpointer=saver)


# --- 2. static breakpoints -----------------------------------------------------------------------------------------

@integration
def test_a_static_breakpoint_is_waiting_at_the_node_it_stops_before(saver_db):
    url, saver = saver_db
    graph = breakpoint_graph(saver)
    tid = f"bp-{uuid.uuid4().hex[:8]}"
    graph.invoke({"title": "release notes"}, cfg(tid))
    assert graph.get_state(cfg(tid)).next == ("publish",)  # LangGraph: paused before publish
    finished = f"done-{uuid.uuid4().hex[:8]}"
    graph.invoke({"title": "x"}, cfg(finished))
    graph.invoke(None, cfg(finished))
    assert graph.get_state(cfg(finished)).next == ()

    with CheckpointReader(url) as reader:
        # The server answers and runs nothing on it: the thread waits for a resume.
        up = ServerView(busy=frozenset())
        paused = summary_of(reader, tid, server=up)
        assert paused.status == ThreadStatus.WAITING and paused.status_node == "publish"
        assert [s.thread_id for s in reader.list_threads(status="waiting", server=up)] == [tid]
        assert reader.count(status="waiting", server=up) == 1
        assert summary_of(reader, finished, server=up).status == ThreadStatus.IDLE
        # Postgres alone, just after the step: a run may be starting that step, or it is paused: it cannot tell.
        assert summary_of(reader, tid).status == ThreadStatus.UNKNOWN
        reader.running_window_s = 0  # a while later nothing moved: paused
        assert summary_of(reader, tid).status == ThreadStatus.WAITING
        assert [s.thread_id for s in reader.list_threads(status="waiting")] == [tid]
        head = reader.history(tid, include_subgraphs=False)[-1]
        assert reader.state_at(tid, head.checkpoint_id).next == list(graph.get_state(cfg(tid)).next)


@integration
def test_interrupt_after_waits_at_the_next_node(saver_db):
    url, saver = saver_db
    graph = breakpoint_graph(saver, before=(), after=("draft",))
    tid = f"bpa-{uuid.uuid4().hex[:8]}"
    graph.invoke({"title": "t"}, cfg(tid))
    assert graph.get_state(cfg(tid)).next == ("review",)
    with CheckpointReader(url) as reader:
        s = summary_of(reader, tid, server=ServerView(busy=frozenset()))
        assert s.status == ThreadStatus.WAITING and s.status_node == "review"


# --- 1. running threads --------------------------------------------------------------------------------------------

@integration
def test_a_thread_in_flight_is_running_from_postgres_and_from_the_server(saver_db):
    url, saver = saver_db
    release, entered = threading.Event(), threading.Event()

    def enrich(s):
        entered.set()
        assert release.wait(60)
        return {"enriched": "context", "notes": ["enriched"]}

    graph = parallel_graph(saver, enrich)
    tid = f"run-{uuid.uuid4().hex[:8]}"
    worker = threading.Thread(target=graph.invoke, args=({"query": " q "}, cfg(tid)))
    worker.start()
    try:
        assert entered.wait(30)
        with CheckpointReader(url) as reader:
            # fetch's writes land on the head while enrich still runs
            wait_for(lambda: any(w.node == "fetch" for w in reader.state_at(
                tid, reader.history(tid)[-1].checkpoint_id).pending_writes), 30, what="fetch's writes saved")
            oracle = graph.get_state(cfg(tid))
            assert oracle.next == ("enrich",)
            down = summary_of(reader, tid)  # no server asked: Postgres alone
            assert down.status == ThreadStatus.RUNNING and down.status_node == "enrich"
            assert [s.thread_id for s in reader.list_threads(status="running")] == [tid]
            assert summary_of(reader, tid, server=ServerView(busy=frozenset())).status == ThreadStatus.RUNNING
            assert summary_of(reader, tid, server=ServerView(busy=frozenset({tid}))).status == ThreadStatus.RUNNING
            head = reader.history(tid, include_subgraphs=False)[-1]
            state = reader.state_at(tid, head.checkpoint_id)
            assert state.next == list(oracle.next) and state.values == oracle.values
    finally:
        release.set()
        worker.join(60)
    with CheckpointReader(url) as reader:
        assert summary_of(reader, tid).status == ThreadStatus.IDLE
        # the step waiting on the multi-source join (fetch + enrich -> answer) has `answer` next, as LangGraph says
        for snap in graph.get_state_history(cfg(tid)):
            at = reader.state_at(tid, snap.config["configurable"]["checkpoint_id"])
            assert sorted(at.next) == sorted(snap.next), snap.metadata["step"]
        # a thread the server runs a new run on (pending included) is running whatever the tables say
        assert summary_of(reader, tid, server=ServerView(busy=frozenset({tid}))).status == ThreadStatus.RUNNING
        assert [s.thread_id for s in reader.list_threads(status="running", server=ServerView(
            busy=frozenset({tid})))] == [tid]


# --- 3. a failed super-step ------------------------------------------------------------------------------------------

@integration
def test_a_failed_superstep_applies_the_successful_siblings_writes(saver_db):
    url, saver = saver_db

    def enrich(s):
        raise RuntimeError(f"enrichment service refused {s['query']!r}")

    graph = parallel_graph(saver, enrich)
    tid = f"err-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError):
        graph.invoke({"query": "q"}, cfg(tid))
    oracle = graph.get_state(cfg(tid))
    assert oracle.next == ("enrich",) and oracle.values["fetched"] == "rows for q"
    with CheckpointReader(url) as reader:
        head = reader.history(tid, include_subgraphs=False)[-1]
        state = reader.state_at(tid, head.checkpoint_id)
        assert state.values == oracle.values
        assert state.next == ["enrich"]
        assert state.error and "enrichment service refused" in state.error
        # at an id, LangGraph shows the step as it started (nothing applied, both nodes due): the history agrees
        for snap in graph.get_state_history(cfg(tid)):
            at = reader.state_at(tid, snap.config["configurable"]["checkpoint_id"])
            if at.checkpoint_id != head.checkpoint_id:
                # (a reducer key's empty default, `notes: []` before any write, is the graph's, not in the tables)
                assert at.values == {k: v for k, v in snap.values.items() if v != [] or k in at.values}
                assert sorted(at.next) == sorted(snap.next)
        s = summary_of(reader, tid)
        assert s.status == ThreadStatus.ERRORED and s.status_node == "enrich"


# --- 4. DeltaChannel -------------------------------------------------------------------------------------------------

@integration
def test_delta_channel_values_are_rebuilt_at_every_checkpoint(saver_db):
    from lgconsole.console.model.state_diff import diff_states

    url, saver = saver_db
    graph = delta_graph(saver)
    tid = f"delta-{uuid.uuid4().hex[:8]}"
    graph.invoke({}, cfg(tid))
    history = list(graph.get_state_history(cfg(tid)))
    assert len(history) >= 8
    with CheckpointReader(url) as reader:
        for snap in history:
            cid = snap.config["configurable"]["checkpoint_id"]
            # before its first write too: the DeltaChannel's empty value (the metadata's counters name the channel)
            assert reader.state_at(tid, cid).values == snap.values, snap.metadata["step"]
        head = history[0].config["configurable"]["checkpoint_id"]
        state, parent = reader.state_with_parent(tid, head)
        diff = diff_states(parent.values, state.values)
        assert not diff.removed
        assert state.values["events"][:-1] == parent.values["events"]


# --- 5. one "last node" ----------------------------------------------------------------------------------------------

@integration
def test_last_node_of_an_errored_thread_is_the_same_in_the_cli_and_the_console(saver_db, tmp_path):
    from datetime import datetime, timezone

    from lgconsole.console.cli.threads import cmd_threads
    from lgconsole.console.rows.threads import thread_rows
    from stackutil import make_config, new_state_dir, remove_state_dir

    url, saver = saver_db

    def enrich(s):
        raise RuntimeError("boom")

    graph = parallel_graph(saver, enrich)
    tid = f"err-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError):
        graph.invoke({"query": "q"}, cfg(tid))
    with CheckpointReader(url) as reader:
        summary = summary_of(reader, tid)
    console_node = thread_rows([summary], datetime.now(timezone.utc))[0].last_node
    state_dir = new_state_dir()
    try:
        config = make_config(state_dir, f'[postgres]\nurl = "{url}"\n[langgraph]\nurl = "http://127.0.0.1:9"\n')
        out = io.StringIO()
        import argparse

        cmd_threads(config, argparse.Namespace(status=None, limit=50, offset=0, search=None, json=False), out)
    finally:
        remove_state_dir(state_dir)
    lines = out.getvalue().splitlines()
    header, row = lines[0], next(line for line in lines if line.startswith(tid))
    at = header.index("LAST NODE")
    cli_node = row[at:].split("  ")[0].strip()
    assert console_node == cli_node == "enrich"


# --- 1. running, as the server says it --------------------------------------------------------------------------------

@integration
def test_a_run_the_server_is_running_shows_running_in_the_cli_and_the_threads_source(live_stack):
    """A run started by a plain SDK client, mid-step (its workers sleep): the server says the thread is busy, and
    `lgconsole threads --status running --json` and the Threads screen's source say running; after it, not."""
    import argparse
    import json

    from lgconsole.stack.server.credentials import sdk_sync_client

    from lgconsole.console.cli.threads import cmd_threads
    from lgconsole.console.sources.threads import ThreadsSource
    from lgconsole.console.sources.urls import langgraph_url

    client = sdk_sync_client(url=langgraph_url(live_stack), timeout=60)
    tid = client.threads.create()["thread_id"]
    run = client.runs.create(tid, "demo", input={"task": "a slow one", "delay": 4})
    try:
        wait_for(lambda: client.threads.get_history(tid, limit=3) and client.threads.get(tid)["status"] == "busy",
                 30, what="the run's first checkpoints, the thread busy")
        out = io.StringIO()
        args = argparse.Namespace(status="running", limit=200, offset=0, search=None, json=True)
        assert cmd_threads(live_stack, args, out) == 0
        listed = json.loads(out.getvalue())
        assert listed["server"] == {"up": True}
        assert tid in [t["thread_id"] for t in listed["threads"]]
        assert all(t["status"] == "running" for t in listed["threads"])
        source = ThreadsSource(live_stack)
        try:
            page = source.read_threads("", tid, "-last_activity")
            assert page.server.up and [(s.thread_id, s.status) for s in page.summaries] == [(tid, ThreadStatus.RUNNING)]
        finally:
            source.close()
    finally:
        client.runs.join(tid, run["run_id"])
    assert client.threads.get(tid)["status"] != "busy"
    out = io.StringIO()
    cmd_threads(live_stack, argparse.Namespace(status=None, limit=50, offset=0, search=tid, json=True), out)
    assert [t["status"] for t in json.loads(out.getvalue())["threads"]] != ["running"]
    client.close()
