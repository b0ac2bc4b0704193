"""Which stylesheet each screen uses beyond app.tcss, added to the app's when one of its screens is first shown, and
the mark that spares a new screen Textual's full CSS re-parse."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.screen import Screen

# Each screen's rules (console/screens/*.tcss, by screen class name), parsed when a screen that needs them is first
# shown: the first frame parses app.tcss alone (the whole stylesheet was ~35 ms of its parsing; the modals' rules
# ~2 ms more). They are the app's own CSS as app.tcss is (the same precedence over widgets' DEFAULT_CSS), added to
# its stylesheet, which parses what is new and keeps what it parsed (a screen's CSS_PATH would make Textual parse
# every source again).
SCREEN_STYLES: dict[str, str] = {
    "LiveScreen": "live.tcss", "NewRunScreen": "live.tcss", "AttachScreen": "live.tcss",
    "GraphScreen": "graph.tcss",
    "ThreadsScreen": "threads.tcss", "ForkScreen": "threads.tcss", "ResumeScreen": "threads.tcss",
    "TraceScreen": "threads.tcss", "CompareScreen": "threads.tcss",
    "GpuScreen": "gpu.tcss",
    "TriageScreen": "triage.tcss",
    "StoreScreen": "store.tcss",
    "AssistantsScreen": "assistants.tcss", "AssistantEditScreen": "assistants.tcss",
    "ConfirmScreen": "modals.tcss", "ContextPicker": "modals.tcss", "HelpScreen": "modals.tcss",
    "LogScreen": "modals.tcss",
}
SCREEN_STYLES_DIR = Path(__file__).parent


def with_styles(app: App, screen: Screen) -> None:
    """Add the stylesheet of `screen`'s class (SCREEN_STYLES) to the app's, once."""
    for cls in type(screen).__mro__:
        name = SCREEN_STYLES.get(cls.__name__)
        if name is None:
            continue
        path = str(SCREEN_STYLES_DIR / name)
        if not app.stylesheet.has_source(path, ""):
            app.stylesheet.add_source((SCREEN_STYLES_DIR / name).read_text(encoding="utf-8"), read_from=(path, ""))


def styled_now(screen: Screen) -> Screen:
    """A screen opened in the running app, marked as styled with the app's CSS of now. Textual re-parses every
    stylesheet and restyles the app when a mode's screen is older than the app's last CSS change, and a new screen
    counts as older (its count starts at -1): 30-60 ms on each screen's first opening, for nothing (it is styled when
    it mounts). A screen suspended across a theme change is still restyled when it comes back. Not the first screen:
    at start-up that pass also restyles the widgets styled before the theme's variables were in (without it the Stack
    screen's detail and log lines drew in the background colour)."""
    from textual._context import active_app

    try:
        app = active_app.get()
    except LookupError:  # built outside a running app (tests): Textual's own check decides
        return screen
    with_styles(app, screen)
    # Textual's private counters, read defensively: a Textual without them keeps its own (slower) re-parse
    mounted = getattr(app, "_mounted_event", None)
    if mounted is not None and mounted.is_set() and hasattr(app, "_css_update_count") \
            and hasattr(screen, "_css_update_count"):
        screen._css_update_count = app._css_update_count
    return screen
