"""When Python's cyclic garbage collector runs: paused while lgconsole starts, then kept off the paint path.

Start-up makes ~200k objects that live as long as the process (modules, classes, Textual's styles and widgets) and
next to no cyclic garbage. The collector walks them all the same: ~10 ms of young collections while a cold
`lgconsole threads` runs, a full collection (~20 ms) in the middle of the console's first frame, and one more full
walk (~10-15 ms) at interpreter exit. So:
- `pause()` turns it off until the first frame (the console) or for the whole of a one-shot command;
- `resume()` then freezes what start-up made (`gc.freeze`: no later collection walks it) and turns it on again, with
  young collections after YOUNG_THRESHOLD new objects instead of Python's 700.

The threshold is for a console painting a streaming run (tests/bench/bench_live.py, 1,000 events/s, ~1,000 steps
shown): with Python's default a full collection ran about three times a second, 45-70 ms each (every object of the
process, and Textual's cached lines: each rendered line holds ~8 small tracked objects), and each one that fell in the
wait for a paint showed an event that much later. With start-up frozen and a frame's short-lived lines dying before
they are promoted, a full collection happens about once a run: p95 arrival -> paint 27-48 -> 28-31 ms in interleaved
runs. Objects freed by reference counting (nearly all) are freed as before, and cyclic garbage is still collected.

`release()` puts everything back (an app that ends in a process that goes on, as in the test suite).
"""

from __future__ import annotations

import gc

from lgconsole.stack import gc_pause

YOUNG_THRESHOLD = 5_000  # allocations (minus deallocations) of tracked objects between young collections

_paused = False  # whether start-up holds the collector off (stack/gc_pause.py: one hold, whatever the nesting)
_thresholds: tuple[int, int, int] | None = None  # Python's, while resume() has raised the young one


def pause() -> None:
    """The collector off until `resume()` (a pause inside a pause is the same pause)."""
    global _paused
    if not _paused:
        _paused = True
        gc_pause.hold()


def paused() -> bool:
    return _paused


def resume() -> None:
    """Start-up is over: what it made is frozen out of later collections, the collector is on again if it was (and
    nothing else holds it off), and young collections wait for YOUNG_THRESHOLD new objects (nothing when not
    paused)."""
    global _paused, _thresholds
    if not _paused:
        return
    gc.freeze()
    if _thresholds is None:
        _thresholds = gc.get_threshold()
        gc.set_threshold(max(YOUNG_THRESHOLD, _thresholds[0]), *_thresholds[1:])
    _paused = False
    gc_pause.let_go()


def release() -> None:
    """Give frozen objects back to the collector and Python's thresholds back (an app ending in a process that goes
    on, as a test's): what start-up froze and has become garbage since can be collected again."""
    global _thresholds
    resume()
    gc.unfreeze()
    if _thresholds is not None:
        gc.set_threshold(*_thresholds)
        _thresholds = None


def freeze_for_exit() -> None:
    """The process ends now: the interpreter's last collection need not walk what it made."""
    gc.freeze()
