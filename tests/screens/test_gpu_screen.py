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
from lgconsole.widgets.sparkline import sparkline_cells
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
        await pilot.pause(0.4)  # four timer periods: long enough for a paused timer to show it still reads
        assert source.index == seen


def test_sparkline_cells_scale_and_alignment():
    assert sparkline_cells([], 5) == "·····"
    assert sparkline_cells([0.0, 1.0], 4, vmax=1.0) == "   █"  # newest on the right, zero draws nothing
    assert sparkline_cells([0.01, 1.0], 2, vmax=1.0) == "▁█"  # anything above zero stays visible
    assert sparkline_cells([0.93] * 3, 3, vmax=1.0) == "▇▇▇"  # a steady high value draws high
    assert len(sparkline_cells(list(range(100)), 10)) == 10


# --- the source behind the screen and the CLI ------------------------------------------------------------------

def test_vllm_urls_from_the_config(tmp_path):
    from lgconsole.console.sources.gpu import vllm_urls
    from lgconsole.stack.services.service import StackSpec

    assert vllm_urls(Config(state_dir=str(tmp_path))) == []  # no vLLM configured
    external = Config(state_dir=str(tmp_path))
    external.vllm.url = "http://gpu-box:8000/v1"
    assert vllm_urls(external) == ["http://gpu-box:8000"]
    managed = Config(state_dir=str(tmp_path))
    managed.vllm.model = "/srv/models/tiny-llama"
    assert vllm_urls(managed) == []  # before the first `up` there is no spec with a port
    StackSpec(state_dir=str(tmp_path), services={"vllm": {"model": "/srv/models/tiny-llama", "port": 43210}}).save()
    assert vllm_urls(managed) == ["http://127.0.0.1:43210"]


def test_serving_facts_read_the_local_model_config(tmp_path):
    import json

    from gpu_fixtures import TINY_LLAMA_CONFIG
    from lgconsole.console.sources.gpu import serving_facts

    (tmp_path / "config.json").write_text(json.dumps(TINY_LLAMA_CONFIG))
    config = Config(state_dir=str(tmp_path))
    config.vllm.model, config.vllm.max_num_seqs = str(tmp_path), 8
    facts = serving_facts(config, max_model_len=1024, fan_out=3)
    assert (facts.bytes_per_token, facts.max_num_seqs, facts.max_model_len, facts.fan_out) == (1024, 8, 1024, 3)


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


def _gpu_args(*argv):
    import argparse

    from lgconsole.console.cli.gpu import add_gpu_command

    parser = argparse.ArgumentParser()
    add_gpu_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["gpu", *argv])


def test_cli_json_has_no_secrets_and_says_what_failed(tmp_path):
    import io
    import json
    import socket

    from lgconsole.console.cli.gpu import cmd_gpu

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    out = io.StringIO()
    args = _gpu_args("--json", "--url", f"http://admin:hunter2@127.0.0.1:{port}", "--window", "0")
    assert cmd_gpu(Config(state_dir=str(tmp_path)), args, out=out) == 0
    text = out.getvalue()
    assert "hunter2" not in text
    data = json.loads(text)
    (server,) = data["vllm"]
    assert server["error"] == f"http://admin:***@127.0.0.1:{port}: connection refused"
    assert data["gpus"]["available"] or data["gpus"]["reason"]


def test_cli_text_with_rates_from_two_scrapes(tmp_path):
    import io

    from lgconsole.console.cli.gpu import cmd_gpu

    out = io.StringIO()
    readings = starved_readings()[10:12]  # t = 5.3 and 5.8: +4 preemptions in 0.5 s
    assert cmd_gpu(Config(state_dir=str(tmp_path)), _gpu_args(), out=out, source=ReplayGpuSource(readings),
                   sleep=lambda s: None) == 0
    text = out.getvalue()
    assert "pid 4242     vllm" in text and "70.3 GiB" in text
    assert "KV cache 93%  running 4  waiting 9 (capacity 9)" in text
    assert "preemptions 8.0/s" in text
    assert "2 seqs fit at 1,024" in text
    assert "KV-CACHE STARVATION" in text


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
