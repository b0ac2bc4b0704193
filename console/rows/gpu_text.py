"""GPU and vLLM lines as plain text, shared by the GPU screen and `lgconsole gpu` (no Textual, no Rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lgconsole.console.model.capacity import CapacityReport
from lgconsole.console.model.text import format_bytes, format_rate

if TYPE_CHECKING:
    from lgconsole.stack.metrics.vllm import VllmRates

LATENCY_TITLES = {"ttft": "time to first token", "itl": "inter-token latency", "e2e": "end-to-end latency",
                  "queue_time": "queue time"}
VERDICT_ICONS = {"bad": "✖", "warn": "▲", "ok": "●", "info": "·"}


def rates_line(rates: VllmRates) -> str:
    """Prefix-cache hit rate and token throughput over a rate window, for the screen and the CLI."""
    hit = f"{rates.prefix_cache_hit_rate:.0%}" if rates.prefix_cache_hit_rate is not None else "-"
    return (f"prefix hit {hit} · prompt {format_rate(rates.prompt_tokens_per_s, ' tok/s')} · "
            f"gen {format_rate(rates.generation_tokens_per_s, ' tok/s')}")


def capacity_numbers(report: CapacityReport) -> str:
    """The capacity report's numbers on one line ("" when the server told none)."""
    numbers = []
    if report.kv_tokens:
        numbers.append(f"{report.kv_tokens:,} KV tokens ({report.num_blocks:,} blocks × {report.block_size})")
    if report.bytes_per_token:
        numbers.append(f"{format_bytes(report.bytes_per_token)}/token")
    if report.sequences_fit is not None:
        free = f", {report.sequences_free:,} free now" if report.sequences_free is not None else ""
        numbers.append(f"{report.sequences_fit:,} seqs fit at {report.context_len:,}{free}")
    return " · ".join(numbers)


def capacity_lines(report: CapacityReport) -> list[str]:
    """The numbers, then one line per verdict with its icon: the text the screen colours."""
    numbers = capacity_numbers(report)
    lines = ([numbers] if numbers else []) + [f"{VERDICT_ICONS.get(v.level, '·')} {v.text}" for v in report.verdicts]
    return "\n".join(lines).splitlines()
