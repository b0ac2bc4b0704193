"""The fleet from Prometheus -> the GPU screen's fleet tables (one row per host, replica, GPU, LangGraph server) and
its coloured imbalance and capacity text."""

from __future__ import annotations

from rich.text import Text

from lgconsole.console.model.fleet import Fleet
from lgconsole.console.rows.gpu import VERDICT_STYLES
from lgconsole.console.rows.gpu_fleet_text import (capacity_numbers, gpu_cells, host_cells, replica_cells,
                                                   server_cells, verdict_lines)
from lgconsole.console.rows.shown import shown
from lgconsole.widgets.palette import Palette
from lgconsole.widgets.record_table import RecordRow


def _row(key: str, cells: tuple[str, ...]) -> RecordRow:
    return RecordRow(key=key, cells=tuple(shown(c) for c in cells))  # labels are anyone's text


def host_rows(fleet: Fleet) -> list[RecordRow]:
    return [_row(h.host, host_cells(h)) for h in fleet.hosts]


def replica_rows(fleet: Fleet) -> list[RecordRow]:
    context_len = fleet.capacity.context_len if fleet.capacity else None
    return [_row(r.key, replica_cells(r, context_len)) for r in fleet.replicas]


def fleet_gpu_rows(fleet: Fleet) -> list[RecordRow]:
    return [_row(f"{g.host} {g.gpu}", gpu_cells(g)) for g in fleet.gpus]


def server_rows(fleet: Fleet) -> list[RecordRow]:
    return [_row(s.instance, server_cells(s)) for s in fleet.servers]


def fleet_verdicts_text(fleet: Fleet, palette: Palette) -> Text:
    """The fleet's capacity numbers, then the imbalance and capacity verdicts coloured by level."""
    text = Text()
    numbers = capacity_numbers(fleet)
    if numbers:
        text.append(numbers + "\n", style="bold")
    lines = verdict_lines(fleet)
    for i, (level, line) in enumerate(lines):
        status, *attributes = VERDICT_STYLES.get(level, ("",))
        icon, _, rest = line.partition(" ")
        text.append(icon + " ", style=palette.style(status, *attributes))
        text.append(shown(rest) + ("\n" if i < len(lines) - 1 else ""))
    return text
