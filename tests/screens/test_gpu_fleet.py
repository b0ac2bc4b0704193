"""The GPU screen's fleet view (a Prometheus configured): a snapshot with the recorded fleet, and Pilot tests that
the view follows readings (fleet shown, Prometheus down, no Prometheus)."""

from __future__ import annotations

import dataclasses

from fakes import FixedStack, gpu_box_snapshot
from fleet_fixtures import PROMETHEUS_URL, fleet_readings
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.fleet import Fleet
from lgconsole.console.screens.gpu import GpuScreen
from lgconsole.console.sources.gpu import ReplayGpuSource
from lgconsole.widgets.record_table import RecordTable


def _app() -> LgConsoleApp:
    return LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(gpu_box_snapshot()), poll=False)


async def _show(pilot, readings) -> GpuScreen:
    await pilot.app.workers.wait_for_complete()  # the header's stack snapshot
    screen = GpuScreen(source=ReplayGpuSource(readings), poll=False)
    await pilot.app.push_screen(screen)
    await pilot.pause()
    for reading in readings:
        screen.show_reading(reading)
    await pilot.pause()
    return screen


def test_gpu_screen_fleet(snap_compare):
    async def run_before(pilot) -> None:
        await _show(pilot, fleet_readings())

    assert snap_compare(_app(), terminal_size=(150, 50), run_before=run_before)


def _cells(screen: GpuScreen, table_id: str) -> list[list[str]]:
    table = screen.query_one(f"#{table_id}", RecordTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_fleet_view_follows_the_readings():
    app = _app()
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await _show(pilot, fleet_readings())
        assert screen.query_one("#fleet").display
        hosts = _cells(screen, "fleet-hosts")
        assert [row[0] for row in hosts] == ["gpu-node-1", "gpu-node-2"]
        assert hosts[1][7:9] == ["93%", "7/9"] and hosts[1][11:] == ["11/4", "4/4"]
        assert [row[2] for row in _cells(screen, "fleet-replicas")] == ["tiny-llama", "tiny-llama"]
        assert len(_cells(screen, "fleet-gpus")) == 4 and len(_cells(screen, "fleet-servers")) == 2
        verdicts = str(screen.query_one("#fleet-verdicts").render())
        assert "unbalanced: KV 93% on gpu-node-2" in verdicts and "1,026 seqs fit at 1,024" in verdicts
        assert str(screen.query_one("#fleet-title").render()) == f"Fleet · Prometheus {PROMETHEUS_URL}"

        # Prometheus stops answering: its error in the fleet's state line, the local columns keep working
        down = dataclasses.replace(fleet_readings()[0], fleet=Fleet(
            url=PROMETHEUS_URL, taken_at=0.0, error=f"Prometheus at {PROMETHEUS_URL}: connection refused"))
        screen.show_reading(down)
        await pilot.pause()
        state = screen.query_one("#fleet-state")
        assert "connection refused" in str(state.render()) and state.has_class("-error")
        assert _cells(screen, "fleet-hosts") == [] and str(screen.query_one("#fleet-verdicts").render()) == ""

        # no Prometheus configured: no fleet view, the screen as it was
        screen.show_reading(dataclasses.replace(down, fleet=None))
        await pilot.pause()
        assert not screen.query_one("#fleet").display
        await pilot.press("r")  # a refresh reads the source again: the fleet comes back
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one("#fleet").display and len(_cells(screen, "fleet-hosts")) == 2
