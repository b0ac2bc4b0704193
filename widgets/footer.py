"""The key footer, rebuilt once per burst of binding changes.

Textual's Footer recomposes (one widget per key, styles and all) after every `bindings_updated` signal; a screen
that opens, takes focus and refreshes its bindings when its first data arrives sends several in a row, and each
rebuild cost ~25 ms here (9 rebuilds when the Threads screen first opened). A rebuild reads the bindings of the
moment it runs, so one pending rebuild covers every change before it.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    _rebuild_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        will_rebuild = bool(screen.app.app_focus) and self.is_attached and screen is self.screen
        if will_rebuild and self._rebuild_pending:
            return
        self._rebuild_pending = will_rebuild
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._rebuild_pending = False
        await super().recompose()
