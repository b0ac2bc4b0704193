"""Waiting in Pilot tests on what a test needs (a widget's text, a row count, finished workers) instead of sleeping a
fixed time: fast when the app is fast, and a failure that names what never happened when it is not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

STEP = 0.02  # seconds between checks: short next to a frame (1/60 s is 0.017), long enough to let threads run


async def pilot_wait(pilot, predicate: Callable[[], object], timeout: float = 60.0, what: str = "condition",
                     step: float = STEP) -> bool:
    """Let the app run until predicate() is true: checked after one refresh, then every `step` seconds.

    A predicate that raises (a widget not mounted yet, a reading not arrived) counts as not yet true; on timeout the
    error names `what` and the predicate's last exception, if any."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()
    last_error: Exception | None = None
    while True:
        try:
            if predicate():
                return True
            last_error = None
        except Exception as exc:  # noqa: BLE001 (not ready yet is the usual cause; reported on timeout)
            last_error = exc
        if loop.time() >= deadline:
            cause = f" (last check raised {type(last_error).__name__}: {last_error})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{cause}")
        await pilot.pause(step)


async def settled(pilot, timeout: float = 10.0) -> None:
    """No worker runs and what they posted is handled, twice in a row (a handler may start the next worker of a
    chain: rows -> history -> state). For screens whose workers all end (no polling timer, no blocked read)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet = 0
    while quiet < 2:
        await pilot.pause()
        busy = [w for w in pilot.app.workers if not w.is_finished]
        if not busy:
            quiet += 1
            continue
        quiet = 0
        if loop.time() >= deadline:
            raise AssertionError(f"workers still running after {timeout}s: {', '.join(w.name or repr(w) for w in busy)}")
        await pilot.pause(STEP)
