"""Contexts in the console: `:ctx` opens the picker (snapshot), `:ctx NAME` and the picker switch every screen to the
context's config (the header names it, the Stack screen shows its services), an unknown name is one line."""

from __future__ import annotations

from pathlib import Path

import asyncio

import pytest

from fakes import NOW, FixedStack, RecordedSession, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import load_config
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.sources.run_follower import RunFollower
from lgconsole.console.sources.stack import StackSnapshot
from lgconsole.stack.services.service import ServiceState, ServiceStatus
from pilotwait import pilot_wait, settled

CONTEXTS = '''
state_dir = "/srv/lgc"
[contexts.prod.langgraph]
url = "https://lg.internal:8123"
api_key = "prod-api-key-do-not-show"
[contexts.prod.postgres]
url = "postgresql://reader:hunter2@db.internal/lg"
[contexts.prod.redis]
url = "redis://cache.internal:6379/0"
[contexts.staging.langgraph]
url = "http://staging.internal:8123"
'''


def prod_snapshot() -> StackSnapshot:
    """What the prod context shows: three external services, nothing run by lgconsole."""
    services = [ServiceStatus(name=name, state=ServiceState.HEALTHY, managed=False, url=url)
                for name, url in (("postgres", "postgresql://reader:***@db.internal/lg"),
                                  ("redis", "redis://cache.internal:6379/0"),
                                  ("langgraph", "https://lg.internal:8123"))]
    services.insert(2, ServiceStatus(name="vllm", state=ServiceState.DISABLED, managed=False))
    return StackSnapshot(services, None, False, {}, "none", taken_at=NOW)


def stack_for(config) -> FixedStack:
    return FixedStack(fixed_stack_snapshot(True) if config.context == "local" else prod_snapshot())


def _app(tmp_path: Path) -> LgConsoleApp:
    path = tmp_path / "lgconsole.toml"
    path.write_text(CONTEXTS)
    config = load_config(path, env={})
    return LgConsoleApp(config, poll=False, stack_source=stack_for)


def last_note(app) -> str:
    return [n.message for n in app._notifications][-1]


def header_text(app) -> str:
    return str(app.screen.query_one("StackHeader").render())


def postgres_pid(app) -> str:
    return str(app.screen.query_one("ServiceTable").get_cell("postgres", "pid"))


def test_context_picker(snap_compare, tmp_path):
    async def open_picker(pilot):
        await settled(pilot)
        await pilot.press("colon", *"ctx", "enter")
        await pilot_wait(pilot, lambda: pilot.app.screen.query_one("#context-list"), timeout=10, what="the picker")
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=(100, 24), run_before=open_picker)


async def test_ctx_name_switches_every_screen_to_the_context(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        assert "ctx" not in header_text(app) and postgres_pid(app) == "4101"
        first_screen = app.screen
        await pilot.press("colon", *"ctx prod", "enter")
        await pilot_wait(pilot, lambda: "ctx prod" in header_text(app), timeout=10, what="the header naming prod")
        assert app.config.context == "prod" and app.config.langgraph.url == "https://lg.internal:8123"
        assert app.screen is not first_screen and app.current_mode == "stack"  # built again on the new config
        await pilot_wait(pilot, lambda: postgres_pid(app) == "-", timeout=10, what="prod's services on the Stack screen")
        assert "/srv/lgc/contexts/prod" in header_text(app)
        detail = str(app.screen.query_one("#service-detail").render())
        assert "external: probed every 2 s, not run" in detail and "press U" not in detail  # nothing to bring up
        assert all("prod-api-key" not in n.message and "hunter2" not in n.message for n in app._notifications)

        await pilot.press("colon", *"ctx prd", "enter")  # a typo: one line, still in prod, nothing rebuilt
        await pilot.pause()
        assert "no context prd (did you mean 'prod'?)" in last_note(app)
        assert app.config.context == "prod" and "ctx prod" in header_text(app)

        await pilot.press("colon", *"ctx local", "enter")
        await pilot_wait(pilot, lambda: "ctx" not in header_text(app), timeout=10, what="the local header")
        await pilot_wait(pilot, lambda: postgres_pid(app) == "4101", timeout=10, what="the local stack again")


async def test_the_picker_switches_and_escape_stays(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        await pilot.press("colon", *"ctx", "enter")
        await pilot_wait(pilot, lambda: app.screen.query_one("#context-list"), timeout=10, what="the picker")
        await pilot.press("escape")
        await pilot.pause()
        assert app.config.context == "local" and app.screen.__class__.__name__ == "StackScreen"
        await pilot.press("colon", *"ctx", "enter")
        await pilot_wait(pilot, lambda: app.screen.query_one("#context-list"), timeout=10, what="the picker")
        await pilot.press("down", "down", "enter")  # local, prod, staging
        await pilot_wait(pilot, lambda: "ctx staging" in header_text(app), timeout=10, what="staging's header")
        assert app.config.langgraph.url == "http://staging.internal:8123"


@pytest.mark.parametrize("command", ["up", "down"])
async def test_up_and_down_in_an_external_context_are_refused_in_one_line(tmp_path, command):
    app = _app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        await pilot.press("colon", *"ctx prod", "enter")
        await pilot_wait(pilot, lambda: "ctx prod" in header_text(app), timeout=10, what="prod")
        await pilot.press("colon", *command, "enter")
        await pilot.pause()
        assert "runs no service itself" in last_note(app)
        assert app.source.commands == [] and not isinstance(app.screen, type(None))
        assert app.screen.__class__.__name__ == "StackScreen"  # no confirmation asked for nothing


class EndlessSession(RecordedSession):
    """A run that streams its first steps and then nothing more (still running on its server)."""

    async def events(self):
        for event in self.events_[:-1]:
            yield event
        await asyncio.Event().wait()


async def test_switching_stops_the_old_contexts_run_follower(tmp_path):
    """The Live screen follows a run in local; `:ctx prod` takes the screen down: its follow worker is cancelled and
    the run's stream closed (the run goes on on its server), nothing of it reaches the new context's screens."""
    app = _app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        live = LiveScreen()
        await app.push_screen(live)
        live.follower = RunFollower(RecordedSession.url, on_change=lambda _live: live.schedule_paint())
        session = EndlessSession("demo_interrupt")
        live.follower.adopt(session)
        worker = live.run_worker(live.follower.follow(), group="live-stream", name="run", exit_on_error=False)
        await pilot_wait(pilot, lambda: live.live.step_count >= 1, timeout=10, what="the first steps followed")
        await pilot.press("colon", *"ctx prod", "enter")
        await pilot_wait(pilot, lambda: "ctx prod" in header_text(app), timeout=10, what="prod")
        await pilot_wait(pilot, lambda: worker.is_finished and session.closed, timeout=10, what="the follow stopped")
        assert worker.is_cancelled and not live.is_attached and app.latest_live is None
        assert not [n for n in app._notifications if "failed" in n.message or "under way" in n.message]
