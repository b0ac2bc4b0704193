"""Replay, fork, resume and copy on a real stack (stack/server/time_travel.py and the CLI commands), with the result
read back from Postgres; bad input (unknown ids, malformed JSON, a busy thread, the server down) is one line and
writes nothing. The pure checks on a fork edit: tests/unit/test_time_travel_edits.py."""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid

import pytest

from lgconsole.console.model.checkpoint_tree import CheckpointTree
from lgconsole.console.cli.exit_codes import UsageError
from lgconsole.console.cli.threads import add_thread_commands, cmd_copy, cmd_fork, cmd_replay, cmd_resume
from lgconsole.console.rows.threads import EditError, fork_update
from lgconsole.console.sources.urls import langgraph_url, postgres_url
from lgconsole.stack.services import supervisor
from lgconsole.stack.checkpoints.reader import CheckpointReader
from lgconsole.stack.checkpoints.records import UnknownCheckpoint, UnknownThread
from lgconsole.stack.server.time_travel import (
    NotResumable,
    ServerDown,
    ThreadBusy,
    TimeTravel,
    UpdateRejected,
)
from stackutil import all_healthy, wait_for


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lgconsole")
    add_thread_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


async def _new_thread(url: str, task: str, answer=None, **extra) -> str:
    from lgconsole.stack.server.credentials import sdk_client

    client = sdk_client(url=url, timeout=120)
    try:
        tid = (await client.threads.create(metadata={"graph_id": "demo", "lgc_tt": task}))["thread_id"]
        await client.runs.wait(tid, "demo", input={"task": task, "delay": 0, **extra}, raise_error=False)
        if answer is not None:
            await client.runs.wait(tid, "demo", command={"resume": answer}, raise_error=False)
        return tid
    finally:
        await client.aclose()


async def _drain(session) -> tuple[list[str], object]:
    """Root-graph node names in the order their updates streamed, and the run's outcome."""
    nodes = []
    try:
        async for event in session.events():
            if event.mode == "updates" and not event.namespace:
                nodes += [n for n in event.data if n != "__interrupt__"]
        return nodes, await session.outcome()
    finally:
        await session.close()


@pytest.fixture
def stack(live_stack):
    reader = CheckpointReader(postgres_url(live_stack))
    yield live_stack, langgraph_url(live_stack), reader
    reader.close()


def _root(reader: CheckpointReader, tid: str) -> list:
    return reader.history(tid, include_subgraphs=False)


def _step(reader: CheckpointReader, tid: str, step: int, source: str = "loop"):
    return next(n for n in _root(reader, tid) if n.step == step and n.source == source)


@pytest.mark.integration
async def test_fork_at_step_1_with_an_edited_key_runs_a_new_branch(stack):
    _, url, reader = stack
    tid = await _new_thread(url, "fork me")
    step1 = _step(reader, tid, 1)
    async with TimeTravel(url, reader) as tt:
        result = await tt.fork(tid, step1.checkpoint_id[:24], {"task": "fork me, edited"})
    assert result.from_checkpoint_id == step1.checkpoint_id and not result.reattached
    nodes, outcome = await _drain(result.session)
    assert "supervisor" not in nodes and sorted(nodes[:3]) == ["coder", "researcher", "reviewer"]
    assert nodes[3:] == ["join", "review"] and outcome.thread_status == "interrupted"

    history = reader.history(tid)
    tree = CheckpointTree(history)
    fork = tree.node(result.checkpoint_id)
    assert fork.checkpoint.source == "update" and fork.parent.checkpoint_id == step1.checkpoint_id
    assert [c.checkpoint_id for c in tree.forks()] == [step1.checkpoint_id]  # step 1 now has two branches
    branch = tree.branch_of(result.checkpoint_id)
    assert [c.step for c in branch if not c.checkpoint_ns][-4:] == [2, 3, 4, 5]
    assert branch[-1].interrupted and branch[-1].interrupt_node == "approval"
    assert [c.writers for c in branch[-3:]] == [["researcher", "coder", "reviewer"], ["join"], ["review"]]
    assert reader.state_at(tid, branch[-1].checkpoint_id).values["task"] == "fork me, edited"
    original_head = [h for h in tree.heads() if h.checkpoint_id != branch[-1].checkpoint_id]
    assert len(original_head) == 1 and reader.state_at(tid, original_head[0].checkpoint_id).values["task"] == "fork me"


@pytest.mark.integration
async def test_fork_as_another_node_decides_what_runs_next(stack):
    _, url, reader = stack
    tid = await _new_thread(url, "as node")
    step3 = _step(reader, tid, 3)  # after join: review is next
    async with TimeTravel(url, reader) as tt:
        result = await tt.fork(tid, step3.checkpoint_id, {"summary": "hand-written summary"}, as_node="review")
    nodes, outcome = await _drain(result.session)
    assert nodes == [] and outcome.thread_status == "interrupted"  # as if review ran: approval waits at once
    assert reader.state_at(tid, result.checkpoint_id).values["summary"] == "hand-written summary"


@pytest.mark.integration
async def test_replay_reruns_only_the_nodes_after_the_checkpoint(stack):
    _, url, reader = stack
    tid = await _new_thread(url, "replay me", answer=True)
    async with TimeTravel(url, reader) as tt:
        started = await tt.replay(tid, _step(reader, tid, 1).checkpoint_id)
        nodes, outcome = await _drain(started.session)
        assert sorted(nodes[:3]) == ["coder", "researcher", "reviewer"] and nodes[3:] == ["join", "review"]
        assert outcome.status == "success" and outcome.thread_status == "interrupted"

        started = await tt.replay(tid, _step(reader, tid, 3).checkpoint_id)  # after join: only review onwards
        nodes, outcome = await _drain(started.session)
        assert nodes == ["review"] and outcome.thread_status == "interrupted"
    tree = CheckpointTree(reader.history(tid))
    assert {c.step for c in tree.forks()} == {1, 3}
    assert sum(1 for n in reader.history(tid, include_subgraphs=False) if n.source == "fork") == 2


@pytest.mark.integration
async def test_resume_answers_the_interrupt(stack):
    _, url, reader = stack
    tid = await _new_thread(url, "resume me")
    async with TimeTravel(url, reader) as tt:
        started = await tt.resume(tid, {"approved": False, "note": "not today"})
        nodes, outcome = await _drain(started.session)
        assert nodes == ["approval", "finalize"] and outcome.thread_status == "idle"
        head = _root(reader, tid)[-1]
        state = reader.state_at(tid, head.checkpoint_id)
        assert (state.values["outcome"], state.values["approval_note"]) == ("rejected", "not today")
        with pytest.raises(NotResumable, match="does not wait on an interrupt.*nothing was sent"):
            await tt.resume(tid, True)


@pytest.mark.integration
async def test_copy_makes_a_new_thread_with_the_same_checkpoints(stack):
    _, url, reader = stack
    tid = await _new_thread(url, "copy me", answer=True)
    async with TimeTravel(url, reader) as tt:
        result = await tt.copy(tid)
    assert result.thread_id != tid
    original, copied = reader.history(tid), reader.history(result.thread_id)
    assert [n.checkpoint_id for n in copied] == [n.checkpoint_id for n in original]
    assert [set(n.writers) for n in copied if not n.checkpoint_ns] == [
        set(n.writers) for n in original if not n.checkpoint_ns]


def _orphan_of(pg_url: str, source: str) -> str:
    """A copy of a thread's rows under a new id, in Postgres only: what the dev server leaves after losing its
    thread index (a crash within 10 s of a run)."""
    import psycopg

    orphan = str(uuid.uuid4())
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
            columns = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                (table,)).fetchall()]
            picked = ", ".join("%s" if c == "thread_id" else c for c in columns)
            conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {picked} FROM {table} "
                         "WHERE thread_id = %s", (orphan, source))
    return orphan


@pytest.mark.integration
async def test_a_thread_only_postgres_knows_is_reattached_and_resumed(stack):
    """Re-created with the same id and graph_id, the server reads the thread's checkpoints from Postgres again."""
    from lgconsole.stack.server.credentials import sdk_client
    from langgraph_sdk.errors import NotFoundError

    live, url, reader = stack
    orphan = _orphan_of(postgres_url(live), await _new_thread(url, "orphan"))
    client = sdk_client(url=url)
    with pytest.raises(NotFoundError):
        await client.threads.get(orphan)
    async with TimeTravel(url, reader) as tt:
        started = await tt.resume(orphan, True)
        assert started.reattached
        nodes, outcome = await _drain(started.session)
    assert nodes == ["approval", "finalize"] and outcome.thread_status == "idle"
    thread = await client.threads.get(orphan)
    assert thread["metadata"]["graph_id"] == "demo" and thread["metadata"]["lgc_tt"] == "orphan"
    await client.aclose()


@pytest.mark.integration
async def test_a_fork_of_a_thread_only_postgres_knows_reattaches_it_after_the_checks(stack):
    from lgconsole.stack.server.credentials import sdk_client
    from langgraph_sdk.errors import NotFoundError

    live, url, reader = stack
    orphan = _orphan_of(postgres_url(live), await _new_thread(url, "orphan fork"))
    step1 = _step(reader, orphan, 1).checkpoint_id
    client = sdk_client(url=url)
    async with TimeTravel(url, reader) as tt:
        with pytest.raises(UpdateRejected, match="unknown state key"):
            await tt.fork(orphan, step1, {"tsak": "x"})
        with pytest.raises(NotFoundError):  # a refused fork did not even re-attach it
            await client.threads.get(orphan)
        result = await tt.fork(orphan, step1, {"task": "orphan fork, edited"})
    assert result.reattached
    nodes, outcome = await _drain(result.session)
    assert "supervisor" not in nodes and outcome.thread_status == "interrupted"
    assert reader.state_at(orphan, result.checkpoint_id).values["task"] == "orphan fork, edited"
    await client.aclose()


# --- bad input: one line, nothing written -------------------------------------------------------------------------

@pytest.mark.integration
async def test_unknown_thread_and_checkpoint(stack):
    _, url, reader = stack
    tid = await _new_thread(url, "unknown ids")
    before = len(reader.history(tid))
    async with TimeTravel(url, reader) as tt:
        for call in (tt.fork("no-such-thread", "1f1e", {"task": "x"}), tt.replay("no-such-thread", "1f1e"),
                     tt.resume(str(uuid.uuid4()), True), tt.copy(str(uuid.uuid4()))):
            with pytest.raises(UnknownThread) as exc:
                await call
            assert "\n" not in str(exc.value) and "unknown thread" in str(exc.value)
        # the server would write a parentless checkpoint for an unknown id: it never gets the request
        with pytest.raises(UnknownCheckpoint, match=f"unknown checkpoint '1f0000' in thread '{tid}'"):
            await tt.fork(tid, "1f0000", {"task": "x"})
        with pytest.raises(UnknownCheckpoint):
            await tt.replay(tid, "1f1e0000-0000-6000-8000-000000000000")
        subgraph = next(n for n in reader.history(tid) if n.checkpoint_ns)
        with pytest.raises(UpdateRejected, match="inside the subgraph call 'review:"):
            await tt.fork(tid, subgraph.checkpoint_id, {"task": "x"})
    assert len(reader.history(tid)) == before


@pytest.mark.integration
async def test_bad_edits_are_refused_before_anything_is_written(stack, capsys):
    live, url, reader = stack
    tid = await _new_thread(url, "bad edits")
    step1 = _step(reader, tid, 1).checkpoint_id
    before = len(reader.history(tid))
    async with TimeTravel(url, reader) as tt:
        with pytest.raises(UpdateRejected, match="unknown state key 'tsak'.*nothing was written"):
            await tt.fork(tid, step1, {"tsak": "x"})
        with pytest.raises(UpdateRejected, match="state key 'results' must be object, not string"):
            await tt.fork(tid, step1, {"results": "x"})
        with pytest.raises(UpdateRejected, match="the graph has no node 'nobody'"):
            await tt.fork(tid, step1, {"task": "x"}, as_node="nobody")
    with pytest.raises(UsageError, match="--set task is not valid JSON"):
        cmd_fork(live, parse("fork", tid, "--checkpoint", step1, "--set", "task={oops"))
    with pytest.raises(EditError, match="not valid JSON"):
        fork_update({"task": "a"}, '{"task": "a",}')
    assert len(reader.history(tid)) == before


@pytest.mark.integration
async def test_a_busy_thread_is_refused_with_409_and_nothing_is_written(stack):
    from lgconsole.stack.server.credentials import sdk_client

    _, url, reader = stack
    tid = await _new_thread(url, "busy")
    step1 = _step(reader, tid, 1).checkpoint_id
    client = sdk_client(url=url)
    run = await client.runs.create(tid, "demo", input={"task": "busy again", "delay": 4})
    try:
        for _ in range(100):
            if (await client.threads.get(tid))["status"] == "busy":
                break
            await asyncio.sleep(0.1)
        count = len(reader.history(tid))
        async with TimeTravel(url, reader) as tt:
            with pytest.raises(ThreadBusy, match="is busy with a run.*nothing was written"):
                await tt.fork(tid, step1, {"task": "x"})
            with pytest.raises(ThreadBusy):
                await tt.replay(tid, step1)
        assert len(reader.history(tid)) >= count  # the run itself moves on
        assert not any(n.source == "update" for n in reader.history(tid))
    finally:
        await client.runs.join(tid, run["run_id"])
        await client.aclose()


@pytest.mark.integration
async def test_server_down_during_a_fork_is_one_line_and_writes_nothing(stack):
    live, url, reader = stack
    tid = await _new_thread(url, "server down")
    step1 = _step(reader, tid, 1).checkpoint_id
    before = len(reader.history(tid))
    try:
        await asyncio.to_thread(supervisor.send_command, live.state_path, {"cmd": "stop", "service": "langgraph"})
        async with TimeTravel(url, reader) as tt:
            with pytest.raises(ServerDown) as exc:
                await tt.fork(tid, step1, {"task": "x"})
        message = str(exc.value)
        assert "\n" not in message and "does not answer" in message and "nothing was sent" in message
        assert "read-only" in message
        with pytest.raises(ServerDown):
            await asyncio.to_thread(cmd_replay, live, parse("replay", tid, "--checkpoint", step1))
        assert len(reader.history(tid)) == before
        # the history stays readable from Postgres meanwhile
        assert _step(reader, tid, 1).checkpoint_id == step1
    finally:
        await asyncio.to_thread(supervisor.send_command, live.state_path, {"cmd": "start", "service": "langgraph"})
        await asyncio.to_thread(wait_for, lambda: all_healthy(live), 90, 0.2, "the stack healthy again")


# --- the CLI -----------------------------------------------------------------------------------------------------

@pytest.mark.integration
def test_cli_fork_replay_resume_copy(stack, capsys):
    live, url, reader = stack
    tid = asyncio.run(_new_thread(url, "cli time travel"))
    step1 = _step(reader, tid, 1).checkpoint_id

    assert cmd_fork(live, parse("fork", tid, "--checkpoint", step1[:24], "--set", 'task="cli edited"',
                                "--json")) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "fork" and lines[0]["from_checkpoint_id"] == step1
    assert lines[0]["update"] == {"task": "cli edited"}
    steps = [line["node"] for line in lines if line["event"] == "step"]
    assert "supervisor" not in steps and "join" in steps and steps[-1] == "approval"
    assert lines[-1]["event"] == "end" and lines[-1]["thread_status"] == "interrupted"
    assert reader.state_at(tid, lines[0]["checkpoint_id"]).values["task"] == "cli edited"

    assert cmd_replay(live, parse("replay", tid, "--checkpoint", _step(reader, tid, 3).checkpoint_id)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"replay of thread {tid} from checkpoint ")
    assert "review" in out and "approval" in out and "coder " not in out

    assert cmd_resume(live, parse("resume", tid, "yes")) == 0
    out = capsys.readouterr().out
    assert f'resumed thread {tid} with "yes"' in out and "finalize" in out and f"thread {tid} is idle" in out

    assert cmd_copy(live, parse("copy", tid, "--json")) == 0
    copied = json.loads(capsys.readouterr().out)
    assert copied["from_thread_id"] == tid and len(reader.history(copied["thread_id"])) == len(reader.history(tid))
