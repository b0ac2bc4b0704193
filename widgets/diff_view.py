"""A state diff (or any `+ / - / ~` prefixed lines) coloured line by line; text is never read as markup."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lgconsole.widgets.palette import Palette

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

    def show(self, sections: list[tuple[str, list[str]]]) -> None:
        self.update(diff_text(sections, Palette.of(self)))
