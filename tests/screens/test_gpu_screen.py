"""The GPU screen: snapshots of the healthy, starved and no-driver states with fixed data, and Pilot key tests."""

from __future__ import annotations

import pytest

from fakes import FixedStack, gpu_box_snapshot
from gpu_fixtures import T0, healthy_readings, no_driver_readings, starved_readings
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.sources.gpu import ReplayGpuSource
from lgconsole.console.screens.gpu import GpuScreen
from lgconsole.widgets.gauge import Gauge
from lgconsole.widgets.gpu_table import GpuProcessTable
from pilotwait import pilot_wait


def _app() -> LgConsoleApp:
    return LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(gpu_box_snapshot()), poll=False)


def _showing(readings):
    """run_before: push the GPU screen (no timer, no worker) and feed it the readings in order."""

    async def run_before(pilot) -> None:
        await pilot.app.workers.wait_for_complete()  # the header's stack snapshot
        screen = GpuScreen(source=ReplayGpuSource(readings), poll=False)
        await pilot.app.push_screen(screen)
        await pilot.pause()
        for reading in readings:
            screen.show_reading(reading)
        await pilot.pause()

    return run_before


def test_gpu_screen_healthy(snap_compare):
    assert snap_compare(_app(), terminal_size=(120, 40), run_before=_showing(healthy_readings()))


def test_gpu_screen_starved(snap_compare):
    assert snap_compare(_app(), terminal_size=(120, 40), run_before=_showing(starved_readings()))


def test_gpu_screen_no_driver(snap_compare):
    assert snap_compare(_app(), terminal_size=(120, 40), run_before=_showing(no_driver_readings()))


def test_gpu_screen_starved_at_80x24(snap_compare):
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=_showing(starved_readings()))


async def test_alarm_fires_and_clears_on_the_screen():
    readings = starved_readings(until=30.0)
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GpuScreen(source=ReplayGpuSource(readings), poll=False)
        await app.push_screen(screen)
        fired = cleared = None
        for reading in readings:
            screen.show_reading(reading)
            firing = screen.query_one("#gpu-alarm").has_class("-firing")
            if firing and fired is None:
                fired = round(reading.taken_at - T0, 1)
            if fired is not None and not firing and cleared is None:
                cleared = round(reading.taken_at - T0, 1)
        assert (fired, cleared) == (5.8, 21.1)
        await pilot.pause()


async def test_keys_pause_rate_and_refresh_through_the_worker():
    """Real worker path: `r` reads the (replay) source in a thread, the reading arrives as a message."""
    readings = starved_readings()
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        screen = GpuScreen(source=ReplayGpuSource(readings), poll=False)
        await app.push_screen(screen)
        assert screen.telemetry.reading is None
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.telemetry.reading is readings[0]
        table = screen.query_one(GpuProcessTable)
        assert table.row_count == 2
        assert "vllm" in str(table.get_row_at(0)[2])
        assert screen.query_one("#vram-gauges").query(Gauge).first().fraction > 0.88

        assert screen.interval == 1.0
        await pilot.press("plus")
        assert screen.interval == 0.5
        await pilot.press("minus", "minus")
        assert screen.interval == 2.0
        await pilot.press("p")
        assert screen.paused
        assert "PAUSED" in str(screen.query_one("#gpu-status").render())
        await pilot.press("p")
        assert not screen.paused


class _FailingThenReplaying(ReplayGpuSource):
    """The first read raises (an NVML bug, a reader bug); the next ones replay."""

    def __init__(self, readings):
        super().__init__(readings)
        self.failed = False

    def read(self, vllm_pids=()):
        if not self.failed:
            self.failed = True
            raise RuntimeError("nvmlDeviceGetMemoryInfo: Unknown Error\nmore detail")
        return super().read(vllm_pids)


async def test_a_failed_read_shows_in_the_status_line_and_the_next_read_clears_it():
    """The GPU screen's override of the one worker-error handler: the status line, not a toast per tick."""
    readings = healthy_readings()
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        screen = GpuScreen(source=_FailingThenReplaying(readings), poll=False)
        await app.push_screen(screen)
        await pilot.press("r")
        status = lambda: str(screen.query_one("#gpu-status").render())  # noqa: E731
        await pilot_wait(pilot, lambda: "read failed" in status(), timeout=10, what="the failure in the status line")
        assert "read failed: nvmlDeviceGetMemoryInfo: Unknown Error" in status()
        assert not app._notifications and app.is_running
        await pilot.press("r")  # not stuck 'in flight': the next read goes out
        await pilot_wait(pilot, lambda: screen.telemetry.reading is readings[0], timeout=10, what="the next reading")
        assert "read failed" not in status()


async def test_polling_reads_on_a_timer_and_pauses():
    readings = healthy_readings(10)
    app = _app()
    app.config.ui.refresh_seconds = 0.1
    async with app.run_test(size=(120, 40)) as pilot:
        source = ReplayGpuSource(readings)
        screen = GpuScreen(source=source)
        await app.push_screen(screen)
        await pilot_wait(pilot, lambda: source.index >= 3, timeout=10, what="three reads on the 0.1 s timer")
        assert source.index >= 3
        await pilot.press("p")
        await app.workers.wait_for_complete()
        seen = source.index
        await pilot.pause(0.4)  # four timer periods: a timer still running would have read again
        assert source.index == seen


async def test_screen_polls_a_real_metrics_endpoint():
    """The whole path: timer -> thread worker -> NVML (no driver here) + HTTP scrape -> message -> widgets."""
    from fakes import MetricsServer
    from lgconsole.console.sources.gpu import GpuSource

    app = _app()
    app.config.ui.refresh_seconds = 0.1
    with MetricsServer() as server:
        source = GpuSource(app.config, urls=[f"{server.url}/busy"])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = GpuScreen(source=source)
            await app.push_screen(screen)
            await pilot_wait(pilot, lambda: len(next(iter(screen.telemetry.tracks.values())).window) >= 3,
                             timeout=10, what="three scrapes of the metrics endpoint")
            track = next(iter(screen.telemetry.tracks.values()))
            assert track.latest.running == 7 and track.error is None
            assert screen.query_one("#kv-gauge", Gauge).fraction == pytest.approx(0.933, abs=1e-3)
            gpus = screen.telemetry.reading.gpus
            state = str(screen.query_one("#gpu-state").render())
            assert gpus.available or gpus.reason in state
            await pilot.press("p")
            await app.workers.wait_for_complete()


async def test_default_source_with_nothing_configured(tmp_path):
    """What `lgconsole` shows on a machine with no vLLM configured: the screen builds its own GpuSource."""
    app = LgConsoleApp(Config(state_dir=str(tmp_path)), source=FixedStack(gpu_box_snapshot()), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GpuScreen()
        await app.push_screen(screen)
        await pilot_wait(pilot, lambda: screen.telemetry.reading is not None, timeout=10,
                         what="the first reading of the default source")
        reading = screen.telemetry.reading
        assert reading.servers == ()
        assert "no vLLM configured" in str(screen.query_one("#vllm-state").render())
        assert reading.gpus.available or reading.gpus.reason in str(screen.query_one("#gpu-state").render())
        await pilot.press("p")
        await app.workers.wait_for_complete()
