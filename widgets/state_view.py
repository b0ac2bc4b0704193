"""A graph state at one checkpoint: one block per key, its value as pre-formatted lines; never read as markup."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True)
class StateEntry:
    key: str
    lines: tuple[str, ...]  # the value, formatted by the caller (pretty JSON, one message a line, ...)
    note: str = ""  # dim text after the key: "3 messages", "placeholder: not decoded"
    warn: bool = False  # the value is a placeholder (not decoded): shown in yellow


def state_text(title: str, entries: list[StateEntry], info: list[str] | None = None) -> Text:
    text = Text()
    text.append(title + "\n", style="bold underline")
    for line in info or []:
        text.append(line + "\n", style="dim")
    if not entries:
        text.append("  (empty state)\n", style="dim")
    for entry in entries:
        text.append(entry.key, style="bold cyan")
        if entry.note:
            text.append(f"  {entry.note}", style="dim")
        text.append("\n")
        for line in entry.lines:
            text.append(f"  {line}\n", style="yellow" if entry.warn else "")
    return text


class StateView(Static):
    DEFAULT_CSS = """
    StateView { padding: 0 1; }
    """

    def show(self, title: str, entries: list[StateEntry], info: list[str] | None = None) -> None:
        self.update(state_text(title, entries, info))
