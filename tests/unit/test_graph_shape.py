"""What a served graph's description changes in a state read from the tables: unwritten reducer keys show their
empty value, a Functional API workflow's values are its return value and its entrypoint is what runs after the
input, and a workflow's @task calls count as the step of the node that called them (as LangGraph lists tasks)."""

from __future__ import annotations

from lgconsole.stack.checkpoints.states import _graph_values, build_state, graph_shape
from lgconsole.stack.checkpoints.writes import next_nodes, task_node

SPEC = {"version": 1, "graphs": {
    "chat": {"": {"values": ["messages", "topic"], "empty": {"messages": []}, "start": ["__start__"]},
             "agent|tools": {"values": ["messages"], "empty": {"messages": []}, "start": ["__start__"]}},
    "workflow": {"": {"values": "__end__", "empty": {}, "start": ["workflow"]}},
}}


def test_the_shape_is_found_by_graph_id_and_namespace_without_task_ids():
    assert graph_shape(SPEC, {"graph_id": "chat"}, "")["empty"] == {"messages": []}
    assert graph_shape(SPEC, {"graph_id": "chat"}, "agent:1f0e|tools:77a2")["values"] == ["messages"]
    assert graph_shape(SPEC, {"graph_id": "chat"}, "other:1f0e") is None
    assert graph_shape(SPEC, {"graph_id": "nope"}, "") is None
    assert graph_shape(None, {"graph_id": "chat"}, "") is None
    assert graph_shape(SPEC, {}, "") is None


def test_an_unwritten_reducer_key_shows_its_empty_value_and_a_plain_key_stays_out():
    shape = SPEC["graphs"]["chat"][""]
    values = _graph_values({"__start__": {"topic": "x"}}, shape)
    assert values == {"messages": []}
    values["messages"].append(1)  # a copy: the description itself never changes
    assert shape["empty"] == {"messages": []}
    assert _graph_values({"topic": "t", "messages": [1]}, shape) == {"topic": "t", "messages": [1]}


def test_without_a_description_every_written_state_channel_shows():
    assert _graph_values({"topic": "t", "__start__": 1, "branch:to:a": None}, None) == {"topic": "t"}


def test_a_workflows_values_are_its_return_value():
    shape = SPEC["graphs"]["workflow"][""]
    assert _graph_values({"__end__": {"total": 3}, "__previous__": {"total": 3}}, shape) == {"total": 3}
    assert _graph_values({"__end__": "done"}, shape) == "done"
    assert _graph_values({"__start__": {"text": "a"}}, shape) == {}  # not returned yet: as the server shows it


def test_a_workflows_input_checkpoint_is_due_at_its_entrypoint():
    checkpoint = {"channel_versions": {"__start__": "00001"}, "versions_seen": {"__input__": {}}}
    assert next_nodes(checkpoint, {"__start__": {"text": "a"}}, ["workflow"]) == ["workflow"]
    assert next_nodes(checkpoint, {"__start__": {"text": "a"}}) == ["__start__"]
    # the second run's input: the entrypoint read an older `__start__` before, which names it without a description
    again = {"channel_versions": {"__start__": "00003"}, "versions_seen": {"workflow": {"__start__": "00001"}}}
    assert next_nodes(again, {"__start__": {"text": "b"}}) == ["workflow"]
    seen = {"channel_versions": {"__start__": "00003"}, "versions_seen": {"workflow": {"__start__": "00003"}}}
    assert next_nodes(seen, {"__start__": {"text": "b"}}) == []


def test_a_task_call_belongs_to_the_node_that_called_it():
    assert task_node("~__pregel_push, ~__pregel_pull, workflow, 0000000001, 0000000001", None) == "workflow"
    nested = "~__pregel_push, ~__pregel_push, ~__pregel_pull, workflow, 0000000000, 0000000001, 0000000002"
    assert task_node(nested, None) == "workflow"
    assert task_node("~__pregel_push, 0000000002, 0000000000", ["a", "b", "c"]) == "c"
    assert task_node("~__pregel_push, 0000000007, 0000000000", None) == "send[7]"
    assert task_node("~__pregel_pull, score", None) == "score"


def test_a_state_built_with_a_description_maps_for_the_panes():
    shape = SPEC["graphs"]["workflow"][""]
    state = build_state("t", "", "c2", "c1", {"channel_versions": {"__end__": "2"}}, {"graph_id": "workflow"},
                        {"__end__": 42}, False, [], None, [], shape)
    assert state.values == 42 and state.mapping == {"__end__": 42}
    empty = build_state("t", "", "c1", None, {}, {"graph_id": "workflow"}, {}, False, [], None, [], shape)
    assert empty.values == {} and empty.mapping == {}
