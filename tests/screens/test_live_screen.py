"""The Live screen: snapshots from a recorded real stream, and its new-run form refusing bad input. Runs on a real
server: tests/integration/test_live_screen_real_stack.py."""

from __future__ import annotations

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.screens.live import LiveScreen
from live_timeline import live_header
from livefixtures import recorded
from pilotwait import pilot_wait, settled


def _app_with(live: LiveRun) -> LgConsoleApp:
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)

    async def show(pilot):
        screen = LiveScreen(live, assistant="demo")  # the recorded runs are the demo graph's
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


async def test_a_run_that_cannot_start_is_said_in_the_header_and_a_notification():
    """The run worker does not catch: its failure reaches the screen's `worker_failed` (the one worker pattern)."""
    app, show = _app_with(LiveRun())
    async with app.run_test(size=(120, 36)) as pilot:
        await show(pilot)
        screen = app.screen

        async def refused():
            raise RuntimeError("no such assistant: 'no-such-graph'\nsecond line")

        screen._follower = refused  # what a server that refuses the run does, before any follower exists
        screen.run_stream("start", payload=None)
        await pilot_wait(pilot, lambda: "no such assistant" in live_header(screen), timeout=10, what="the error line")
        assert screen.live.status == "error" and screen.live.error.endswith("second line")
        assert [n.message for n in app._notifications] == ["no such assistant: 'no-such-graph'\nsecond line"]
        assert app.is_running


async def test_a_theme_switch_recolours_step_statuses_the_header_and_the_interrupt():
    """Step statuses, the run's status and the interrupt panel take the theme's colours (widgets/palette.py): another
    theme, the timeline's rows and the lines are built again in its colours."""
    from rich.style import Style
    from textual.color import Color

    def colour(style) -> str:  # "#abc0d6" from a Rich style ("bold #abc0d6")
        return Style.parse(str(style)).color.get_truecolor().hex

    def first_span(text, prefix: str) -> str:
        return next(colour(span.style) for span in text.spans if text.plain[span.start:].startswith(prefix))

    app, show = _app_with(_live("demo_interrupt", status="waiting"))
    async with app.run_test(size=(130, 36)) as pilot:
        await show(pilot)
        screen = app.screen

        def step_colour(icon: str) -> str:  # the status icon of the first row showing it
            rows = [n for n in screen.query_one("Timeline")._step_nodes.values() if n.label.plain.startswith(icon)]
            return first_span(rows[0].label, icon)

        def header_colour() -> str:  # " waiting " reversed: its colour is the status's
            return first_span(screen.query_one("#live-info").render(), " waiting ")

        def panel_colour() -> str:
            return first_span(screen.query_one("#interrupt-payload").render(), "waiting for input")

        def theme_colour(variable: str) -> str:
            return Color.parse(app.theme_variables[variable]).rich_color.get_truecolor().hex

        assert step_colour("◆") == header_colour() == panel_colour() == theme_colour("text-secondary")
        assert step_colour("✓") == theme_colour("text-success")
        dark = step_colour("◆"), step_colour("✓")
        app.theme = "nord"
        await pilot_wait(pilot, lambda: step_colour("◆") != dark[0], timeout=10, what="nord's waiting colour")
        assert step_colour("◆") == header_colour() == panel_colour() == theme_colour("text-secondary") == "#abc0d6"
        assert step_colour("✓") == theme_colour("text-success") != dark[1]


# --- against the real server ---------------------------------------------------------------------------------

