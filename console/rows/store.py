"""Store listings and Redis keys -> the Store/Redis screen's table rows and value view entries."""

from __future__ import annotations

from lgconsole.widgets.record_table import RecordRow
from lgconsole.widgets.state_view import StateEntry

from lgconsole.console.model.store_browse import namespace_text, namespace_tree
from lgconsole.console.rows.store_text import item_cells, redis_key_cells, redis_value_info, shown_key, \
    store_item_info, value_lines

ALL_NAMESPACES = ""  # the key of the tree's first row: every namespace
SCREEN_KEY_CHARS = 48


def item_key(item) -> str:
    """One row key for a store item: its namespace and key (a NUL cannot be in either of a server's paths)."""
    return namespace_text(item.namespace) + "\0" + item.key


def namespace_rows(namespaces) -> list[RecordRow]:
    rows = [RecordRow(ALL_NAMESPACES, ("(all namespaces)",))]
    for node in namespace_tree(namespaces):
        label = "  " * node.depth + shown_key(node.label, SCREEN_KEY_CHARS) + ("" if node.holds_items else "/")
        rows.append(RecordRow(namespace_text(node.path), (label,), dim=not node.holds_items))
    return rows


def item_rows(items) -> list[RecordRow]:
    rows = []
    for item in items:
        key, namespace, updated, value = item_cells(item, SCREEN_KEY_CHARS)
        rows.append(RecordRow(item_key(item), (key, namespace, updated, value)))
    return rows


def redis_key_rows(keys) -> list[RecordRow]:
    return [RecordRow(key.key, redis_key_cells(key, SCREEN_KEY_CHARS)) for key in keys]


def item_entries(item) -> tuple[str, list[StateEntry], list[str]]:
    """Title, one entry per top-level key of the value, and the info lines above them."""
    entries = [StateEntry(shown_key(str(k)), tuple(value_lines(v))) for k, v in item.value.items()]
    return shown_key(item.key), entries, store_item_info(item)


def redis_value_entries(value) -> tuple[str, list[StateEntry], list[str]]:
    return shown_key(value.key.key), [StateEntry("value", tuple(value_lines(value.value)))], redis_value_info(value)
