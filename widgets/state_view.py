"""A graph state at one checkpoint: one block per key, its value as pre-formatted lines; never read as markup."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from lgconsole.widgets.palette import Palette, redraw_on_theme_change


@dataclass(frozen=True)
class StateEntry:
    key: str
    lines: tuple[str, ...]  # the value, formatted by the caller (pretty JSON, one message a line, ...)
    note: str = ""  # dim text after the key: "3 messages", "placeholder: not decoded"
    warn: bool = False  # the value is a placeholder (not decoded): shown in the theme's warning colour


def state_text(title: str, entries: list[StateEntry], info: list[str] | None = None,
               palette: Palette | None = None) -> Text:
    palette = palette or Palette.of(None)
    key_style, warn_style = palette.style("key", "bold"), palette.style("warning")
    text = Text()
    text.append(title + "\n", style="bold underline")
    for line in info or []:
        text.append(line + "\n", style="dim")
    if not entries:
        text.append("  (empty state)\n", style="dim")
    for entry in entries:
        text.append(entry.key, style=key_style)
        if entry.note:
            text.append(f"  {entry.note}", style="dim")
        text.append("\n")
        for line in entry.lines:
            text.append(f"  {line}\n", style=warn_style if entry.warn else "")
    return text


class StateView(Static):
    DEFAULT_CSS = """
    StateView { padding: 0 1; }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[str, list[StateEntry], list[str] | None] | None = None

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self._redraw)

    def show(self, title: str, entries: list[StateEntry], info: list[str] | None = None) -> None:
        self._shown = (title, entries, info)
        self.update(state_text(title, entries, info, Palette.of(self)))

    def clear(self) -> None:
        self._shown = None
        self.update("")

    def _redraw(self) -> None:
        """Draw the state again in the new theme (key and warning colours are resolved when the text is built)."""
        if self._shown is not None:
            self.show(*self._shown)
