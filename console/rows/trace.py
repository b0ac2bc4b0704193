"""A run's trace as the Trace view's waterfall rows (widgets/waterfall.py)."""

from __future__ import annotations

from lgconsole.widgets.waterfall import WaterfallRow

from lgconsole.console.model.trace import RunTrace
from lgconsole.console.rows.shown import shown
from lgconsole.console.rows.trace_text import step_bars


def waterfall_rows(trace: RunTrace) -> list[WaterfallRow]:
    return [WaterfallRow(shown(b.label), b.depth, b.status, b.start, b.end, b.took, shown(b.detail))
            for b in step_bars(trace)]
