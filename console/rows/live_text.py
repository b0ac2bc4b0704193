"""The Live screen's text built from a run's data: an interrupt's question and fields, a chat's transcript; masked
and escaped (a graph writes them: they must not clear the screen or retitle the terminal)."""

from __future__ import annotations

from rich.text import Text

from lgconsole.widgets.palette import Palette

from lgconsole.console.model.interrupts import payload_fields, payload_json, question_of
from lgconsole.console.model.masking import mask_secrets
from lgconsole.console.rows.shown import shown


def interrupt_text(value, max_lines: int = 6, palette: Palette | None = None) -> Text:
    """The interrupt payload: its question first, then each other field on one line; masked and escaped (a question
    is written by a graph: it must not clear the screen or retitle the terminal)."""
    palette = palette or Palette.of(None)
    value = mask_secrets(value)
    text = Text("waiting for input", style=palette.style("waiting", "bold"))
    if isinstance(value, dict):
        if question_of(value) is not value:
            text.append(f"  {shown(question_of(value), multiline=True)}", style="bold")
        for key, line in payload_fields(value, max_lines):
            text.append(f"\n  {shown(key)}: ", style=palette.style("waiting"))
            text.append(shown(line))
    else:
        text.append("  " + shown(payload_json(value, limit=400)))
    return text


def _message_text(message) -> tuple[str, str]:
    """(who, text) of a message in a state: a dict ({"type": "ai", "content": ...} or {"role": ...}) or text."""
    if not isinstance(message, dict):
        return "", str(message)
    who = str(message.get("type") or message.get("role") or "")
    who = {"human": "you", "user": "you", "ai": "assistant", "AIMessageChunk": "assistant"}.get(who, who)
    content = message.get("content")
    if isinstance(content, list):  # content blocks: their text parts
        content = " ".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in content)
    text = str(content or "")
    calls = message.get("tool_calls") or []
    if calls and not text:
        text = "calls " + ", ".join(str(c.get("name")) for c in calls if isinstance(c, dict))
    return who, text


def chat_transcript(messages, streaming: str = "", max_messages: int = 8, palette: Palette | None = None) -> Text:
    """The conversation's last messages, one block each ("you: …", "assistant: …"), then a reply still streaming."""
    palette = palette or Palette.of(None)
    text = Text()
    last = list(messages or [])[-max_messages:]
    for message in last:
        who, body = _message_text(message)
        if text:
            text.append("\n")
        text.append(f"{shown(who) or '?'}: ", style=palette.style("running" if who == "you" else "success", "bold"))
        text.append(shown(body[:2000], multiline=True))
    if streaming:
        if text:
            text.append("\n")
        text.append("assistant: ", style=palette.style("running", "bold"))
        text.append(shown(streaming[-2000:], multiline=True))
        text.append(" …", style="dim")
    return text
