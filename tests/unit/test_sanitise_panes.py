"""What every pane is handed, for arbitrary text in state, errors, interrupts, metadata, names and log lines: the rows
built for the widgets and the text the panes render (diffs, states, the interrupt panel, the chat, status lines)
hold no character a terminal would act on, and secrets come masked. Widgets cannot import the sanitiser; these are the
doors text comes in by (tests/screens/test_hostile_text.py checks a whole screen)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from hostile_values import HOSTILE_TEXTS, terminal_unsafe
from lgconsole.console.model.checkpoint_tree import CheckpointTree
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.rows.live import step_items
from lgconsole.console.rows.shown import shown, shown_data, shown_lines
from lgconsole.console.rows.threads import (checkpoint_info, diff_sections, interrupt_question, pending_lines,
                                            state_entries, thread_rows, tree_items, values_json)
from lgconsole.console.rows.live_text import chat_transcript, interrupt_text
from lgconsole.stack.checkpoints.records import CheckpointNode, CheckpointState, PendingWrite, ThreadStatus, ThreadSummary
from lgconsole.stack.server.runs import RunEvent
from lgconsole.widgets.diff_view import diff_text
from lgconsole.widgets.state_view import state_text

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=30) | st.sampled_from(HOSTILE_TEXTS)
VALUE = st.recursive(st.none() | st.integers() | TEXT,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                     max_leaves=8)


def _safe(*texts) -> None:
    for text in texts:
        assert not terminal_unsafe(text), f"{text!r} reaches a pane raw"


def _all_strings(obj):
    """Every string a row dataclass shows (nested rows and tuples included; not its key, which is never shown)."""
    if isinstance(obj, str):
        yield obj
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name != "key":
                yield from _all_strings(getattr(obj, f.name))
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _all_strings(item)


@settings(max_examples=60)
@given(thread=TEXT, node=TEXT, error=TEXT, question=TEXT, key=TEXT, value=VALUE, meta=VALUE, source=TEXT)
def test_the_threads_screen_rows_are_terminal_safe(thread, node, error, question, key, value, meta, source):
    interrupts = [{"value": {"question": question, key: value}, "id": "i"}]
    summaries = [ThreadSummary(thread, NOW, 2, "c2", 1, source, [node], ThreadStatus(status), node, error,
                               interrupts, {"meta": meta}) for status in ("errored", "waiting", "unknown", "idle")]
    for row in thread_rows(summaries, NOW):
        _safe(row.shown_id, row.last_node, row.detail, row.last_activity, row.step)
    _safe(interrupt_question(summaries[1]))
    nodes = [CheckpointNode("c1", None, "", 0, source, [node], NOW, metadata={"m": meta}),
             CheckpointNode("c2", "c1", "", 1, "loop", [node, "__input__"], NOW, error=error, error_node=node,
                            interrupted=True, interrupt_node=node),
             CheckpointNode(f"c3{thread}", "c1", f"{node}:t", 1, "fork", [key], NOW)]
    for item in tree_items(CheckpointTree(nodes), latest="c2"):
        _safe(*_all_strings(item))
    writes = [PendingWrite("t", node, "__error__", error, 0)]
    parent = CheckpointState(thread, "c1", "", None, 0, source, NOW, {"m": meta}, {key: "old", "k": value}, {}, [],
                             [node])
    state = CheckpointState(thread, "c2", node, "c1", 1, source, NOW, {"m": meta},
                            {key: value, "k": [value, error], "messages": [{"type": "ai", "content": error, "id": "1"}]},
                            {}, writes, [node], error=error, interrupts=interrupts, unreadable=[key])
    _safe(*checkpoint_info(state, nodes[1]), *pending_lines(state))
    sections = diff_sections(state, parent)
    _safe(diff_text(sections).plain)
    _safe(state_text(f"state at step {state.step}", state_entries(state.values), checkpoint_info(state)).plain)
    _safe(values_json(state.values))


@settings(max_examples=60)
@given(node=TEXT, update=VALUE, error=TEXT, question=TEXT, token=TEXT, custom=VALUE)
def test_the_live_screen_text_is_terminal_safe(node, update, error, question, token, custom):
    live = LiveRun()
    asked = [{"value": {"question": question, "why": update}, "id": "i"}]
    for event in [RunEvent("metadata", {"run_id": "r"}, (), None, 1.0),
                  RunEvent("tasks", {"id": "a", "name": node, "input": {}, "triggers": []}, (), None, 1.1),
                  RunEvent("custom", custom, (), None, 1.15),
                  RunEvent("messages", [{"content": token, "type": "AIMessageChunk"}, {"langgraph_node": node}],
                           (), None, 1.16),
                  RunEvent("updates", {node: {"out": update, "messages": [{"type": "ai", "content": token}]}}, (),
                           None, 1.2),
                  RunEvent("tasks", {"id": "a", "name": node, "error": error, "result": {}, "interrupts": []}, (),
                           None, 1.3),
                  RunEvent("updates", {"__interrupt__": asked}, (), None, 1.4)]:
        live.feed(event)
    for item in step_items(live.steps):
        _safe(*_all_strings(item))
    _safe(interrupt_text(asked[0]["value"]).plain, interrupt_text(question).plain)
    _safe(chat_transcript([{"type": "human", "content": question}, {"role": node, "content": [{"text": error}]}],
                          token).plain)


@given(lines=st.lists(TEXT, max_size=5), value=VALUE)
def test_log_lines_and_data_panes_are_terminal_safe(lines, value):
    _safe(*shown_lines(lines), shown("\n".join(lines), multiline=True))

    def strings(v):
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for k, item in v.items():
                yield k
                yield from strings(item)
        elif isinstance(v, list):
            for item in v:
                yield from strings(item)

    _safe(*strings(shown_data(value)))


def test_secrets_in_a_live_step_are_masked_in_the_timeline_and_the_interrupt():
    live = LiveRun()
    asked = [{"value": {"question": "use key sk-abcdefghijklmnopqrstuv?", "api_key": "hunter2"}, "id": "i"}]
    for event in [RunEvent("tasks", {"id": "a", "name": "n", "input": {}, "triggers": []}, (), None, 1.1),
                  RunEvent("updates", {"n": {"note": "Bearer abc.def123456"}}, (), None, 1.2),
                  RunEvent("updates", {"__interrupt__": asked}, (), None, 1.4)]:
        live.feed(event)
    shown_text = interrupt_text(asked[0]["value"]).plain + " ".join(i.summary for i in step_items(live.steps))
    assert "hunter2" not in shown_text and "sk-abc" not in shown_text and "abc.def" not in shown_text
