"""The thread list's filter as typed on the Threads screen (`user_id=ana graph_id=demo text:refund 01a2`) or given to
`lgconsole threads --meta`: `KEY=TEXT` matches a metadata value as text, `KEY:=JSON` as a typed JSON value
(`step:=3`, `urgent:=true`), `text:WORD` a word in the messages of the thread's latest state (case-insensitive;
`text:"two words"` for a phrase), the remaining words match inside the thread id. Double quotes keep spaces inside
one word (`note="on call"`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"^(?P<key>[^\s=:]+)(?P<op>:=|=)(?P<value>.*)$", re.DOTALL)
_WORD = re.compile(r'(?:[^\s"]+|"[^"]*(?:"|$))+')  # whitespace splits, except inside "..." (an open quote: to the end)
MESSAGE_TEXT = "text:"


class FilterError(ValueError):
    """A metadata token that cannot be read (`KEY:=` followed by something that is not JSON)."""


@dataclass(frozen=True)
class ThreadFilter:
    text: str = ""  # inside the thread id
    metadata: dict[str, Any] = field(default_factory=dict)  # contained in the thread's metadata
    message_words: tuple[str, ...] = ()  # each in the messages of the thread's latest state

    @property
    def metadata_filter(self) -> dict[str, Any] | None:
        return dict(self.metadata) or None


def parse_meta_token(token: str) -> tuple[str, Any] | None:
    """(key, value) of `KEY=TEXT` / `KEY:=JSON`; None for a word that is neither. Raises FilterError for bad JSON."""
    found = _TOKEN.match(token)
    if found is None:
        return None
    key, op, value = found["key"], found["op"], found["value"]
    if op == "=":
        return key, unquote(value)
    try:
        return key, json.loads(value)
    except ValueError:
        raise FilterError(f"{token!r}: the value after := must be JSON (a number, true, \"text\", ...)") from None


def unquote(text: str) -> str:
    """A word without the double quotes that kept it together (`"on call"` -> `on call`, `a"b c"` -> `ab c`)."""
    return text.replace('"', "") if '"' in text else text


def split_words(text: str | None) -> list[str]:
    """The filter's words: split at whitespace outside double quotes (quotes kept, for `KEY:=JSON`)."""
    return _WORD.findall(text or "")


def parse_filter(text: str | None) -> ThreadFilter:
    """Split the filter box's text into metadata tokens, message words and the thread-id words (joined by a
    space). An empty `text:` is no word."""
    words: list[str] = []
    metadata: dict[str, Any] = {}
    message: list[str] = []
    for token in split_words(text):
        # (`text:=JSON` is the metadata key `text`)
        if token.lower().startswith(MESSAGE_TEXT) and not token[len(MESSAGE_TEXT):].startswith("="):
            found = unquote(token[len(MESSAGE_TEXT):]).strip()
            if found and found not in message:
                message.append(found)
            continue
        parsed = parse_meta_token(token)
        if parsed is None:
            word = unquote(token).strip()  # an open quote runs to the end, trailing spaces and all
            if word:
                words.append(word)
        else:
            metadata[parsed[0]] = parsed[1]
    return ThreadFilter(" ".join(words), metadata, tuple(message))
