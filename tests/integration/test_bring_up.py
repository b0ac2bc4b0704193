"""Bringing the stack up side by side, with real processes: the LangGraph server is launched while Postgres is still
being initialised and waits for it itself, a Postgres that cannot be initialised is reported as such (the server
says what it waits for) and `down` still stops everything by PID; the supervisor's own Redis probe answers as
redis-py's does against a real redis-server."""

from __future__ import annotations

import json
import stat
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgconsole.stack.services import process
from lgconsole.stack.services.postgres import find_postgres_bin_dir
from lgconsole.stack.services.ports import free_port
from lgconsole.stack.services.redis import RedisService
from lgconsole.stack.services.service import Secrets, StackPaths
from stackutil import lgconsole, new_state_dir, processes_mentioning, remove_state_dir, wait_for, write_config

pytestmark = pytest.mark.integration


def _status(config_file: Path) -> dict:
    result = lgconsole("status", "--json", config=config_file)
    return {s["name"]: s for s in json.loads(result.stdout)["services"]}


def test_a_postgres_that_cannot_be_initialised_is_reported_and_down_stops_the_server_waiting_for_it():
    state_dir = new_state_dir()
    # the real postgres beside an initdb that fails as a full disk would (outside the state dir, which `up` makes
    # private: as root, the cluster's unprivileged user runs them)
    bin_dir = Path(tempfile.mkdtemp(prefix="lgc-test-pgbin-", dir="/tmp"))
    bin_dir.chmod(0o755)
    (bin_dir / "postgres").symlink_to(find_postgres_bin_dir() / "postgres")
    initdb = bin_dir / "initdb"
    initdb.write_text("#!/bin/sh\necho 'initdb: error: could not write to file: No space left on device' >&2\n"
                      "exit 1\n")
    initdb.chmod(initdb.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    config_file = write_config(state_dir, f'[postgres]\nbin_dir = "{bin_dir}"\n')
    try:
        result = lgconsole("up", config=config_file)
        assert result.returncode == 1
        assert "postgres   failed: postgres: initdb failed in" in result.stdout
        assert "No space left on device" in result.stdout
        # the server was launched alongside; it says what it waits for instead of failing on its own
        server = wait_for(lambda: (s := _status(config_file)["langgraph"])["detail"] and
                          "waiting for Postgres to accept connections" in s["detail"] and s, 90,
                          what="the server's log line saying it waits for Postgres")
        assert server["state"] == "starting" and server["pid"]
        assert _status(config_file)["postgres"]["state"] in ("failed", "starting")  # retried with backoff
        down = lgconsole("down", config=config_file)
        assert down.returncode == 0, down.stderr
        assert process.process_start_ticks(server["pid"]) is None
    finally:
        lgconsole("down", config=config_file)
        left = processes_mentioning(str(state_dir))
        remove_state_dir(state_dir)
        remove_state_dir(bin_dir)
    assert not left


@pytest.fixture(scope="module")
def own_redis():
    """A redis-server as the supervisor runs it (RedisService's config), stopped by PID at the end."""
    state_dir = new_state_dir()
    paths = StackPaths(state_dir)
    service = RedisService({"port": free_port()}, paths, Secrets(paths.secrets_file))
    service.prepare()
    child = process.spawn(service.launch_spec({}))
    try:
        wait_for(lambda: service.health(timeout=1.0).ok, 30, interval=0.05, what="redis-server up")
        yield service
    finally:
        process.stop(process.ref_for(child.pid), child=child)
        remove_state_dir(state_dir)


def redis_py_probe(service: RedisService, password: str):
    """The plain path: redis-py, as for an external Redis, with this password."""
    url = f"redis://:{quote(password, safe='')}@127.0.0.1:{service.port}/0"
    return RedisService({"url": url}, service.paths, service.secrets).health(timeout=2.0)


def own_probe(service: RedisService, password: str):
    """The supervisor's path for the Redis it runs, with this password in its secrets."""
    path = service.paths.state_dir / f"probe-{time.monotonic_ns()}.json"
    path.write_text(json.dumps({"redis_password": password}))
    try:
        return RedisService({"port": service.port}, service.paths, Secrets(path)).health(timeout=2.0)
    finally:
        path.unlink()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_the_supervisors_redis_probe_agrees_with_redis_py_for_any_password(own_redis, password):
    right = own_redis.secrets.get("redis_password")
    for candidate in (password, right):
        fast, plain = own_probe(own_redis, candidate), redis_py_probe(own_redis, candidate)
        assert fast.ok == plain.ok == (candidate == right), (candidate, fast, plain)
        assert fast.version == plain.version


def test_the_supervisors_redis_probe_says_when_nothing_listens(tmp_path):
    paths = StackPaths(tmp_path)
    secrets = Secrets(paths.secrets_file)
    closed = RedisService({"port": free_port()}, paths, secrets)
    health = closed.health(timeout=1.0)
    assert not health.ok and "refused" in health.detail.lower()
