"""A one-line summary of the stack that every screen shows on top, k9s style."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from lgconsole.widgets.palette import Palette, redraw_on_theme_change


class StackHeader(Static):
    DEFAULT_CSS = """
    StackHeader { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _shown: tuple[int, int, str, str, str, str] | None = None

    def on_mount(self) -> None:
        redraw_on_theme_change(self, lambda: self._shown and self.show(*self._shown))

    def show(self, healthy: int, total: int, supervisor: str, model: str, where: str, context: str = "") -> None:
        """`context`: the named deployment shown (k9s's context), empty for the local managed stack."""
        self._shown = (healthy, total, supervisor, model, where, context)
        text = Text()
        text.append("lgconsole ", style="bold")
        if context:
            text.append(f"ctx {context}", style=Palette.of(self).style("info", "bold"))
            text.append("  ·  ")
        status = "healthy" if total and healthy == total else "error" if total else "warning"
        style = Palette.of(self).style(status, "bold")
        text.append(f"{healthy}/{total} healthy", style=style)
        text.append(f"  ·  supervisor {supervisor}  ·  model: {model}  ·  {where}", style="")
        self.update(text)
