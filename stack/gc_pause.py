"""Python's cyclic garbage collector held off, process-wide, by whoever needs it off for a while: lgconsole's start-up
(console/collector.py) and the decoding of large states (stack/checkpoints/reader.py). Holds nest across callers and
threads: the collector is back on when the last one lets go, if it was on before the first."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holds = 0  # holds taken and not let go yet, on every thread
_was_enabled = False  # whether the collector was on when the first of them was taken


def hold() -> None:
    """The collector off until every hold is let go."""
    global _holds, _was_enabled
    with _lock:
        if _holds == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holds += 1


def let_go() -> None:
    """One hold less (nothing when none is taken); the last one turns the collector back on if it was on."""
    global _holds
    with _lock:
        if _holds == 0:
            return
        _holds -= 1
        if _holds == 0 and _was_enabled:
            gc.enable()


def held() -> bool:
    return _holds > 0


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block. Decoding a 10k-message state makes ~40k dicts and lists, none of them in a
    cycle: the collector, triggered every 700 of them, walks them again and again as they pile up, and every object
    the process holds in its full passes: ~1/3 of that decode. Reference counting still frees what the block drops."""
    hold()
    try:
        yield
    finally:
        let_go()
