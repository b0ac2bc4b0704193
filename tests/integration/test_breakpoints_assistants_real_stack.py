"""Breakpoints and assistants on the real stack serving the demo project's two graphs: `lgconsole run --break-before /
--break-after` stops there (the thread waits at the node) and `lgconsole resume THREAD` goes on; a breakpoint set on
the Graph screen stops a run started on the Live screen, whose state is edited in the fork editor before it goes on;
an assistant created with a config runs with it, its versions are made, activated and deleted; bad config, malformed
JSON and unknown nodes are one line and change nothing."""

from __future__ import annotations

import asyncio
import json

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.screens.graph import GraphScreen
from lgconsole.console.screens.live import LiveScreen
from pilotwait import pilot_wait
from stackutil import lgconsole

pytestmark = pytest.mark.integration


def _cli(config, *args, **kw):
    return lgconsole(*args, config=config.state_path / "lgconsole.toml", **kw)


def _json_lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def _sdk(config, call):
    """`call(client)` on the stack's server through the SDK (what the server itself says)."""
    from lgconsole.stack.server.credentials import sdk_client

    from lgconsole.console.sources.urls import langgraph_url

    async def go():
        client = sdk_client(langgraph_url(config))
        try:
            return await call(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def _root_nodes(lines: list[dict]) -> list[str]:
    return [line["node"] for line in lines if line["event"] == "step" and not line.get("namespace")]


def test_run_stops_before_the_named_node_and_resume_continues(live_stack):
    stopped = _cli(live_stack, "run", "report", "--input", '{"topic": "bp", "delay": 0.01}', "--break-before",
                   "publish", "--json")
    assert stopped.returncode == 0, stopped.stderr
    lines = _json_lines(stopped)
    end = lines[-1]
    assert _root_nodes(lines) == ["gather", "draft"] and end["next"] == ["publish"]
    assert end["thread_status"] == "interrupted" and end["interrupts"] == []
    thread = end["thread_id"]
    server = _sdk(live_stack, lambda c: c.threads.get_state(thread))
    assert server["next"] == ["publish"] and "published" not in server["values"]
    waiting = _cli(live_stack, "threads", "--status", "waiting", "--json")
    assert thread in waiting.stdout, "the thread shows waiting"

    went_on = _cli(live_stack, "resume", thread, "--json")
    assert went_on.returncode == 0, went_on.stderr
    lines = _json_lines(went_on)
    assert lines[0]["event"] == "continue" and _root_nodes(lines) == ["publish"]
    assert lines[-1]["status"] == "success" and lines[-1]["thread_status"] == "idle"

    again = _cli(live_stack, "resume", thread)
    assert again.returncode == 1 and "not stopped at a breakpoint" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_break_after_says_where_and_how_to_continue(live_stack):
    stopped = _cli(live_stack, "run", "report", "--input", '{"topic": "after", "delay": 0.01}', "--break-after",
                   "gather", "--break-after", "draft")
    assert stopped.returncode == 0, stopped.stderr
    last = stopped.stdout.strip().splitlines()[-1]
    assert last.startswith("stopped at a breakpoint after gather (next: draft); continue with: lgconsole resume ")
    thread = last.rsplit(" ", 1)[-1]
    second = _cli(live_stack, "resume", thread, "--break-after", "draft")
    assert "stopped at a breakpoint after draft (next: publish)" in second.stdout, second.stdout


def test_unknown_nodes_are_refused_with_the_graphs_nodes(live_stack):
    before = _sdk(live_stack, lambda c: c.threads.count())
    result = _cli(live_stack, "run", "report", "--input", "{}", "--break-before", "nope", "--break-after",
                  "draft:write")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "lgconsole: report: no node 'nope', 'draft:write' to break at (breakpoints stop at nodes of the root graph: "
        "gather, draft, publish); nothing was started")
    assert _sdk(live_stack, lambda c: c.threads.count()) == before


def _probe_of(config, thread_id: str) -> str | None:
    """The `configurable.probe` the run had: the checkpointer writes configurable values into the metadata."""
    return _sdk(config, lambda c: c.threads.get_state(thread_id))["metadata"].get("probe")


def _run(config, assistant: str) -> dict:
    result = _cli(config, "run", assistant, "--input", '{"topic": "probe", "delay": 0}', "--json")
    assert result.returncode == 0, result.stderr
    return _json_lines(result)[-1]


def test_an_assistant_created_with_a_config_runs_with_it_and_its_versions(live_stack):
    made = _cli(live_stack, "assistants", "create", "report", "--name", "probe-bot", "--config",
                '{"configurable": {"probe": "p1"}}', "--json")
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["version"] == 1 and created["config"] == {"configurable": {"probe": "p1"}}
    try:
        assert _probe_of(live_stack, _run(live_stack, "probe-bot")["thread_id"]) == "p1"

        updated = _cli(live_stack, "assistants", "update", "probe-bot", "--config",
                       '{"configurable": {"probe": "p2"}}', "--json")
        assert updated.returncode == 0 and json.loads(updated.stdout)["version"] == 2, updated.stderr
        assert _probe_of(live_stack, _run(live_stack, created["assistant_id"])["thread_id"]) == "p2"

        versions = _json_lines(_cli(live_stack, "assistants", "versions", "probe-bot", "--json"))
        assert [(v["version"], v["active"], v["config"]["configurable"]["probe"]) for v in versions] == \
            [(2, True, "p2"), (1, False, "p1")]
        activated = _cli(live_stack, "assistants", "activate", "probe-bot", "1")
        assert activated.returncode == 0 and "version 1 is active" in activated.stdout, activated.stderr
        assert _probe_of(live_stack, _run(live_stack, "probe-bot")["thread_id"]) == "p1"

        shown = json.loads(_cli(live_stack, "assistants", "show", "probe-bot", "--json").stdout)
        assert shown["version"] == 1 and shown["versions"] == [2, 1]
        listed = _json_lines(_cli(live_stack, "assistants", "list", "--graph", "report", "--json"))
        assert sorted(r["name"] for r in listed) == ["probe-bot", "report"]
    finally:
        unasked = _cli(live_stack, "assistants", "delete", "probe-bot")  # stdin is not a terminal: not asked
        deleted = _cli(live_stack, "assistants", "delete", "probe-bot", "--yes")
    assert unasked.returncode == 1 and "add --yes" in unasked.stderr
    assert deleted.returncode == 0 and "deleted assistant" in deleted.stdout, deleted.stderr
    names = [r["name"] for r in _json_lines(_cli(live_stack, "assistants", "--json"))]
    assert "probe-bot" not in names


@pytest.mark.parametrize("args, message", [
    (["create", "report", "--config", '{"recursion": 5}'],
     "lgconsole: new assistant of report: config: 'recursion' is not a run config key"),
    (["create", "report", "--config", '{"recursion_limit": '], "lgconsole: --config is not valid JSON"),
    (["create", "report", "--context", "[1]"], "lgconsole: --context must be a JSON object"),
    (["create", "nograph"], "serves no graph 'nograph' (it serves: demo, report); nothing was created"),
    (["update", "report"], "nothing to change"),
    (["activate", "report", "7"], "report has no version 7 (versions: 1)"),
    (["show", "nobody"], "no assistant 'nobody'"),
])
def test_bad_assistant_input_is_one_line_and_changes_nothing(live_stack, args, message):
    before = _cli(live_stack, "assistants", "--json").stdout
    result = _cli(live_stack, "assistants", *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _cli(live_stack, "assistants", "--json").stdout == before


async def test_a_breakpoint_from_the_graph_screen_stops_the_live_run_and_an_edit_goes_on(live_stack):
    """The pick is kept in the shared stack's state dir (breakpoints.json) for the next console: taken back at the end
    so that later tests' runs of the demo graph are not stopped before approval."""
    try:
        app = LgConsoleApp(live_stack, triage_first=False)
        async with app.run_test(size=(130, 40)) as pilot:
            await pilot.press("2")
            await pilot_wait(pilot, lambda: isinstance(app.screen, GraphScreen) and app.screen.drawing is not None,
                             timeout=20, what="the Graph screen")
            graph = app.screen
            await pilot.press("x")  # xray off
            await pilot_wait(pilot, lambda: not graph.xray and "approval" in graph.view.nodes, timeout=10)
            for _ in range(15):
                if graph.view.selected == "approval":
                    break
                await pilot.press("tab")
            await pilot.press("b")
            await pilot.press("3")
            await pilot_wait(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=10, what="the Live screen")
            screen = app.screen
            await pilot.press("n")
            await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10)
            form = app.screen
            form.query_one("#new-run-assistant").value = "demo"
            await pilot_wait(pilot, lambda: form.query_one("#new-run-breaks").value == "before approval", timeout=10)
            form.query_one("#new-run-input").text = '{"task": "stop before approval", "delay": 0}'
            await pilot.press("ctrl+s")
            await pilot_wait(pilot, lambda: screen.live.status == "waiting", what="the stop before approval")
            assert [s.node for s in screen.live.steps][-1] == "review"
            assert screen.live.outcome.next == ["approval"] and not screen.live.interrupts
            thread = screen.thread_id
            server = await asyncio.to_thread(_sdk, live_stack, lambda c: c.threads.get(thread))
            assert server["status"] == "interrupted"
            assert "before approval" in str(screen.query_one("#breakpoint-panel").render())

            await pilot.press("e")
            await pilot_wait(pilot, lambda: type(app.screen).__name__ == "ForkScreen", timeout=20, what="the editor")
            editor = app.screen
            values = json.loads(editor.query_one("#fork-values").text)
            values["task"] = "edited at the breakpoint"
            editor.query_one("#fork-values").text = json.dumps(values)
            await pilot.press("ctrl+s")
            await pilot_wait(pilot, lambda: app.screen is screen and screen.live.interrupts, timeout=60,
                             what="the run going on to approval's interrupt()")
            assert screen.live.state["task"] == "edited at the breakpoint"
            assert [s.node for s in screen.live.steps][-1] == "approval", "the same timeline, one step further"
    finally:
        (live_stack.state_path / "breakpoints.json").unlink(missing_ok=True)


async def test_the_assistants_view_starts_a_run_of_the_highlighted_assistant(live_stack):
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3", "A")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "AssistantsScreen" and app.screen.versions,
                         timeout=20, what="the Assistants view with versions")
        view = app.screen
        assert {a.graph_id for a in view.assistants} == {"demo", "report"}
        while view.selected.graph_id != "report":
            await pilot.press("down")
        report = view.selected
        await pilot_wait(pilot, lambda: [v.version for v in view.versions] == [1], timeout=10)
        await pilot.press("s")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10, what="the form")
        assert app.screen.query_one("#new-run-assistant").value == report.assistant_id


def test_an_assistants_secrets_are_masked_where_shown_and_kept_on_the_server(live_stack):
    made = _cli(live_stack, "assistants", "create", "report", "--name", "keyed", "--config",
                '{"configurable": {"api_key": "sk-live-0123456789abcdef", "model": "m1"}}', "--json")
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    try:
        assert created["config"]["configurable"] == {"api_key": "***", "model": "m1"}
        shown = _cli(live_stack, "assistants", "show", "keyed")
        assert "sk-live" not in shown.stdout and '"api_key": "***"' in shown.stdout
        renamed = _cli(live_stack, "assistants", "update", "keyed", "--name", "keyed2")
        assert renamed.returncode == 0, renamed.stderr
        server = _sdk(live_stack, lambda c: c.assistants.get(created["assistant_id"]))
        assert server["name"] == "keyed2" and server["config"]["configurable"]["api_key"] == "sk-live-0123456789abcdef"
    finally:
        _cli(live_stack, "assistants", "delete", created["assistant_id"], "--yes")
