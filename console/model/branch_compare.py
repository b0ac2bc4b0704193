"""Two checkpoints of one thread side by side (the heads of two branches of a fork, or any two): where their
branches part, and for each state key and each message whether it is on both sides, changed, or on one side only.
Plain data: console/rows/branch_compare.py lays it out, console/screens/threads_compare.py shows it."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from lgconsole.console.model.checkpoint_tree import CheckpointTree
from lgconsole.console.model.state_diff import diff_states, is_message_list, message_key, same

# The marks: DiffView colours a line by its first character (`·`: not coloured; a line's leading spaces are not
# kept by the widget, so a mark is never a space).
SAME, CHANGED, ONLY_A, ONLY_B = "·", "~", "-", "+"


def fork_point(tree: CheckpointTree, a: tuple[str, str], b: tuple[str, str]) -> Any | None:
    """The newest checkpoint both (checkpoint id, namespace) descend from: where their branches part (one of them
    when the other descends from it); None when they share none or one is not in the tree."""
    try:
        a_path = tree.path(*a)
        b_path = tree.path(*b)
    except KeyError:
        return None
    on_a = {(n.checkpoint_ns, n.checkpoint_id) for n in a_path}
    return next((n for n in reversed(b_path) if (n.checkpoint_ns, n.checkpoint_id) in on_a), None)


@dataclass(frozen=True)
class KeyCompared:
    key: Hashable
    mark: str  # SAME, CHANGED, ONLY_A, ONLY_B
    a: Any  # the value on each side (None where absent: see mark)
    b: Any
    messages: bool  # a message list on either side: compared message by message


def compare_keys(a: dict, b: dict) -> list[KeyCompared]:
    """Every state key of either side, scalars first then message lists, each by name."""
    found = []
    for key in {**a, **b}:
        if key not in b:
            mark = ONLY_A
        elif key not in a:
            mark = ONLY_B
        else:
            mark = SAME if same(a[key], b[key]) else CHANGED
        found.append(KeyCompared(key, mark, a.get(key), b.get(key),
                                 is_message_list(a.get(key)) or is_message_list(b.get(key))))
    return sorted(found, key=lambda k: (k.messages, str(k.key)))


def message_marks(a: list, b: list) -> tuple[list[str], list[str]]:
    """A mark for each message of `a` and of `b`: on both sides alike, changed (same id, other fields), or on its
    side only (messages without an id are matched by position)."""
    a_by = {message_key(m, i): m for i, m in enumerate(a)}
    b_by = {message_key(m, i): m for i, m in enumerate(b)}

    def mark(key: Hashable, message: Any, other: dict, alone: str) -> str:
        if key not in other:
            return alone
        return SAME if diff_states(message, other[key]).is_empty else CHANGED

    return ([mark(message_key(m, i), m, b_by, ONLY_A) for i, m in enumerate(a)],
            [mark(message_key(m, i), m, a_by, ONLY_B) for i, m in enumerate(b)])
