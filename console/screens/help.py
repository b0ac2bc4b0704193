"""`?`: every key of the app and of the screen underneath, and the `:` commands."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 80; height: auto; max-height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]):
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            for title, rows in self.sections:
                table = Table(title=title, title_justify="left", show_header=False, box=None, expand=True)
                table.add_column("key", style="bold cyan", width=16)
                table.add_column("what")
                for key, what in rows:
                    table.add_row(key, what)
                yield Static(table)
