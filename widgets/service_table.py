"""A table of the stack's services: state (coloured), pid, port, uptime, restarts, version."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable

from lgconsole.widgets.palette import Palette, redraw_on_theme_change

QUIET_STATES = ("waiting", "stopped", "disabled")  # drawn without bold: nothing is happening yet
STATE_ICONS = {"healthy": "●", "starting": "◌", "waiting": "◌", "degraded": "▲", "crashed": "✖", "failed": "✖",
               "stopped": "○", "disabled": "·", "down": "✖"}


@dataclass(frozen=True)
class ServiceRow:
    """Plain data for one row; the console builds these from the supervisor's status."""

    name: str
    state: str
    managed: bool = True
    pid: int | None = None
    port: int | None = None
    uptime: str = "-"
    restarts: int = 0
    version: str = ""
    url: str = ""
    run_elsewhere: bool = False  # a service of the stack another manager (systemd) runs: lgconsole only probes it


COLUMNS = ("service", "state", "pid", "port", "uptime", "restarts", "version")


class ServiceTable(DataTable):
    """One row per service, keyed by service name so the cursor stays put across refreshes."""

    DEFAULT_CSS = """
    ServiceTable { height: auto; max-height: 12; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._rows: list[ServiceRow] = []

    def on_mount(self) -> None:
        for column in COLUMNS:  # labels as Text: a str label is parsed as markup, which loads Rich's emoji table
            self.add_column(Text(column), key=column)
        redraw_on_theme_change(self, lambda: self.show(self._rows))

    @property
    def selected_service(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def show(self, rows: list[ServiceRow]) -> None:
        self._rows = list(rows)
        wanted = [r.name for r in rows]
        existing = [key.value for key in self.rows]
        if wanted != existing:
            selected = self.selected_service
            self.clear()
            for row in rows:
                self.add_row(*self._cells(row), key=row.name)
            if selected in wanted:
                self.move_cursor(row=wanted.index(selected))
            return
        for row in rows:
            for column, cell in zip(COLUMNS, self._cells(row)):
                self.update_cell(row.name, column, cell, update_width=True)  # a 5-digit PID after a 4-digit one

    def _cells(self, row: ServiceRow) -> tuple:
        palette = Palette.of(self)
        style = palette.style(row.state, *(() if row.state in QUIET_STATES else ("bold",)), kind="service")
        # an external service: lgconsole probes it, it does not run it ("external · healthy", "external · down")
        label = row.state if row.managed or row.state == "disabled" else f"external · {row.state}"
        if row.run_elsewhere:
            label = "running · not supervised" if row.state == "healthy" else f"{row.state} · not supervised"
        state = Text(f"{STATE_ICONS.get(row.state, '?')} {label}", style=style)
        restarts = Text(str(row.restarts), style=palette.style("error", "bold") if row.restarts else "")
        return (
            Text(row.name, style="bold"),
            state,
            Text(str(row.pid) if row.pid else "-"),  # Text, not str: a str cell is parsed as markup
            Text(str(row.port) if row.port else "-"),
            Text(row.uptime),
            restarts,
            Text(row.version or ("external" if not row.managed else "-"), style="" if row.managed else "italic"),
        )
