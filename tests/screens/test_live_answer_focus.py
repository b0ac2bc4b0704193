"""The interrupt's answer box takes the keys the moment the run stops at interrupt(), not on the paint clock: an
answer typed right after the interrupt arrives, with no key in between, is sent; `i` pressed for a box that already
has the focus is not typed into it. Recorded demo streams through the real RunFollower."""

from __future__ import annotations

import pytest

from fakes import FixedStack, RecordedSession, ScriptedFollower, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens import live as live_screen
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.sources.run_follower import RunFollower
from pilotwait import pilot_wait


@pytest.fixture
def slow_paint(monkeypatch):
    """Paints 30 s apart: only what happens at once (not on the paint clock) can route the keys."""
    monkeypatch.setattr(live_screen, "PAINT_GAP", 30.0)


async def _answered(keys: tuple[str, ...]) -> tuple[list, LiveScreen]:
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(130, 40)) as pilot:
        screen = LiveScreen(assistant="demo")
        await app.push_screen(screen)
        screen.follower = RunFollower(RecordedSession.url, on_change=lambda _live: screen.schedule_paint())
        scripted = ScriptedFollower(screen.follower, [
            RecordedSession("demo_answer_before", thread_status="interrupted", thread_id="t-answer"),
            RecordedSession("demo_answer_after")])
        screen.run_stream("start", payload={"task": "x"})
        await pilot_wait(pilot, lambda: screen.live.status == "waiting", timeout=10, what="the interrupt")
        await pilot.press(*keys)  # right away: no key to reach the box first
        await pilot_wait(pilot, lambda: len(scripted.started) == 2, timeout=5, what="the answer sent")
        await pilot_wait(pilot, lambda: screen.live.status == "success", timeout=10, what="the answered run's end")
        return scripted.started, screen


async def test_an_answer_typed_right_after_the_interrupt_arrives_is_sent(slow_paint):
    started, screen = await _answered((*"true", "enter"))
    assert started[1]["resume"] is True and started[1]["thread_id"] == "t-answer"


async def test_i_for_the_box_that_already_has_the_focus_is_not_typed(slow_paint):
    started, _ = await _answered(("i", *'{"approved": false}', "enter"))
    assert started[1]["resume"] == {"approved": False}


async def test_esc_leaves_the_answer_box_so_number_keys_switch_screens_again(slow_paint):
    from lgconsole.console.screens.graph import GraphScreen

    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(130, 40)) as pilot:
        screen = LiveScreen(assistant="demo")
        await app.push_screen(screen)
        screen.follower = RunFollower(RecordedSession.url, on_change=lambda _live: screen.schedule_paint())
        ScriptedFollower(screen.follower, [RecordedSession("demo_answer_before", thread_status="interrupted",
                                                           thread_id="t-answer")])
        screen.run_stream("start", payload={"task": "x"})
        await pilot_wait(pilot, lambda: screen.live.status == "waiting", timeout=10, what="the interrupt")
        await pilot.press("escape", "2")
        await pilot_wait(pilot, lambda: isinstance(app.screen, GraphScreen), timeout=5, what="the Graph screen")
        assert screen.query_one("#interrupt-answer").value == ""  # nothing was typed into the box
