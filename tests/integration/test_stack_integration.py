"""The real stack, driven through lgconsole's own code and CLI: up, runs, crash recovery, down, bad set-ups."""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import psycopg
import pytest

from lgconsole.stack.services import supervisor
from lgconsole.stack.services.process import process_start_ticks
from lgconsole.stack.services.service import Secrets, StackPaths
from lgconsole.stack.services.supervisor import StackSpec, build_services
from stackutil import (
    all_healthy,
    lgconsole,
    make_config,
    new_state_dir,
    processes_mentioning,
    remove_state_dir,
    start_stack,
    stop_stack,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.integration


def _status(config) -> dict:
    result = lgconsole("status", "--json", config=config.state_path / "lgconsole.toml")
    assert result.returncode in (0, 1), result.stderr
    return {s["name"]: s for s in json.loads(result.stdout)["services"]}


def _urls(config) -> dict:
    services = build_services(StackSpec.load(config.state_path))
    return {name: svc.url() for name, svc in services.items() if svc.enabled}


def test_status_json_lists_every_service_healthy_without_secrets(live_stack):
    result = lgconsole("status", "--json", config=live_stack.state_path / "lgconsole.toml")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    services = {s["name"]: s for s in data["services"]}
    assert data["supervisor"]["running"] is True
    for name in ("postgres", "redis", "langgraph"):
        svc = services[name]
        assert svc["state"] == "healthy"
        assert process_start_ticks(svc["pid"]) is not None
        assert svc["port"] and svc["url"] and svc["version"] and svc["uptime_s"] is not None
    assert services["vllm"]["state"] == "disabled"
    assert services["postgres"]["version"].startswith("PostgreSQL")
    assert services["langgraph"]["version"].startswith("langgraph-api")
    # generated passwords never leave the secrets file
    secrets = json.loads((live_stack.state_path / "secrets.json").read_text())
    for secret in secrets.values():
        assert secret not in result.stdout
    assert "***" in services["postgres"]["url"]
    assert oct((live_stack.state_path / "secrets.json").stat().st_mode)[-3:] == "600"


def test_second_up_is_a_noop_that_says_so(live_stack):
    before = _status(live_stack)
    result = lgconsole("up", config=live_stack.state_path / "lgconsole.toml")
    assert result.returncode == 0
    assert "already running" in result.stdout
    after = _status(live_stack)
    assert {n: s["pid"] for n, s in before.items()} == {n: s["pid"] for n, s in after.items()}


def test_demo_run_leaves_checkpoints_in_postgres_and_tool_cache_in_redis(live_stack):
    from lgconsole.stack.server.credentials import sdk_sync_client

    urls = _urls(live_stack)
    client = sdk_sync_client(url=urls["langgraph"])
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], "demo", input={"task": "integration check"})
    assert client.threads.get(thread["thread_id"])["status"] == "interrupted"  # waits at human approval
    with psycopg.connect(urls["postgres"]) as conn:
        count = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s",
                             (thread["thread_id"],)).fetchone()[0]
        writes = conn.execute("SELECT count(*) FROM checkpoint_writes WHERE thread_id = %s AND channel = '__interrupt__'",
                              (thread["thread_id"],)).fetchone()[0]
        # sized to the machine (stack/services/postgres.py), not Postgres's 128 MB: the thread list reads whole indexes
        buffers_mb = conn.execute("SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = 'shared_buffers'"
                                  ).fetchone()[0]
    from lgconsole.stack.services.postgres import auto_shared_buffers_mb

    assert buffers_mb == auto_shared_buffers_mb()
    assert count >= 5
    assert writes >= 1
    import redis

    keys = redis.Redis.from_url(urls["redis"]).keys("lgconsole:demo:tool:*")
    assert keys, "the researcher's tool result is cached in Redis"
    client.close()


def test_kill_9_of_the_server_is_restarted_and_status_says_so(live_stack):
    from lgconsole.stack.server.credentials import sdk_sync_client

    urls = _urls(live_stack)
    client = sdk_sync_client(url=urls["langgraph"])
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], "demo", input={"task": "survive a crash"})
    client.close()
    time.sleep(11)  # the dev runtime flushes its thread index every ~10 s (facts)

    before = _status(live_stack)["langgraph"]
    os.kill(before["pid"], signal.SIGKILL)
    restarted = wait_for(lambda: (s := _status(live_stack)["langgraph"]) and s["state"] == "healthy"
                         and s["pid"] != before["pid"] and s, timeout=60, what="langgraph restarted")
    assert restarted["restarts"] == before["restarts"] + 1
    assert "SIGKILL" in restarted["last_error"]
    text = lgconsole("status", config=live_stack.state_path / "lgconsole.toml").stdout
    assert "langgraph" in text and "healthy" in text

    # the thread's history survives: checkpoints are in Postgres, not in the killed process
    client = sdk_sync_client(url=urls["langgraph"])
    history = client.threads.get_history(thread["thread_id"], limit=50)
    assert len(history) >= 5
    client.close()


def test_logs_prints_the_service_log(live_stack):
    result = lgconsole("logs", "postgres", "-n", "5", config=live_stack.state_path / "lgconsole.toml")
    assert result.returncode == 0
    assert 0 < len(result.stdout.splitlines()) <= 5
    assert "\x1b[" not in lgconsole("logs", "langgraph", config=live_stack.state_path / "lgconsole.toml").stdout


def test_busy_port_is_a_clear_error_and_nothing_starts():
    state_dir = new_state_dir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config_file = write_config(state_dir, f"[langgraph]\nport = {port}\n")
        result = lgconsole("up", config=config_file)
    try:
        assert result.returncode == 1
        assert f"langgraph: port {port} on 127.0.0.1 is already in use" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not processes_mentioning(str(state_dir))
    finally:
        remove_state_dir(state_dir)


def test_missing_postgres_binaries_name_the_package(tmp_path):
    state_dir = new_state_dir()
    config_file = write_config(state_dir, f'[postgres]\nbin_dir = "{tmp_path}"\n')
    result = lgconsole("up", config=config_file)
    remove_state_dir(state_dir)
    assert result.returncode == 1
    assert "postgresql" in result.stderr and "apt-get install" in result.stderr
    assert "Traceback" not in result.stderr


def test_external_services_are_only_checked_and_down_leaves_nothing(live_stack):
    """A second stack using the first one's Postgres and Redis by URL: it checks them, never starts or stops them."""
    urls = _urls(live_stack)
    state_dir = new_state_dir()
    config = make_config(state_dir)
    config.postgres.url, config.redis.url = urls["postgres"], urls["redis"]
    try:
        state = start_stack(config)
        pg = state.by_name("postgres")
        assert pg.managed is False and pg.pid is None and "***" in pg.url
        lg = state.by_name("langgraph")
        assert lg.pid and lg.managed
        stopped_pid = lg.pid
    finally:
        stop_stack(config)
    assert process_start_ticks(stopped_pid) is None
    assert not processes_mentioning(str(state_dir))
    remove_state_dir(state_dir)
    # the external services are untouched
    assert all_healthy(live_stack)


def test_down_after_the_supervisor_died_still_stops_everything_by_pid():
    state_dir = new_state_dir()
    config = make_config(state_dir, "[langgraph]\nn_jobs_per_worker = 1\n")
    try:
        state = start_stack(config)
        pids = [s.pid for s in state.services if s.pid]
        os.kill(state.supervisor_pid, signal.SIGKILL)
        wait_for(lambda: not supervisor.supervisor_running(config.state_path), 10, what="supervisor gone")
        result = lgconsole("down", config=config.state_path / "lgconsole.toml")
        assert result.returncode == 0
        assert "stopped leftover processes" in result.stdout
        assert not [p for p in pids if process_start_ticks(p) is not None]
        assert not processes_mentioning(str(state_dir))
    finally:
        stop_stack(config)
        remove_state_dir(state_dir)


def test_postgres_runs_unprivileged_when_we_are_root(live_stack):
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    pid = _status(live_stack)["postgres"]["pid"]
    uid = os.stat(f"/proc/{pid}").st_uid
    assert uid != 0


def test_secrets_file_and_paths_are_private(live_stack):
    paths = StackPaths(live_stack.state_path)
    assert Secrets(paths.secrets_file).get("postgres_password")
    mode = paths.control_socket.stat().st_mode & 0o777
    assert mode & 0o077 == 0


def test_a_broken_graph_project_fails_up_with_the_reason(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "agent.py").write_text('raise ImportError("no module named missing_dep")\n')
    (project / "langgraph.json").write_text('{"dependencies": ["."], "graphs": {"agent": "./agent.py:graph"}}')
    state_dir = new_state_dir()
    config_file = write_config(state_dir, f'[project]\npath = "{project}"\n')
    try:
        result = lgconsole("up", config=config_file)
        assert result.returncode == 1
        assert "langgraph" in result.stdout and "missing_dep" in result.stdout
        assert "graph 'agent' failed to load: ImportError: no module named missing_dep" in result.stderr
        assert "the stack is stopped (nothing left running)" in result.stderr  # the project is at fault: no retries
    finally:
        lgconsole("down", config=config_file)
        left = processes_mentioning(str(state_dir))
        remove_state_dir(state_dir)
    assert not left
