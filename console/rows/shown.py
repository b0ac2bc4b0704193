"""Text from data or services as every pane shows it: masked by the one masking policy, then escaped by the one
sanitiser (console/model/masking.py, console/model/sanitise.py). Widgets cannot import console/, so what reaches a
widget passes here first."""

from __future__ import annotations

from typing import Any

from lgconsole.console.model.masking import mask_text
from lgconsole.console.model.sanitise import printable


def shown(text: Any, multiline: bool = False) -> str:
    """`text` (str() of anything) masked and escaped; `multiline` keeps line breaks (a pane of several lines)."""
    return printable(mask_text(text if isinstance(text, str) else str(text)), multiline=multiline)


def shown_lines(lines: Any) -> list[str]:
    """Each line masked and escaped, tabs expanded first (a log line's columns); no line holds a line break after."""
    return [shown(line.expandtabs(8) if isinstance(line, str) and "\t" in line else line) for line in lines]


def shown_data(value: Any) -> Any:
    """A JSON-like value for a pane that renders it itself (Rich's JSON): secrets masked, then every string and key
    escaped, so whatever the renderer does with the text, no control character is left in it."""
    from lgconsole.console.model.masking import mask_secrets

    return _escaped(mask_secrets(value))


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_escaped(v) for v in value]
    return value
