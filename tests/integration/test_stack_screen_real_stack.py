"""The Stack screen on a real stack: restart a service from the keyboard, see its new pid, open its log."""

from __future__ import annotations

import asyncio
import json

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.service import ServiceState
from pilotwait import pilot_wait
from stackutil import lgconsole


@pytest.mark.integration
async def test_restart_a_service_from_the_keyboard_on_a_real_stack(live_stack):
    app = LgConsoleApp(live_stack, triage_first=False)
    before = supervisor.read_state(live_stack.state_path).by_name("redis")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot_wait(pilot, lambda: app.snapshot is not None, timeout=5, what="the first stack snapshot")
        # while the console runs, a second terminal asks for the status
        result = await asyncio.to_thread(lgconsole, "status", "--json",
                                         config=live_stack.state_path / "lgconsole.toml")
        assert result.returncode == 0
        assert {s["name"]: s["state"] for s in json.loads(result.stdout)["services"]}["redis"] == "healthy"

        await pilot.press("down", "r")

        def redis_now():
            return supervisor.read_state(live_stack.state_path).by_name("redis")

        await pilot_wait(pilot, lambda: redis_now().pid not in (None, before.pid)
                         and redis_now().state == ServiceState.HEALTHY, timeout=15, what="redis restarted and healthy")
        now = redis_now()
        assert now.pid != before.pid and now.state == ServiceState.HEALTHY
        # the screen shows the new pid within a refresh or two
        await pilot_wait(pilot, lambda: app.snapshot.by_name("redis").pid == now.pid, timeout=3,
                         what="the new redis pid in the screen's snapshot")
        table = app.screen.query_one("#services")
        assert str(now.pid) in str(table.get_row("redis"))

        await pilot.press("l")  # the full log of the selected service
        await pilot_wait(pilot, lambda: app.screen.query_one("#log").line_count > 0, timeout=5,
                         what="the log screen with lines")
        assert type(app.screen).__name__ == "LogScreen"
        log = app.screen.query_one("#log")
        assert log.line_count > 0
        await pilot.press("escape")
        assert type(app.screen).__name__ == "StackScreen"
