"""A one-line filter box, hidden until opened: enter applies the text (Input.Submitted), escape clears it (Cleared).
The screen that owns it decides what the filter means."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    DEFAULT_CSS = """
    FilterInput { display: none; height: 1; border: none; padding: 0 1; background: $boost; }
    FilterInput.-open { display: block; }
    """
    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    class Cleared(Message):
        """Escape: the filter box was emptied and closed."""

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, text: str) -> None:
        """Show the box with the filter now applied, the cursor in it."""
        self.value = text
        self.add_class("-open")
        self.focus()

    def close(self) -> None:
        self.remove_class("-open")

    def action_close(self) -> None:
        self.value = ""
        self.close()
        self.post_message(self.Cleared())
