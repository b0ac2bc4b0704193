"""The k9s-style `:` prompt of every console screen (screens/base.py), mounted when `:` is first pressed (styled in
app.tcss). A module of its own: Textual's Input it builds on is ~2 ms of imports the first frame has no use for."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input

PLACEHOLDER = ("command: stack | restart SERVICE | stop SERVICE | start SERVICE | logs SERVICE | up | down | ctx [NAME] "
               "| help | quit")


class CommandLine(Input):
    """The `:` prompt; hidden again by escape or once its command is submitted."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]

    def action_close(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.screen.focus_next()
