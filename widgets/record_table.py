"""A table of keyed records given as plain text cells (store namespaces and items, Redis keys): the selection
follows its key across refreshes; cells are never read as markup."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from lgconsole.widgets.palette import Palette, redraw_on_theme_change


@dataclass(frozen=True)
class RecordRow:
    key: str
    cells: tuple[str, ...]
    dim: bool = False  # a row that stands for others (a namespace that only holds namespaces)


@dataclass(frozen=True)
class Column:
    label: str
    width: int | None = None  # None: as wide as its cells


class RecordTable(DataTable):
    DEFAULT_CSS = """
    RecordTable { height: 1fr; }
    """

    def __init__(self, columns: tuple[Column, ...], show_header: bool = True, **kwargs) -> None:
        super().__init__(cursor_type="row", show_header=show_header, **kwargs)
        self.columns_wanted = columns
        self._rows: list[RecordRow] = []

    def on_mount(self) -> None:
        for n, column in enumerate(self.columns_wanted):
            self.add_column(column.label, key=str(n), width=column.width)
        redraw_on_theme_change(self, lambda: self.show(self._rows))

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def show(self, rows: list[RecordRow]) -> None:
        """Replace the rows; the cursor stays on the same key when it is still there."""
        self._rows = list(rows)
        selected = self.selected_key
        self.clear()
        dim = Palette.of(self).style("muted")
        for row in rows:
            self.add_row(*(Text(cell, style=dim if row.dim else "", no_wrap=True) for cell in row.cells), key=row.key)
        keys = [r.key for r in rows]
        if selected in keys:
            self.move_cursor(row=keys.index(selected))
