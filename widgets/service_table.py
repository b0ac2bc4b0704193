"""A table of the stack's services: state (coloured), pid, port, uptime, restarts, version."""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

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
PAD = 1  # blank cells each side of a column


class ServiceTable(Widget, can_focus=True):
    """One row per service under a header row, a row cursor kept on the same service across refreshes. Drawn line by
    line: the first screen of the console shows it, and a DataTable (its import, its styles, its first layout) was
    ~10 ms of that frame. The look is DataTable's (header on $panel, the cursor row in the block cursor colours)."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
    ]
    COMPONENT_CLASSES = {"service-table--header", "service-table--cursor", "service-table--hover"}
    DEFAULT_CSS = """
    ServiceTable {
        background: $surface; color: $foreground; height: auto; max-height: 12;
        &:focus { background-tint: $foreground 5%; }
        & > .service-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:focus > .service-table--header { background-tint: $foreground 5%; }
        & > .service-table--cursor {
            background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .service-table--cursor {
            background: $block-cursor-background; color: $block-cursor-foreground; text-style: $block-cursor-text-style;
        }
        & > .service-table--hover { background: $block-hover-background; }
    }
    """

    cursor_row: reactive[int] = reactive(0, layout=False)
    hover_row: reactive[int] = reactive(-1, layout=False)

    class RowHighlighted(Message):
        """The cursor moved to another service (or the rows changed under it)."""

        def __init__(self, table: ServiceTable, service: str | None) -> None:
            super().__init__()
            self.table = table
            self.service = service

        @property
        def control(self) -> ServiceTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows: list[ServiceRow] = []
        self._cells_by_row: list[tuple[Text, ...]] = []
        self._widths = [len(c) for c in COLUMNS]

    def on_mount(self) -> None:
        redraw_on_theme_change(self, lambda: self.show(self._rows))

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def row_keys(self) -> list[str]:
        return [r.name for r in self._rows]

    @property
    def selected_service(self) -> str | None:
        return self._rows[self.cursor_row].name if 0 <= self.cursor_row < len(self._rows) else None

    def get_row(self, service: str) -> list[Text]:
        """The cells shown for `service` (a ValueError for an unknown one)."""
        return list(self._cells_by_row[self.row_keys.index(service)])

    def get_cell(self, service: str, column: str) -> Text:
        return self.get_row(service)[COLUMNS.index(column)]

    def column_width(self, column: str) -> int:
        """The cells of `column` are this wide (its widest cell or its label): none is cut."""
        return self._widths[COLUMNS.index(column)]

    def move_cursor(self, row: int) -> None:
        if self._rows:
            before = self.selected_service
            self.cursor_row = max(0, min(row, len(self._rows) - 1))
            if self.selected_service != before:
                self.post_message(self.RowHighlighted(self, self.selected_service))

    def show(self, rows: list[ServiceRow]) -> None:
        before = self.selected_service
        resized = len(rows) != len(self._rows)
        self._rows = list(rows)
        self._cells_by_row = [self._cells(row) for row in self._rows]
        self._widths = [max([len(label)] + [cells[i].cell_len for cells in self._cells_by_row])
                        for i, label in enumerate(COLUMNS)]
        names = self.row_keys
        self.cursor_row = names.index(before) if before in names else max(0, min(self.cursor_row, len(names) - 1))
        if self.selected_service != before:
            self.post_message(self.RowHighlighted(self, self.selected_service))
        self.refresh(layout=resized)

    def watch_cursor_row(self) -> None:
        self.refresh()

    def watch_hover_row(self) -> None:
        self.refresh()

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_cursor_to(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else len(self._rows) - 1)

    def on_click(self, event) -> None:
        if 1 <= event.y <= len(self._rows):
            self.move_cursor(event.y - 1)

    def on_mouse_move(self, event) -> None:
        self.hover_row = event.y - 1 if 1 <= event.y <= len(self._rows) else -1

    def on_leave(self) -> None:
        self.hover_row = -1

    def get_content_height(self, container, viewport, width: int) -> int:
        return 1 + len(self._rows)

    def get_content_width(self, container, viewport) -> int:
        return sum(w + 2 * PAD for w in self._widths)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            cells: tuple[Text, ...] = tuple(Text(c) for c in COLUMNS)
            row_style, post = self.get_component_styles("service-table--header").rich_style, Style()
        elif y <= len(self._rows):
            cells = self._cells_by_row[y - 1]
            row_style = Style()
            if y - 1 == self.cursor_row:
                row_style = self.get_component_rich_style("service-table--cursor")
            elif y - 1 == self.hover_row:
                row_style = self.get_component_rich_style("service-table--hover")
            post = Style.from_color(row_style.color, row_style.bgcolor)  # the cursor's colours over the cells'
        else:
            return Strip.blank(width, base)
        segments: list[Segment] = []
        console = self.app.console
        for column, (cell, cell_width) in enumerate(zip(cells, self._widths)):
            # one run of segments a cell, told apart by their meta (as DataTable's): a terminal draws them alike,
            # and an SVG screenshot places each run at its own column
            line = Text(" " * PAD, end="")
            line.append_text(cell)
            line.append(" " * (cell_width - cell.cell_len + PAD))
            line.stylize_before(base + row_style + Style.from_meta({"column": column}))  # under the cell's own
            line.stylize(post)
            segments.extend(line.render(console))
        return Strip(segments).adjust_cell_length(width, base + row_style).crop(0, width)

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
