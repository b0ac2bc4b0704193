"""A followed run's node steps -> the Live screen's timeline rows (durations formatted here: widgets take text)."""

from __future__ import annotations

from collections.abc import Iterable

from lgconsole.widgets.timeline import StepItem

from lgconsole.console.model.live_run import NodeStep
from lgconsole.console.model.text import format_step_duration
from lgconsole.console.rows.shown import shown


def step_item(s: NodeStep, children: tuple[StepItem, ...]) -> StepItem:
    return StepItem(s.key, shown(s.node), s.status, s.superstep,
                    format_step_duration(s.duration) if s.duration is not None else "", shown(s.summary()), children)


def step_items(steps: Iterable[NodeStep]) -> list[StepItem]:
    """Timeline rows; keys are unique across the runs of a session, so a second run's steps never land on rows of
    the first one. Node names and summaries are masked and escaped (console/rows/shown.py)."""
    return [step_item(s, tuple(step_items(s.children))) for s in steps]


class StepRows:
    """`step_items` for a screen that repaints many times a second: a step whose row would read the same as at the
    last call gives back the very same StepItem (the timeline skips it by identity), so a paint costs a stamp
    comparison per unchanged step (NodeStep.stamp), not a masked, escaped, formatted row."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[int, tuple, StepItem]] = {}

    def items(self, steps: Iterable[NodeStep]) -> list[StepItem]:
        kept: dict[str, tuple[int, tuple, StepItem]] = {}
        items = [self._item(s, kept) for s in steps]
        self._rows = kept  # steps dropped from the ring buffer leave the cache
        return items

    def _item(self, s: NodeStep, kept: dict) -> StepItem:
        known = self._rows.get(s.key)
        if known is not None and known[0] == s.stamp:  # nothing in it or under it changed since
            kept[s.key] = known
            _keep_children(s, self._rows, kept)
            return known[2]
        children = tuple(self._item(c, kept) for c in s.children)
        # everything the row shows that can change after the step was created (node, superstep, key cannot)
        seen = (s.status, s.started, s.ended, s.diff, s.cached, bool(s.interrupts), bool(s.answered), s.error,
                s.closed_by, children)
        item = known[2] if known is not None and _same(known[1], seen) else step_item(s, children)
        kept[s.key] = (s.stamp, seen, item)
        return item


def _keep_children(s: NodeStep, rows: dict, kept: dict) -> None:
    for child in s.children:
        if child.key in rows:
            kept[child.key] = rows[child.key]
            _keep_children(child, rows, kept)


def _same(a: tuple, b: tuple) -> bool:
    """Field by field, by identity first (a diff is compared by value only when it was replaced)."""
    return all(x is y or x == y for x, y in zip(a, b))
