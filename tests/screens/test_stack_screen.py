"""The Stack screen: snapshots with fixed data, and Pilot tests that drive a real stack from the keyboard."""

from __future__ import annotations

import asyncio
import json

import pytest

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.service import ServiceState, ServiceStatus
from stackutil import lgconsole


def _app(all_healthy: bool) -> LgConsoleApp:
    config = Config(state_dir="/srv/lgc")
    return LgConsoleApp(config, source=FixedStack(fixed_stack_snapshot(all_healthy)), poll=False)


def test_stack_screen_all_healthy(snap_compare):
    assert snap_compare(_app(True), terminal_size=(120, 30))


def test_stack_screen_crash_and_vllm_loading(snap_compare):
    async def select_langgraph(pilot):
        await pilot.pause()
        await pilot.press("down", "down", "down")
        await pilot.pause()

    assert snap_compare(_app(False), terminal_size=(120, 30), run_before=select_langgraph)


def test_stack_screen_at_80x24(snap_compare):
    assert snap_compare(_app(False), terminal_size=(80, 24))


def test_help_screen(snap_compare):
    assert snap_compare(_app(True), terminal_size=(100, 36), press=["question_mark"])


async def test_keys_send_commands_to_the_selected_service():
    app = _app(True)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("down", "r")  # redis
        await pilot.press("down", "down", "x")  # langgraph
        await pilot.press("colon", *"restart postgres", "enter")
        await pilot.press("colon", *"restart nothing", "enter")  # one-line error, nothing sent
        await pilot.press("D", "y")  # stack down asks first
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.source.commands == [("restart", "redis"), ("stop", "langgraph"), ("restart", "postgres"),
                                       ("down", None)]


@pytest.mark.integration
async def test_restart_a_service_from_the_keyboard_on_a_real_stack(live_stack):
    app = LgConsoleApp(live_stack, triage_first=False)
    before = supervisor.read_state(live_stack.state_path).by_name("redis")
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(50):
            await pilot.pause(0.1)
            if app.snapshot is not None:
                break
        # while the console runs, a second terminal asks for the status
        result = await asyncio.to_thread(lgconsole, "status", "--json",
                                         config=live_stack.state_path / "lgconsole.toml")
        assert result.returncode == 0
        assert {s["name"]: s["state"] for s in json.loads(result.stdout)["services"]}["redis"] == "healthy"

        await pilot.press("down", "r")
        for _ in range(150):
            await pilot.pause(0.1)
            now = supervisor.read_state(live_stack.state_path).by_name("redis")
            if now.pid and now.pid != before.pid and now.state == ServiceState.HEALTHY:
                break
        assert now.pid != before.pid and now.state == ServiceState.HEALTHY
        # the screen shows the new pid within a refresh or two
        for _ in range(30):
            await pilot.pause(0.1)
            if app.snapshot.by_name("redis").pid == now.pid:
                break
        table = app.screen.query_one("#services")
        assert str(now.pid) in str(table.get_row("redis"))

        await pilot.press("l")  # the full log of the selected service
        await pilot.pause(0.5)
        assert type(app.screen).__name__ == "LogScreen"
        log = app.screen.query_one("#log")
        assert log.line_count > 0
        await pilot.press("escape")
        assert type(app.screen).__name__ == "StackScreen"
