"""The Live screen: snapshots from a recorded real stream, and its new-run form refusing bad input. Runs on a real
server: tests/integration/test_live_screen_real_stack.py."""

from __future__ import annotations

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.screens.live import LiveScreen
from livefixtures import recorded
from pilotwait import pilot_wait, settled


def _app_with(live: LiveRun) -> LgConsoleApp:
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)

    async def show(pilot):
        screen = LiveScreen(live)
        screen.thread_id = "01a20c2c-3fd8-716a-834d-e034487e38c4"
        await app.push_screen(screen)
        await settled(pilot)

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
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10, what="the new-run form")
        area = app.screen.query_one("#new-run-input")
        area.text = '{"task": '
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "not valid JSON" in str(app.screen.query_one("#new-run-error").render())
        assert type(app.screen).__name__ == "NewRunScreen"  # still open, nothing sent
        await pilot.press("escape")
        assert isinstance(app.screen, LiveScreen) and app.screen.live.status == "starting"


# --- against the real server ---------------------------------------------------------------------------------

