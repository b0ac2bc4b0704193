"""Human formatting of durations and sizes for panes and CLI tables."""

from __future__ import annotations

from datetime import datetime


def format_duration(seconds: float | None) -> str:
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


def format_age(when: datetime | None, now: datetime) -> str:
    """How long before `now` a thing happened: "2m00s ago" ("-" when unknown; never negative)."""
    if when is None:
        return "-"
    return f"{format_duration(max(0.0, (now - when).total_seconds()))} ago"
