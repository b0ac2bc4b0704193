"""Python's cyclic garbage collector while lgconsole starts: off until the first frame (or for the whole of a one-shot
command), then the objects start-up made frozen out of every later collection.

Start-up makes ~200k objects that live as long as the process (modules, classes, Textual's styles and widgets) and
next to no cyclic garbage. The collector walks them all the same: ~10 ms of young collections while a cold
`lgconsole threads` runs, a full collection (~20 ms) in the middle of the console's first frame, and one more full
walk (~10-15 ms) at interpreter exit. Paused, none of them runs; frozen (`gc.freeze`), later full collections of a
long console session skip them too. Objects freed by reference counting (nearly all) are freed as before.
"""

from __future__ import annotations

import gc

_restore: bool | None = None  # while paused: whether the collector was on before the first pause


def pause() -> None:
    """The collector off until `resume()`; a pause inside a pause keeps the state of before the first."""
    global _restore
    if _restore is None:
        _restore = gc.isenabled()
    gc.disable()


def paused() -> bool:
    return _restore is not None


def resume() -> None:
    """Start-up is over: what it made is frozen out of later collections, and the collector is on again if it was
    (nothing when not paused)."""
    global _restore
    if _restore is None:
        return
    gc.freeze()
    if _restore:
        gc.enable()
    _restore = None


def release() -> None:
    """Give frozen objects back to the collector (an app ending in a process that goes on, as a test's): what the
    start-up froze and has become garbage since can be collected again."""
    resume()
    gc.unfreeze()


def freeze_for_exit() -> None:
    """The process ends now: the interpreter's last collection need not walk what it made."""
    gc.freeze()
