"""`lgconsole assistants` and `lgconsole run --config/--context` on the real stack serving the demo project's two
graphs (`demo` and `report`): the list as text and JSON, a config the run really gets (the server's recursion limit
stops a run), and input, config and an assistant the server does not serve refused in one line before anything is
created."""

from __future__ import annotations

import asyncio
import json

import pytest

from stackutil import lgconsole

pytestmark = pytest.mark.integration


def _cli(config, *args, **kw):
    return lgconsole(*args, config=config.state_path / "lgconsole.toml", **kw)


def _thread_count(config) -> int:
    from lgconsole.stack.server.credentials import sdk_client

    from lgconsole.console.sources.urls import langgraph_url

    async def count() -> int:
        client = sdk_client(url=langgraph_url(config))
        try:
            return await client.threads.count()
        finally:
            await client.aclose()

    return asyncio.run(count())


def test_assistants_lists_the_servers_graphs(live_stack):
    result = _cli(live_stack, "assistants", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["graph_id"] for r in rows) == ["demo", "report"]
    for row in rows:
        assert row["assistant_id"] and row["name"] == row["graph_id"] and row["version"] == 1 and row["updated_at"]
    text = _cli(live_stack, "assistants")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["ASSISTANT", "ID", "GRAPH", "NAME", "VERSION", "UPDATED"]
    assert [line.split()[1] for line in lines[1:]] == ["demo", "report"]


def test_run_report_with_input_and_config(live_stack):
    result = _cli(live_stack, "run", "report", "--input", '{"topic": "p4 config", "delay": 0.01}',
                  "--config", '{"recursion_limit": 20, "tags": ["p4"]}', "--context", "{}", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    roots = [line["node"] for line in lines if line["event"] == "step" and not line.get("namespace")]
    assert roots == ["gather", "draft", "publish"], roots
    assert lines[-1]["status"] == "success"

    # the config reaches the run: with a recursion limit of 2 the three super-steps cannot finish
    limited = _cli(live_stack, "run", "report", "--input", '{"topic": "p4 limit", "delay": 0.01}',
                   "--config", '{"recursion_limit": 2}')
    assert limited.returncode == 1, limited.stdout
    assert "Recursion" in limited.stdout, limited.stdout


@pytest.mark.parametrize("args, message", [
    (["run", "report", "--input", '{"topic": 3}'],
     "lgconsole: report: input: 'topic' should be a string, got a number 3"),
    (["run", "report", "--input", "{}", "--config", '{"recursion": 5}'],
     "lgconsole: report: config: 'recursion' is not a run config key"),
    (["run", "report", "--input", "{}", "--config", '{"recursion_limit": '], "--config is not valid JSON"),
    (["run", "report", "--input", "{}", "--context", "[1]"], "context must be a JSON object, got a list"),
    (["run", "no-such-graph", "--input", "{}"], "no such assistant or graph 'no-such-graph'"),
])
def test_bad_arguments_are_one_line_and_start_nothing(live_stack, args, message):
    before = _thread_count(live_stack)
    result = _cli(live_stack, *args)
    usage = "not valid JSON" in message  # the command line itself is wrong: exit 2 (usage)
    assert result.returncode == (2 if usage else 1) and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _thread_count(live_stack) == before  # refused before a thread was created
    if "no-such-graph" in args:
        assert result.stderr.rstrip().endswith("it serves: demo, report"), result.stderr


async def test_the_new_run_form_on_the_real_server_runs_report_with_a_config(live_stack):
    """The form lists the server's graphs, reads `report`'s schema from the server, sends input and config, and
    offers the same input the next time."""
    import stat

    from lgconsole.console.app import LgConsoleApp
    from lgconsole.console.screens.live import LiveScreen
    from live_timeline import live_header
    from pilotwait import pilot_wait

    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=10, what="the Live screen")
        screen = app.screen
        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen" and app.screen.schemas is not None,
                         timeout=20, what="the first graph's schemas from the server")
        form = app.screen
        assert form.query_one("#new-run-assistant").value == "demo"  # the first listed, by graph id
        await pilot.press("down")
        await pilot_wait(pilot, lambda: form.schemas is not None and form.schemas.graph_id == "report", timeout=20,
                         what="report's schemas")
        assert "topic: string" in str(form.query_one("#new-run-keys").render())
        typed = '{"topic": "from the form", "delay": 0.01}'
        form.query_one("#new-run-input").text = typed
        form.query_one("#new-run-config").value = '{"recursion_limit": 20, "tags": ["form"]}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: screen.live.status == "success", timeout=60, what="the report run")
        assert screen.live.state.get("published") and "report" in live_header(screen)
        remembered = live_stack.state_path / "console-inputs.json"
        await pilot_wait(pilot, remembered.exists, timeout=10, what="the remembered input")
        assert stat.S_IMODE(remembered.stat().st_mode) == 0o600
        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen" and app.screen.schemas is not None
                         and app.screen.schemas.graph_id == "report", timeout=20, what="the form again, on report")
        assert app.screen.query_one("#new-run-input").text == typed
        await pilot.press("escape")
