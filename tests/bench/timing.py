"""Timing helpers shared by the benchmark scripts: warm-up, then median and p90 in milliseconds."""

from __future__ import annotations

import statistics
import time


def timed(fn, repeat: int, warmup: int = 2) -> tuple[list[float], object]:
    """Run fn warmup times (pools, plans, caches), then `repeat` timed times; samples in ms and the last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, result


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def row(name: str, samples: list[float], note: str = "", width: int = 58, digits: int = 2) -> str:
    return f"  {name:<{width}} {statistics.median(samples):9.{digits}f} {p90(samples):9.{digits}f}   {note}"
