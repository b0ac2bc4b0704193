"""Faults on a real stack of its own (it kills services): prune deletes the server's thread records too, a killed
supervisor is reported within 2 s and `up` adopts the services it left running, the Stack screen shows a killed
Postgres within 1 s with its whole PID, and a followed run reconnects to a server that came back on a new port."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.ports import free_port
from lgconsole.stack.services.process import ProcessRef, process_start_ticks
from lgconsole.stack.services.service import ServiceState
from pilotwait import pilot_wait
from stackutil import REPO, all_healthy, lgconsole, own_stack, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fault_stack():
    with own_stack() as config:
        yield config


def cli(config, *args: str, timeout: float = 120):
    return lgconsole(*args, config=config.state_path / "lgconsole.toml", timeout=timeout)


def raw_state(config) -> dict:
    return json.loads((config.state_path / "state.json").read_text())


def server_threads(url: str) -> set[str]:
    from lgconsole.stack.server.credentials import sdk_client

    async def read() -> set[str]:
        client = sdk_client(url)
        try:
            return {t["thread_id"] for t in await client.threads.search(limit=1000, select=["thread_id"])}
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_prune_deletes_the_servers_thread_records_after_the_checkpoint_rows(fault_stack):
    from lgconsole.console.sources.urls import langgraph_url

    url = langgraph_url(fault_stack)
    threads = set()
    for n in range(3):
        run = cli(fault_stack, "run", "demo", "--input", json.dumps({"task": f"prune me {n}", "delay": 0}), "--json")
        assert run.returncode == 0, run.stderr
        threads.add(json.loads(run.stdout.splitlines()[-1])["thread_id"])
    assert threads <= server_threads(url)
    time.sleep(1.1)
    pruned = cli(fault_stack, "prune", "--older-than", "1s", "--yes", "--json")
    assert pruned.returncode == 0, pruned.stderr
    result = json.loads(pruned.stdout)["result"]
    assert threads <= set(result["deleted_thread_ids"])
    assert result["server_threads_deleted"] >= 3 and result["server_still_lists"] == [] and not result["server_error"]
    assert not threads & server_threads(url)  # the server no longer lists them with their old status and values


def test_prune_with_the_server_down_names_the_threads_it_still_lists_and_deletes_them_there_later(fault_stack):
    from lgconsole.console.sources.urls import langgraph_url

    url = langgraph_url(fault_stack)
    run = cli(fault_stack, "run", "demo", "--input", json.dumps({"task": "pruned while down", "delay": 0}), "--json")
    assert run.returncode == 0, run.stderr
    thread_id = json.loads(run.stdout.splitlines()[-1])["thread_id"]
    time.sleep(1.1)
    supervisor.send_command(fault_stack.state_path, {"cmd": "stop", "service": "langgraph"})
    try:
        pruned = cli(fault_stack, "prune", "--older-than", "1s", "--yes", "--force-server-down")
        assert pruned.returncode == 0, pruned.stderr
        assert "the LangGraph server still lists 1 of them with their old status and values" in pruned.stdout
        assert thread_id in pruned.stdout and "the next `lgconsole prune --yes` with the server up" in pruned.stdout
    finally:
        supervisor.send_command(fault_stack.state_path, {"cmd": "start", "service": "langgraph"})
    wait_for(lambda: all_healthy(fault_stack), timeout=60, what="the server back")
    assert thread_id in server_threads(url)  # its own index kept the thread: the checkpoints are gone
    again = cli(fault_stack, "prune", "--older-than", "1h", "--yes")
    assert again.returncode == 0, again.stderr
    assert "left by an earlier prune while it was down: 1 thread(s)" in again.stdout
    assert thread_id not in server_threads(url)


def test_a_killed_supervisor_is_reported_within_2s_and_up_adopts_its_services(fault_stack):
    before = raw_state(fault_stack)
    services = {name: (s["process"]["pid"], s["port"]) for name, s in before["services"].items() if s["process"]}
    assert set(services) == {"postgres", "redis", "langgraph"}
    killed = time.monotonic()
    os.kill(before["supervisor"]["pid"], signal.SIGKILL)
    status = cli(fault_stack, "status")
    detected = time.monotonic() - killed
    assert status.returncode == 3, status.stdout
    assert f"supervisor pid {before['supervisor']['pid']} has died" in status.stdout
    assert "lgconsole up` starts a new supervisor that adopts them" in status.stdout
    assert detected < 2.0, f"reported {detected:.2f}s after the kill"
    data = json.loads(cli(fault_stack, "status", "--json").stdout)["supervisor"]
    assert not data["running"] and sorted(data["unsupervised"]) == ["langgraph", "postgres", "redis"]

    up = cli(fault_stack, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "adopted postgres" in up.stdout
    after = raw_state(fault_stack)
    assert after["supervisor"]["pid"] != before["supervisor"]["pid"]
    assert ProcessRef.from_json(after["supervisor"]).alive()
    for name, (pid, port) in services.items():  # the very same processes, on the same ports
        record = after["services"][name]
        assert (record["process"]["pid"], record["port"]) == (pid, port), name
        assert record["process"]["start_ticks"] == process_start_ticks(pid) and record["state"] == "healthy"

    # the new supervisor restarts an adopted service it did not start itself
    redis_pid = services["redis"][0]
    os.kill(redis_pid, signal.SIGKILL)
    wait_for(lambda: (s := supervisor.read_state(fault_stack.state_path).by_name("redis")).state
             == ServiceState.HEALTHY and s.pid not in (None, redis_pid), timeout=30, what="redis restarted")
    assert supervisor.read_state(fault_stack.state_path).by_name("redis").restarts >= 1


async def test_the_stack_screen_shows_a_killed_postgres_within_1s_with_its_whole_pid(fault_stack):
    wait_for(lambda: all_healthy(fault_stack), timeout=60, what="a healthy stack")
    app = LgConsoleApp(fault_stack, triage_first=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot_wait(pilot, lambda: app.snapshot is not None and app.snapshot.healthy_count == 3, timeout=10,
                         what="a healthy snapshot")
        table = app.screen.query_one("#services")
        pid = app.snapshot.by_name("postgres").pid
        assert str(pid) in [str(cell) for cell in table.get_row("postgres")]
        assert table.column_width("pid") >= len(str(pid))
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        await pilot_wait(pilot, lambda: "healthy" not in str(table.get_row("postgres")[1]), timeout=5,
                         what="postgres not shown healthy", step=0.01)
        shown = time.monotonic() - killed
        assert shown < 1.0, f"the Stack screen showed the kill {shown:.2f}s after it"
        await pilot_wait(pilot, lambda: (s := app.snapshot.by_name("postgres")).state == ServiceState.HEALTHY
                         and s.pid != pid, timeout=30, what="postgres back")
        new_pid = str(app.snapshot.by_name("postgres").pid)
        await pilot_wait(pilot, lambda: new_pid in [str(c) for c in table.get_row("postgres")], timeout=3,
                         what="the new pid in the table")
        assert table.column_width("pid") >= len(new_pid)  # never cut


def test_a_followed_run_reconnects_to_a_server_back_on_a_new_port(fault_stack):
    """The supervisor and the server die together and the operator brings the stack up with the server on another
    port: `run` finds it in the stack's state, instead of retrying the old port 30 times, and ends with the lost run's
    recovery command (or joins the run again there, when the server had saved its run index before the kill)."""
    wait_for(lambda: all_healthy(fault_stack), timeout=60, what="a healthy stack")
    state = raw_state(fault_stack)
    old_port = state["services"]["langgraph"]["port"]
    follower = subprocess.Popen(
        [sys.executable, "-m", "lgconsole.console", "--config", str(fault_stack.state_path / "lgconsole.toml"),
         "run", "demo", "--input", json.dumps({"task": "survive a move", "delay": 6})],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(4.0)  # the run is picked up (~1 s) and its workers sleep 6 s
        started = time.monotonic()
        os.kill(state["supervisor"]["pid"], signal.SIGKILL)
        os.kill(state["services"]["langgraph"]["process"]["pid"], signal.SIGKILL)
        wait_for(lambda: process_start_ticks(state["services"]["langgraph"]["process"]["pid"]) is None, timeout=10,
                 what="the server gone")
        toml = fault_stack.state_path / "lgconsole.toml"
        toml.write_text(toml.read_text() + f"\n[langgraph]\nport = {free_port(avoid={old_port})}\n")
        up = cli(fault_stack, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        new_port = raw_state(fault_stack)["services"]["langgraph"]["port"]
        assert new_port != old_port
        out, _ = follower.communicate(timeout=90)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    # the old port would have been tried 30 times (minutes, then "lost the stream"); the SDK's own SSE retries of
    # the dead server take most of the time this takes
    assert "lost the stream" not in out and time.monotonic() - started < 120, out
    if "waiting for input" in out:  # the server had saved its run index before the kill: it re-queued the run,
        return  # and the follower joined it again on the new port
    recovery = re.search(r"`lgconsole (replay \S+ --checkpoint \S+)`", out)
    assert " lost: " in out and recovery, out
    replay = cli(fault_stack, *recovery.group(1).split())
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "waiting for input" in replay.stdout  # the demo's approval: the thread went on from its checkpoint
