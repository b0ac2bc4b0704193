"""The fleet's tables as plain text cells, shared by the GPU screen's fleet view and `lgconsole gpu` (no Textual,
no Rich): one tuple of cells per host, replica, GPU and LangGraph server, and the verdict lines."""

from __future__ import annotations

from typing import Iterable

from lgconsole.console.model.fleet import Fleet, FleetGpu, FleetServer, HostRow, Replica
from lgconsole.console.model.text import format_bytes, format_latency, format_rate
from lgconsole.console.rows.gpu_text import VERDICT_ICONS

HOST_COLUMNS = ("host", "GPUs", "VRAM", "util", "temp", "power", "vLLM", "KV", "run/wait", "gen tok/s",
                "TTFT p95", "runs pend/run", "workers")
REPLICA_COLUMNS = ("host", "instance", "model", "KV", "run", "wait", "gen tok/s", "preempt/s", "TTFT p95", "fits")
GPU_COLUMNS = ("host", "gpu", "model", "VRAM", "util", "temp", "power")
SERVER_COLUMNS = ("host", "instance", "pending", "running", "workers", "pg pool", "redis pool")


def _n(value: float | int | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _pct(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:.0%}"


def _percent(points: float | None) -> str:
    return "-" if points is None else f"{points:.0f}%"


def _memory(used: int | None, total: int | None) -> str:
    if used is None:
        return "-"
    return f"{format_bytes(used)} / {format_bytes(total)}" if total else format_bytes(used)


def _pair(a: int | None, b: int | None) -> str:
    return "-" if a is None and b is None else f"{_n(a)}/{_n(b)}"


def _pool(pool: tuple[int | None, int | None, int | None]) -> str:
    """max, size, available -> "in use/size (max)"."""
    top, size, available = pool
    if size is None:
        return "-"
    in_use = size - available if available is not None else None
    return f"{_n(in_use)}/{_n(size)} (max {_n(top)})"


def host_cells(h: HostRow) -> tuple[str, ...]:
    return (h.host, str(h.gpus) if h.gpus else "-", _memory(h.memory_used, h.memory_total), _percent(h.util),
            "-" if h.temperature is None else f"{h.temperature:.0f}°C",
            "-" if h.power is None else f"{h.power:,.0f} W", str(h.replicas) if h.replicas else "-",
            _pct(h.kv_usage), _pair(h.running, h.waiting), format_rate(h.generation_tps, ""),
            format_latency(h.ttft_p95), _pair(h.pending_runs, h.running_runs),
            _pair(h.workers_active, h.workers_max))


def replica_cells(r: Replica, context_len: int | None = None) -> tuple[str, ...]:
    from lgconsole.console.model.capacity import sequences_that_fit

    if context_len and r.num_gpu_blocks and r.block_size:
        fits = f"{sequences_that_fit(r.num_gpu_blocks, r.block_size, context_len):,}"
    else:
        fits = _n(r.max_concurrency)
    return (r.host, r.instance, r.model, _pct(r.kv_usage), _n(r.running), _n(r.waiting),
            format_rate(r.generation_tps, ""), format_rate(r.preemptions_ps, ""), format_latency(r.ttft_p95), fits)


def gpu_cells(g: FleetGpu) -> tuple[str, ...]:
    return (g.host, g.gpu, (g.model or "?").removeprefix("NVIDIA "), _memory(g.memory_used, g.memory_total),
            _percent(g.util), "-" if g.temperature is None else f"{g.temperature:.0f}°C",
            "-" if g.power is None else f"{g.power:,.0f} W")


def server_cells(s: FleetServer) -> tuple[str, ...]:
    return (s.host, s.instance, _n(s.pending_runs), _n(s.running_runs), _pair(s.workers_active, s.workers_max),
            _pool(s.pg_pool), _pool(s.redis_pool))


def fleet_summary(fleet: Fleet) -> str:
    """One line: what Prometheus sees."""
    hosts = len(fleet.hosts)
    return (f"{hosts} host{'s' if hosts != 1 else ''} · {len(fleet.replicas)} vLLM replica"
            f"{'s' if len(fleet.replicas) != 1 else ''} · {len(fleet.gpus)} GPU{'s' if len(fleet.gpus) != 1 else ''}"
            f" · {len(fleet.servers)} LangGraph server{'s' if len(fleet.servers) != 1 else ''}")


def capacity_numbers(fleet: Fleet) -> str:
    c = fleet.capacity
    if c is None or c.sequences_fit is None:
        return ""
    free = f", {c.sequences_free:,} free now" if c.sequences_free is not None else ""
    ctx = f"{c.context_len:,}" if c.context_len else "max_model_len"
    return f"fleet KV: {c.sequences_fit:,} seqs fit at {ctx}{free} (largest replica {c.largest_replica_fit:,})"


def verdict_lines(fleet: Fleet) -> list[tuple[str, str]]:
    """(level, "icon text") for the imbalance, then each capacity verdict."""
    verdicts = [fleet.imbalance.verdict, *(fleet.capacity.verdicts if fleet.capacity else ())]
    return [(v.level, f"{VERDICT_ICONS.get(v.level, '·')} {v.text}") for v in verdicts]


def fleet_lines(fleet: Fleet) -> list[str]:
    """`lgconsole gpu`'s fleet section: aligned tables and the verdicts."""
    if not fleet.ok:
        return [f"Fleet: {fleet.error}"]
    lines = [f"Fleet from Prometheus {fleet.url}: {fleet_summary(fleet)}"]
    for title, columns, rows in (
            ("hosts", HOST_COLUMNS, [host_cells(h) for h in fleet.hosts]),
            ("vLLM replicas", REPLICA_COLUMNS,
             [replica_cells(r, fleet.capacity.context_len if fleet.capacity else None) for r in fleet.replicas]),
            ("GPUs (DCGM)", GPU_COLUMNS, [gpu_cells(g) for g in fleet.gpus]),
            ("LangGraph servers", SERVER_COLUMNS, [server_cells(s) for s in fleet.servers])):
        if rows:
            lines.append(f"  {title}")
            lines.extend("    " + line for line in aligned(columns, rows))
    numbers = capacity_numbers(fleet)
    if numbers:
        lines.append(f"  {numbers}")
    lines.extend(f"  {text}" for _, text in verdict_lines(fleet))
    return lines


def aligned(columns: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    rows = [columns, *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
