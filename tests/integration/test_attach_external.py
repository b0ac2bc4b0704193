"""Attach to services lgconsole did not start: a Postgres cluster this test makes itself (initdb + postgres) and a
plain `langgraph dev` in a project of its own, then only POSTGRES_URL and LANGGRAPH_URL. `status` and `doctor` probe
them (no `up`, no supervisor): "external · healthy", exit 0; each stopped in turn reads "external · down" with the
reason, `status` exits 1 and `doctor` 6. `up` starts nothing for such a deployment."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from lgconsole.stack.services.ports import free_port
from stackutil import bare_postgres, lgconsole, new_state_dir, processes_mentioning, remove_state_dir, wait_for, write_config

pytestmark = pytest.mark.integration

PASSWORD = "attach-pw-51"
GRAPH = textwrap.dedent('''
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph


    class State(TypedDict):
        text: str


    def echo(state: State) -> State:
        return {"text": state["text"]}


    graph = StateGraph(State).add_node("echo", echo).add_edge(START, "echo").add_edge("echo", END).compile()
''')


@contextmanager
def own_langgraph_dev(where: Path):
    """`langgraph dev` serving a one-node graph, as a user would start it (no lgconsole), stopped by PID."""
    project = where / "project"
    project.mkdir()
    (project / "graph.py").write_text(GRAPH)
    (project / "langgraph.json").write_text(json.dumps({"dependencies": ["."], "graphs": {"echo": "./graph.py:graph"}}))
    port = free_port()
    cli = Path(sys.executable).parent / "langgraph"
    env = {**os.environ, "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false"}
    server = subprocess.Popen([str(cli), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port",
                               str(port)], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: server.poll() is None and _answers(url), 180, interval=0.5, what="the test's langgraph dev")
        yield server, url
    finally:
        stop(server, signal.SIGTERM, group=True)


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/ok", timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def stop(process: subprocess.Popen, sig: int, group: bool = False) -> None:
    if process.poll() is not None:
        return
    if group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
        process.wait(timeout=10)


def status(config_file: Path, env: dict) -> tuple[int, dict]:
    done = lgconsole("status", "--json", config=config_file, env=env)
    assert done.stderr == "", done.stderr
    return done.returncode, {s["name"]: s for s in json.loads(done.stdout)["services"]}


def doctor(config_file: Path, env: dict) -> tuple[int, list[str], str]:
    done = lgconsole("doctor", config=config_file, env=env)
    assert done.stderr == "" and "Traceback" not in done.stdout, done.stderr
    lines = [line for line in done.stdout.splitlines() if line and not line.startswith((" ", "info  "))]
    return done.returncode, lines, done.stdout


def test_attach_to_a_postgres_and_a_server_started_without_lgconsole():
    where = new_state_dir()
    state_dir = where / "state"
    try:
        with bare_postgres(where, user="app", password=PASSWORD) as (pg, pg_url), own_langgraph_dev(where) as (server, lg_url):
            from langgraph.checkpoint.postgres import PostgresSaver

            with PostgresSaver.from_conn_string(pg_url) as saver:  # the tables a server with this checkpointer has
                saver.setup()
            state_dir.mkdir()
            config_file = write_config(state_dir)
            env = {"POSTGRES_URL": pg_url, "LANGGRAPH_URL": lg_url}

            code, services = status(config_file, env)
            assert code == 0, services
            assert services["postgres"]["label"] == "external · healthy"
            assert services["postgres"]["version"].startswith("PostgreSQL ")
            assert services["langgraph"]["label"] == "external · healthy"
            assert services["langgraph"]["version"].startswith("langgraph-api ")
            assert services["redis"]["state"] == "disabled" and "LangGraph server is external" in \
                services["redis"]["detail"]
            text = lgconsole("status", config=config_file, env=env)
            assert text.returncode == 0 and PASSWORD not in text.stdout and "external · healthy" in text.stdout
            assert "supervisor: not needed" in text.stdout

            code, lines, out = doctor(config_file, env)
            assert (code, lines) == (0, ["all well: no warnings, nothing critical"]), out

            up = lgconsole("up", config=config_file, env=env)
            assert up.returncode == 0 and up.stdout.startswith("nothing to start"), up.stdout + up.stderr
            assert not (state_dir / "spec.json").exists() and not processes_mentioning(str(state_dir))

            wrong = {**env, "POSTGRES_URL": pg_url.replace(PASSWORD, "not-the-password")}
            code, services = status(config_file, wrong)
            assert code == 1 and services["postgres"]["label"] == "external · down"
            assert services["postgres"]["detail"] == "bad password (authentication failed)"

            stop(server, signal.SIGTERM, group=True)
            start = time.monotonic()
            code, services = status(config_file, env)
            took = time.monotonic() - start
            assert code == 1 and services["langgraph"]["label"] == "external · down"
            assert services["langgraph"]["detail"] == "connection refused"
            assert services["postgres"]["label"] == "external · healthy"
            code, lines, out = doctor(config_file, env)
            assert code == 6 and lines == [f"CRIT  langgraph (external, {lg_url}) is down: connection refused"], out
            print(f"status with the server down: {took:.2f} s (a process of its own, imports included)")

            stop(pg, signal.SIGINT)
            code, services = status(config_file, env)
            assert code == 1 and services["postgres"]["label"] == "external · down"
            assert services["postgres"]["detail"] == "connection refused"
            code, lines, out = doctor(config_file, env)
            assert code == 6 and sorted(lines) == sorted([
                f"CRIT  langgraph (external, {lg_url}) is down: connection refused",
                f"CRIT  postgres (external, {pg_url.replace(PASSWORD, '***')}) is down: connection refused"]), out
            assert PASSWORD not in out
    finally:
        left = processes_mentioning(str(where))
        shutil.rmtree(where, ignore_errors=True)
        remove_state_dir(state_dir)
        assert not left, f"processes left: {left}"


async def test_the_stack_screen_probes_them_and_sees_the_server_go_down():
    """The console with a real LiveStack and only the URLs: the rows read "external · healthy", and once the server is
    stopped "external · down" within a probe interval or two, the screen answering keys all the while."""
    import asyncio

    from lgconsole.console.app import LgConsoleApp
    from lgconsole.console.config import load_config
    from pilotwait import pilot_wait

    where = new_state_dir()
    state_dir = where / "state"
    state_dir.mkdir()
    try:
        with bare_postgres(where, user="app", password=PASSWORD) as (pg, pg_url), own_langgraph_dev(where) as (server, lg_url):
            config = load_config(write_config(state_dir), env={"POSTGRES_URL": pg_url, "LANGGRAPH_URL": lg_url})
            app = LgConsoleApp(config, triage_first=False)
            async with app.run_test(size=(120, 30)) as pilot:
                table = app.screen.query_one("#services")

                def state_of(name: str) -> str:
                    return str(table.get_cell(name, "state"))

                await pilot_wait(pilot, lambda: state_of("langgraph").endswith("external · healthy")
                                 and state_of("postgres").endswith("external · healthy"), timeout=15,
                                 what="both services healthy on the Stack screen")
                assert state_of("redis").endswith("disabled")
                await asyncio.to_thread(stop, server, signal.SIGTERM, True)
                await pilot_wait(pilot, lambda: state_of("langgraph").endswith("external · down"), timeout=15,
                                 what="the server down on the Stack screen")
                await pilot.press("down", "down", "down")
                detail = app.screen.query_one("#service-detail")
                await pilot_wait(pilot, lambda: "down: connection refused" in str(detail.render()), timeout=5,
                                 what="the reason in the detail")
                await pilot.press("up", "up", "up")  # postgres: its URL shown without the password
                await pilot_wait(pilot, lambda: "postgresql://app:***@127.0.0.1" in str(detail.render()), timeout=5,
                                 what="the Postgres URL in the detail")
                assert PASSWORD not in str(detail.render())
    finally:
        left = processes_mentioning(str(where))
        shutil.rmtree(where, ignore_errors=True)
        assert not left, f"processes left: {left}"
