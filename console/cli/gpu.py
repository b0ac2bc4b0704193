"""`lgconsole gpu [--json] [--url URL ...] [--window S]`: GPUs, GPU processes, each vLLM server's KV cache, rates,
latencies and capacity, and with a Prometheus configured the fleet (hosts, replicas, GPUs, LangGraph servers, the
imbalance, the fleet's KV capacity), as text or JSON. The JSON carries no secrets: URLs are redacted, command lines
masked."""

from __future__ import annotations

import argparse
import sys
import time

from typing import TYPE_CHECKING

from lgconsole.console.config import Config

if TYPE_CHECKING:  # the sources load httpx and NVML: loaded when the command runs
    from lgconsole.console.sources.gpu import GpuTelemetry


def add_gpu_command(subparsers) -> argparse.ArgumentParser:
    gpu = subparsers.add_parser("gpu", help="GPU VRAM and processes, vLLM KV cache, latencies and KV capacity")
    gpu.add_argument("--json", action="store_true", help="machine-readable output (no secrets)")
    gpu.add_argument("--url", action="append", default=None, metavar="URL",
                     help="a vLLM server to read (repeatable; default: the stack's vLLM from the config)")
    gpu.add_argument("--window", type=_window, default=1.0, metavar="S",
                     help="seconds between two scrapes for rates and recent latencies (default 1; 0: one scrape, "
                          "latencies since the server started)")
    gpu.add_argument("--fan-out", type=_fan_out, default=None, metavar="N",
                     help="the graph's peak fan-out, for the capacity check")
    return gpu


def _window(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a number of seconds") from None
    if not 0 <= value <= 600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text[:20]} s: give 0 to 600 seconds")
    return value


def _fan_out(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{value}: a fan-out is 1 or more parallel branches")
    return value


def _vllm_pids(config: Config) -> tuple[int, ...]:
    try:
        from lgconsole.stack.services import supervisor

        state = supervisor.read_state(config.state_path)
    except Exception:
        return ()
    return tuple(s.pid for s in state.services if s.name == "vllm" and s.pid)


def collect(config: Config, args, source=None, sleep=time.sleep) -> tuple[GpuTelemetry, object]:
    """One reading, or two `--window` seconds apart when a server answered (rates need two scrapes)."""
    from lgconsole.console.sources.gpu import GpuSource, GpuTelemetry, served_graphs_fan_out

    source = source or GpuSource(config, urls=args.url, fan_out=(lambda: args.fan_out) if args.fan_out
                                 else (lambda: served_graphs_fan_out(config)))
    telemetry = GpuTelemetry()
    pids = _vllm_pids(config)
    try:
        reading = source.read(pids)
        telemetry.ingest(reading)
        if args.window > 0 and any(m.ok for m in reading.servers):
            sleep(args.window)
            reading = source.read(pids)
            telemetry.ingest(reading)
    finally:
        source.close()
    return telemetry, reading


def cmd_gpu(config: Config, args, out=None, source=None, sleep=time.sleep) -> int:
    from lgconsole.console.sources.gpu import reading_json

    out = out or sys.stdout
    telemetry, reading = collect(config, args, source, sleep)
    if args.json:
        from lgconsole.console.cli.output import print_json

        print_json(reading_json(reading, telemetry), out)
        return 0
    print(render_text(reading, telemetry), file=out)
    return 0


def render_text(reading, telemetry: GpuTelemetry) -> str:
    from lgconsole.console.model.text import format_bytes, format_latency, format_rate
    from lgconsole.console.rows.gpu_text import capacity_lines, rates_line

    lines: list[str] = []
    gpus = reading.gpus
    if not gpus.available:
        lines.append(f"GPUs: {gpus.reason}")
    else:
        lines.append(f"GPUs (driver {gpus.driver_version or '?'}, CUDA {gpus.cuda_version or '?'})")
        for d in gpus.devices:
            frac = d.memory_fraction
            pct = f" ({frac:.0%})" if frac is not None else ""
            extra = []
            if d.utilization_gpu is not None:
                extra.append(f"util {d.utilization_gpu}%")
            if d.temperature_c is not None:
                extra.append(f"{d.temperature_c}°C")
            if d.power_w is not None:
                extra.append(f"{d.power_w:.0f}/{d.power_limit_w:.0f} W" if d.power_limit_w else f"{d.power_w:.0f} W")
            if d.mig_enabled:
                extra.append("MIG on")
            lines.append(f"  {d.index}  {d.name or '?'}  VRAM {format_bytes(d.memory_used)} / "
                         f"{format_bytes(d.memory_total)}{pct}  {'  '.join(extra)}")
            for p in sorted(d.processes, key=lambda p: -(p.used_bytes or 0)):
                mem = format_bytes(p.used_bytes) if p.used_bytes is not None else "n/a"
                lines.append(f"       pid {p.pid:<8} {p.label:<10} {mem:>10}  {p.command or ''}")
            if d.processes_error:
                lines.append(f"       processes: {d.processes_error}")
    if not reading.servers:
        lines.append("vLLM: none configured (set [vllm] url or model in lgconsole.toml, VLLM_URL, or --url)")
    for metrics in reading.servers:
        track = telemetry.tracks.get(metrics.url)
        if not metrics.ok:
            lines.append(f"vLLM: {metrics.error}")
            continue
        lines.append(f"vLLM {metrics.model_name or ''} at {metrics.url}")
        usage = f"{metrics.kv_cache_usage:.0%}" if metrics.kv_cache_usage is not None else "n/a"
        reasons = ", ".join(f"{k} {v}" for k, v in metrics.waiting_by_reason.items() if v)
        running, waiting = ("n/a" if n is None else n for n in (metrics.running, metrics.waiting))
        line = f"  KV cache {usage}  running {running}  waiting {waiting}"
        if reasons:
            line += f" ({reasons})"
        if metrics.preemptions_total is not None:
            line += f"  preemptions {metrics.preemptions_total:.0f} since start"
        lines.append(line)
        if metrics.ignored:
            lines.append(f"  ignored, not a usable number: {', '.join(metrics.ignored)}")
        rates = track.rates if track else None
        if rates is not None:
            lines.append(f"  over {rates.seconds:.1f}s: preemptions {format_rate(rates.preemptions_per_s)} · "
                         f"{rates_line(rates)}")
        if track is not None:
            label, latency = track.latency()
            if latency:
                lines.append(f"  latency ({label}):     p50       p90       p99")
                for name, p in latency.items():
                    lines.append(f"    {name:<11} {format_latency(p.p50):>9} {format_latency(p.p90):>9} "
                                 f"{format_latency(p.p99):>9}   n={p.count:,.0f}")
            for line in capacity_lines(telemetry.capacity(track)):
                lines.append(f"  {line}")
            if track.firing is not None:
                lines.append("  KV-CACHE STARVATION: usage high, requests waiting, preemptions rising")
    if reading.fleet is not None:
        from lgconsole.console.rows.gpu_fleet_text import fleet_lines

        lines.extend(fleet_lines(reading.fleet))
    return "\n".join(lines)
