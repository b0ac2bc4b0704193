"""A state diff (or any `+ / - / ~` prefixed lines) coloured line by line; text is never read as markup."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

LINE_STYLES = {"+": "green", "-": "red", "~": "yellow", "!": "bold red", "?": "bold magenta", "#": "bold"}


def diff_text(sections: list[tuple[str, list[str]]]) -> Text:
    """Sections of lines under a title; a line's first character picks its colour."""
    text = Text()
    for n, (title, lines) in enumerate(sections):
        if n:
            text.append("\n")
        text.append(title + "\n", style="bold underline")
        if not lines:
            text.append("  (nothing)\n", style="dim")
        for line in lines:
            text.append(line + "\n", style=LINE_STYLES.get(line[:1], ""))
    return text


class DiffView(Static):
    DEFAULT_CSS = """
    DiffView { padding: 0 1; }
    """

    def show(self, sections: list[tuple[str, list[str]]]) -> None:
        self.update(diff_text(sections))
