"""When Python's cyclic garbage collector runs, for a console that paints a streaming run.

Measured (tests/bench/bench_live.py, a run at 1,000 events/s with ~1,000 steps shown): with Python's default
thresholds a full (generation 2) collection ran about three times a second and took 45-70 ms each time, walking every
object the imports and the first screen built (~60k) and Textual's cached lines (each rendered line holds several
small caches: ~8 tracked objects). Each one that fell inside the wait for a paint was an event shown 45-70 ms late: the
p95 arrival -> paint latency.

So, once the first frame is on screen:
- what start-up built is frozen (`gc.freeze()`): it lives as long as the process, and full collections skip it;
- young collections run after 5,000 new objects instead of 700: a frame's short-lived lines die before they are
  promoted, and a full collection happens about once a run instead of three times a second (p95 at 1,000
  events/s 32-52 -> 29-31 ms in interleaved runs).
Cyclic garbage is still collected; only the moments change. `restore()` puts the defaults back when the app ends
(the test suite runs many apps in one process).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 5_000  # allocations (minus deallocations) of tracked objects between young collections

_saved: tuple[int, int, int] | None = None


def settle() -> None:
    """Freeze what exists now and raise the young generation's threshold (once; later calls do nothing)."""
    global _saved
    if _saved is not None:
        return
    _saved = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])


def restore() -> None:
    """The thresholds as they were, and the frozen objects collectable again."""
    global _saved
    if _saved is None:
        return
    gc.set_threshold(*_saved)
    gc.unfreeze()
    _saved = None
