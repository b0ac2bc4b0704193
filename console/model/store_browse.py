"""The store browser's plain logic: namespaces as a tree, a text match for stores without a vector index, and how
the CLI names a namespace (`demo/memories/user-1`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class NamespaceNode:
    path: tuple[str, ...]  # the full namespace up to this node
    holds_items: bool  # a namespace the store lists (items sit directly in it), not only a prefix of others

    @property
    def depth(self) -> int:
        return len(self.path) - 1

    @property
    def label(self) -> str:
        return self.path[-1] if self.path else "(root)"


def namespace_tree(namespaces: Iterable[tuple[str, ...]]) -> list[NamespaceNode]:
    """Every namespace and every prefix of one, parents before children, siblings sorted: ("demo",) then
    ("demo", "memories") then ("demo", "memories", "user-1") ..."""
    listed = {tuple(ns) for ns in namespaces if ns}
    nodes = {ns[:n] for ns in listed for n in range(1, len(ns) + 1)}
    return [NamespaceNode(path, path in listed) for path in sorted(nodes)]


def parse_namespace(text: str) -> tuple[str, ...]:
    """`demo/memories/user-1` -> ("demo", "memories", "user-1"); empty parts are dropped ("" is the root)."""
    return tuple(part for part in text.strip().split("/") if part)


def namespace_text(namespace: Iterable[str]) -> str:
    return "/".join(namespace)


def text_matches(query: str, *texts: Any) -> bool:
    """Every word of the query appears (case-insensitive) in the key or the value (as JSON): how a store without a
    vector index is searched, since the server then ignores the query."""
    words = query.lower().split()
    if not words:
        return True
    haystack = " ".join(t if isinstance(t, str) else json.dumps(t, default=str, ensure_ascii=False)
                        for t in texts).lower()
    return all(word in haystack for word in words)
