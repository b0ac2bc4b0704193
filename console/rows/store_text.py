"""Store items, Redis keys and values -> the plain-text cells and lines that `lgconsole store`/`redis` print and the
Store/Redis screen's rows show (no Textual: the CLI imports this). Keys masked, control characters escaped."""

from __future__ import annotations

import json
from typing import Any

from lgconsole.console.model.masking import mask_text
from lgconsole.console.model.store_browse import namespace_text
from lgconsole.console.model.sanitise import printable
from lgconsole.console.model.text import format_bytes, format_duration
from lgconsole.console.rows.thread_text import cut

PREVIEW_CHARS = 60  # a value on one line in a table
KEY_CHARS = 1000  # the CLI prints whole keys (to be copied); the screen passes its column's width


def shown_key(key: str, limit: int = KEY_CHARS) -> str:
    """A store item's or a Redis key's name as shown: secret-shaped parts masked, on one line, cut."""
    return cut(mask_text(key), limit)


def one_line_value(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """A value (already masked by the source) as compact JSON on one line."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False,
                                                           separators=(", ", ": "))
    return cut(text, limit)


def value_lines(value: Any) -> list[str]:
    """A value (already masked) as indented JSON lines; a string as its own lines."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False, indent=2)
    return [printable(line) for line in text.splitlines()] or [""]


def when(iso: str | None) -> str:
    """`2026-12-06 22:56:16` from the server's ISO time (UTC as it says it)."""
    return (iso or "")[:19].replace("T", " ") or "-"


def ttl_text(ttl_s: float | None) -> str:
    return "no expiry" if ttl_s is None else format_duration(ttl_s)


def size_text(size: int | None) -> str:
    return format_bytes(size) if size is not None else "-"


def item_cells(item, key_chars: int = KEY_CHARS) -> tuple[str, str, str, str]:
    """KEY, NAMESPACE, UPDATED, VALUE of one store item."""
    return (shown_key(item.key, key_chars), cut(namespace_text(item.namespace), key_chars), when(item.updated_at),
            one_line_value(item.value))


def redis_key_cells(key, key_chars: int = KEY_CHARS) -> tuple[str, str, str, str]:
    """KEY, TYPE, SIZE, TTL of one Redis key."""
    return shown_key(key.key, key_chars), key.type, size_text(key.size_bytes), ttl_text(key.ttl_s)


def redis_value_info(value) -> list[str]:
    """The lines above a Redis value's preview: type, size, TTL, length, and whether the preview is cut."""
    key = value.key
    length = "" if value.length is None else f" · {value.length} {'bytes' if key.type == 'string' else 'elements'}"
    lines = [f"{key.type} · {size_text(key.size_bytes)} in memory · TTL {ttl_text(key.ttl_s)}{length}"]
    if value.cut:
        lines.append("preview: the first part only")
    return lines


def store_item_info(item) -> list[str]:
    lines = [f"namespace {namespace_text(item.namespace) or '(root)'}",
             f"created {when(item.created_at)} · updated {when(item.updated_at)}"]
    if item.score is not None:
        lines.append(f"score {item.score:.3f}")
    return [printable(line) for line in lines]


def table_lines(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell, the last one ragged."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]
