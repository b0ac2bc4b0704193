"""The Postgres checkpoint reader on a real stack's tables with the LangGraph server stopped: threads, history and
state, schema checks, hand-made hostile blobs. The decoder alone: tests/unit/test_checkpoint_decoder.py."""

from __future__ import annotations

import pickle
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import ormsgpack
import psycopg
import pytest

from lgconsole.stack.services import supervisor
from hostile_values import TouchOnLoad, ext
from lgconsole.stack.checkpoints.decoder import PLACEHOLDER_KEY, jsonable
from lgconsole.stack.checkpoints.reader import KNOWN_SCHEMA_VERSION, CheckpointReader
from lgconsole.stack.checkpoints.records import (
    CheckpointDbUnreachable,
    NoCheckpointTables,
    ThreadStatus,
    UnknownCheckpoint,
    UnknownThread,
)
from lgconsole.stack.errors import StackError
from lgconsole.stack.services.supervisor import StackSpec, build_services
from stackutil import wait_for

integration = pytest.mark.integration


# --- on a real stack, server stopped ---------------------------------------------------------------------------------

def stack_urls(config) -> tuple[str, str]:
    services = build_services(StackSpec.load(config.state_path))
    return services["postgres"].url(), services["langgraph"].url()


def langgraph_state(config) -> str:
    status = supervisor.read_state(config.state_path).by_name("langgraph")
    return status.state.value if status else "missing"


def run_demo_threads(lg_url: str, batch: str) -> dict[str, str]:
    """Three threads at rest: completed (approved), errored in coder, waiting on the approval interrupt; plus a copy
    of the completed one, forked at step 1 with update_state."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(url=lg_url, timeout=120)
    plans = {
        "done": ({"task": "Draft the on-call handover", "delay": 0}, True),
        "errored": ({"task": "x", "fail_at": "coder", "delay": 0}, None),
        "waiting": ({"task": "Summarise last night's batch jobs", "delay": 0}, None),
    }
    ids = {}
    try:
        for label, (payload, answer) in plans.items():
            tid = client.threads.create(metadata={"lgc_batch": batch, "lgc_label": label, "graph_id": "demo"})["thread_id"]
            client.runs.wait(tid, "demo", input=payload, raise_error=False)
            if answer is not None:
                client.runs.wait(tid, "demo", command={"resume": answer}, raise_error=False)
            ids[label] = tid
        copy = client.threads.copy(ids["done"])
        step1 = next(h for h in client.threads.get_history(copy["thread_id"], limit=100)
                     if h["metadata"].get("step") == 1)
        client.threads.update_state(copy["thread_id"], {"task": "forked task"},
                                    checkpoint_id=step1["checkpoint"]["checkpoint_id"])
        ids["forked"] = copy["thread_id"]
        ids["fork_point"] = step1["checkpoint"]["checkpoint_id"]
    finally:
        client.close()
    return ids


@pytest.fixture(scope="module")
def server_down_threads(live_stack):
    """Demo threads written through the server, then the server stopped (and restarted afterwards)."""
    pg_url, lg_url = stack_urls(live_stack)
    batch = uuid.uuid4().hex[:12]
    ids = run_demo_threads(lg_url, batch)
    supervisor.send_command(live_stack.state_path, {"cmd": "stop", "service": "langgraph"})
    try:
        wait_for(lambda: langgraph_state(live_stack) == "stopped", 30, what="langgraph stopped")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{lg_url}/ok", timeout=2)
        with CheckpointReader(pg_url) as reader:
            yield reader, ids, batch
    finally:
        supervisor.send_command(live_stack.state_path, {"cmd": "start", "service": "langgraph"})
        wait_for(lambda: langgraph_state(live_stack) == "healthy", 90, what="langgraph healthy again")


@integration
def test_threads_are_listed_with_their_status_from_postgres_alone(server_down_threads):
    reader, ids, batch = server_down_threads
    found = {s.thread_id: s for s in reader.list_threads(limit=50, metadata_filter={"lgc_batch": batch})}
    assert set(found) == {ids["done"], ids["errored"], ids["waiting"], ids["forked"]}

    done, errored, waiting = found[ids["done"]], found[ids["errored"]], found[ids["waiting"]]
    assert done.status == ThreadStatus.IDLE and done.latest_nodes == ["finalize"] and done.error is None
    assert errored.status == ThreadStatus.ERRORED
    assert errored.status_node == "coder" and errored.error == "RuntimeError('demo failure requested at coder')"
    assert waiting.status == ThreadStatus.WAITING and waiting.status_node == "approval"
    assert waiting.latest_nodes == ["review"]
    assert "Approve the team's result" in waiting.interrupts[0]["value"]["question"]
    for s in found.values():
        assert s.metadata["lgc_batch"] == batch
        assert datetime.now(timezone.utc) - timedelta(minutes=10) < s.last_activity <= datetime.now(timezone.utc)
        assert s.checkpoint_count >= 3
    assert done.checkpoint_count > done.latest_step  # subgraph checkpoints count too


@integration
def test_filters_sorting_pagination_and_count(server_down_threads):
    reader, ids, batch = server_down_threads
    mine = {"lgc_batch": batch}
    assert [s.thread_id for s in reader.list_threads(status="errored", metadata_filter=mine)] == [ids["errored"]]
    assert [s.thread_id for s in reader.list_threads(status=ThreadStatus.WAITING, metadata_filter=mine)] == [
        ids["waiting"]]
    assert reader.count(metadata_filter=mine) == 4
    assert reader.count(status="idle", metadata_filter=mine) == 1
    # the fork's edited checkpoint has nodes due that nothing ran: just written and no server to ask, it cannot
    # be told from a step starting ('unknown'); a while later it is paused ('waiting', at the first node due)
    assert [s.thread_id for s in reader.list_threads(status="unknown", metadata_filter=mine)] == [ids["forked"]]
    reader.running_window_s = 0
    try:
        assert reader.count(status="waiting", metadata_filter=mine) == 2
    finally:
        reader.running_window_s = 60.0
    assert reader.count(text=ids["errored"][-12:]) == 1
    assert [s.thread_id for s in reader.list_threads(text=ids["errored"][-12:].upper())] == [ids["errored"]]
    assert reader.list_threads(text="no_such%thread") == []
    by_recency = [s.thread_id for s in reader.list_threads(metadata_filter=mine)]
    assert by_recency[0] == ids["forked"]  # the fork is the newest activity
    by_id = [s.thread_id for s in reader.list_threads(metadata_filter=mine, sort="thread_id")]
    assert by_id == sorted(by_id)
    pages = reader.list_threads(metadata_filter=mine, limit=2) + reader.list_threads(metadata_filter=mine, limit=2,
                                                                                   offset=2)
    assert [s.thread_id for s in pages] == by_recency
    assert reader.count() >= 4
    with pytest.raises(StackError, match="cannot sort threads by 'colour'"):
        reader.list_threads(sort="colour")


@integration
def test_history_has_parent_links_and_the_review_subgraph_namespace(server_down_threads):
    reader, ids, _ = server_down_threads
    history = reader.history(ids["done"])
    by_id = {n.checkpoint_id: n for n in history}
    root = [n for n in history if n.checkpoint_ns == ""]
    sub = [n for n in history if n.checkpoint_ns]
    assert [n.step for n in root] == list(range(-1, len(root) - 1))
    assert root[0].parent_checkpoint_id is None
    for node in history[1:]:
        if node.step != -1:
            assert node.parent_checkpoint_id in by_id
            assert by_id[node.parent_checkpoint_id].checkpoint_ns == node.checkpoint_ns
    namespaces = {n.checkpoint_ns for n in sub}
    assert len(namespaces) == 1 and next(iter(namespaces)).startswith("review:")
    anchor = by_id[sub[0].parents[""]]  # the root checkpoint the subgraph call started from
    assert anchor.checkpoint_ns == "" and anchor.writers == ["join"]
    assert [n.writers for n in sub] == [["__input__"], ["__start__"], ["critique"], ["score"]]
    assert [n.writers for n in root][1:4] == [["__start__"], ["supervisor"], ["researcher", "coder", "reviewer"]]
    assert [n for n in root if n.interrupted][0].interrupt_node == "approval"
    assert all(n.created_at is not None for n in history)
    assert [n.checkpoint_id for n in history] == sorted(n.checkpoint_id for n in history)
    assert reader.history(ids["done"], include_subgraphs=False) == root


@integration
def test_history_of_a_forked_thread_has_two_branches(server_down_threads):
    from lgconsole.console.model.checkpoint_tree import CheckpointTree

    reader, ids, _ = server_down_threads
    history = reader.history(ids["forked"])
    tree = CheckpointTree(history)
    assert [c.checkpoint_id for c in tree.forks()] == [ids["fork_point"]]
    heads = tree.heads()
    assert len(heads) == 2 and heads[-1].source == "update"
    assert tree.parent(heads[-1].checkpoint_id).checkpoint_id == ids["fork_point"]
    state = reader.state_at(ids["forked"], heads[-1].checkpoint_id)
    assert state.values["task"] == "forked task"
    # threads.copy drops the writes' task paths: the writers then come from versions_seen
    root = [n for n in history if not n.checkpoint_ns]
    assert [n.writers for n in root][:5] == [["__input__"], ["__start__"], ["supervisor"],
                                             ["coder", "researcher", "reviewer"], ["join"]]
    assert heads[-1].writers == []  # update_state leaves no trace of the node it wrote as


@integration
def test_state_at_decodes_messages_pending_writes_and_next(server_down_threads):
    reader, ids, _ = server_down_threads
    head = reader.history(ids["waiting"], include_subgraphs=False)[-1]
    state = reader.state_at(ids["waiting"], head.checkpoint_id)
    assert state.step == head.step and state.source == "loop" and not state.unreadable
    messages = state.values["messages"]
    assert messages[0]["type"] == "human" and messages[0]["content"] == "Summarise last night's batch jobs"
    assert all(isinstance(m, dict) and m.get("id") for m in messages)
    assert {"researcher", "coder", "reviewer"} <= {m.get("name") for m in messages}
    assert state.values["review"]["verdict"]
    assert state.next == ["approval"]
    assert [(w.node, w.channel) for w in state.pending_writes] == [("approval", "__interrupt__")]
    assert "Approve" in state.interrupts[0]["value"]["question"]
    assert "branch:to:approval" in state.channels and "branch:to:approval" not in state.values
    assert abs(state.created_at - datetime.fromisoformat(_ts(reader, ids["waiting"], head.checkpoint_id))) < \
        timedelta(milliseconds=5)

    fanout = next(n for n in reader.history(ids["waiting"], include_subgraphs=False) if n.step == 1)
    assert sorted(reader.state_at(ids["waiting"], fanout.checkpoint_id).next) == ["coder", "researcher", "reviewer"]
    errored_head = reader.history(ids["errored"])[-1]
    errored = reader.state_at(ids["errored"], errored_head.checkpoint_id)
    assert errored.error == "RuntimeError('demo failure requested at coder')"


@integration
def test_state_with_parent_is_both_reads_in_one_transaction(server_down_threads, monkeypatch):
    from langgraph.checkpoint.postgres import PostgresSaver

    reader, ids, _ = server_down_threads
    transactions = []
    opened = reader.db.transaction
    monkeypatch.setattr(reader.db, "transaction", lambda: transactions.append(1) or opened())
    for label in ("done", "waiting", "errored", "forked"):  # subgraphs, an interrupt, an error, a copied fork
        tid = ids[label]
        for node in reader.history(tid):
            transactions.clear()
            state, parent = reader.state_with_parent(tid, node.checkpoint_id, node.checkpoint_ns)
            assert len(transactions) == 1
            assert state == reader.state_at(tid, node.checkpoint_id, node.checkpoint_ns)
            if node.parent_checkpoint_id is None:
                assert parent is None
            else:
                assert parent == reader.state_at(tid, node.parent_checkpoint_id, node.checkpoint_ns)

    # LangGraph's own reading of the same rows agrees on the parent and the state's channels.
    head = reader.history(ids["waiting"], include_subgraphs=False)[-1]
    state, parent = reader.state_with_parent(ids["waiting"], head.checkpoint_id)
    with PostgresSaver.from_conn_string(reader.url) as saver:
        own = saver.get_tuple({"configurable": {"thread_id": ids["waiting"], "checkpoint_ns": "",
                                                "checkpoint_id": head.checkpoint_id}})
    assert parent.checkpoint_id == own.parent_config["configurable"]["checkpoint_id"]
    assert set(state.values) == {k for k in own.checkpoint["channel_values"] if k in state.values or
                                 not k.startswith(("__", "branch:", "join:", "start:"))}
    assert len(state.pending_writes) == len(own.pending_writes)

    # Another checkpoint to compare with: a subgraph call's first checkpoint and the root checkpoint it started from.
    history = reader.history(ids["done"])
    first_sub = next(n for n in history if n.checkpoint_ns)
    anchor = first_sub.parents[""]
    state, outer = reader.state_with_parent(ids["done"], first_sub.checkpoint_id, first_sub.checkpoint_ns,
                                            parent=(anchor, ""))
    assert state == reader.state_at(ids["done"], first_sub.checkpoint_id, first_sub.checkpoint_ns)
    assert outer == reader.state_at(ids["done"], anchor) and outer.checkpoint_ns == ""
    same, again = reader.state_with_parent(ids["done"], anchor, "", parent=(anchor, ""))
    assert same == again == outer
    with pytest.raises(UnknownCheckpoint, match="unknown checkpoint 'ffff'"):
        reader.state_with_parent(ids["done"], anchor, "", parent=("ffff", ""))
    with pytest.raises(UnknownCheckpoint, match="unknown checkpoint 'ffff'"):
        reader.state_with_parent(ids["done"], "ffff")
    with pytest.raises(UnknownThread):
        reader.state_with_parent("nope", anchor)


def _ts(reader: CheckpointReader, thread_id: str, checkpoint_id: str) -> str:
    with psycopg.connect(reader.url) as conn:
        return conn.execute("SELECT checkpoint->>'ts' FROM checkpoints WHERE thread_id = %s AND checkpoint_id = %s",
                            (thread_id, checkpoint_id)).fetchone()[0]


@integration
def test_subgraph_checkpoints_and_prefix_lookup(server_down_threads):
    reader, ids, _ = server_down_threads
    sub = [n for n in reader.history(ids["done"]) if n.checkpoint_ns][-1]
    with pytest.raises(UnknownCheckpoint):
        reader.state_at(ids["done"], sub.checkpoint_id)  # root namespace by default
    state = reader.state_at(ids["done"], sub.checkpoint_id, checkpoint_ns=None)
    assert state.checkpoint_ns == sub.checkpoint_ns and state.values["review"]["score"] >= 6
    assert reader.find_checkpoint(ids["done"], sub.checkpoint_id) == (sub.checkpoint_ns, sub.checkpoint_id)
    assert reader.find_checkpoint(ids["done"], sub.checkpoint_id[:-3]) == (sub.checkpoint_ns, sub.checkpoint_id)
    with pytest.raises(UnknownCheckpoint, match="matches several"):
        reader.find_checkpoint(ids["done"], sub.checkpoint_id[:4])


@integration
def test_unknown_thread_and_checkpoint_are_one_line_errors(server_down_threads):
    reader, ids, _ = server_down_threads
    with pytest.raises(UnknownThread, match="unknown thread 'nope'") as exc:
        reader.history("nope")
    assert "\n" not in str(exc.value)
    with pytest.raises(UnknownThread):
        reader.state_at("nope", "1f000000-0000-6000-8000-000000000000")
    with pytest.raises(UnknownCheckpoint, match="unknown checkpoint 'ffff'") as exc:
        reader.state_at(ids["done"], "ffff")
    assert "\n" not in str(exc.value)
    with pytest.raises(UnknownCheckpoint):
        reader.find_checkpoint(ids["done"], "ffff")


@integration
def test_reads_run_in_read_only_transactions(server_down_threads):
    reader, _, _ = server_down_threads
    with reader._transaction() as conn:
        assert conn.execute("SHOW transaction_read_only").fetchone()[0] == "on"
        assert conn.execute("SHOW jit").fetchone()[0] == "off"  # compiling the list's aggregates costs more than it saves
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM checkpoints WHERE thread_id = 'x'")


@integration
def test_schema_version_is_current(server_down_threads):
    reader, _, _ = server_down_threads
    info = reader.schema_version()
    assert info.ok and info.version == KNOWN_SCHEMA_VERSION


# --- scratch databases -----------------------------------------------------------------------------------------------

def _database_url(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


@pytest.fixture
def scratch_db(live_stack):
    """An empty database of its own on the stack's Postgres, dropped afterwards."""
    pg_url, _ = stack_urls(live_stack)
    name = f"lgc_scratch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url, _database_url(pg_url, name)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@integration
def test_a_database_without_checkpoint_tables_is_a_clear_error(scratch_db):
    _, url = scratch_db
    with CheckpointReader(url) as reader:
        for call in (reader.list_threads, reader.count, reader.schema_version, lambda: reader.history("t")):
            with pytest.raises(NoCheckpointTables, match="no checkpoint tables in the database at") as exc:
                call()
            assert "\n" not in str(exc.value) and "***" in str(exc.value)


@integration
def test_missing_or_newer_migrations_are_said_plainly(scratch_db):
    _, url = scratch_db
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE checkpoints (thread_id text)")
        conn.execute("CREATE TABLE checkpoint_blobs (thread_id text)")
        conn.execute("CREATE TABLE checkpoint_writes (thread_id text)")
    with CheckpointReader(url) as reader:
        assert reader.schema_version().status == "missing"
        assert "schema version unknown" in reader.schema_version().message
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE checkpoint_migrations (v integer primary key)")
        assert reader.schema_version().status == "unknown"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO checkpoint_migrations VALUES (%s)", (KNOWN_SCHEMA_VERSION + 3,))
        info = reader.schema_version()
        assert info.status == "newer" and f"{KNOWN_SCHEMA_VERSION + 3} is newer" in info.message


@integration
def test_hand_made_blobs_in_a_scratch_copy_render_as_placeholders(server_down_threads, scratch_db,
                                                                  side_effect_module):
    reader, ids, _ = server_down_threads
    main_url, url = scratch_db
    name, marker = side_effect_module
    from langgraph.checkpoint.postgres import PostgresSaver

    with psycopg.connect(url, autocommit=True) as conn:
        PostgresSaver(conn).setup()
    tid = ids["waiting"]
    with psycopg.connect(main_url) as src, psycopg.connect(url) as dst:
        for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes"):
            cols = [r[0] for r in src.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                (table,))]
            rows = src.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE thread_id = %s", (tid,)).fetchall()
            with dst.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                                [tuple(psycopg.types.json.Jsonb(v) if isinstance(v, dict) else v for v in row)
                                 for row in rows])
        head = reader.history(tid, include_subgraphs=False)[-1]
        versions = dst.execute("SELECT checkpoint->'channel_versions' FROM checkpoints WHERE thread_id = %s "
                               "AND checkpoint_ns = '' AND checkpoint_id = %s", (tid, head.checkpoint_id)).fetchone()[0]

        def set_blob(channel: str, type_: str, blob: bytes) -> None:
            updated = dst.execute("UPDATE checkpoint_blobs SET type = %s, blob = %s WHERE thread_id = %s "
                                  "AND checkpoint_ns = '' AND channel = %s AND version = %s",
                                  (type_, blob, tid, channel, versions[channel]))
            assert updated.rowcount == 1, channel

        set_blob("messages", "pickle", pickle.dumps(TouchOnLoad(str(marker) + ".unpickled")))
        set_blob("results", "zstd+msgpack", b"\x28\xb5\x2f\xfd\x00")
        set_blob("cache", "msgpack", b"\xc1\xc1 not msgpack")
        set_blob("review", "msgpack", ormsgpack.packb({"verdict": ext(2, name, "Secret", {"token": "t", "n": 1})}))
        dst.commit()

    with CheckpointReader(url) as scratch:
        state = scratch.state_at(tid, head.checkpoint_id)
        summaries = scratch.list_threads()
        history = scratch.history(tid)
    assert state.values["messages"] == {PLACEHOLDER_KEY: "pickle", "reason": "pickle is never unpickled",
                                        "size": state.values["messages"]["size"]}
    assert state.values["results"][PLACEHOLDER_KEY] == "zstd+msgpack"
    assert state.values["cache"][PLACEHOLDER_KEY] == "corrupt"
    assert state.values["review"]["verdict"] == {PLACEHOLDER_KEY: f"{name}.Secret", "reason": "blocked",
                                                 "fields": {"token": "t", "n": 1}}
    assert state.unreadable == sorted(["pickle", "zstd+msgpack", "corrupt", f"{name}.Secret"])
    assert state.values["task"] == "Summarise last night's batch jobs"  # the rest still reads
    assert [s.status for s in summaries] == [ThreadStatus.WAITING] and len(history) > 5
    assert not marker.exists() and not Path(str(marker) + ".unpickled").exists() and name not in sys.modules
    assert jsonable(state.to_json())  # and it serialises for --json


@integration
def test_unreachable_postgres_is_one_line_without_the_password(live_stack):
    pg_url, _ = stack_urls(live_stack)
    password = pg_url.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]
    wrong_password = pg_url.replace(password, "not-the-password-" + uuid.uuid4().hex)
    started = time.monotonic()
    for url in (wrong_password, "postgresql://u:hunter2@127.0.0.1:1/db"):
        with CheckpointReader(url, connect_timeout=2) as reader, pytest.raises(CheckpointDbUnreachable) as exc:
            reader.list_threads()
        message = str(exc.value)
        assert message.startswith("cannot connect to Postgres at postgresql://")
        assert "\n" not in message and "***" in message
        assert "hunter2" not in message and "not-the-password" not in message and password not in message
    assert time.monotonic() - started < 10
