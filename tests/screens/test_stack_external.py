"""The Stack screen of an attached deployment (POSTGRES_URL, LANGGRAPH_URL, no `up`) with fixed data: external
services read "external · healthy" / "external · down" with the reason, Redis says why it is not started, and the
keys that would stop or restart a process refuse for a service lgconsole does not run."""

from __future__ import annotations

from fakes import NOW, FixedStack
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.sources.stack import StackSnapshot
from lgconsole.stack.services.service import ServiceState, ServiceStatus
from pilotwait import pilot_wait, settled

REDIS_WHY = ('not started: the LangGraph server is external and nothing else of the stack uses Redis ([redis] '
             'enabled = "yes" starts it)')


def attached_snapshot() -> StackSnapshot:
    """Postgres answers, the LangGraph server refuses connections, Redis is not used, no model server; no
    supervisor (none is needed)."""
    services = [
        ServiceStatus("postgres", ServiceState.HEALTHY, managed=False, port=5432, version="PostgreSQL 16.4",
                      url="postgresql://app:***@db.internal:5432/app", detail="select version()"),
        ServiceStatus("redis", ServiceState.DISABLED, detail=REDIS_WHY),
        ServiceStatus("vllm", ServiceState.DISABLED),
        ServiceStatus("langgraph", ServiceState.DOWN, managed=False, port=8123, url="http://lg.internal:8123",
                      detail="connection refused", last_error="langgraph: connection refused"),
    ]
    return StackSnapshot(services, None, False, {}, "none", taken_at=NOW, redis_use=REDIS_WHY)


def _app() -> LgConsoleApp:
    return LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(attached_snapshot()), poll=False)


def test_stack_screen_external_services(snap_compare):
    async def select_langgraph(pilot):
        await settled(pilot)
        await pilot.press("down", "down", "down")
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(120, 30), run_before=select_langgraph)


async def test_external_rows_say_external_and_refuse_process_keys():
    app = _app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        table = app.screen.query_one("ServiceTable")
        assert str(table.get_cell("postgres", "state")).endswith("external · healthy")
        assert str(table.get_cell("langgraph", "state")).endswith("external · down")
        assert str(table.get_cell("redis", "state")).endswith("disabled")
        detail = app.screen.query_one("#service-detail")
        assert "nothing to bring up" in str(detail.render())  # no "press U": there is nothing for `up` to run

        await pilot.press("down", "down", "down")  # langgraph
        await pilot_wait(pilot, lambda: "down: connection refused" in str(detail.render()), timeout=10,
                         what="the down reason in the detail")
        await pilot.press("r", "x")
        await pilot_wait(pilot, lambda: len(app._notifications) >= 2, timeout=10, what="two refusals")
        assert app.source.commands == []  # nothing was sent to a supervisor
        said = [n.message for n in app._notifications]
        assert said[0] == "langgraph is external: lgconsole probes it but does not run it, so it cannot restart it"
        assert said[1].endswith("so it cannot stop it")

        await pilot.press("up", "up")  # redis: why it is not started
        await pilot_wait(pilot, lambda: "nothing else of the stack uses Redis" in str(detail.render()), timeout=10,
                         what="why Redis is not started")


async def test_services_another_manager_runs_read_not_supervised_and_refuse_process_keys():
    services = [
        ServiceStatus("postgres", ServiceState.HEALTHY, port=5433, version="PostgreSQL 16.4", run_elsewhere=True,
                      url="postgresql://lgconsole:***@127.0.0.1:5433/lgconsole", detail="select version()"),
        ServiceStatus("redis", ServiceState.DOWN, port=6380, run_elsewhere=True, detail="bad password"),
        ServiceStatus("vllm", ServiceState.DISABLED),
        ServiceStatus("langgraph", ServiceState.STOPPED),
    ]
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), poll=False,
                       source=FixedStack(StackSnapshot(services, None, False, {}, "none", taken_at=NOW)))
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        table = app.screen.query_one("ServiceTable")
        assert str(table.get_cell("postgres", "state")).endswith("running · not supervised")
        assert str(table.get_cell("redis", "state")).endswith("down · not supervised")
        assert str(table.get_cell("langgraph", "state")).endswith("stopped")
        detail = app.screen.query_one("#service-detail")
        assert "start, stop and restart it there" in str(detail.render())
        await pilot.press("x")
        await pilot_wait(pilot, lambda: len(app._notifications) >= 1, timeout=10, what="the refusal")
        assert app.source.commands == []
        assert [n.message for n in app._notifications][0].endswith("lgconsole cannot stop it")
