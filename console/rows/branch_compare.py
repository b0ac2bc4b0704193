"""Two checkpoints' states laid out side by side for DiffView (console/screens/threads_compare.py): one column per
side, each key and message led by its mark (`·` alike, `~` changed, `-` only on the left, `+` only on the right),
and the diff from left to right under them. Secrets masked, text escaped."""

from __future__ import annotations

from typing import Any

from lgconsole.stack.checkpoints.records import CheckpointState

from lgconsole.console.model.branch_compare import ONLY_A, ONLY_B, SAME, compare_keys, message_marks
from lgconsole.console.model.masking import mask_secret_keys
from lgconsole.console.model.state_diff import diff_states, message_summary
from lgconsole.console.rows.shown import shown, shown_lines
from lgconsole.console.rows.threads import _value_lines, short_id

MAX_MESSAGES = 40  # the newest ones of each side: where two branches differ
MAX_VALUE_LINES = 12

Sections = list[tuple[str, list[str]]]


def side_title(label: str, state: CheckpointState) -> str:
    where = f" in {state.checkpoint_ns}" if state.checkpoint_ns else ""
    return shown(f"{label}: {short_id(state.checkpoint_id)} · step {state.step} · {state.source or '-'}{where}")


def _lines(mark: str, value: Any) -> list[str]:
    return [f"{mark}   {line}" for line in _value_lines(value, MAX_VALUE_LINES)]


def compare_columns(a: CheckpointState, b: CheckpointState, width: int = 60,
                    labels: tuple[str, str] = ("marked", "selected")) -> tuple[Sections, Sections, Sections]:
    """(left column, right column, the diff from left to right) as DiffView sections; `labels` name the sides."""
    a_values, b_values = mask_secret_keys(a.mapping), mask_secret_keys(b.mapping)
    left: list[str] = []
    right: list[str] = []
    for k in compare_keys(a_values, b_values):
        key = str(k.key)
        if k.messages:
            a_list = k.a if isinstance(k.a, list) else []
            b_list = k.b if isinstance(k.b, list) else []
            a_marks, b_marks = message_marks(a_list, b_list)
            for column, items, marks, present in ((left, a_list, a_marks, k.mark != ONLY_B),
                                                  (right, b_list, b_marks, k.mark != ONLY_A)):
                if not present:
                    column.append(f"{SAME} {key}: (not in this state)")
                    continue
                column.append(f"{k.mark} {key}  {len(items)} message{'s' if len(items) != 1 else ''}")
                first = max(0, len(items) - MAX_MESSAGES)
                if first:
                    column.append(f"{SAME}   … {first} earlier")
                for i in range(first, len(items)):
                    column.append(f"{marks[i]}   [{i}] {message_summary(items[i], width)}")
            continue
        for column, value, present in ((left, k.a, k.mark != ONLY_B), (right, k.b, k.mark != ONLY_A)):
            if not present:
                column.append(f"{SAME} {key}: (not in this state)")
                continue
            column.append(f"{k.mark} {key}")
            column.extend(_lines(k.mark, value))
    found = diff_states(a_values, b_values)
    diff = shown_lines(found.lines(max(80, 2 * width))) or ["# the two states are the same"]
    return ([(side_title(labels[0], a), shown_lines(left) or [f"{SAME} (empty state)"])],
            [(side_title(labels[1], b), shown_lines(right) or [f"{SAME} (empty state)"])],
            [(shown(f"diff left -> right: {short_id(a.checkpoint_id)} -> {short_id(b.checkpoint_id)}"), diff)])
