"""The structural state diff: unit cases and properties (diff(a, a) is empty; apply(a, diff(a, b)) == b)."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from lgconsole.console.model.state_diff import (
    Change,
    StateDiff,
    apply,
    diff_states,
    is_message_list,
    message_summary,
    path_str,
    render_lines,
    short_value,
)


def msg(mid: str, content: str = "", kind: str = "ai", **extra) -> dict:
    return {"id": mid, "type": kind, "content": content, **extra}


# --- unit ------------------------------------------------------------------------------------------------------------

def test_identical_states_have_an_empty_diff():
    state = {"task": "x", "results": {"coder": "done"}, "messages": [msg("m1", "hi")], "n": float("nan")}
    found = diff_states(state, copy.deepcopy(state))
    assert found.is_empty and not found and found.lines() == []


def test_keys_added_changed_and_removed_by_nested_path():
    a = {"task": "x", "fail_at": "coder", "results": {"researcher": "r1"}, "review": {"score": 6}}
    b = {"task": "y", "results": {"researcher": "r1", "coder": "c1"}, "review": {"score": 8}, "outcome": "approved"}
    found = diff_states(a, b)
    assert found.changed == [("task",), ("review", "score")]
    assert found.removed == [("fail_at",)]
    assert found.added == [("results", "coder"), ("outcome",)]
    assert found.top_level_keys() == {"task", "fail_at", "results", "review", "outcome"}
    assert apply(a, found) == b


def test_a_value_that_changes_type_is_one_change():
    found = diff_states({"a": {"x": 1}, "b": True, "c": [1]}, {"a": [1], "b": 1, "c": "1"})
    assert [(c.kind, c.path) for c in found.changes] == [("changed", ("a",)), ("changed", ("b",)),
                                                         ("changed", ("c",))]


def test_plain_lists_are_diffed_item_by_item():
    found = diff_states({"xs": [1, 2, 3]}, {"xs": [1, 5]})
    assert found.changes == (Change("changed", ("xs", 1), old=2, new=5), Change("removed", ("xs", 2), old=3))
    grown = diff_states({"xs": [1]}, {"xs": [1, {"k": 2}, 3]})
    assert [(c.kind, c.path) for c in grown.changes] == [("added", ("xs", 1)), ("added", ("xs", 2))]
    assert apply({"xs": [1]}, grown) == {"xs": [1, {"k": 2}, 3]}


def test_messages_are_diffed_by_id_as_appended():
    a = {"messages": [msg("m1", "hi", "human")]}
    b = {"messages": [msg("m1", "hi", "human"), msg("m2", "hello", name="coder"), msg("m3", "bye")]}
    found = diff_states(a, b)
    assert found.changes == ()
    (messages,) = found.messages
    assert messages.path == ("messages",)
    assert [(c.kind, c.message_id, c.index) for c in messages.changes] == [("appended", "m2", 1), ("appended", "m3", 2)]
    assert found.lines() == [
        "+ messages: appended ai (coder): 'hello' [m2]",
        "+ messages: appended ai: 'bye' [m3]",
    ]
    assert apply(a, found) == b


def test_messages_equal_but_for_bool_vs_int_or_nan_are_judged_like_values():
    """Kept messages are first compared as packed bytes (fast); what bytes cannot decide falls back to `same`."""
    a = {"messages": [{**msg("m1", "hi", "human"), "additional_kwargs": {"flag": True, "score": float("nan")}}]}
    b = copy.deepcopy(a)  # NaN equals NaN: no change
    assert diff_states(a, b).messages == ()
    b["messages"][0]["additional_kwargs"]["flag"] = 1  # True == 1 in Python, but a bool that became an int changed
    (messages,) = diff_states(a, b).messages
    assert [(c.kind, c.message_id) for c in messages.changes] == [("changed", "m1")]
    c = copy.deepcopy(a)
    c["messages"][0]["additional_kwargs"] = {"score": float("nan"), "flag": True}  # key order is no change
    assert diff_states(a, c).messages == ()


def test_messages_removed_changed_inserted_and_reordered():
    a = {"messages": [msg("m1", "one"), msg("m2", "two"), msg("m3", "three")]}
    b = {"messages": [msg("m0", "zero"), msg("m3", "three"), msg("m1", "ONE")]}
    found = diff_states(a, b)
    (messages,) = found.messages
    kinds = {(c.kind, c.message_id) for c in messages.changes}
    assert kinds == {("removed", "m2"), ("inserted", "m0"), ("changed", "m1")}
    changed = next(c for c in messages.changes if c.kind == "changed")
    assert [f.path for f in changed.fields] == [("content",)]
    assert messages.reordered
    assert "~ messages: messages reordered" in found.lines()
    assert "~ messages: changed content of ai: 'ONE' [m1]" in found.lines()
    assert apply(a, found) == b


def test_langchain_message_objects_and_dicts_compare_by_fields():
    human = HumanMessage("hi", id="m1")
    a = {"messages": [human]}
    b = {"messages": [HumanMessage("hi", id="m1"), AIMessage("", id="m2", name="researcher",
                                                             tool_calls=[{"name": "search", "args": {}, "id": "c1"}]),
                      ToolMessage("[1, 2]", tool_call_id="c1", id="m3", name="search")]}
    found = diff_states(a, b)
    assert [c.kind for c in found.messages[0].changes] == ["appended", "appended"]
    assert found.lines()[0] == "+ messages: appended ai (researcher): 'tool calls: search' [m2]"
    assert apply(a, found) == b
    assert a == {"messages": [human]}  # apply does not touch its input
    as_dict = {"messages": [human.model_dump()]}
    assert diff_states(as_dict, {"messages": [human.model_dump()]}).is_empty
    same_fields = diff_states(as_dict, a)  # same message, other form: reported, and apply gives b's form
    assert apply(as_dict, same_fields) == a


def test_id_less_messages_are_diffed_by_position_duplicate_ids_fall_back_to_a_list_diff():
    a = {"messages": [["human", "hi"]]}
    b = {"messages": [["human", "hi"], ["ai", "hello"]]}
    found = diff_states(a, b)
    assert found.changes == () and [c.kind for c in found.messages[0].changes] == ["appended"]
    assert apply(a, found) == b
    dup = {"messages": [msg("m1"), msg("m1", "again")]}
    assert diff_states(dup, {"messages": [msg("m1")]}).removed == [("messages", 1)]


def test_nested_messages_lists_are_found_by_key():
    a = {"review": {"messages": [msg("r1", "ok")]}}
    b = {"review": {"messages": [msg("r1", "ok"), msg("r2", "fine")]}}
    found = diff_states(a, b)
    assert found.messages[0].path == ("review", "messages")
    assert found.lines() == ["+ review.messages: appended ai: 'fine' [r2]"]
    assert apply(a, found) == b


def test_non_dict_states_and_root_changes():
    assert apply([1, 2], diff_states([1, 2], [1])) == [1]
    assert apply("a", diff_states("a", {"x": 1})) == {"x": 1}
    assert path_str(()) == "(state)"


def test_rendering_is_plain_text_one_line_per_change_and_escapes_nothing():
    a = {"summary": "[bold]old[/bold]", "gone": "x" * 500}
    b = {"summary": "[/unclosed] new\nline", "new": {"k": "[red]"}}
    lines = render_lines(diff_states(a, b), max_value_chars=60)
    assert lines == [
        "~ summary: '[bold]old[/bold]' -> '[/unclosed] new\\nline'",
        "- gone (was '" + "x" * 58 + "…)",
        "+ new = {'k': '[red]'}",
    ]
    assert all("\n" not in line and len(line) < 140 for line in lines)


def test_paths_render_readably():
    assert path_str(("results", "coder")) == "results.coder"
    assert path_str(("messages", 3, "content")) == "messages[3].content"
    assert path_str(("branch:to:join",)) == "['branch:to:join']"
    assert path_str((1, "a b")) == "[1]['a b']"
    assert short_value("x" * 100, 10) == "'xxxxxxxx…"
    assert message_summary({"type": "human", "content": [{"type": "text", "text": "hi"}]}) == "human: 'hi'"


def test_to_json_names_paths_and_kinds():
    data = diff_states({"a": 1, "messages": [msg("m1")]}, {"a": 2, "messages": [msg("m1"), msg("m2", "x")]}).to_json()
    assert data["changes"] == [{"kind": "changed", "path": "a", "path_parts": ["a"], "old": 1, "new": 2}]
    assert data["messages"][0]["changes"][0]["kind"] == "appended"
    assert StateDiff().is_empty


# --- properties ------------------------------------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "messages", "results", "x y", ""]) | st.text(max_size=3)
SCALARS = (st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False, width=32)
           | st.text(max_size=4))
MESSAGE_IDS = st.sampled_from([f"m{i}" for i in range(8)])


def message_dicts(ids=MESSAGE_IDS):
    return st.fixed_dictionaries({"id": ids, "type": st.sampled_from(["human", "ai", "tool"]),
                                  "content": st.sampled_from(["", "hi", "hello", "[bold]"])},
                                 optional={"name": st.sampled_from(["coder", "researcher"])})


MESSAGE_LISTS = (st.lists(message_dicts(), unique_by=lambda m: m["id"], max_size=6)  # the usual case: unique ids
                 | st.lists(message_dicts(), max_size=4)  # duplicates: falls back to a list diff
                 | st.lists(st.lists(st.text(max_size=3), max_size=2), max_size=3))  # id-less ["human", "hi"] forms
JSON_LIKE = st.recursive(
    SCALARS | MESSAGE_LISTS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=24,
)
STATES = st.dictionaries(KEYS, JSON_LIKE, max_size=6)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(STATES)
def test_property_diff_of_a_state_with_itself_is_empty(a):
    assert diff_states(a, copy.deepcopy(a)).is_empty


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(STATES, STATES)
def test_property_apply_gives_the_second_state(a, b):
    before = copy.deepcopy(a)
    found = diff_states(a, b)
    assert apply(a, found) == b
    assert a == before  # a is left alone
    if a != b:
        assert not found.is_empty
    if found.is_empty:
        assert a == b  # (the converse fails only for True vs 1: a bool that became an int is reported)
    # one line per change, except a new messages list: one line per message in it
    per_change = sum(len(c.new) if c.kind == "added" and is_message_list(c.new) else 1 for c in found.changes)
    assert len(found.lines()) == per_change + sum(len(m.changes) + m.reordered for m in found.messages)


@st.composite
def related_states(draw):
    """b derived from a: some keys kept, some changed, messages kept/edited/dropped/appended by id."""
    a = draw(STATES)
    messages_a = draw(st.lists(message_dicts(), unique_by=lambda m: m["id"], max_size=6))
    a["messages"] = messages_a
    b = copy.deepcopy(a)
    for key in draw(st.lists(st.sampled_from(sorted(a, key=repr)), max_size=3)):
        if key != "messages":
            b[key] = draw(JSON_LIKE)
    for key in draw(st.lists(KEYS, max_size=2)):
        if key != "messages":
            b[key] = draw(JSON_LIKE)
    kept = [m for m in b["messages"] if draw(st.booleans())]
    for m in kept:
        if draw(st.booleans()):
            m["content"] = draw(st.sampled_from(["edited", "hi", ""]))
    used = {m["id"] for m in messages_a}
    fresh = [m for m in draw(st.lists(message_dicts(st.sampled_from([f"n{i}" for i in range(6)])),
                                      unique_by=lambda m: m["id"], max_size=3)) if m["id"] not in used]
    order = draw(st.permutations(kept)) if draw(st.booleans()) else kept
    b["messages"] = list(order) + fresh
    return a, b


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(related_states())
def test_property_related_states_apply_and_messages_diff_by_id(pair):
    a, b = pair
    found = diff_states(a, b)
    assert apply(a, found) == b
    ids_a = {m["id"] for m in a["messages"]}
    ids_b = {m["id"] for m in b["messages"]}
    if ids_a != ids_b or a["messages"] != b["messages"]:
        (messages,) = [m for m in found.messages if m.path == ("messages",)]
        assert {c.message_id for c in messages.changes if c.kind == "removed"} == ids_a - ids_b
        assert {c.message_id for c in messages.changes if c.kind in ("appended", "inserted")} == ids_b - ids_a
    assert diff_states(b, a).apply(b) == a


@settings(max_examples=200)
@given(st.lists(st.builds(HumanMessage, content=st.text(max_size=5), id=MESSAGE_IDS), unique_by=lambda m: m.id,
                max_size=5),
       st.lists(st.builds(AIMessage, content=st.text(max_size=5), id=MESSAGE_IDS), unique_by=lambda m: m.id,
                max_size=5))
def test_property_langchain_messages(a_messages, b_messages):
    a, b = {"messages": a_messages}, {"messages": b_messages}
    assert diff_states(a, copy.deepcopy(a)).is_empty
    assert apply(a, diff_states(a, b)) == b


def test_messages_under_any_key_with_or_without_ids_read_as_messages():
    human = {"type": "human", "content": "find cats"}  # no id: as a client sends it
    tool = {"role": "tool", "content": "3 results", "name": "search"}
    a = {"chat_history": [human]}
    b = {"chat_history": [human, tool]}
    found = diff_states(a, b)
    assert found.lines() == ["+ chat_history: appended tool (search): '3 results'"]
    assert apply(a, found) == b
    first = diff_states({}, {"inbox": [human, tool]})
    assert first.lines() == ["+ inbox: appended human: 'find cats'", "+ inbox: appended tool (search): '3 results'"]


def test_serialized_langchain_messages_read_as_messages():
    def lc(kind, content, mid=None):
        return {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", kind],
                "kwargs": {"content": content, "type": "x", **({"id": mid} if mid else {})}}

    a = {"turns": [lc("HumanMessage", "hi", "h1")]}
    b = {"turns": [lc("HumanMessage", "hi", "h1"), lc("AIMessage", "hello")]}
    found = diff_states(a, b)
    assert found.lines() == ["+ turns: appended ai: 'hello'"]
    assert apply(a, found) == b


def test_a_list_of_plain_records_is_not_taken_for_messages():
    a = {"rows": [{"type": "a", "value": 1}]}
    b = {"rows": [{"type": "a", "value": 2}]}
    assert diff_states(a, b).changed == [("rows", 0, "value")]
