"""The key footer, rebuilt once per burst of binding changes.

Textual's Footer recomposes (one widget per key, styles and all) after every `bindings_updated` signal; a screen
that opens, takes focus and refreshes its bindings when its first data arrives sends several in a row, and each
rebuild cost ~25 ms here (9 rebuilds when the Threads screen first opened). A rebuild reads the bindings of the
moment it runs, so one pending rebuild covers every change before it; and a rebuild that would show the keys already
shown is skipped (a screen's first focus change re-announces the bindings it mounted with: a second rebuild of ~50 ms
before the console's first frame).
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    _rebuild_pending = False
    _keys_shown: tuple | None = None  # what the last rebuild showed (None: none yet)

    def bindings_changed(self, screen: Screen) -> None:
        will_rebuild = bool(screen.app.app_focus) and self.is_attached and screen is self.screen
        if will_rebuild and self._rebuild_pending:
            return
        self._rebuild_pending = will_rebuild
        super().bindings_changed(screen)

    def compose(self):
        if not self._bindings_ready and self.is_attached:
            # The keys of the screen as it mounts, in its first layout: Textual's footer composes empty and rebuilds
            # on the first bindings signal, a second layout and paint of the whole screen before its first frame.
            # That signal's rebuild is then skipped unless the keys it would show differ.
            self._bindings_ready = True
            self._keys_shown = self._keys_now()
        for widget in super().compose():
            # (Textual's private data-binding table: read defensively, a Textual without it keeps its own path)
            if isinstance(widget, FooterKey) and "compact" in (getattr(widget, "_reactive_connect", None) or {}):
                # a key bound to the footer's style is born with it: it starts compact and takes the footer's value
                # when it mounts, each change a restyle (two per key, ~4 ms each, for the look it is bound to)
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    async def recompose(self) -> None:
        self._rebuild_pending = False
        keys = self._keys_now()
        if keys is not None and keys == self._keys_shown:
            return
        self._keys_shown = keys
        await super().recompose()

    def _keys_now(self) -> tuple | None:
        """What a rebuild would show: every active binding with its key display, state and tooltip (None before the
        screen's bindings are known)."""
        if not self._bindings_ready or not self.is_attached:
            return None
        app = self.app
        shown: dict[str, tuple] = {}  # as Footer.compose shows them: one key per action, its first binding's
        palette = None
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                shown.setdefault(binding.action, (binding, app.get_key_display(binding), enabled, tooltip))
            if binding.key == app.COMMAND_PALETTE_BINDING:
                palette = (binding, app.get_key_display(binding), enabled, tooltip)
        return self.show_command_palette, self.combine_groups, tuple(shown.values()), palette
