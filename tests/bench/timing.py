"""Timing helpers shared by the benchmark scripts: warm-up, then median and p90 in milliseconds."""

from __future__ import annotations

import json
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


def size_of(obj) -> str:
    return f"{len(json.dumps(obj, default=str)) / 1024:.1f} KiB"


def thread_read_rows(reader, client, thread_id: str, head_id: str, repeat: int) -> list[tuple[str, list[float], str]]:
    """One thread's warm reads, the SQL reader next to the server API: (what, samples in ms, response) rows."""
    rows = []
    s, nodes = timed(lambda: reader.history(thread_id), repeat)
    rows.append((f"SQL  history(thread) [{len(nodes)} checkpoints, subgraphs incl.]", s, ""))
    s, nodes = timed(lambda: reader.history(thread_id, include_subgraphs=False), repeat)
    rows.append((f"SQL  history(thread, root only) [{len(nodes)}]", s, ""))
    s, found = timed(lambda: client.threads.get_history(thread_id, limit=100), repeat)
    rows.append((f"API  threads.get_history(limit=100) [{len(found)}, root only]", s, size_of(found)))
    s, state = timed(lambda: reader.state_at(thread_id, head_id), repeat)
    rows.append(("SQL  state_at(head)", s, size_of(state.to_json())))
    s, found = timed(lambda: client.threads.get_state(thread_id, checkpoint_id=head_id), repeat)
    rows.append(("API  threads.get_state(checkpoint_id=head)", s, size_of(found)))
    return rows


def timed_together(fns: dict, repeat: int, warmup: int = 1) -> dict[str, list[float]]:
    """Several functions measured in turns (one run of each per round), so that load from elsewhere on a shared box
    falls on all of them alike: samples in ms by name."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - t0) * 1000)
    return samples
