"""Tables of the GPU screen: one row per GPU, per GPU process (the vLLM ones marked), per latency metric."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

from rich.text import Text
from textual.widgets import DataTable

from lgconsole.widgets.palette import Palette, redraw_on_theme_change


@dataclass(frozen=True)
class GpuRow:
    index: int
    name: str
    uuid: str = ""
    utilization: str = "n/a"
    temperature: str = "n/a"
    power: str = "-"
    memory: str = "n/a"
    mig: str = "n/a"


@dataclass(frozen=True)
class GpuProcessRow:
    gpu: int
    pid: int
    label: str  # "vllm" for a vLLM server's process, else the executable's name
    service: str = ""
    memory: str = "n/a"
    command: str = ""


@dataclass(frozen=True)
class LatencyRow:
    name: str
    p50: str = "-"
    p90: str = "-"
    p99: str = "-"
    count: str = "0"


class _RowTable(DataTable):
    """A table of frozen dataclass rows keyed by `key(row)`; refreshing with the same keys updates cells in place
    so the cursor and scroll position stay put."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._rows: list = []

    def on_mount(self) -> None:
        for column in self.COLUMNS:
            self.add_column(column, key=column)
        redraw_on_theme_change(self, self._redraw)

    def _redraw(self) -> None:
        rows, self._rows = self._rows, []
        self.show(rows)

    def key(self, row) -> str:
        raise NotImplementedError

    def cells(self, row) -> tuple:
        raise NotImplementedError

    def show(self, rows: Sequence) -> None:
        rows = list(rows)
        if rows == self._rows and self.row_count == len(rows):
            return  # a refresh with nothing new must not repaint the table
        self._rows = rows
        wanted = [self.key(r) for r in rows]
        if wanted != [k.value for k in self.rows]:
            cursor = self.cursor_row
            self.clear()
            for row in rows:
                self.add_row(*self.cells(row), key=self.key(row))
            if rows:
                self.move_cursor(row=min(cursor, len(rows) - 1))
            return
        for row in rows:
            for column, cell in zip(self.COLUMNS, self.cells(row)):
                self.update_cell(self.key(row), column, cell)


class GpuTable(_RowTable):
    DEFAULT_CSS = "GpuTable { height: auto; max-height: 10; overflow-x: hidden; }"
    COLUMNS = ("gpu", "name", "util", "temp", "power", "MIG")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cursor_type = "none"

    def key(self, row: GpuRow) -> str:
        return str(row.index)

    def cells(self, row: GpuRow) -> tuple:
        name = row.name.removeprefix("NVIDIA ")
        return (Text(str(row.index), style="bold"), name, row.utilization, row.temperature, row.power, row.mig)


class GpuProcessTable(_RowTable):
    DEFAULT_CSS = "GpuProcessTable { height: auto; max-height: 14; overflow-x: hidden; }"
    COLUMNS = ("gpu", "pid", "process", "VRAM", "command")

    def key(self, row: GpuProcessRow) -> str:
        return f"{row.gpu}:{row.pid}"

    def cells(self, row: GpuProcessRow) -> tuple:
        label = Text(row.label, style=Palette.of(self).style("service", "bold", kind="process") if row.service else "")
        return (str(row.gpu), str(row.pid), label, Text(row.memory, justify="right"), Text(row.command, style="dim"))


class LatencyTable(_RowTable):
    DEFAULT_CSS = "LatencyTable { height: auto; overflow-x: hidden; }"
    COLUMNS = ("latency", "p50", "p90", "p99", "samples")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cursor_type = "none"

    def key(self, row: LatencyRow) -> str:
        return row.name

    def cells(self, row: LatencyRow) -> tuple:
        return (row.name, *(Text(getattr(row, f.name), justify="right") for f in fields(row)[1:]))
