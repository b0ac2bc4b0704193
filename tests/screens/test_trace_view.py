"""The Trace view on a fixed demo run: a snapshot of the waterfall with tokens, cost, state growth and the slowest
nodes; `t` opens it from the Threads screen (the selected thread) and from the Live screen (the run shown, with its
stream's time to first token); Esc closes it. `g` on the Threads screen shows the thread's state growth."""

from __future__ import annotations

from fakes import FixedStack, FixedThreads, FixedTrace, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.screens.threads import ThreadsScreen
from lgconsole.console.screens.trace import TraceScreen
from lgconsole.widgets.waterfall import Waterfall
from livefixtures import recorded
from pilotwait import pilot_wait, settled
from threadfixtures import load
from tracefixtures import RUN


def _app() -> LgConsoleApp:
    return LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)


def test_trace_view_of_a_demo_run(snap_compare):
    app = _app()

    async def show(pilot):
        await app.push_screen(TraceScreen(RUN, FixedTrace(), poll=False))
        await pilot_wait(pilot, lambda: app.screen.report is not None, timeout=10, what="the trace")
        await settled(pilot)

    assert snap_compare(app, terminal_size=(130, 42), run_before=show)


async def test_t_on_the_threads_screen_traces_the_selected_thread_and_esc_closes_it():
    app, source = _app(), FixedTrace()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = ThreadsScreen(FixedThreads(load()), poll=False)
        screen.trace_source = source
        await app.push_screen(screen)
        await pilot_wait(pilot, lambda: screen.view.focus.thread_id is not None, timeout=10, what="a thread")
        selected = screen.view.focus.thread_id
        await pilot.press("t")
        await pilot_wait(pilot, lambda: isinstance(app.screen, TraceScreen) and app.screen.report is not None,
                         timeout=10, what="the trace view")
        assert source.asked == [selected]
        rows = app.screen.query_one(Waterfall).rows
        assert [r.label for r in rows][:3] == ["supervisor", "researcher", "coder"]
        assert any(r.depth == 1 and r.label == "critique" for r in rows)
        await pilot.press("escape")
        await pilot_wait(pilot, lambda: app.screen is screen, timeout=10, what="the Threads screen again")


async def test_t_on_the_live_screen_traces_the_run_shown():
    app, source = _app(), FixedTrace()
    live = LiveRun()
    for event in recorded("demo_interrupt"):
        live.feed(event)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = LiveScreen(live, assistant="demo")
        screen.trace_source = source
        await app.push_screen(screen)
        await settled(pilot)
        await pilot.press("t")
        await pilot_wait(pilot, lambda: isinstance(app.screen, TraceScreen) and app.screen.report is not None,
                         timeout=10, what="the trace view")
        assert source.asked == [live.run_id]
        streamed = [s for s in live.all_steps() if s.first_token_at is not None and s.task_id]
        assert app.screen.first_tokens.keys() == {s.task_id for s in streamed}


async def _threads_screen(app, pilot, source):
    screen = ThreadsScreen(FixedThreads(load()), poll=False)
    screen.trace_source = source
    await app.push_screen(screen)
    await pilot_wait(pilot, lambda: screen.state is not None, timeout=10, what="the newest thread's head state")
    await settled(pilot)
    return screen


def test_threads_screen_with_the_state_growth_section(snap_compare):
    app = _app()

    async def show(pilot):
        screen = await _threads_screen(app, pilot, FixedTrace())
        await pilot.press("g")
        await pilot_wait(pilot, lambda: screen.query_one("#thread-growth").values, timeout=10, what="the growth")
        await settled(pilot)

    assert snap_compare(app, terminal_size=(130, 40), run_before=show)


async def test_g_toggles_the_threads_state_growth_for_the_selected_thread():
    app, source = _app(), FixedTrace()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _threads_screen(app, pilot, source)
        section = screen.query_one("#thread-growth")
        assert not section.display and source.asked == []  # hidden, nothing read until asked for
        await pilot.press("g")
        await pilot_wait(pilot, lambda: section.values, timeout=10, what="the growth sparkline")
        assert section.display and source.asked == [screen.view.focus.thread_id]
        assert "largest keys: messages 7 KiB" in str(screen.query_one("#thread-growth-keys").render())
        await pilot.press("g")
        await settled(pilot)
        assert not section.display
