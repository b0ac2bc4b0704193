"""The Stack screen with fixed data: snapshots, and the keys that send commands to the selected service."""

from __future__ import annotations

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from pilotwait import settled


def _app(all_healthy: bool) -> LgConsoleApp:
    config = Config(state_dir="/srv/lgc")
    return LgConsoleApp(config, source=FixedStack(fixed_stack_snapshot(all_healthy)), poll=False)


def test_stack_screen_all_healthy(snap_compare):
    assert snap_compare(_app(True), terminal_size=(120, 30), run_before=settled)


def test_stack_screen_crash_and_vllm_loading(snap_compare):
    async def select_langgraph(pilot):
        await settled(pilot)
        await pilot.press("down", "down", "down")
        await pilot.pause()

    assert snap_compare(_app(False), terminal_size=(120, 30), run_before=select_langgraph)


def test_stack_screen_at_80x24(snap_compare):
    assert snap_compare(_app(False), terminal_size=(80, 24), run_before=settled)


def test_help_screen(snap_compare):
    assert snap_compare(_app(True), terminal_size=(100, 36), press=["question_mark"], run_before=settled)


async def test_keys_send_commands_to_the_selected_service():
    app = _app(True)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)  # the rows are in: the cursor moves over them
        await pilot.press("down", "r")  # redis
        await pilot.press("down", "down", "x")  # langgraph
        await pilot.press("colon", *"restart postgres", "enter")
        await pilot.press("colon", *"restart nothing", "enter")  # one-line error, nothing sent
        await pilot.press("D", "y")  # stack down asks first
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.source.commands == [("restart", "redis"), ("stop", "langgraph"), ("restart", "postgres"),
                                       ("down", None)]


