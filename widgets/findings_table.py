"""Triage findings, worst first: severity badge and one-line title per row."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from lgconsole.widgets.palette import Palette, redraw_on_theme_change



@dataclass(frozen=True)
class FindingRow:
    key: str
    severity: str
    title: str


class FindingsTable(DataTable):
    DEFAULT_CSS = """
    FindingsTable { height: auto; max-height: 60%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", show_header=False, **kwargs)
        self._rows: list[FindingRow] = []

    def on_mount(self) -> None:
        self.add_column("severity", key="severity", width=10)
        self.add_column("finding", key="finding")
        redraw_on_theme_change(self, lambda: self.show(self._rows))

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def show(self, rows: list[FindingRow]) -> None:
        self._rows = list(rows)
        selected = self.selected_key
        self.clear()
        palette = Palette.of(self)
        for row in rows:
            badge = Text(f" {row.severity.upper():<8}", style=palette.badge(row.severity))
            self.add_row(badge, Text(row.title), key=row.key)
        keys = [r.key for r in rows]
        if selected in keys:
            self.move_cursor(row=keys.index(selected))
