"""A table of threads: status (coloured), last activity, checkpoints, step, last node, error or interrupt."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from lgconsole.widgets.palette import Palette, redraw_on_theme_change

QUIET_STATUSES = ("idle",)  # coloured without bold: nothing to do about it
DETAIL_STATUSES = ("errored", "waiting")  # the error or question is coloured as its status
STATUS_ICONS = {"errored": "✖", "waiting": "◆", "idle": "●", "busy": "▶"}


@dataclass(frozen=True)
class ThreadRow:
    """Plain data for one row; the console builds these from the checkpoint reader's thread summaries."""

    thread_id: str  # the row's key, as the checkpointer stores it
    status: str  # errored | waiting | idle | busy (a palette status: widgets/palette.py)
    last_activity: str = "-"  # "3m ago"
    checkpoints: int = 0
    step: str = "-"
    last_node: str = ""
    detail: str = ""  # the error or the interrupt's question
    shown_id: str = ""  # the thread id as shown, escaped by the caller when it holds control characters


COLUMNS = (("thread", "thread"), ("status", "status"), ("activity", "activity"), ("ckpts", "ckpts"),
           ("step", "step"), ("last node", "node"), ("error / interrupt", "detail"))
COMPACT = ("thread", "status", "activity", "step", "detail")  # under COMPACT_BELOW columns of width
COMPACT_BELOW = 100


def detail_width(width: int) -> int:
    """How many characters of error / interrupt text fit in a table this wide without scrolling sideways."""
    compact = width < COMPACT_BELOW
    fixed = 36 + 9 + 9 + 4 + (0 if compact else 5 + 14)  # thread id, status, activity, step (ckpts, node)
    padding = 2 * (len(COMPACT) if compact else len(COLUMNS))
    return max(8, width - fixed - padding - 2)


class ThreadTable(DataTable):
    """One row per thread, keyed by thread id so the cursor stays on its thread across refreshes."""

    class ThreadSelected(Message):
        """The cursor moved to a thread (or the table was filled and the cursor landed on one)."""

        def __init__(self, thread_id: str | None) -> None:
            super().__init__()
            self.thread_id = thread_id

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._thread_rows: list[ThreadRow] = []
        self._compact: bool | None = None

    def on_mount(self) -> None:
        self.call_after_refresh(lambda: self._set_columns(self.size.width < COMPACT_BELOW))
        redraw_on_theme_change(self, self._redraw)

    @property
    def columns_shown(self) -> list[tuple[str, str]]:
        return [c for c in COLUMNS if not self._compact or c[1] in COMPACT]

    def _set_columns(self, compact: bool) -> None:
        if compact == self._compact:
            return
        self._compact = compact
        self.clear(columns=True)
        for label, key in self.columns_shown:
            self.add_column("detail" if compact and key == "detail" else label, key=key)
        self._thread_rows = []  # refilled by the next show()

    @property
    def selected_thread(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def row_for(self, thread_id: str) -> ThreadRow | None:
        return next((r for r in self._thread_rows if r.thread_id == thread_id), None)

    def show(self, rows: list[ThreadRow], select: str | None = None, compact: bool | None = None) -> None:
        """Show these rows; the cursor stays on its thread (or moves to `select`) when it is still listed.
        `compact` leaves out the checkpoint-count and last-node columns (narrow terminals); default: by width."""
        keep = select or self.selected_thread
        self._set_columns(self.size.width < COMPACT_BELOW if compact is None else compact)
        ids = [r.thread_id for r in rows]
        if ids == [r.thread_id for r in self._thread_rows]:
            for old, new in zip(self._thread_rows, rows):  # same threads, same order: update the changed cells in place
                if old != new:
                    for (_, key), cell in zip(self.columns_shown, self._cells(new)):
                        self.update_cell(new.thread_id, key, cell)
            self._thread_rows = list(rows)
        else:
            self._thread_rows = list(rows)
            self.clear()
            for row in rows:
                self.add_row(*self._cells(row), key=row.thread_id)
        if keep in ids and keep != self.selected_thread:
            self.move_cursor(row=ids.index(keep), animate=False)
        self.post_message(self.ThreadSelected(self.selected_thread))

    def _redraw(self) -> None:
        """Build every cell again in the new theme (status colours are resolved when a cell is built)."""
        for row in self._thread_rows:
            for (_, key), cell in zip(self.columns_shown, self._cells(row)):
                self.update_cell(row.thread_id, key, cell)

    def _cells(self, row: ThreadRow) -> tuple:
        palette = Palette.of(self)
        style = palette.style(row.status, *(() if row.status in QUIET_STATUSES else ("bold",)))
        detail = Text(row.detail, style=palette.style(row.status) if row.status in DETAIL_STATUSES else "",
                      no_wrap=True, overflow="ellipsis")
        cells = {
            "thread": Text(row.shown_id or row.thread_id, style="bold"),
            "status": Text(f"{STATUS_ICONS.get(row.status, '?')} {row.status}", style=style),
            "activity": Text(row.last_activity, justify="right"),
            "ckpts": Text(str(row.checkpoints), justify="right"),
            "step": Text(row.step, justify="right"),
            "node": Text(row.last_node, no_wrap=True, overflow="ellipsis"),
            "detail": detail,
        }
        return tuple(cells[key] for _, key in self.columns_shown)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        # Rebuilding the rows highlights row 0 on the way: only the row the cursor is on now counts.
        if event.row_key is not None and event.row_key.value == self.selected_thread:
            self.post_message(self.ThreadSelected(event.row_key.value))
