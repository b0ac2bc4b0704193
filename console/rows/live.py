"""A followed run's node steps -> the Live screen's timeline rows (durations formatted here: widgets take text)."""

from __future__ import annotations

from collections.abc import Iterable

from lgconsole.widgets.timeline import StepItem

from lgconsole.console.model.live_run import NodeStep
from lgconsole.console.model.text import format_step_duration
from lgconsole.console.rows.shown import shown


def step_items(steps: Iterable[NodeStep]) -> list[StepItem]:
    """Timeline rows; keys are unique across the runs of a session, so a second run's steps never land on rows of
    the first one. Node names and summaries are masked and escaped (console/rows/shown.py)."""
    return [StepItem(s.key, shown(s.node), s.status, s.superstep,
                     format_step_duration(s.duration) if s.duration is not None else "", shown(s.summary()),
                     tuple(step_items(s.children)))
            for s in steps]
