"""The Live screen's rows repainted incrementally read exactly as rows built from scratch, after every event of
real recorded streams (a paint only redraws what changed, so a stale row would stay on screen)."""

from __future__ import annotations

import pytest

from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.rows.live import StepRows, step_items
from livefixtures import recorded


@pytest.mark.parametrize("stream", ["demo_interrupt", "demo_error", "team_handoff", "team_error"])
def test_incremental_rows_match_rows_built_from_scratch_after_every_event(stream):
    live, rows = LiveRun(max_steps=5), StepRows()  # a small ring, so steps are dropped on the way too
    previous: dict = {}
    for event in recorded(stream):
        live.feed(event)
        items = rows.items(live.steps)
        assert items == step_items(live.steps)
        for item in items:  # a row that reads the same is handed back as the same object (the timeline skips it)
            if item.key in previous and previous[item.key] == item:
                assert previous[item.key] is item
        previous = {item.key: item for item in items}
    live.finish("success")
    assert rows.items(live.steps) == step_items(live.steps)


def test_newest_and_selected_steps_are_found_by_key_and_forgotten_when_dropped():
    live = LiveRun(max_steps=3)
    first = None
    for event in recorded("demo_interrupt"):
        live.feed(event)
        first = first or (live.steps[0].key if live.steps else None)
    every = list(live.all_steps())
    assert live.newest is max(every, key=lambda s: s.seq)
    assert all(live.step(s.key) is s for s in every)
    assert live.step(first) is None and live.step(None) is None and live.steps_dropped > 0
