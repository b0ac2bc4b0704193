"""The Live screen: snapshots from a recorded real stream, and Pilot tests driving runs on a real server."""

from __future__ import annotations


import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.screens.live import LiveScreen
from livefixtures import recorded
from stackutil import pilot_wait
from fakes import FixedStack, fixed_stack_snapshot


def _app_with(live: LiveRun) -> LgConsoleApp:
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)

    async def show(pilot):
        screen = LiveScreen(live)
        screen.thread_id = "01a20c2c-3fd8-716a-834d-e034487e38c4"
        await app.push_screen(screen)
        await pilot.pause(0.3)

    return app, show


def _live(name: str, upto: int | None = None, status: str | None = None) -> LiveRun:
    live = LiveRun()
    for event in recorded(name)[:upto]:
        live.feed(event)
    if status:
        live.finish(status)
    return live


def test_live_screen_mid_run(snap_compare):
    app, show = _app_with(_live("demo_interrupt", upto=40))
    assert snap_compare(app, terminal_size=(130, 36), run_before=show)


def test_live_screen_after_the_interrupt(snap_compare):
    app, show = _app_with(_live("demo_interrupt", status="waiting"))
    assert snap_compare(app, terminal_size=(130, 36), run_before=show)


def test_live_screen_error_at_80x24(snap_compare):
    app, show = _app_with(_live("demo_error", status="error"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=show)


async def test_invalid_json_input_is_refused_before_sending():
    app, show = _app_with(LiveRun())
    async with app.run_test(size=(120, 36)) as pilot:
        await show(pilot)
        await pilot.press("n")
        await pilot.pause(0.2)
        area = app.screen.query_one("#new-run-input")
        area.text = '{"task": '
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert "not valid JSON" in str(app.screen.query_one("#new-run-error").render())
        assert type(app.screen).__name__ == "NewRunScreen"  # still open, nothing sent
        await pilot.press("escape")
        assert isinstance(app.screen, LiveScreen) and app.screen.live.status == "starting"


# --- against the real server ---------------------------------------------------------------------------------

@pytest.mark.integration
async def test_run_answer_the_interrupt_and_complete_from_the_keyboard(live_stack):
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        await pilot.press("n")
        await pilot.pause(0.2)
        app.screen.query_one("#new-run-input").text = '{"task": "pilot run", "delay": 0.1}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: screen.live.status == "waiting")
        nodes = [s.node for s in screen.live.steps]
        assert nodes[0] == "supervisor" and sorted(nodes[1:4]) == ["coder", "researcher", "reviewer"]
        await pilot_wait(pilot, lambda: screen.query_one("#interrupt-panel").display, timeout=2)
        await pilot.press("i", *"true", "enter")
        await pilot_wait(pilot, lambda: screen.live.status == "success")
        assert screen.live.state["outcome"] == "approved"
        assert [s.node for s in screen.live.steps][-2:] == ["approval", "finalize"]
        await pilot_wait(pilot, lambda: not screen.query_one("#interrupt-panel").display, timeout=2)


@pytest.mark.integration
async def test_attach_mid_run_from_a_second_client_and_cancel(live_stack):
    from lgconsole.console.sources.urls import langgraph_url
    from lgconsole.stack.server.runs import RunSession

    url = langgraph_url(live_stack)
    elsewhere = await RunSession.start(url, "demo", input={"task": "started elsewhere", "delay": 6.0})
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3")
        await pilot.pause(0.2)
        screen = app.screen
        await pilot.press("a")
        await pilot.pause(0.2)
        await pilot.press(*elsewhere.thread_id, "enter")
        await pilot_wait(pilot, lambda: any(s.node == "coder" for s in screen.live.steps))
        assert screen.live.run_id == elsewhere.run_id
        await pilot.press("c")
        await pilot_wait(pilot, lambda: screen.live.status == "cancelled")
        await pilot_wait(pilot, lambda: "cancelled" in str(screen.query_one("#live-info").render()), timeout=2)
    await elsewhere.close()


@pytest.mark.integration
async def test_unknown_assistant_is_one_line_in_the_ui(live_stack):
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3", "n")
        await pilot.pause(0.2)
        app.screen.query_one("#new-run-assistant").value = "no-such-graph"
        await pilot.press("ctrl+s")
        screen = app.screen
        await pilot_wait(pilot, lambda: screen.live.status == "error")
        assert "no such assistant" in screen.live.error
