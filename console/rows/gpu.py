"""GPU readings -> the rows of the GPU screen's tables and its coloured capacity and alarm text."""

from __future__ import annotations

from typing import Mapping

from rich.text import Text

from lgconsole.console.model.capacity import CapacityReport, StarvationEpisode
from lgconsole.console.model.text import format_bytes, format_latency, format_rate
from lgconsole.console.rows.gpu_text import LATENCY_TITLES, VERDICT_ICONS, capacity_numbers
from lgconsole.console.rows.shown import shown
from lgconsole.console.sources.gpu import ServerTrack
from lgconsole.stack.metrics.nvml import GpuSnapshot
from lgconsole.stack.metrics.vllm import Percentiles
from lgconsole.widgets.gpu_table import GpuProcessRow, GpuRow, LatencyRow
from lgconsole.widgets.palette import Palette

# a verdict's level -> (palette status, attributes): an info verdict steps back
VERDICT_STYLES = {"bad": ("bad", "bold"), "warn": ("warn", "bold"), "ok": ("ok",), "info": ("muted",)}


def gpu_rows(snapshot: GpuSnapshot) -> list[GpuRow]:
    rows = []
    for d in snapshot.devices:
        power = "-"
        if d.power_w is not None:
            power = f"{d.power_w:.0f}" + (f"/{d.power_limit_w:.0f} W" if d.power_limit_w else " W")
        rows.append(GpuRow(
            index=d.index, name=shown(d.name or "?"), uuid=shown(d.uuid or ""),
            utilization=f"{d.utilization_gpu}%" if d.utilization_gpu is not None else "n/a",
            temperature=f"{d.temperature_c}°C" if d.temperature_c is not None else "n/a",
            power=power,
            memory=f"{format_bytes(d.memory_used)} / {format_bytes(d.memory_total)}",
            mig={True: "on", False: "off", None: "n/a"}[d.mig_enabled],
        ))
    return rows


def process_rows(snapshot: GpuSnapshot) -> list[GpuProcessRow]:
    rows = []
    for d in snapshot.devices:
        for p in sorted(d.processes, key=lambda p: -(p.used_bytes or 0)):
            rows.append(GpuProcessRow(gpu=d.index, pid=p.pid, label=shown(p.label), service=p.service or "",
                                      memory=format_bytes(p.used_bytes) if p.used_bytes is not None else "n/a",
                                      command=shown(p.command or "")))  # a process's name and argv: anyone's
    return rows


def latency_rows(latency: Mapping[str, Percentiles]) -> list[LatencyRow]:
    return [LatencyRow(name=LATENCY_TITLES[name], p50=format_latency(p.p50), p90=format_latency(p.p90),
                       p99=format_latency(p.p99), count=f"{p.count:,.0f}")
            for name, p in latency.items() if name in LATENCY_TITLES]


def capacity_text(report: CapacityReport, palette: Palette) -> Text:
    text = Text()
    numbers = capacity_numbers(report)
    if numbers:
        text.append(numbers + "\n", style="bold")
    for i, verdict in enumerate(report.verdicts):
        status, *attributes = VERDICT_STYLES.get(verdict.level, ("",))
        style = palette.style(status, *attributes)
        text.append(f"{VERDICT_ICONS.get(verdict.level, '·')} ", style=style)
        text.append(shown(verdict.text) + ("\n" if i < len(report.verdicts) - 1 else ""))
    return text


def alarm_text(track: ServerTrack, episode: StarvationEpisode, now: float) -> Text:
    m = track.latest
    text = Text()
    text.append("KV-CACHE STARVATION ", style="bold")
    text.append(shown(f"on {m.model_name or 'vLLM'} at {track.url}: " if m else f"at {track.url}: "))
    if m:
        limit = f"/{track.detector.max_num_seqs}" if track.detector.max_num_seqs else ""
        rate = track.rates.preemptions_per_s if track.rates else None
        running = "?" if m.running is None else m.running  # None: the server's count was no usable number
        text.append(f"KV {m.kv_cache_usage:.0%}, {running}{limit} running, {m.waiting} waiting, "
                    f"{episode.preemptions:.0f} preemptions ({format_rate(rate)}), "
                    f"firing {now - episode.fired_at:.0f}s")
    if episode.time_to_detect is not None:
        text.append(f"; detected {episode.time_to_detect:.1f}s after the first preemption")
    if episode.threads:
        threads = shown(", ".join(sorted(episode.threads)[:4]))
        more = f" +{len(episode.threads) - 4}" if len(episode.threads) > 4 else ""
        text.append(f"; threads in flight: {threads}{more}")
    return text
