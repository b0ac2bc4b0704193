"""Runs started by any client: a plain langgraph-sdk `runs.create` with the API's default stream mode (`values`) on
a user's project (tests/fixtures/live/agent_project: a supervisor handing off to a tool-calling worker), followed by
`lgconsole watch` attached mid-run: node names, nested steps, super-steps, real durations and per-step diffs,
including the steps before the attach; the final state equals LangGraph's own get_state (the oracle)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stackutil import REPO, own_stack, wait_for

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "live" / "agent_project"


@pytest.fixture(scope="module")
def team_stack():
    with own_stack(f'[project]\npath = "{PROJECT}"\n') as config:
        yield config


def _watch(config, thread_id: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lgconsole.console", "--config",
                             str(config.state_path / "lgconsole.toml"), "watch", thread_id, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def test_watch_mid_run_of_a_values_only_run_shows_every_named_step(team_stack):
    from lgconsole.stack.server.credentials import sdk_sync_client

    from lgconsole.console.sources.urls import langgraph_url

    client = sdk_sync_client(url=langgraph_url(team_stack))
    try:
        thread = client.threads.create()["thread_id"]
        run = client.runs.create(thread, "team", input={"messages": [{"role": "user", "content": "find cats slowly"}]})
        # attach once the supervisor's super-step is over and the worker's slow tool runs
        wait_for(lambda: len(client.threads.get_history(thread, limit=20)) >= 3, 30, what="the first super-step")
        watcher = _watch(team_stack, thread)
        try:
            out, err = watcher.communicate(timeout=90)
        finally:
            watcher.kill()
            watcher.wait()
        state = client.threads.get_state(thread)
        assert client.runs.get(thread, run["run_id"])["status"] == "success"
    finally:
        client.close()
    assert watcher.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    steps = [line for line in lines if line["event"] == "step"]
    named = [("/".join(n.split(":")[0] for n in s["namespace"]), s["node"]) for s in steps]
    assert sorted(named) == sorted([("", "supervisor"), ("supervisor", "model"), ("", "researcher"),
                                    ("researcher", "model"), ("researcher", "tools"), ("researcher", "model")])
    by_name = dict(zip(named, steps))
    assert by_name[("", "supervisor")]["superstep"] == 1 and by_name[("", "researcher")]["superstep"] == 2
    assert 7.0 < by_name[("researcher", "tools")]["duration_s"] < 15  # 3 x 2.5 s of searching
    assert all(s["status"] == "done" and s["duration_s"] is not None for s in steps)
    # the worker's update holds the whole conversation; its diff shows only the three messages it added
    researcher = by_name[("", "researcher")]["diff"]["messages"][0]["changes"]
    assert [c["kind"] for c in researcher] == ["appended"] * 3
    end = lines[-1]
    assert end["event"] == "end" and end["status"] == "success" and end["steps"] == len(steps) == 6
    assert len(state["values"]["messages"]) == 5


def test_watch_text_names_the_steps_before_the_attach(team_stack):
    from lgconsole.stack.server.credentials import sdk_sync_client

    from lgconsole.console.sources.urls import langgraph_url

    client = sdk_sync_client(url=langgraph_url(team_stack))
    try:
        thread = client.threads.create()["thread_id"]
        client.runs.create(thread, "team", input={"messages": [{"role": "user", "content": "find dogs slowly"}]},
                           stream_mode=["messages-tuple"])
        wait_for(lambda: len(client.threads.get_history(thread, limit=20)) >= 3, 30, what="the first super-step")
        watcher = subprocess.run([sys.executable, "-m", "lgconsole.console", "--config",
                                  str(team_stack.state_path / "lgconsole.toml"), "watch", thread],
                                 capture_output=True, text=True, cwd=REPO, timeout=90)
    finally:
        client.close()
    assert watcher.returncode == 0, watcher.stderr
    out = watcher.stdout
    tools = next(line for line in out.splitlines() if line.startswith("[  2] researcher/tools "))
    assert "[  1] supervisor " in out and tools.split()[-1].endswith("s") and float(tools.split()[-1][:-1]) > 7
    assert "(super-step)" not in out and "6 node steps" in out


async def test_the_console_attaches_nested_and_in_order_with_the_steps_before(team_stack):
    """The Live screen's attach (a) to a values-only run started by a plain client, after its first super-step."""
    from lgconsole.stack.server.credentials import sdk_client

    from lgconsole.console.app import LgConsoleApp
    from lgconsole.console.screens.live import LiveScreen
    from lgconsole.console.sources.urls import langgraph_url
    from live_timeline import nested_under, root_names, tree_rows
    from pilotwait import pilot_wait

    client = sdk_client(url=langgraph_url(team_stack))
    thread = (await client.threads.create())["thread_id"]
    await client.runs.create(thread, "team", input={"messages": [{"role": "user", "content": "find owls slowly"}]})
    app = LgConsoleApp(team_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot_wait(pilot, lambda: True, timeout=1)
        for _ in range(100):  # the supervisor's super-step is over: its steps come from before the attach
            if len(await client.threads.get_history(thread, limit=20)) >= 3:
                break
            await pilot.pause(0.1)
        await pilot.press("3")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=10, what="the Live screen")
        screen = app.screen
        await pilot.press("a")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "AttachScreen", timeout=10, what="the attach form")
        await pilot.press(*thread, "enter")
        await pilot_wait(pilot, lambda: screen.live.status == "success", timeout=60, what="the run's end")
        await pilot_wait(pilot, lambda: len(tree_rows(screen)) >= 6, timeout=5, what="the timeline rows")
        rows = tree_rows(screen)
        assert root_names(rows) == ["supervisor", "researcher"]
        assert nested_under(rows, "supervisor") == ["model"]
        assert nested_under(rows, "researcher") == ["model", "tools", "model"]
        tools = screen.live.steps[1].children[1]
        assert tools.duration > 7.0 and "(super-step)" not in str(rows)
    await client.aclose()
