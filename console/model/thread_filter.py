"""The thread list's filter as typed on the Threads screen (`user_id=ana graph_id=demo 01a2`) or given to
`lgconsole threads --meta`: `KEY=TEXT` matches a metadata value as text, `KEY:=JSON` as a typed JSON value
(`step:=3`, `urgent:=true`), the remaining words match inside the thread id."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"^(?P<key>[^\s=:]+)(?P<op>:=|=)(?P<value>.*)$")


class FilterError(ValueError):
    """A metadata token that cannot be read (`KEY:=` followed by something that is not JSON)."""


@dataclass(frozen=True)
class ThreadFilter:
    text: str = ""  # inside the thread id
    metadata: dict[str, Any] = field(default_factory=dict)  # contained in the thread's metadata

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
        return key, value
    try:
        return key, json.loads(value)
    except ValueError:
        raise FilterError(f"{token!r}: the value after := must be JSON (a number, true, \"text\", ...)") from None


def parse_filter(text: str | None) -> ThreadFilter:
    """Split the filter box's text into metadata tokens and the thread-id words (joined by a space)."""
    words: list[str] = []
    metadata: dict[str, Any] = {}
    for token in (text or "").split():
        parsed = parse_meta_token(token)
        if parsed is None:
            words.append(token)
        else:
            metadata[parsed[0]] = parsed[1]
    return ThreadFilter(" ".join(words), metadata)
