"""The last lines of a log, shown as plain text (never as markup: log lines may contain `[`)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lgconsole.widgets.palette import Palette, redraw_on_theme_change


class LogTail(Static):
    """Shows a title and the last lines of one log; the console hands it lines, it never reads files."""

    DEFAULT_CSS = """
    LogTail { height: auto; min-height: 3; padding: 0 1; border: round $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    _shown: tuple[str, list[str], str | None] | None = None

    def on_mount(self) -> None:
        redraw_on_theme_change(self, lambda: self._shown and self.show(*self._shown))

    def show(self, title: str, lines: list[str], note: str | None = None) -> None:
        self._shown = (title, lines, note)
        self.border_title = title
        text = Text(no_wrap=True, overflow="ellipsis")
        palette = Palette.of(self)
        error = palette.style("error")
        if note:
            text.append(note + "\n", style=palette.style("error", "bold"))
        if not lines:
            text.append("(no log lines yet)", style="dim")
        for i, line in enumerate(lines):
            if i:
                text.append("\n")
            style = error if any(w in line.lower() for w in ("error", "fatal", "traceback", "panic")) else ""
            text.append(line, style=style)
        self.update(text)
