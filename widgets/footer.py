"""The key footer: every key of the screen in one line, drawn as Textual's Footer draws them, in one widget.

Textual's Footer is a container of one FooterKey widget per key (ten on the Stack screen), each mounted, styled (with
two component styles), laid out and painted on its own, and all of them composed again after every change of the
bindings: ~25 ms of every console screen's first frame, and ~25 ms a rebuild. Here the keys are one line of text in
the same styles (the same theme variables: footer, key, description, hover, disabled, the command palette's key docked
right behind its `vkey` edge); a change of the bindings is a repaint. A click on a key presses it, as Textual's does.
Binding groups are shown key by key (no console screen uses them).
"""

from __future__ import annotations

from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

PALETTE_EDGE = "▏"  # Textual's `vkey` border, left side


class FooterKey(NamedTuple):
    key: str  # what a click presses
    display: str  # how the key is written (`^p`, `?`)
    description: str
    enabled: bool
    tooltip: str


class KeyFooter(Widget):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--item", "key-footer--key", "key-footer--description", "key-footer--hover",
                         "key-footer--palette-edge"}
    # Textual's Footer and FooterKey rules (non-compact), component by component
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .key-footer--item { background: $footer-item-background; }
        .key-footer--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
        .key-footer--description { color: $footer-description-foreground; background: $footer-description-background; }
        .key-footer--hover { color: $footer-key-foreground; background: $block-hover-background; }
        .key-footer--palette-edge { color: $foreground 20%; }
    }
    """

    def __init__(self, *, show_command_palette: bool = True, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.show_command_palette = show_command_palette
        self._hover: int | None = None  # index into the keys shown (the palette's last)
        self._spans: list[tuple[int, int]] = []  # each key's cells as last painted: [start, end)
        self._keys: tuple[list[FooterKey], FooterKey | None] = ([], None)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self._keys = self._keys_now()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if not (self.is_attached and screen is self.screen):
            return
        keys = self._keys_now()
        if keys != self._keys:
            self._keys = keys
            self.refresh()

    @property
    def keys(self) -> list[FooterKey]:
        """The keys shown, left to right, the command palette's last."""
        keys, palette = self._keys
        return [*keys, *([palette] if palette else [])]

    def _keys_now(self) -> tuple[list[FooterKey], FooterKey | None]:
        """As Textual's Footer picks them: every active binding with `show`, one per action (its first binding's);
        the command palette's on the right."""
        if not self.is_attached:
            return [], None
        app = self.app
        active = self.screen.active_bindings
        by_action: dict[str, FooterKey] = {}
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action.setdefault(binding.action, FooterKey(binding.key, app.get_key_display(binding),
                                                               binding.description, enabled, tooltip))
        palette = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _, binding, enabled, _ = active[app.COMMAND_PALETTE_BINDING]
            palette = FooterKey(binding.key, app.get_key_display(binding), binding.description, enabled,
                                binding.tooltip or binding.description)
        return list(by_action.values()), palette

    def _key_text(self, key: FooterKey, hovered: bool, compact: bool = False) -> Text:
        """One key as Textual's FooterKey renders it: ` key ` then `description ` (compact, as its command palette
        key is: `key` then ` description`), over the item's style."""
        key_part = key.display if compact else f" {key.display} "
        description = (f" {key.description}" if compact else f"{key.description} ") if key.description else ""
        base = self.get_component_rich_style("key-footer--hover" if hovered else "key-footer--item")
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        if hovered:  # the key's and description's backgrounds (transparent in every theme) show the hover's
            key_style, description_style = (s + Style(bgcolor=base.bgcolor) for s in (key_style, description_style))
        text = Text.assemble((key_part, key_style), (description, description_style))
        text.stylize_before(base + Style(dim=True) if not key.enabled else base)
        return text

    def render(self) -> Text:
        width = self.size.width
        keys, palette = self._keys
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for i, key in enumerate(keys):
            start = line.cell_len
            line.append_text(self._key_text(key, self._hover == i))
            self._spans.append((start, line.cell_len))
        if palette is None:
            line.truncate(width)
            return line
        hovered = self._hover == len(keys)
        around = self.get_component_rich_style("key-footer--hover" if hovered else "key-footer--item")
        right = Text(no_wrap=True, end="")
        right.append(PALETTE_EDGE, self.get_component_rich_style("key-footer--palette-edge")
                     + Style(bgcolor=around.bgcolor))
        right.append_text(self._key_text(palette, hovered, compact=True))
        right.append(" ", Style(bgcolor=around.bgcolor))  # its padding-right
        room = max(0, width - right.cell_len)
        line.truncate(room, pad=True)
        self._spans = [(a, min(b, room)) for a, b in self._spans if a < room]
        self._spans += [(room, width)] * (len(keys) - len(self._spans))  # cut off: not clickable
        self._spans.append((room, room + right.cell_len))
        line.append_text(right)
        return line

    def _key_at(self, x: int) -> int | None:
        return next((i for i, (a, b) in enumerate(self._spans) if a <= x < b), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hover = self._key_at(event.x)
        if hover != self._hover:
            self._hover = hover
            shown = self.keys
            self.tooltip = (shown[hover].tooltip or None) if hover is not None and hover < len(shown) else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self._key_at(event.x)
        shown = self.keys
        if index is None or index >= len(shown):
            return
        if shown[index].enabled:
            self.app.simulate_key(shown[index].key)
        else:
            self.app.bell()
