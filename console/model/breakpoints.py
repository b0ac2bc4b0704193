"""Breakpoints: the nodes a run stops before or after (the server's `interrupt_before` / `interrupt_after`), as the
Graph screen, the New-run form and `lgconsole run --break-before/--break-after` pick them. Plain Python."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

BEFORE, AFTER = "before", "after"


class BreakpointError(ValueError):
    """Breakpoints typed in a form that do not read, or name nodes the graph does not have; one line."""


@dataclass(frozen=True)
class Breakpoints:
    """The nodes to stop before and after, each in the order picked."""

    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.before or self.after)

    def toggle(self, node: str, where: str) -> Breakpoints:
        """The same breakpoints with `node` added to (or taken off) `before` or `after`."""
        current = self.before if where == BEFORE else self.after
        changed = tuple(n for n in current if n != node) if node in current else (*current, node)
        return Breakpoints(changed, self.after) if where == BEFORE else Breakpoints(self.before, changed)

    def marks(self) -> dict[str, str]:
        """node -> "before", "after" or "both": what the Graph screen draws on each node."""
        marks = {node: BEFORE for node in self.before}
        for node in self.after:
            marks[node] = "both" if node in marks else AFTER
        return marks

    def run_kwargs(self) -> dict[str, list[str]]:
        """What a run is started with (only the sides that have nodes)."""
        kwargs = {}
        if self.before:
            kwargs["interrupt_before"] = list(self.before)
        if self.after:
            kwargs["interrupt_after"] = list(self.after)
        return kwargs

    def text(self) -> str:
        """"before approval, join; after supervisor": the New-run form's field, read back by `parse`."""
        parts = [f"{side} {', '.join(nodes)}" for side, nodes in ((BEFORE, self.before), (AFTER, self.after)) if nodes]
        return "; ".join(parts)

    @classmethod
    def parse(cls, text: str) -> Breakpoints:
        """The form's field: `before a, b; after c` (either part may be left out; empty: none)."""
        before: list[str] = []
        after: list[str] = []
        for part in (p.strip() for p in text.split(";")):
            if not part:
                continue
            side, _, names = part.partition(" ")
            side = side.strip().rstrip(":").lower()
            if side not in (BEFORE, AFTER):
                raise BreakpointError(f"breakpoints: {part!r} should start with 'before' or 'after', e.g. "
                                      "'before approval; after join'")
            nodes = [n for n in re.split(r"[,\s]+", names.strip()) if n]
            if not nodes:
                raise BreakpointError(f"breakpoints: '{side}' names no node")
            target = before if side == BEFORE else after
            target.extend(n for n in nodes if n not in target)
        return cls(tuple(before), tuple(after))

    def unknown(self, nodes: list[str]) -> list[str]:
        """The picked nodes that are not among `nodes`, each once."""
        return list(dict.fromkeys(n for n in (*self.before, *self.after) if n not in nodes))


def check_nodes(breakpoints: Breakpoints, nodes: list[str], graph: str) -> str | None:
    """One line when a breakpoint names a node the graph does not have, listing the ones it has."""
    unknown = breakpoints.unknown(nodes)
    if not unknown:
        return None
    names = ", ".join(repr(n) for n in unknown)
    return (f"{graph}: no node {names} to break at (breakpoints stop at nodes of the root graph: "
            f"{', '.join(nodes) or 'none'})")


def stop_text(next_nodes: list[str], breakpoints: Breakpoints, last_node: str | None) -> str:
    """What a run stopped at a breakpoint waits at: "before publish", "after gather (next: draft)"."""
    due = [n for n in next_nodes if n in breakpoints.before]
    if due:
        return f"before {', '.join(due)}"
    following = f" (next: {', '.join(next_nodes)})" if next_nodes else ""
    if last_node is not None and last_node in breakpoints.after:
        return f"after {last_node}{following}"
    return f"at {', '.join(next_nodes)}" if next_nodes else "at a breakpoint"


class BreakpointBook:
    """The breakpoints picked per assistant (the Graph screen sets them, the New-run form starts with them): kept
    for the session, and through `save` (console/sources/breakpoints.py: the state dir's breakpoints.json) for the
    consoles after it. `saved` is what an earlier console kept; `load_error` why it could not be read."""

    def __init__(self, saved: dict | None = None, save: Callable[[dict], str | None] | None = None,
                 load_error: str | None = None) -> None:
        self._by_assistant: dict[str, Breakpoints] = {}
        for key, sides in (saved or {}).items():
            picked = Breakpoints(tuple((sides or {}).get(BEFORE, ())), tuple((sides or {}).get(AFTER, ())))
            if picked:
                self._by_assistant[str(key)] = picked
        self._save = save
        self.load_error = load_error
        self.load_error_told = False
        self.save_note: str | None = None  # why the last change was kept for this session only, if it was

    def get(self, *keys: str | None) -> Breakpoints:
        """The first of the keys (assistant id, graph id) that has breakpoints, else none."""
        for key in keys:
            if key and key in self._by_assistant:
                return self._by_assistant[key]
        return Breakpoints()

    def put(self, key: str, breakpoints: Breakpoints) -> None:
        if breakpoints:
            self._by_assistant[key] = breakpoints
        else:
            self._by_assistant.pop(key, None)
        self.save_note = self._save(self.to_json()) if self._save is not None else None

    def to_json(self) -> dict:
        """{key: {"before": [...], "after": [...]}} of every key with breakpoints."""
        return {key: {BEFORE: list(b.before), AFTER: list(b.after)} for key, b in sorted(self._by_assistant.items())}


def book_of(holder) -> BreakpointBook:
    """The book kept on `holder` (the console app), made there the first time it is asked for."""
    book = getattr(holder, "breakpoints", None)
    if not isinstance(book, BreakpointBook):
        book = BreakpointBook()
        holder.breakpoints = book
    return book
