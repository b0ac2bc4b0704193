"""A run's trace and a thread's state growth as plain text lines, for `lgconsole trace` and the Trace view's panels.
Light on purpose: no Textual, no Rich, no stack import."""

from __future__ import annotations

from dataclasses import dataclass

from lgconsole.console.model.state_growth import StateGrowth
from lgconsole.console.model.text import format_bytes, format_step_duration
from lgconsole.console.model.trace import NodeRank, RunTrace, TraceStep
from lgconsole.console.rows.thread_text import cut

SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class StepBar:
    """One waterfall row: where the step sits in the run's time, as fractions of the run's wall time."""

    label: str
    depth: int
    status: str
    start: float  # 0..1
    end: float  # 0..1
    took: str
    detail: str


def _tokens(prompt: int, completion: int) -> str:
    return f"{prompt}+{completion} tok"


def step_detail(step: TraceStep) -> str:
    parts = []
    if step.calls:
        prompt, completion = step.tokens()
        known = any(c.prompt_tokens is not None or c.completion_tokens is not None for c in step.calls)
        calls = f"{len(step.calls)} model call{'s' if len(step.calls) > 1 else ''}"
        parts.append(f"{calls}, {_tokens(prompt, completion)}" if known else f"{calls}, no usage reported")
    if step.first_token_s is not None:
        parts.append(f"first token {format_step_duration(step.first_token_s)}")
    if step.error:
        parts.append(step.error)
    return cut(" · ".join(parts), 80) if parts else ""


def step_bars(trace: RunTrace) -> list[StepBar]:
    t0 = trace.started
    wall = trace.wall_s or 0.0
    bars = []
    for step, depth in trace.walk():
        if t0 is None or wall <= 0 or step.started is None:
            start, end = 0.0, 0.0
        else:
            start = min(1.0, max(0.0, (step.started - t0) / wall))
            end = min(1.0, max(start, ((step.ended if step.ended is not None else t0 + wall) - t0) / wall))
        took = format_step_duration(step.duration) if step.duration is not None else "running"
        bars.append(StepBar(cut(step.node, 40), depth, step.status, start, end, took, step_detail(step)))
    return bars


def text_bar(start: float, end: float, width: int) -> str:
    a = min(width, int(start * width))
    b = max(a + 1, min(width, round(end * width)))
    return " " * a + "█" * (b - a) + " " * (width - b)


def sparkline(values: list[int], width: int = 40) -> str:
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [max(values[int(i * step): max(int(i * step) + 1, int((i + 1) * step))]) for i in range(width)]
    low, high = min(values), max(values)
    if high == low:
        return SPARK[len(SPARK) // 2] * len(values)
    return "".join(SPARK[round((v - low) / (high - low) * (len(SPARK) - 1))] for v in values)


def money(usd: float | None) -> str:
    return "-" if usd is None else f"${usd:.6f}" if usd < 0.01 else f"${usd:.4f}"


def summary_lines(trace: RunTrace) -> list[str]:
    """The run's header, totals, cost and link."""
    wall = format_step_duration(trace.wall_s) if trace.wall_s is not None else "?"
    totals = trace.totals()
    lines = [f"run {trace.run_id}  {trace.status}  wall {wall}  steps cover {format_step_duration(trace.covered_s())}",
             f"thread {trace.thread_id}",
             f"model calls {totals['model_calls']}  prompt tokens {totals['prompt_tokens']}  "
             f"completion tokens {totals['completion_tokens']}"
             + (f"  ({totals['calls_without_usage']} without usage)" if totals["calls_without_usage"] else "")]
    if trace.cost is not None:
        c = trace.cost
        shared = f", shared with {c.overlapping_runs} other run(s)" if c.overlapping_runs else ""
        lines.append(f"cost {money(c.total_usd)}  (GPU {money(c.gpu_usd)} for {c.gpu_busy_s:.2f}s GPU-busy{shared};"
                     f" tokens {money(c.token_usd)})")
        lines.append(f"  {c.attribution}")
    lines.append(f"trace link: {trace.link}" if trace.link else f"trace link: none ({trace.link_note})")
    lines += [f"note: {cut(n, 200)}" for n in trace.notes]
    return lines


def waterfall_lines(trace: RunTrace, width: int = 100) -> list[str]:
    bar_width = max(10, width - 24 - 10 - 2)
    lines = []
    for bar in step_bars(trace):
        label = ("  " * bar.depth + bar.label)[:24].ljust(24)
        line = f"{label}|{text_bar(bar.start, bar.end, bar_width)}| {bar.took:>8}"
        lines.append(line + (f"  {bar.detail}" if bar.detail else ""))
    return lines or ["(no node steps saved for this run yet)"]


def growth_lines(growth: StateGrowth, width: int = 40) -> list[str]:
    messages = [m for m in growth.messages if m is not None]
    lines = [f"state size over {len(growth.totals)} checkpoints: {sparkline(growth.totals, width)}  "
             f"now {format_bytes(growth.head_bytes)}"
             + (f", {messages[-1]} messages" if messages else "")]
    largest = ", ".join(f"{cut(k, 30)} {format_bytes(b)}" for k, b in growth.largest_keys())
    lines.append(f"largest keys: {largest or '-'}")
    grown = ", ".join(f"{cut(k, 30)} +{format_bytes(b)}" for k, b in growth.growing_keys())
    if grown:
        lines.append(f"grew: {grown}")
    if growth.keeps_growing():
        lines.append("state explosion: the state keeps growing at every checkpoint")
    return lines


def slowest_lines(ranks: list[NodeRank]) -> list[str]:
    if not ranks:
        return ["(no recent runs)"]
    lines = [f"{'node':<28} {'runs':>5} {'mean':>9} {'p50':>9} {'max':>9}  slowest run"]
    for r in ranks:
        lines.append(f"{cut(r.node, 28):<28} {r.count:>5} {format_step_duration(r.mean_s):>9} "
                     f"{format_step_duration(r.p50_s):>9} {format_step_duration(r.max_s):>9}  {r.slowest_run}")
    return lines
