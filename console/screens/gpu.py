"""The GPU screen: VRAM per GPU and per process, vLLM's KV cache with its history, latencies, capacity, the alarm;
with a Prometheus configured, the fleet first: one row per host, every vLLM replica, GPU and LangGraph server, the
imbalance between replicas and the fleet's KV capacity, its sparklines from range queries.

Reads (NVML, /metrics) run in a thread worker on a timer (`ui.refresh_seconds`, 1 Hz by default) and come back
as `ReadingArrived` messages; a read still in flight skips the next tick instead of piling up threads.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Label, Static
from textual.worker import Worker

from lgconsole.widgets.gauge import Gauge
from lgconsole.widgets.gpu_table import GpuProcessTable, GpuTable, LatencyTable
from lgconsole.widgets.record_table import Column, RecordTable
from lgconsole.widgets.sparkline import TitledSparkline

from lgconsole.widgets.palette import Palette

from lgconsole.console.model.text import format_bytes, format_rate
from lgconsole.console.rows.gpu import alarm_text, capacity_text, gpu_rows, latency_rows, process_rows
from lgconsole.console.rows.gpu_fleet import fleet_gpu_rows, fleet_verdicts_text, host_rows, replica_rows, server_rows
from lgconsole.console.rows.gpu_fleet_text import (GPU_COLUMNS, HOST_COLUMNS, REPLICA_COLUMNS, SERVER_COLUMNS,
                                                   fleet_summary)
from lgconsole.console.rows.gpu_text import rates_line
from lgconsole.console.rows.shown import shown
from lgconsole.console.screens.base import ConsoleScreen
from lgconsole.console.sources.gpu import GpuReading, GpuSource, GpuTelemetry, ServerTrack, served_graphs_fan_out

REFRESH_STEPS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class GpuScreen(ConsoleScreen):
    BINDINGS = [
        Binding("p", "pause", "Pause"),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+"),
        Binding("minus", "slower", "Slower", key_display="-"),
        Binding("r", "read_now", "Refresh"),
        Binding("v", "next_server", "Next vLLM"),
    ]

    class ReadingArrived(Message):
        def __init__(self, reading: GpuReading) -> None:
            super().__init__()
            self.reading = reading

    def __init__(self, source=None, poll: bool = True, telemetry: GpuTelemetry | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.poll = poll
        self.telemetry = telemetry or GpuTelemetry()
        self.paused = False
        self.interval = 1.0
        self.server_index = 0
        self._timer: Timer | None = None
        self._reading_in_flight = False
        self._last_error: str | None = None
        self._shown: dict[str | None, object] = {}

    # --- layout --------------------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static(id="gpu-alarm")
        with VerticalScroll(id="gpu-body"):
            with Vertical(id="fleet", classes="-hidden"):
                yield Label("Fleet", classes="section", id="fleet-title")
                yield Static(classes="state", id="fleet-state")
                with Horizontal(id="fleet-sparks"):
                    yield TitledSparkline("fleet KV max", title_width=13, id="spark-fleet-kv")
                    yield TitledSparkline("fleet waiting", title_width=13, id="spark-fleet-waiting")
                    yield TitledSparkline("gen tok/s", title_width=13, id="spark-fleet-tps")
                yield RecordTable(tuple(Column(c) for c in HOST_COLUMNS), id="fleet-hosts")
                yield Static(id="fleet-verdicts")
                yield Label("vLLM replicas", classes="section")
                yield RecordTable(tuple(Column(c) for c in REPLICA_COLUMNS), id="fleet-replicas")
                yield Label("GPUs (DCGM exporter)", classes="section", id="fleet-gpus-title")
                yield RecordTable(tuple(Column(c) for c in GPU_COLUMNS), id="fleet-gpus")
                yield Label("LangGraph servers", classes="section", id="fleet-servers-title")
                yield RecordTable(tuple(Column(c) for c in SERVER_COLUMNS), id="fleet-servers")
                yield Label("This host: NVML and the configured vLLM", classes="section")
            with Horizontal(id="gpu-columns"):
                # vLLM first: when the screen is narrow the columns stack, and the KV cache is what starves
                with Vertical(classes="gpu-column", id="gpu-vllm"):
                    yield Label("vLLM", classes="section", id="vllm-title")
                    yield Static("connecting…", classes="state", id="vllm-state")
                    yield Gauge("KV cache", id="kv-gauge")
                    yield TitledSparkline("KV usage", id="spark-usage")
                    yield TitledSparkline("running", id="spark-running")
                    yield TitledSparkline("waiting", id="spark-waiting")
                    yield TitledSparkline("preempt/s", id="spark-preempt")
                    yield Static(id="vllm-rates")
                    yield Label("Latency", classes="section", id="latency-title")
                    yield LatencyTable(id="latency")
                    yield Label("Capacity", classes="section")
                    yield Static(id="capacity")
                with Vertical(classes="gpu-column", id="gpu-devices"):
                    yield Label("GPUs", classes="section", id="gpu-title")
                    yield Static("reading NVML…", classes="state", id="gpu-state")
                    yield Vertical(id="vram-gauges")
                    yield GpuTable(id="gpu-table")
                    yield Label("GPU processes", classes="section", id="processes-title")
                    yield GpuProcessTable(id="gpu-processes")
        yield Static(id="gpu-status")

    def on_mount(self) -> None:
        self.interval = float(getattr(self.console.config.ui, "refresh_seconds", 1.0) or 1.0)
        if self.source is None:
            config = self.console.config
            self.source = GpuSource(config, fan_out=lambda: served_graphs_fan_out(config))
        self._update_narrow(self.size.width)
        self._show_status()
        if self.poll:
            self.action_read_now()
            self._start_timer()

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    def on_resize(self, event) -> None:
        self._update_narrow(event.size.width)

    def _update_narrow(self, width: int) -> None:
        self.set_class(width < 100, "-narrow")

    def on_screen_suspend(self) -> None:
        # another screen is showing: stop reading the GPU for nobody
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        if self._timer is not None and not self.paused:
            self._timer.resume()

    # --- reading ---------------------------------------------------------------------------------------------
    def _start_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(self.interval, self._tick, pause=self.paused)

    def _tick(self) -> None:
        if self.paused or self._reading_in_flight or self.source is None:
            return
        self._reading_in_flight = True
        self._read(self._vllm_pids())

    def _vllm_pids(self) -> tuple[int, ...]:
        snapshot = self.console.snapshot
        svc = snapshot.by_name("vllm") if snapshot is not None else None
        return (svc.pid,) if svc is not None and svc.pid else ()

    @work(thread=True, group="gpu-read", name="GPU read", exit_on_error=False)
    def _read(self, vllm_pids: tuple[int, ...]) -> None:
        self.post_message(self.ReadingArrived(self.source.read(vllm_pids)))

    def on_gpu_screen_reading_arrived(self, message: ReadingArrived) -> None:
        self._reading_in_flight = False
        self._last_error = None
        self.show_reading(message.reading)

    def worker_failed(self, worker: Worker, cause: str) -> None:
        """A failed read shows in the status line (a toast per tick would bury the screen); the next tick retries."""
        if worker.group != "gpu-read":
            super().worker_failed(worker, cause)
            return
        self._reading_in_flight = False
        self._last_error = cause
        self._show_status()

    # --- rendering ---------------------------------------------------------------------------------------------
    def show_reading(self, reading: GpuReading) -> None:
        """Take one reading into the history and redraw; tests call this directly with fixed readings."""
        self.telemetry.ingest(reading, reading.threads_in_flight)
        self._show_fleet(reading)
        self._show_gpus(reading)
        self._show_server(reading)
        self._show_alarm(reading)
        self._show_status()

    def _show_fleet(self, reading: GpuReading) -> None:
        fleet = reading.fleet
        self.query_one("#fleet").set_class(fleet is None, "-hidden")
        # with the fleet shown, a host without a vLLM of its own drops its empty vLLM column
        self.query_one("#gpu-vllm").set_class(fleet is not None and not self.telemetry.tracks, "-hidden")
        if fleet is None:
            return
        state = self.query_one("#fleet-state", Static)
        self._put(self.query_one("#fleet-title", Label), Text(shown(f"Fleet · Prometheus {fleet.url}")),
                  layout=False)
        state.set_class(not fleet.ok, "-error")
        if not fleet.ok:
            self._put(state, Text(shown(fleet.error), style="bold"))
        else:
            span = f" · sparklines: last {fleet.history_seconds / 60:.0f} min" if fleet.history_seconds else ""
            self._put(state, Text(fleet_summary(fleet) + span))
        kv = fleet.history.get("kv_max", ())
        waiting = fleet.history.get("waiting", ())
        tps = fleet.history.get("generation_tps", ())
        alert = fleet.imbalance.verdict.level == "bad"
        self.query_one("#spark-fleet-kv", TitledSparkline).show(
            kv, f"{kv[-1]:.0%}" if kv else "-", vmax=1.0, alert=alert)
        self.query_one("#spark-fleet-waiting", TitledSparkline).show(
            waiting, f"{waiting[-1]:,.0f}" if waiting else "-", alert=alert)
        self.query_one("#spark-fleet-tps", TitledSparkline).show(tps, format_rate(tps[-1], "") if tps else "-")
        self.query_one("#fleet-hosts", RecordTable).show(host_rows(fleet))
        self.query_one("#fleet-replicas", RecordTable).show(replica_rows(fleet))
        for name, rows in (("gpus", fleet_gpu_rows(fleet)), ("servers", server_rows(fleet))):
            self.query_one(f"#fleet-{name}", RecordTable).show(rows)
            for selector in (f"#fleet-{name}", f"#fleet-{name}-title"):
                self.query_one(selector).set_class(not rows, "-hidden")
        self._put(self.query_one("#fleet-verdicts", Static),
                  fleet_verdicts_text(fleet, Palette.of(self)) if fleet.ok else "")

    def _show_gpus(self, reading: GpuReading) -> None:
        snap = reading.gpus
        state = self.query_one("#gpu-state", Static)
        title = self.query_one("#gpu-title", Label)
        if not snap.available:
            self._put(title, "GPUs", layout=False)
            self._put(state, Text(f"{shown(snap.reason)}: GPU gauges are off; vLLM metrics still work", style="bold"))
            state.set_class(True, "-error")
            state.set_class(False, "-empty")
        else:
            parts = ["GPUs"]
            if snap.driver_version:
                parts.append(f"driver {snap.driver_version}")
            if snap.cuda_version:
                parts.append(f"CUDA {snap.cuda_version}")
            self._put(title, Text(shown(" · ".join(parts))), layout=False)  # the driver's words, not markup
            self._put(state, "")
            state.set_class(False, "-error")
            state.set_class(True, "-empty")
        gauges = self.query_one("#vram-gauges", Vertical)
        existing = list(gauges.query(Gauge))
        if len(existing) != len(snap.devices):
            gauges.remove_children()
            # vLLM takes gpu_memory_utilization (0.92 by default) of VRAM up front: high is normal, full is not
            existing = [Gauge(f"VRAM {d.index}", warn=0.95, bad=0.98, text_width=24) for d in snap.devices]
            gauges.mount_all(existing)
        for gauge, device in zip(existing, snap.devices):
            frac = device.memory_fraction
            pct = f" {frac:.0%}" if frac is not None else ""
            gauge.show(frac, f"{format_bytes(device.memory_used)} / {format_bytes(device.memory_total)}{pct}")
        for selector in ("#gpu-table", "#processes-title", "#gpu-processes"):
            self.query_one(selector).set_class(not snap.available, "-hidden")
        self.query_one(GpuTable).show(gpu_rows(snap))
        self.query_one(GpuProcessTable).show(process_rows(snap))

    def restyle(self) -> None:
        if self.telemetry.reading is not None:
            self._show_server(self.telemetry.reading)
            self._show_fleet(self.telemetry.reading)
        self._show_status()

    def _current_track(self) -> ServerTrack | None:
        tracks = list(self.telemetry.tracks.values())
        if not tracks:
            return None
        self.server_index %= len(tracks)
        return tracks[self.server_index]

    def _show_server(self, reading: GpuReading) -> None:
        track = self._current_track()
        title = self.query_one("#vllm-title", Label)
        state = self.query_one("#vllm-state", Static)
        if track is None:
            self._put(title, "vLLM", layout=False)
            self._put(state, "no vLLM configured: set [vllm] url or model in lgconsole.toml, or VLLM_URL")
            state.set_class(False, "-error")
            state.set_class(False, "-empty")
            self._show_metrics(None)
            return
        count = len(self.telemetry.tracks)
        which = f" ({self.server_index + 1}/{count}, v: next)" if count > 1 else ""
        model = track.latest.model_name if track.latest else None
        self._put(title, Text(shown(f"vLLM {model + ' · ' if model else ''}{track.url}{which}")), layout=False)
        if track.error:
            stale = " (showing the last good scrape)" if track.latest else ""
            self._put(state, Text(shown(track.error) + stale, style="bold"))
            state.set_class(True, "-error")
            state.set_class(False, "-empty")
        else:
            self._put(state, "")
            state.set_class(True, "-empty")
        self._show_metrics(track)

    def _show_metrics(self, track: ServerTrack | None) -> None:
        m = track.latest if track else None
        cache = m.cache_config if m else None
        kv = self.query_one("#kv-gauge", Gauge)
        if m is None or m.kv_cache_usage is None:
            kv.show(None, "n/a")
        else:
            tokens = f" of {cache.tokens:,} tok" if cache and cache.tokens else ""
            kv.show(m.kv_cache_usage, f"{m.kv_cache_usage:.0%}{tokens}")
        limit = track.detector.max_num_seqs if track else None
        firing = track is not None and track.firing is not None
        usage = f"{m.kv_cache_usage:.0%}" if m and m.kv_cache_usage is not None else "-"
        self.query_one("#spark-usage", TitledSparkline).show(track.usage.values if track else (), usage, vmax=1.0,
                                                             alert=firing)
        # "-": no reading yet, or a count the server gave as no usable number (+Inf, NaN)
        running, waiting = ("-" if m is None or n is None else str(n) for n in (m and m.running, m and m.waiting))
        self.query_one("#spark-running", TitledSparkline).show(
            track.running.values if track else (), f"{running}/{limit}" if m and limit else running, vmax=limit)
        self.query_one("#spark-waiting", TitledSparkline).show(
            track.waiting.values if track else (), waiting, alert=firing)
        rates = track.rates if track else None
        self.query_one("#spark-preempt", TitledSparkline).show(
            track.preemption_rate.values if track else (),
            format_rate(rates.preemptions_per_s) if rates else "-", alert=firing)
        rates_text = Text()
        if rates is not None:
            rates_text.append(f"last {rates.seconds:.0f}s: {rates_line(rates)}")
        elif m is not None:
            rates_text.append("rates from the next scrape on")
        self._put(self.query_one("#vllm-rates", Static), rates_text, layout=False)
        label, latency = track.latency() if track else ("", {})
        self._put(self.query_one("#latency-title", Label), f"Latency ({label})" if label else "Latency: no scrape yet",
                  layout=False)
        rows = latency_rows(latency)
        self.query_one(LatencyTable).show(rows)
        self.query_one(LatencyTable).set_class(not rows, "-hidden")
        capacity = self.query_one("#capacity", Static)
        self._put(capacity, capacity_text(self.telemetry.capacity(track), Palette.of(self)) if track else "")

    def _show_alarm(self, reading: GpuReading) -> None:
        banner = self.query_one("#gpu-alarm", Static)
        firing = self.telemetry.firing
        if not firing:
            banner.set_class(False, "-firing")
            self._put(banner, "")
            return
        lines = Text("\n").join(alarm_text(track, episode, reading.taken_at) for track, episode in firing)
        self._put(banner, lines)
        banner.set_class(True, "-firing")

    def _put(self, widget: Static, content, layout: bool = True) -> None:
        """Update a Static only when its content changed: an update relayouts the screen, a 10 Hz refresh of
        unchanged text would cost a full layout per tick. One-line widgets skip the layout."""
        if self._shown.get(widget.id) == content:
            return
        self._shown[widget.id] = content
        widget.update(content, layout=layout)

    def _show_status(self) -> None:
        palette = Palette.of(self)
        text = Text()
        text.append(f"refresh {self.interval:g} s", style="bold")
        if self.paused:
            text.append(" · PAUSED (p to resume)", style=palette.style("paused", "bold"))
        elif not self.poll:
            text.append(" · fixed data")
        if self._last_error:
            text.append(f" · read failed: {shown(self._last_error)}", style=palette.style("error", "bold"))
        text.append(" · + / - rate · r refresh now · v next vLLM")
        self._put(self.query_one("#gpu-status", Static), text, layout=False)

    # --- actions -------------------------------------------------------------------------------------------
    def action_pause(self) -> None:
        self.paused = not self.paused
        if self._timer is not None:
            (self._timer.pause if self.paused else self._timer.resume)()
        self._show_status()

    def _step(self, direction: int) -> None:
        steps = list(REFRESH_STEPS)
        nearest = min(range(len(steps)), key=lambda i: abs(steps[i] - self.interval))
        self.interval = steps[max(0, min(len(steps) - 1, nearest + direction))]
        if self.poll:
            self._start_timer()
        self._show_status()

    def action_faster(self) -> None:
        self._step(-1)

    def action_slower(self) -> None:
        self._step(+1)

    def action_read_now(self) -> None:
        if self.source is not None and not self._reading_in_flight:
            self._reading_in_flight = True
            self._read(self._vllm_pids())

    def action_next_server(self) -> None:
        if self.telemetry.tracks:
            self.server_index = (self.server_index + 1) % len(self.telemetry.tracks)
            if self.telemetry.reading is not None:
                self._show_server(self.telemetry.reading)
