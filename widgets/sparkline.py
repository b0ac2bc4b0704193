"""A titled one-line sparkline for a time series: newest sample on the right, fixed or automatic scale.

Textual's own `Sparkline` stretches any number of samples over its width and scales between the data's min and
max; a monitor wants the opposite: a steady 93% must draw high, and ten samples must not fill a minute's width.
"""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from lgconsole.widgets.palette import Palette

BARS = " ▁▂▃▄▅▆▇█"


def sparkline_cells(values: Sequence[float], width: int, vmax: float | None = None, vmin: float = 0.0) -> str:
    """One cell per sample (max of each group when there are more samples than cells), right-aligned."""
    if width <= 0:
        return ""
    data = list(values)
    if len(data) > width:
        step = len(data) / width
        data = [max(data[int(i * step): max(int(i * step) + 1, int((i + 1) * step))]) for i in range(width)]
    top = vmax if vmax is not None else max(data, default=0.0)
    span = top - vmin
    cells = []
    for v in data:
        if span <= 0:
            level = 0 if v <= vmin else len(BARS) - 1
        else:
            level = round((min(max(v, vmin), top) - vmin) / span * (len(BARS) - 1))
            if v > vmin and level == 0:
                level = 1  # anything above the floor is visible
        cells.append(BARS[level])
    return "·" * (width - len(cells)) if not cells else " " * (width - len(cells)) + "".join(cells)


class TitledSparkline(Widget):
    """`show(values, text, vmax=None)`: title, sparkline, current value. vmax None scales to the data's max."""

    DEFAULT_CSS = """
    TitledSparkline { height: 1; width: 1fr; }
    TitledSparkline > .titled-sparkline--bars { color: $accent; }
    TitledSparkline > .titled-sparkline--alert { color: $error; }
    """
    COMPONENT_CLASSES = {"titled-sparkline--bars", "titled-sparkline--alert"}

    values: reactive[tuple[float, ...]] = reactive(tuple)
    text: reactive[str] = reactive("")

    def __init__(self, title: str, *, title_width: int = 11, text_width: int = 12, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.title_width = title_width
        self.text_width = text_width
        self.vmax: float | None = None
        self.alert = False

    def show(self, values: Sequence[float], text: str, vmax: float | None = None, alert: bool = False) -> None:
        self.vmax = vmax
        self.alert = alert
        self.text = text
        self.values = tuple(values)

    def render(self) -> Text:
        width = self.size.width
        bars_width = max(0, width - self.title_width - self.text_width - 2)
        style = self.get_component_rich_style(
            "titled-sparkline--alert" if self.alert else "titled-sparkline--bars", partial=True)
        out = Text(no_wrap=True, overflow="crop")
        out.append(self.title[: self.title_width].ljust(self.title_width), style="bold")
        out.append(sparkline_cells(self.values, bars_width, self.vmax), style=style if self.values else "dim")
        out.append("  " + self.text[: self.text_width].rjust(self.text_width),
                   style=Palette.of(self).style("alert", "bold") if self.alert else "")
        return out
