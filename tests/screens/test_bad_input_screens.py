"""Bad input on screen: a vLLM /metrics reply with `vllm:num_requests_running +Inf` (it left the GPU screen on
"connecting…" with a worker traceback); the screen shows the reading, that count as "-" (unknown), and keeps polling."""

from __future__ import annotations

from fakes import FixedStack, MetricsServer, gpu_box_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.gpu import GpuScreen
from lgconsole.console.sources.gpu import GpuSource
from lgconsole.widgets.sparkline import TitledSparkline
from pilotwait import pilot_wait


async def test_an_inf_running_count_reads_as_unknown_and_the_screen_keeps_polling():
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(gpu_box_snapshot()), poll=False)
    app.config.ui.refresh_seconds = 0.1
    with MetricsServer() as server:
        source = GpuSource(app.config, urls=[f"{server.url}/inf"])
        async with app.run_test(size=(120, 40)) as pilot:
            screen = GpuScreen(source=source)
            await app.push_screen(screen)
            await pilot_wait(pilot, lambda: len(next(iter(screen.telemetry.tracks.values())).window) >= 2,
                             timeout=10, what="two scrapes of the +Inf endpoint")
            track = next(iter(screen.telemetry.tracks.values()))
            assert track.error is None and track.latest.running is None and track.latest.waiting == 9
            assert track.latest.ignored == ("vllm:num_requests_running=inf",)
            assert screen.query_one("#spark-running", TitledSparkline).text.startswith("-")
            assert screen.query_one("#spark-waiting", TitledSparkline).text == "9"
            await pilot.press("p")
            await app.workers.wait_for_complete()
