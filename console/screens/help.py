"""`?`: every key of the app and of the screen underneath, and the `:` commands (styled in screens/modals.tcss)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from lgconsole.widgets.palette import Palette


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]):
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table(show_header=False, box=None, expand=False, padding=(0, 2, 0, 0))
        table.add_column("key", style=Palette.of(self).style("key", "bold"), min_width=24, no_wrap=True)
        table.add_column("what")
        for n, (title, rows) in enumerate(self.sections):
            if n:
                table.add_row("", "")
            table.add_row(Text(title, style="bold underline"), "")
            for key, what in rows:
                table.add_row(key, what)
        with VerticalScroll():
            yield Static(table)
