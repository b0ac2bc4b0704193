"""A one-line horizontal bar gauge: label, bar, value text; the bar turns yellow then red past its thresholds."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from lgconsole.widgets.palette import Palette

PARTIALS = " ▏▎▍▌▋▊▉"


def bar_style(fraction: float | None, warn: float, bad: float, palette: Palette | None = None) -> str:
    palette = palette or Palette.of(None)
    if fraction is None:
        return "dim"
    if fraction >= bad:
        return palette.style("bad", "bold")
    if fraction >= warn:
        return palette.style("warn")
    return palette.style("ok")


def render_bar(fraction: float | None, width: int) -> tuple[str, str]:
    """(filled part, empty part) of a bar `width` cells wide, with eighth-cell resolution."""
    if width <= 0:
        return "", ""
    if fraction is None:
        return "", "╌" * width
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    filled = "█" * full + (PARTIALS[part] if part else "")
    return filled, "░" * (width - len(filled))


class Gauge(Widget):
    """`show(fraction, text)`; fraction None draws an empty dashed bar (value not available)."""

    DEFAULT_CSS = """
    Gauge { height: 1; width: 1fr; }
    """

    fraction: reactive[float | None] = reactive(None)
    text: reactive[str] = reactive("")
    label: reactive[str] = reactive("")

    def __init__(self, label: str = "", *, warn: float = 0.75, bad: float = 0.9, label_width: int = 10,
                 text_width: int = 22, **kwargs) -> None:
        super().__init__(**kwargs)
        self.set_reactive(Gauge.label, label)
        self.warn = warn
        self.bad = bad
        self.label_width = label_width
        self.text_width = text_width

    def show(self, fraction: float | None, text: str, label: str | None = None) -> None:
        self.fraction = fraction
        self.text = text
        if label is not None:
            self.label = label

    def render(self) -> Text:
        width = self.size.width
        label = self.label[: self.label_width].ljust(self.label_width)
        text = self.text if len(self.text) <= self.text_width else self.text[: self.text_width - 1] + "…"
        bar_width = max(0, width - self.label_width - self.text_width - 2)
        filled, empty = render_bar(self.fraction, bar_width)
        style = bar_style(self.fraction, self.warn, self.bad, Palette.of(self))
        out = Text(no_wrap=True, overflow="crop")
        out.append(label, style="bold")
        out.append(filled, style=style)
        out.append(empty, style="dim")
        out.append("  " + text.ljust(self.text_width),
                   style=style if self.fraction is not None and self.fraction >= self.warn else "")
        return out
