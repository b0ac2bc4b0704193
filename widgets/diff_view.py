"""A state diff (or any `+ / - / ~` prefixed lines) coloured line by line; text is never read as markup."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lgconsole.widgets.palette import Palette, redraw_on_theme_change

# a line's first character -> (palette status, attributes)
LINE_MARKS = {"+": ("added", ""), "-": ("removed", ""), "~": ("changed", ""), "!": ("error", "bold"),
              "?": ("question", "bold"), "#": ("", "bold")}


def diff_text(sections: list[tuple[str, list[str]]], palette: Palette | None = None) -> Text:
    """Sections of lines under a title; a line's first character picks its colour."""
    palette = palette or Palette.of(None)
    styles = {mark: palette.style(status, *filter(None, [attrs])) for mark, (status, attrs) in LINE_MARKS.items()}
    text = Text()
    for n, (title, lines) in enumerate(sections):
        if n:
            text.append("\n")
        text.append(title + "\n", style="bold underline")
        if not lines:
            text.append("  (nothing)\n", style="dim")
        for line in lines:
            text.append(line + "\n", style=styles.get(line[:1], ""))
    return text


class DiffView(Static):
    DEFAULT_CSS = """
    DiffView { padding: 0 1; }
    """

    _sections: list[tuple[str, list[str]]] | None = None

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self._redraw)

    def _redraw(self) -> None:
        if self._sections is not None:
            self.show(self._sections)

    def show(self, sections: list[tuple[str, list[str]]]) -> None:
        self._sections = sections
        self.update(diff_text(sections, Palette.of(self)))
