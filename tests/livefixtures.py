"""Recorded real streams of the demo graph (tests/fixtures/live/*.jsonl) replayed as RunEvents."""

from __future__ import annotations

import json
from pathlib import Path

from lgconsole.stack.server.runs import RunEvent

FIXTURES = Path(__file__).parent / "fixtures" / "live"


def recorded(name: str, base: float = 1000.0) -> list[RunEvent]:
    events = []
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        raw = json.loads(line)
        events.append(RunEvent(raw["mode"], raw["data"], tuple(raw["namespace"]), None, base + raw["t"]))
    return events
