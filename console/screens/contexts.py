"""The context picker (`:ctx`): the config's contexts with their server, the current one marked; enter switches to
the highlighted one, escape keeps the current one. Styled in screens/modals.tcss."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from lgconsole.console.contexts import ContextSummary
from lgconsole.console.rows.shown import shown


def context_line(summary: ContextSummary, width: int) -> Text:
    """One context: the current mark, its name, its server (URL without password), what it runs itself."""
    text = Text()
    text.append("● " if summary.current else "  ", style="bold")
    text.append(f"{shown(summary.name):<{width}}", style="bold" if summary.current else "")
    text.append(f"  {shown(summary.server)}")
    runs = ", ".join(summary.managed) if summary.managed else "nothing: every service external"
    text.append(f"  · runs {runs}", style="dim")
    return text


class ContextPicker(ModalScreen[str | None]):
    """Dismissed with the chosen context's name, or None (escape, or the current one chosen)."""

    BINDINGS = [Binding("escape", "cancel", "Keep this context")]

    def __init__(self, summaries: list[ContextSummary]):
        super().__init__()
        self.summaries = summaries

    def compose(self) -> ComposeResult:
        width = max(len(s.name) for s in self.summaries)
        with Vertical():
            yield Label("Switch context (enter: switch, esc: stay)", id="context-title")
            yield OptionList(*[Option(context_line(s, width), id=s.name) for s in self.summaries], id="context-list")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = next((i for i, s in enumerate(self.summaries) if s.current), 0)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        current = next((s.name for s in self.summaries if s.current), None)
        self.dismiss(None if event.option.id == current else event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
