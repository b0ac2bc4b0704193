"""The Stack screen: snapshots with fixed data, and Pilot tests that drive a real stack from the keyboard."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.sources.stack import StackSnapshot
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.service import ServiceState, ServiceStatus
from stackutil import lgconsole

NOW = 1_790_000_000.0


def _fixed_snapshot(all_healthy: bool) -> StackSnapshot:
    def svc(name, state, **kw):
        return ServiceStatus(name=name, state=state, log_path=f"/srv/lgc/logs/{name}.log", **kw)

    services = [
        svc("postgres", ServiceState.HEALTHY, pid=4101, port=54011, version="PostgreSQL 15.18",
            url="postgresql://lgconsole:***@127.0.0.1:54011/lgconsole", started_at=NOW - 7260, healthy_at=NOW - 7258,
            detail="accepting connections"),
        svc("redis", ServiceState.HEALTHY, pid=4102, port=54012, version="Redis 7.0.15",
            url="redis://:***@127.0.0.1:54012/0", started_at=NOW - 7260, healthy_at=NOW - 7259, detail="PONG"),
        svc("vllm", ServiceState.HEALTHY if all_healthy else ServiceState.STARTING, pid=4150, port=54013,
            version="vLLM 0.32.0" if all_healthy else None, url="http://127.0.0.1:54013",
            started_at=NOW - 95, healthy_at=NOW - 2 if all_healthy else None,
            detail="GET /health" if all_healthy else
            "starting 95s: INFO Loading safetensors checkpoint shards: 75% Completed | 3/4"),
        svc("langgraph", ServiceState.HEALTHY if all_healthy else ServiceState.CRASHED,
            pid=4188 if all_healthy else None, port=54014, version="langgraph-api 0.16.7", url="http://127.0.0.1:54014",
            started_at=NOW - 40, healthy_at=NOW - 38 if all_healthy else None, restarts=0 if all_healthy else 2,
            last_error=None if all_healthy else "langgraph: killed by signal 9 (SIGKILL); last log line: Starting background run [bracketed] [/unclosed]",
            detail="GET /ok" if all_healthy else "restarting in 4s"),
    ]
    tails = {
        "postgres": ["2026-11-24 05:53:12 UTC LOG:  database system is ready to accept connections"],
        "vllm": ["INFO Loading weights took 41.2 s", "INFO Loading safetensors checkpoint shards: 75% Completed | 3/4"],
        "langgraph": ["Starting background run [bracketed] [/unclosed]", "Background run succeeded"],
    }
    return StackSnapshot(services, 4100, True, tails, "vLLM (llama-3.1-8b)", taken_at=NOW)


class FixedStack:
    """Fixed data for snapshots: what the real LiveStack would read from a stack in that state."""

    def __init__(self, snapshot: StackSnapshot):
        self._snapshot = snapshot
        self.commands: list[tuple[str, str | None]] = []

    def snapshot(self) -> StackSnapshot:
        return self._snapshot

    def command(self, cmd: str, service: str | None = None) -> str:
        self.commands.append((cmd, service))
        return f"{cmd} {service}"

    def bring_up(self) -> str:
        return "stack already running"

    def shut_down(self) -> str:
        self.commands.append(("down", None))
        return "stack stopped"

    def log_path(self, service: str) -> Path:
        return Path(f"/srv/lgc/logs/{service}.log")


def _app(all_healthy: bool) -> LgConsoleApp:
    config = Config(state_dir="/srv/lgc")
    return LgConsoleApp(config, source=FixedStack(_fixed_snapshot(all_healthy)), poll=False)


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
