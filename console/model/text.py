"""Human formatting for panes and CLI tables, one home each: durations, latencies, ages, sizes, rates, error lines
(making data text safe for a terminal is console/model/sanitise.py's)."""

from __future__ import annotations

from datetime import datetime

KIB = 1024
MIB = 1024 ** 2
GIB = 1024 ** 3


def format_duration(seconds: float | None) -> str:
    """A wall-clock span in whole seconds: "45s", "3m05s", "2h10m", "1d04h" ("-" when unknown)."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def format_step_duration(seconds: float) -> str:
    """How long a node or step took: "0.42s" under a minute, then as `format_duration`."""
    return f"{seconds:.2f}s" if seconds < 60 else format_duration(seconds)


def format_latency(seconds: float | None) -> str:
    """A request latency: "850 µs", "12 ms", "1.2 s", "140 s" ("-" when unknown)."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.001 else f"{seconds * 1e6:.0f} µs"
    return f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def format_age(when: datetime | None, now: datetime) -> str:
    """How long before `now` a thing happened: "2m00s ago" ("-" when unknown; never negative)."""
    if when is None:
        return "-"
    return f"{format_duration(max(0.0, (now - when).total_seconds()))} ago"


def format_bytes(n: float | None, smallest: int = 1) -> str:
    """A size in binary units: "512 B", "12 KiB", "640 MiB", "70.3 GiB" ("n/a" when unknown). `smallest` (MIB, KIB)
    is the smallest unit shown: a disk pane says "0 MiB", not "512 B"."""
    if n is None:
        return "n/a"
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    if n >= MIB or smallest >= MIB:
        return f"{n / MIB:.0f} MiB"
    if n >= KIB or smallest >= KIB:
        return f"{n / KIB:.0f} KiB"
    return f"{n:.0f} B"


def format_rate(value: float | None, unit: str = "/s") -> str:
    """A rate: "0.5/s", "1,234 tok/s" ("-" when unknown)."""
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:.1f}{unit}"


def error_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), for status lines and toasts."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

