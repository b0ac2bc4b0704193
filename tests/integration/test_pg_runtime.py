"""The `pg` server runtime (langgraph-runtime-pg) on a stack of its own: it serves the demo from an environment of its
own, keeps runs in Postgres, and a run in flight when the server is killed with SIGKILL is not lost: the restarted
server runs it again itself (from its input: every node of it runs again, which the drill reports and fails on).
The corpus on this runtime: LGCONSOLE_CORPUS_RUNTIME=pg with tests/integration/test_corpus.py."""

from __future__ import annotations

import json

import pytest
from stackutil import lgconsole, own_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_stack():
    with own_stack('[langgraph]\nruntime = "pg"\n', timeout=900) as config:  # the first one builds its environment
        yield config


def test_the_pg_runtime_serves_the_demo_with_runs_and_threads_in_postgres(pg_stack):
    status = json.loads(lgconsole("status", "--json", config=pg_stack.state_path / "lgconsole.toml").stdout)
    server = next(s for s in status["services"] if s["name"] == "langgraph")
    assert server["state"] == "healthy" and server["version"] == "langgraph-api 0.11.1 (pg runtime)", server

    import psycopg

    from lgconsole.console.sources.urls import postgres_url

    with psycopg.connect(postgres_url(pg_stack)) as conn:  # the runtime's own tables, next to the checkpoints
        tables = {name for (name,) in conn.execute("select tablename from pg_tables where schemaname = 'public'")}
    assert {"runs", "threads", "assistants", "checkpoints", "checkpoint_writes"} <= tables


def test_a_run_in_flight_survives_a_kill_of_the_server(pg_stack):
    result = lgconsole("drill", "kill", "langgraph", "--json", config=pg_stack.state_path / "lgconsole.toml",
                       timeout=240)
    report = json.loads(result.stdout)
    assert report["runtime"] == "pg" and report["killed_during"] == ["researcher"]
    assert report["server_knew_run"] and report["run_lost"] is False and report["recovery"] == "re-attached", report
    assert report["thread_status"] == "idle" and report["outcome"] == "approved", report
    # the runtime runs the whole run again from its input: more than the node in flight, so the drill says FAILED
    assert {"supervisor", "researcher"} <= set(report["rerun"]) and not report["ok"]
    assert result.returncode == 1
    assert 0 < report["time_to_restart_s"] <= report["time_to_healthy_s"] < 60
