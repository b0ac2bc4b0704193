"""Interrupts in one place: the question an interrupt asks (as text), and an answer typed by a person parsed into the
value sent back with `Command(resume=...)`."""

from __future__ import annotations

import json
from typing import Any

QUESTION_KEY = "question"


class AnswerError(ValueError):
    """An answer that cannot be sent; str() is one line."""


def interrupt_value(interrupt: Any) -> Any:
    """The payload given to interrupt(): the server wraps it as {"value": ..., "id": ...}."""
    return interrupt.get("value") if isinstance(interrupt, dict) else interrupt


def interrupt_values(interrupts: Any) -> list:
    """The payloads of a list of interrupts (a thread's, a task's, an `__interrupt__` update)."""
    return [interrupt_value(i) for i in (interrupts or [])]


def question_of(value: Any) -> Any:
    """The question of an interrupt payload: its `question` field when it has one, else the payload itself."""
    if isinstance(value, dict) and QUESTION_KEY in value:
        return value[QUESTION_KEY]
    return value


def question_text(interrupts: Any, limit: int = 300) -> str:
    """The first interrupt's question as one line ('' when nothing waits)."""
    values = interrupt_values(interrupts)
    if not values:
        return ""
    question = question_of(values[0])
    text = question if isinstance(question, str) else json.dumps(question, ensure_ascii=False, default=str)
    return _cut(" ".join(text.split()), limit)


def payload_fields(value: Any, max_fields: int = 6, limit: int = 200) -> list[tuple[str, str]]:
    """The payload's other fields (not the question), each as (key, one line)."""
    if not isinstance(value, dict):
        return []
    fields = []
    for key, item in [(k, v) for k, v in value.items() if k != QUESTION_KEY][:max_fields]:
        line = " ".join(item.split()) if isinstance(item, str) else " ".join(json.dumps(item, default=str).split())
        fields.append((str(key), line[:limit] + ("…" if len(line) > limit else "")))
    return fields


def payload_json(value: Any, indent: int | None = None, limit: int | None = None) -> str:
    text = json.dumps(value, indent=indent, default=str)
    return text if limit is None else text[:limit]


def parse_answer(text: str) -> Any:
    """A typed answer: JSON when it parses (true, {"approved": false}), else the text itself, stripped.
    An empty answer raises AnswerError: nothing is sent."""
    if not text.strip():
        raise AnswerError("the answer is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()
    except RecursionError:
        raise AnswerError("the answer is nested too deeply") from None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
