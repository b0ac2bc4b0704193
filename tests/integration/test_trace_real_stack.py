"""`lgconsole trace` on a real stack: a demo run's waterfall has every node, its steps cover the wall time the client
measured (within 10 %), its model calls carry the scripted model's usage; a thread's state sizes come from SQL and a
thread whose state keeps growing is named by triage."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from lgconsole.console.model.triage import evaluate
from lgconsole.console.sources.trace import TraceSource, recent_state_growth
from lgconsole.console.sources.triage import TriageSource
from lgconsole.console.sources.urls import langgraph_url
from lgconsole.stack.checkpoints.reader import CheckpointReader
from lgconsole.stack.checkpoints.sizes import thread_state_sizes
from stackutil import lgconsole

pytestmark = pytest.mark.integration

DEMO_NODES = {"supervisor", "researcher", "coder", "reviewer", "join", "review", "critique", "score", "approval"}


@pytest.fixture(scope="module")
def demo_run(live_stack):
    """A demo run (workers sleep 1 s) streamed by a plain SDK client, with the wall time that client measured from
    the run's first event to the end of its stream."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(langgraph_url(live_stack), 120)
    thread = client.threads.create()
    first = run_id = None
    for part in client.runs.stream(thread["thread_id"], "demo", input={"task": f"trace {uuid.uuid4().hex[:6]}",
                                                                       "delay": 1.0}, stream_mode="values"):
        if first is None:
            first = time.monotonic()
        if part.event == "metadata":
            run_id = part.data["run_id"]
    wall = time.monotonic() - first
    client.close()
    return thread["thread_id"], run_id, wall


def test_the_trace_of_a_demo_run_shows_every_node_and_adds_up_to_its_wall_time(live_stack, demo_run):
    thread_id, run_id, wall = demo_run
    source = TraceSource(live_stack)
    try:
        trace = source.trace(thread_id)  # a thread id: its latest run
    finally:
        source.close()
    assert trace.run_id == run_id and trace.status == "success"
    names = {step.node for step, _ in trace.walk()}
    assert DEMO_NODES <= names
    review = next(s for s in trace.steps if s.node == "review")
    assert [c.node for c in review.children] == ["critique", "score"]  # the subgraph nested
    covered = trace.covered_s()
    print(f"client wall {wall:.3f}s, trace wall {trace.wall_s:.3f}s, steps cover {covered:.3f}s")
    assert abs(covered - wall) <= 0.10 * wall
    assert abs(trace.wall_s - wall) <= 0.10 * wall
    # the three workers ran in parallel, each sleeping 1 s
    workers = [s for s in trace.steps if s.node in ("researcher", "coder", "reviewer")]
    assert all(s.duration >= 1.0 for s in workers)
    # every model call the scripted model made, with its usage (researcher, coder, reviewer, critique)
    totals = trace.totals()
    assert totals["model_calls"] == 4 and totals["calls_without_usage"] == 0
    assert totals["prompt_tokens"] > 0 and totals["completion_tokens"] > 0
    assert "no LangSmith or Langfuse" in trace.link_note and trace.link is None


def test_cli_trace_json_and_text_by_run_id(live_stack, demo_run):
    thread_id, run_id, _ = demo_run
    config = live_stack.state_path / "lgconsole.toml"
    config.write_text(config.read_text() + "\n[cost]\ngpu_hourly_usd = 3.6\n")
    result = lgconsole("trace", run_id, "--json", config=config)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["trace"]["thread_id"] == thread_id
    cost = report["trace"]["cost"]
    assert cost["gpu_busy_s"] > 0 and cost["gpu_usd"] == pytest.approx(cost["gpu_busy_s"] / 1000, rel=1e-3)
    assert "split evenly" in cost["attribution"]
    assert report["state_growth"]["head_bytes"] > 0
    assert {r["node"] for r in report["slowest_nodes"]} >= {"researcher", "review:critique"}
    text = lgconsole("trace", thread_id, config=config)
    assert text.returncode == 0, text.stderr
    assert "waterfall" in text.stdout and "critique" in text.stdout and "cost $" in text.stdout
    missing = lgconsole("trace", "no-such-run", config=config)
    assert missing.returncode == 1 and "no thread and no run" in missing.stderr


def test_state_sizes_per_checkpoint_from_sql_and_the_state_explosion_finding(live_stack):
    """A thread whose state gets a bigger `notes` list at each update: its sizes grow, triage names `notes`."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(langgraph_url(live_stack), 120)
    thread = client.threads.create(metadata={"graph_id": "demo"})
    tid = thread["thread_id"]
    client.runs.wait(tid, "demo", input={"task": "grow", "delay": 0})
    for n in range(10):  # update_state adds ~120 KB of messages each time
        client.threads.update_state(tid, {"messages": [{"type": "human", "content": f"{n} " + "x" * 120_000}]},
                                    as_node="finalize")
    client.close()
    with CheckpointReader(str(TraceSource(live_stack).reader.url)) as reader:
        sizes = thread_state_sizes(reader.db, tid)
        growth = [g for g in recent_state_growth(reader) if g.thread_id == tid]
    assert sizes[-1].items_by_key["messages"] >= 10 + sizes[0].items_by_key.get("messages", 0)
    assert sizes[-1].bytes_by_key["messages"] > 1_200_000 > sizes[0].bytes_by_key.get("messages", 0)
    assert growth and growth[0].keeps_growing()
    findings = [f for f in evaluate(TriageSource(live_stack).gather()) if f.code == "state-explosion"]
    assert any(tid in f.title and "messages" in f.title for f in findings)


def test_a_run_the_console_streamed_has_time_to_first_token(live_stack):
    """The Live screen's run (followed with tokens streamed): the trace takes each model call's first token from it."""
    import asyncio

    from lgconsole.console.model.trace import first_tokens
    from lgconsole.console.sources.run_follower import RunFollower

    async def follow():
        follower = RunFollower(langgraph_url(live_stack))
        await follower.start("demo", input={"task": f"ttft {uuid.uuid4().hex[:6]}", "delay": 0})
        await follower.follow()
        return follower.live

    live = asyncio.run(follow())
    source = TraceSource(live_stack)
    try:
        trace = source.trace(live.run_id, first_tokens(live))
    finally:
        source.close()
    calling = [s for s, _ in trace.walk() if s.calls]
    assert {s.node for s in calling} == {"researcher", "coder", "reviewer", "critique"}
    assert all(s.first_token_s is not None and 0 <= s.first_token_s <= s.duration + 0.5 for s in calling)
