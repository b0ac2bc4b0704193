"""The Live screen's rows repainted incrementally read exactly as rows built from scratch, after every event of
real recorded streams (a paint only redraws what changed, so a stale row would stay on screen)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.rows.live import StepRows, step_items
from lgconsole.stack.server.runs import RunEvent
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


# --- generated streams: every kind of event, subgraph namespaces, a ring that drops steps, a finish at the end -----

NODES = ("plan", "act", "review")
# task ids by depth, as a server sends them: a subgraph's tasks are never the task its namespace names
LEVELS = {(): ("s1", "s2", "t1"), ("review:s1",): ("u1", "u2"), ("act:s2",): ("u3",),
          ("review:s1", "inner:u1"): ("v1",)}


@st.composite
def stream_events(draw):
    mode = draw(st.sampled_from(["task-start", "task-start", "task-end", "task-end", "updates", "messages", "custom",
                                 "values"]))
    namespace = draw(st.sampled_from(sorted(LEVELS, key=len)))
    node, task = draw(st.sampled_from(NODES)), draw(st.sampled_from(LEVELS[namespace]))
    t = draw(st.floats(0, 100, allow_nan=False))
    if mode == "task-start":
        return RunEvent("tasks", {"id": task, "name": node, "input": {}, "triggers": []}, namespace, None, t)
    if mode == "task-end":
        outcome = draw(st.sampled_from([{}, {"error": {"error": "ValueError", "message": "boom"}},
                                        {"interrupts": [{"value": {"question": "ok?"}, "id": "i1"}]}]))
        return RunEvent("tasks", {"id": task, "name": node, "result": [], "error": None, "interrupts": [],
                                  **outcome}, namespace, None, t)
    if mode == "updates":
        update = draw(st.sampled_from([{"n": draw(st.integers(0, 3))}, None, {"messages": [{"type": "ai", "id": "m1",
                                                                                            "content": "hi"}]}]))
        meta = {"__metadata__": {"cached": True}} if draw(st.booleans()) and not namespace else {}
        return RunEvent("updates", {node: update, **meta}, namespace, None, t)
    if mode == "messages":
        return RunEvent("messages", [{"type": "AIMessageChunk", "content": "tok "}, {"langgraph_node": node}],
                        namespace, None, t)
    if mode == "custom":
        return RunEvent("custom", {"node": node, "progress": draw(st.integers(0, 9))}, namespace, None, t)
    return RunEvent("values", {"n": draw(st.integers(0, 3))}, namespace, None, t)


@settings(max_examples=200, deadline=None)
@given(st.lists(stream_events(), max_size=60), st.integers(2, 6),
       st.sampled_from(["success", "error", "interrupted", "timeout", None]))
def test_incremental_rows_match_rows_built_from_scratch_on_generated_streams(events, ring, finish):
    live, rows = LiveRun(max_steps=ring), StepRows()
    for event in events:
        live.feed(event)
        assert rows.items(live.steps) == step_items(live.steps)
    if finish:
        live.finish(finish)
        assert rows.items(live.steps) == step_items(live.steps)
    assert live.newest is None or live.step(live.newest.key) in (live.newest, None)
