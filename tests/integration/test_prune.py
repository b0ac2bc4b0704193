"""`lgconsole prune` on a real Postgres: in a scratch database on the live stack's cluster, threads are generated from
the rows of a real demo run (thread ids rewritten, uuid6 checkpoint ids and `ts` moved back in time), then a dry run,
a deleting run, live runs on the real server, a checkpoint written between plan and execute, and a server that is
down. The generator (`install_template`, `generate_threads`) is tests/bench/checkpoint_data.py, shared with the
benchmarks."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

# the shared generator (tests/bench/checkpoint_data.py): real rows of a template thread, copied under new thread
# ids and moved back in time
from bench.checkpoint_data import TABLES, admin_url, generate_threads, install_template
from lgconsole.stack.checkpoints.ids import checkpoint_id_floor, checkpoint_time
from lgconsole.stack.checkpoints.prune import PruneRefused, execute_prune, plan_prune
from stackutil import lgconsole, make_config, new_state_dir, remove_state_dir, stack_token

# --- fixtures ---------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server_url(live_stack):
    from lgconsole.console.sources.urls import langgraph_url

    return langgraph_url(live_stack)


@pytest.fixture(scope="module")
def scratch(live_stack, server_url):
    """A database of its own on the live stack's Postgres: the checkpointer's and store's tables, one stored item,
    and the template (a real demo thread run to its end: root and subgraph checkpoints, blobs, writes)."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.store.postgres import PostgresStore
    from lgconsole.stack.server.credentials import sdk_sync_client
    from lgconsole.console.sources.urls import postgres_url

    main_url = postgres_url(live_stack)
    name = f"lgc_prune_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url(main_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url(main_url, name)
    client = sdk_sync_client(url=server_url, timeout=60)
    try:
        thread = client.threads.create(metadata={"graph_id": "demo", "test": "prune-template"})
        client.runs.wait(thread["thread_id"], "demo", input={"task": "prune template", "delay": 0})
        client.runs.wait(thread["thread_id"], "demo", command={"resume": True})
        with PostgresSaver.from_conn_string(url) as saver:
            saver.setup()
        with PostgresStore.from_conn_string(url) as store:
            store.setup()
            store.put(("lgconsole", "prune-test"), "kept", {"the store": "is never touched"})
        with psycopg.connect(url) as conn:
            sizes = install_template(conn, main_url, thread["thread_id"])
        assert sizes["checkpoints"] > 10 and sizes["checkpoint_writes"] > 10 and sizes["checkpoint_blobs"] > 10
        yield {"url": url, "template": sizes, "name": name}
    finally:
        client.close()
        with psycopg.connect(admin_url(main_url, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(scratch):
    """Empty checkpoint tables before each test (the template and the store stay)."""
    with psycopg.connect(scratch["url"]) as conn:
        conn.execute("TRUNCATE checkpoints, checkpoint_blobs, checkpoint_writes")
        conn.commit()
        yield conn


@pytest.fixture
def cli(scratch, server_url, live_stack):
    """`lgconsole` with a config naming the scratch database and the live server (or another server URL), the
    server's token as its api_key (the live server is an external one to this config)."""
    dirs = []
    token = stack_token(live_stack)

    def run(*args: str, server: str | None = None):
        state_dir = new_state_dir()
        dirs.append(state_dir)
        config = make_config(state_dir, f'[postgres]\nurl = "{scratch["url"]}"\n'
                                        f'[langgraph]\nurl = "{server or server_url}"\napi_key = "{token}"\n')
        assert config.postgres.url
        return lgconsole(*args, config=state_dir / "lgconsole.toml")

    yield run
    for d in dirs:
        remove_state_dir(d)


def new_ids(n: int, prefix: str = "") -> list[str]:
    """Fresh thread ids; without a prefix plain UUIDs, as the server wants them."""
    return [f"{prefix}-{uuid.uuid4()}" if prefix else str(uuid.uuid4()) for _ in range(n)]


def rows_of(conn: psycopg.Connection, ids: list[str]) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t} WHERE thread_id = ANY(%s)", (ids,)).fetchone()[0]
            for t in TABLES}


def all_rows(conn: psycopg.Connection) -> dict[str, int]:
    found = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    found["store"] = conn.execute("SELECT count(*) FROM store").fetchone()[0]
    conn.commit()
    return found


def populate(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Old threads (8, 30 and 400 days), new ones (1 hour, 6 days), one whose root is old but whose latest (subgraph)
    checkpoint is an hour old, and one whose ids are not uuid6 (age unknown)."""
    old, new = new_ids(3, "old"), new_ids(2, "new")
    mixed, undated = new_ids(1, "mixed"), new_ids(1, "undated")
    now = datetime.now(UTC)
    generate_threads(conn, dict(zip(old, [timedelta(days=8), timedelta(days=30), timedelta(days=400)])), now)
    generate_threads(conn, dict(zip(new, [timedelta(hours=1), timedelta(days=6)])), now)
    generate_threads(conn, {mixed[0]: timedelta(days=30), undated[0]: timedelta(days=30)}, now)
    # `mixed`: a subgraph checkpoint written an hour ago (max(checkpoint_id) over every namespace decides)
    recent = checkpoint_id_floor(now - timedelta(hours=1))[:19] + "8000-000000000001"
    conn.execute("""INSERT INTO checkpoints SELECT thread_id, 'review:recent', %s, NULL, type, checkpoint, metadata
                    FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = '' LIMIT 1""", (recent, mixed[0]))
    # `undated`: uuid4 ids everywhere, as another tool might write them
    conn.execute("UPDATE checkpoints SET checkpoint_id = gen_random_uuid()::text WHERE thread_id = %s", (undated[0],))
    conn.commit()
    return {"old": old, "new": new, "mixed": mixed, "undated": undated}


# --- integration: the real Postgres and server ------------------------------------------------------------------------

@pytest.mark.integration
def test_the_generator_moves_ids_and_ts_back_in_time(db):
    [tid] = new_ids(1, "gen")
    now = datetime.now(UTC)
    generate_threads(db, {tid: timedelta(days=30)}, now)
    rows = db.execute("SELECT checkpoint_id, parent_checkpoint_id, checkpoint ->> 'id', checkpoint ->> 'ts', "
                      "metadata ->> 'thread_id' FROM checkpoints WHERE thread_id = %s", (tid,)).fetchall()
    latest = max(r[0] for r in rows)
    assert abs((checkpoint_time(latest) - (now - timedelta(days=30))).total_seconds()) < 0.001
    ids = {r[0] for r in rows}
    for cid, parent, json_id, ts, meta_tid in rows:
        assert json_id == cid and meta_tid == tid
        assert parent is None or parent in ids
        assert abs((datetime.fromisoformat(ts) - checkpoint_time(cid)).total_seconds()) < 0.01


@pytest.mark.integration
def test_dry_run_reports_exact_counts_and_deletes_nothing(db, scratch, cli):
    threads = populate(db)
    before = all_rows(db)
    result = cli("prune", "--older-than", "7d", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    plan = report["plan"]
    assert report["dry_run"] is True and report["result"] is None and report["server"]["reachable"] is True
    assert sorted(plan["thread_ids"]) == sorted(threads["old"])
    tpl = scratch["template"]
    assert plan["rows"] == {t: 3 * tpl[t] for t in TABLES} == rows_of(db, threads["old"])
    assert plan["threads"] == 3 and plan["threads_total"] == 7 and plan["undated_threads"] == 1
    assert plan["protected"] == []
    now = datetime.now(UTC)
    oldest, newest = (datetime.fromisoformat(plan[k]) for k in ("oldest_activity", "newest_activity"))
    assert abs((now - oldest) - timedelta(days=400)) < timedelta(minutes=2)
    assert abs((now - newest) - timedelta(days=8)) < timedelta(minutes=2)
    assert all_rows(db) == before

    text = cli("prune", "--older-than", "7d")  # the default is a dry run, also without --dry-run
    assert text.returncode == 0, text.stderr
    assert f"would delete 3 threads: {3 * tpl['checkpoints']:,} checkpoints" in text.stdout
    assert "dry run: nothing was deleted" in text.stdout and "not a uuid6" in text.stdout
    assert all_rows(db) == before


@pytest.mark.integration
def test_yes_deletes_exactly_the_old_threads_in_batches(db, scratch, cli):
    threads = populate(db)
    kept = threads["new"] + threads["mixed"] + threads["undated"]
    kept_before, before = rows_of(db, kept), all_rows(db)
    result = cli("prune", "--older-than", "7d", "--yes", "--batch", "2", "--json")
    assert result.returncode == 0, result.stderr
    done = json.loads(result.stdout)["result"]
    tpl = scratch["template"]
    assert sorted(done["deleted_thread_ids"]) == sorted(threads["old"]) and done["batches"] == 2
    assert done["rows"] == {t: 3 * tpl[t] for t in TABLES}
    assert rows_of(db, threads["old"]) == dict.fromkeys(TABLES, 0)
    assert rows_of(db, kept) == kept_before
    after = all_rows(db)
    assert after["store"] == before["store"] == 1
    assert {t: before[t] - after[t] for t in TABLES} == done["rows"]

    again = cli("prune", "--older-than", "7d", "--yes")
    assert again.returncode == 0 and "deleted 0 threads" in again.stdout


@pytest.mark.integration
def test_threads_with_a_pending_or_running_run_are_never_touched(db, scratch, cli, server_url):
    """Old threads in the tables whose ids have a run on the real server: one pending (scheduled 10 minutes out),
    one running (a demo run whose workers sleep 60 s). Prune skips both and says so."""
    from lgconsole.stack.server.credentials import sdk_sync_client
    from stackutil import wait_for

    client = sdk_sync_client(url=server_url, timeout=30)
    pending_tid, running_tid = new_ids(2)
    runs = []
    try:
        for tid in (pending_tid, running_tid):
            client.threads.create(thread_id=tid, metadata={"graph_id": "demo", "test": "prune-busy"})
        runs.append((pending_tid, client.runs.create(pending_tid, "demo", input={"task": "later"},
                                                     after_seconds=600)["run_id"]))
        slow = client.runs.create(running_tid, "demo", input={"task": "slow", "delay": 60})
        runs.append((running_tid, slow["run_id"]))
        wait_for(lambda: client.runs.get(running_tid, runs[1][1])["status"] == "running", 30, what="the run running")
        [idle_old] = new_ids(1, "old")
        generate_threads(db, {pending_tid: timedelta(days=30), running_tid: timedelta(days=90),
                              idle_old: timedelta(days=30)})
        protected_before = rows_of(db, [pending_tid, running_tid])

        text = cli("prune", "--older-than", "7d")
        assert "skipped, a run is pending or running on the server: 2 thread(s)" in text.stdout, text.stdout
        assert f"run {runs[0][1]} pending" in text.stdout and f"run {runs[1][1]} running" in text.stdout

        result = cli("prune", "--older-than", "7d", "--yes", "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert sorted(p["thread_id"] for p in report["plan"]["protected"]) == sorted([pending_tid, running_tid])
        assert report["result"]["deleted_thread_ids"] == [idle_old]
        assert rows_of(db, [pending_tid, running_tid]) == protected_before
        assert rows_of(db, [idle_old]) == dict.fromkeys(TABLES, 0)
    finally:
        for tid, run_id in runs:
            try:
                client.runs.cancel(tid, run_id, action="rollback")
            except Exception:
                pass
        client.close()


@pytest.mark.integration
def test_a_thread_written_between_plan_and_execute_is_skipped(db, scratch):
    """The plan sees three old threads; then the real checkpointer saves a new checkpoint on one of them, and a run
    becomes live on another: execute re-checks inside each batch and deletes only the third."""
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.postgres import PostgresSaver

    old = new_ids(3, "old")
    generate_threads(db, dict(zip(old, [timedelta(days=9), timedelta(days=10), timedelta(days=11)])))
    plan = plan_prune(scratch["url"], timedelta(days=7), set())
    assert sorted(plan.thread_ids) == sorted(old)
    written, busy, idle = old
    head = db.execute("SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = ''",
                      (written,)).fetchone()[0]
    db.commit()
    with PostgresSaver.from_conn_string(scratch["url"]) as saver:
        config = {"configurable": {"thread_id": written, "checkpoint_ns": "", "checkpoint_id": head}}
        saver.put(config, empty_checkpoint(), {"source": "update", "step": 99}, {})
    written_before = rows_of(db, [written])
    busy_before = rows_of(db, [busy])

    seen = []
    result = execute_prune(scratch["url"], plan, batch_threads=1, progress=seen.append,
                           still_protected=lambda: {busy})
    assert result.deleted == [idle]
    assert result.skipped_new_activity == [written] and result.skipped_protected == [busy]
    assert rows_of(db, [written]) == written_before and rows_of(db, [busy]) == busy_before
    assert rows_of(db, [idle]) == dict.fromkeys(TABLES, 0)
    assert [p.batch for p in seen] == [1, 2, 3] and seen[-1].threads_done == 1 and seen[-1].threads_skipped == 2


@pytest.mark.integration
def test_a_checkpoint_being_saved_while_a_batch_starts_is_seen_by_the_recheck(db, scratch):
    """A checkpointer `put` in flight (blobs written, checkpoint row not yet, one transaction, as the saver does it)
    on an old thread while a batch starts: the batch waits for its lock, the put commits, the re-check sees the new
    checkpoint and leaves the thread whole, including the blob the put wrote."""
    from langgraph.checkpoint.base.id import uuid6

    saving, idle = new_ids(2, "old")
    generate_threads(db, {saving: timedelta(days=30), idle: timedelta(days=30)})
    plan = plan_prune(scratch["url"], timedelta(days=7), set())
    writer = psycopg.connect(scratch["url"])
    try:
        writer.execute("INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) "
                       "VALUES (%s, '', 'in-flight', '999', 'msgpack', '\\x00')", (saving,))
        outcome: dict = {}
        pruning = threading.Thread(target=lambda: outcome.update(result=execute_prune(scratch["url"], plan)))
        pruning.start()
        time.sleep(0.5)
        assert pruning.is_alive(), "the batch must wait for the writer's transaction"
        writer.execute("""INSERT INTO checkpoints SELECT thread_id, checkpoint_ns, %s, checkpoint_id, type, checkpoint,
                          metadata FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = ''
                          ORDER BY checkpoint_id DESC LIMIT 1""", (str(uuid6()), saving))
        writer.commit()
        pruning.join(15)
    finally:
        writer.close()
    result = outcome["result"]
    assert result.deleted == [idle] and result.skipped_new_activity == [saving]
    assert db.execute("SELECT count(*) FROM checkpoint_blobs WHERE thread_id = %s AND channel = 'in-flight'",
                      (saving,)).fetchone()[0] == 1
    assert rows_of(db, [saving])["checkpoints"] == scratch["template"]["checkpoints"] + 1


@pytest.mark.integration
def test_a_server_that_stops_answering_stops_the_prune_between_batches(db, scratch):
    from lgconsole.stack.server.busy import LangGraphUnreachable

    old = new_ids(3, "old")
    generate_threads(db, dict.fromkeys(old, timedelta(days=30)))
    plan = plan_prune(scratch["url"], timedelta(days=7), set())
    asked = []

    def busy() -> set[str]:
        asked.append(1)
        if len(asked) > 1:
            raise LangGraphUnreachable("the LangGraph server at http://127.0.0.1:9 does not answer (refused)")
        return set()

    with pytest.raises(PruneRefused) as info:
        execute_prune(scratch["url"], plan, batch_threads=1, still_protected=busy)
    assert "stopped before batch 2/3; 1 thread(s) were deleted before it" in str(info.value)
    assert sorted(rows_of(db, [t])["checkpoints"] for t in old) == [0, *[scratch["template"]["checkpoints"]] * 2]


@pytest.mark.integration
def test_server_down_refuses_to_delete_unless_forced(db, scratch, cli):
    from lgconsole.stack.services.ports import free_port

    threads = populate(db)
    before = all_rows(db)
    down = f"http://127.0.0.1:{free_port()}"
    refused = cli("prune", "--older-than", "7d", "--yes", server=down)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not answer" in lines[0] and "--force-server-down" in lines[0], refused.stderr
    assert "Traceback" not in refused.stderr
    assert all_rows(db) == before

    dry = cli("prune", "--older-than", "7d", server=down)
    assert dry.returncode == 0 and "live runs were NOT checked" in dry.stdout and "would delete 3 threads" in dry.stdout

    forced = cli("prune", "--older-than", "7d", "--yes", "--force-server-down", "--json", server=down)
    assert forced.returncode == 0, forced.stderr
    report = json.loads(forced.stdout)
    assert report["server"]["reachable"] is False
    assert sorted(report["result"]["deleted_thread_ids"]) == sorted(threads["old"])


@pytest.mark.integration
def test_bad_database_is_one_line(cli, scratch):
    from lgconsole.stack.services.ports import free_port

    state_dir = new_state_dir()
    try:
        config = make_config(state_dir, f'[postgres]\nurl = "postgresql://u:secret@127.0.0.1:{free_port()}/x"\n'
                                             f'[langgraph]\nurl = "http://127.0.0.1:{free_port()}"\n')
        result = lgconsole("prune", "--older-than", "7d", config=state_dir / "lgconsole.toml")
    finally:
        remove_state_dir(state_dir)
    assert config.postgres.url
    assert result.returncode == 1 and "cannot connect to Postgres" in result.stderr
    assert "secret" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
