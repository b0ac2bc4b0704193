"""lgconsole's opt-in index (`lgconsole threads --create-index`): created only when asked, and the newest-threads
listing that walks it gives exactly what the plain GROUP BY gives."""

from __future__ import annotations

import argparse

import psycopg
import pytest

from lgconsole.console.cli.threads import add_thread_commands, cmd_threads
from lgconsole.console.sources.urls import postgres_url
from lgconsole.stack.checkpoints import thread_walk
from lgconsole.stack.checkpoints.index import RECENT_INDEX, create_recent_index
from lgconsole.stack.checkpoints.reader import CheckpointReader

pytestmark = pytest.mark.integration


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lgconsole")
    add_thread_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def _index_exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (RECENT_INDEX,)).fetchone()[0]


def _drop(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {RECENT_INDEX}")


def _some_threads(live_stack) -> None:
    from lgconsole.stack.server.credentials import sdk_sync_client

    from lgconsole.console.sources.urls import langgraph_url

    client = sdk_sync_client(url=langgraph_url(live_stack), timeout=120)
    try:
        for n in range(3):
            tid = client.threads.create(metadata={"graph_id": "demo"})["thread_id"]
            client.runs.wait(tid, "demo", input={"task": f"index {n}", "delay": 0, **(
                {"fail_at": "coder"} if n == 1 else {})}, raise_error=False)
    finally:
        client.close()


def test_the_index_is_only_made_on_request_and_the_listing_is_the_same(live_stack, capsys):
    url = postgres_url(live_stack)
    _drop(url)
    _some_threads(live_stack)
    with CheckpointReader(url) as reader:
        assert cmd_threads(live_stack, parse("threads", "--limit", "5")) == 0
        assert not _index_exists(url)  # never silently
        assert not reader.has_recent_index()
        plain = [s.to_json() for s in reader.list_threads(limit=50)]
        plain_page = [s.thread_id for s in reader.list_threads(limit=2, offset=1)]
        try:
            capsys.readouterr()
            assert cmd_threads(live_stack, parse("threads", "--create-index", "--limit", "5")) == 0
            err = capsys.readouterr().err
            assert f"index {RECENT_INDEX} created" in err and "CONCURRENTLY" in err
            assert _index_exists(url)
            reader._recent_index_checked = None  # noticed at once, not within the minute
            assert reader.has_recent_index()
            assert [s.to_json() for s in reader.list_threads(limit=50)] == plain
            assert [s.thread_id for s in reader.list_threads(limit=2, offset=1)] == plain_page
            # walking the index is used for the newest-first listing only
            with reader._transaction() as conn:
                assert thread_walk.recent_thread_ids(conn, 3) == [t["thread_id"] for t in plain[:3]]
            again = create_recent_index(url)
            assert not again.created and again.size
        finally:
            _drop(url)
