"""A run's steps as a waterfall: one row per step (subgraph steps indented under their parent), a bar placed on the
run's time axis, how long it took and a short detail (model calls, tokens); status colours from the theme."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from lgconsole.widgets.palette import Palette, redraw_on_theme_change

LABEL_WIDTH = 22
TOOK_WIDTH = 9


@dataclass(frozen=True)
class WaterfallRow:
    label: str
    depth: int
    status: str  # running | done | error | interrupted | cancelled
    start: float  # where the bar starts and ends, as fractions (0..1) of the run's wall time
    end: float
    took: str
    detail: str = ""


class Waterfall(Widget):
    """`show(rows, empty=...)`; the bar area takes what the label, duration and detail columns leave."""

    DEFAULT_CSS = """
    Waterfall { height: auto; width: 1fr; }
    """

    rows: reactive[tuple[WaterfallRow, ...]] = reactive(tuple, layout=True)

    def __init__(self, *, detail_width: int = 48, **kwargs) -> None:
        super().__init__(**kwargs)
        self.detail_width = detail_width
        self.empty = "no steps"

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self.refresh)

    def show(self, rows: list[WaterfallRow], empty: str = "no steps") -> None:
        self.empty = empty
        self.rows = tuple(rows)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.rows))

    def render(self) -> Text:
        if not self.rows:
            return Text(self.empty, style="dim")
        palette = Palette.of(self)
        width = self.size.width
        detail_width = self.detail_width if width >= 80 else 0
        bar_width = max(4, width - LABEL_WIDTH - TOOK_WIDTH - detail_width - 3)
        out = Text(no_wrap=True, overflow="crop")
        for i, row in enumerate(self.rows):
            if i:
                out.append("\n")
            label = ("  " * row.depth + row.label)[:LABEL_WIDTH].ljust(LABEL_WIDTH)
            out.append(label + " ")
            a = min(bar_width - 1, int(row.start * bar_width))
            b = max(a + 1, min(bar_width, round(row.end * bar_width)))
            out.append(" " * a)
            out.append("█" * (b - a), style=palette.style(row.status))
            out.append(" " * (bar_width - b))
            out.append(row.took[:TOOK_WIDTH].rjust(TOOK_WIDTH + 1))
            if detail_width:
                out.append("  " + row.detail[: detail_width - 2], style="dim")
        return out
