"""What the New-run form and `lgconsole run` read from a graph's schemas (recorded from langgraph-api's own schema
code for the demo project's `demo` and `report` graphs and a MessagesState chat graph with a context schema): the
input template, chat detection, and the one-line check of input, config and context. Plus the remembered inputs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgconsole.console.model.input_template import JsonFieldError, chat_input, check_config, check_context, \
    check_input, describe_keys, empty_value, input_template, is_chat, message_key, parse_json_field, schema_error
from lgconsole.console.sources.assistants import RememberedInputs, run_arguments_error
from lgconsole.stack.server.assistants import AssistantSchemas

SCHEMAS = Path(__file__).parents[1] / "fixtures" / "assistants"


def schemas(name: str) -> AssistantSchemas:
    return AssistantSchemas.from_api(json.loads((SCHEMAS / f"{name}.schemas.json").read_text()))


def test_the_demo_graph_is_not_special_its_template_comes_from_its_schema():
    demo = schemas("demo").input_schema
    assert message_key(demo) == "messages" and not is_chat(demo)  # it holds messages, but is driven by `task`
    assert input_template(demo) == {}  # no required keys: nothing invented
    assert describe_keys(demo).startswith("messages: array, task: string, fail_at: string, delay: number")


def test_report_takes_a_topic_and_a_wrong_type_names_the_key():
    report = schemas("report").input_schema
    assert message_key(report) is None and not is_chat(report)
    assert check_input({"topic": "x", "delay": 0.1}, report) is None
    assert check_input({"topic": 3}, report) == "input: 'topic' should be a string, got a number 3"
    assert check_input({"facts": ["a", 2]}, report) == "input: 'facts.1' should be a string, got a number 2"


def test_a_messages_state_graph_is_a_chat_graph_and_its_message_input_fits_its_schema():
    chat = schemas("chat")
    assert message_key(chat.input_schema) == "messages" and is_chat(chat.input_schema)
    assert input_template(chat.input_schema) == {}  # the message list comes from the chat box
    assert check_input(chat_input("hello"), chat.input_schema) is None
    assert check_input({}, chat.input_schema) == "input: 'messages' is required"
    assert check_input({"messages": "hello"}, chat.input_schema) == \
        "input: 'messages' should be a list, got a string \"hello\""


def test_context_and_config_are_checked_against_the_graphs_schemas():
    chat = schemas("chat")
    assert check_context({"model": "m1"}, chat.context_schema) is None
    assert check_context({}, chat.context_schema) == "context: 'model' is required"
    assert check_context({"model": 1}, chat.context_schema) == "context: 'model' should be a string, got a number 1"
    assert check_context([1], chat.context_schema) == "context must be a JSON object, got a list"
    assert check_config({"recursion_limit": 5}, chat.config_schema) is None  # the context carries its keys
    assert check_config({"configurable": {"model": 2}}, chat.config_schema) == \
        "config: 'configurable.model' should be a string, got a number 2"
    assert check_config({"modle": "x"}, chat.config_schema).startswith(
        "config: 'modle' is not a run config key (use configurable.modle")
    assert run_arguments_error(chat, chat_input("hi"), {"tags": ["a"]}, {"model": "m"}) is None
    assert run_arguments_error(chat, chat_input("hi"), None, {}) == "context: 'model' is required"


def test_malformed_json_says_where():
    with pytest.raises(JsonFieldError, match=r"config is not valid JSON: .* \(line 1, column 16\)"):
        parse_json_field('{"recursion": 5', "config")
    with pytest.raises(JsonFieldError, match="context must be a JSON object"):
        parse_json_field("[1]", "context", want_object=True)
    assert parse_json_field("  ", "input") is None


def test_template_fills_required_keys_by_type_and_follows_refs():
    schema = {"$defs": {"Opts": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}},
              "type": "object", "required": ["s", "i", "b", "l", "o", "e", "u", "d"],
              "properties": {"s": {"type": "string"}, "i": {"type": "integer"}, "b": {"type": "boolean"},
                             "l": {"type": "array"}, "o": {"$ref": "#/$defs/Opts"}, "e": {"enum": ["x", "y"]},
                             "u": {"anyOf": [{"type": "null"}, {"type": "number"}]}, "d": {"default": 7},
                             "optional": {"type": "string"}}}
    assert input_template(schema) == {"s": "", "i": 0, "b": False, "l": [], "o": {"n": 0}, "e": "x", "u": 0, "d": 7}
    assert check_input(input_template(schema), schema) is None


# --- properties -----------------------------------------------------------------------------------------------

leaf = st.sampled_from([{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"},
                        {"type": "array", "items": {"type": "string"}}, {"enum": ["a", "b", 3]},
                        {"anyOf": [{"type": "string"}, {"type": "null"}]}, {"const": "fixed"}])
schemas_st = st.recursive(
    leaf,
    lambda inner: st.dictionaries(st.text("abcxyz_", min_size=1, max_size=5), inner, max_size=4).flatmap(
        lambda props: st.builds(lambda req: {"type": "object", "properties": props, "required": req},
                                st.lists(st.sampled_from(sorted(props)) if props else st.nothing(), unique=True))),
    max_leaves=8)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                     max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(schemas_st)
def test_the_template_of_any_schema_fits_it(schema):
    """What the form prefills is never refused by the form's own check."""
    assert schema_error(empty_value(schema, schema), schema) is None


@settings(max_examples=300, deadline=None)
@given(schemas_st, json_values)
def test_the_check_never_raises_and_says_one_line(schema, value):
    error = schema_error(value, schema)
    assert error is None or (isinstance(error, str) and "\n" not in error and error)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_typed_text_parses_or_says_one_line_where(text):
    try:
        parse_json_field(text, "input")
    except JsonFieldError as exc:
        assert str(exc).startswith("input ") and "\n" not in str(exc)


# --- the remembered inputs -----------------------------------------------------------------------------------------

def test_the_last_input_is_remembered_per_assistant_in_a_private_file(tmp_path):
    store = RememberedInputs(tmp_path / "state" / "console-inputs.json")
    assert store.get("report") is None
    store.put("report", {"input": '{"topic": "a"}', "config": "", "context": ""})
    store.put("chat", {"input": "{}", "config": "", "context": '{"model": "m"}'})
    store.put("report", {"input": '{"topic": "b"}', "config": "", "context": ""})
    assert RememberedInputs(store.path).get("report")["input"] == '{"topic": "b"}'
    assert RememberedInputs(store.path).get("chat")["context"] == '{"model": "m"}'
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert [p.name for p in store.path.parent.iterdir()] == ["console-inputs.json"]  # no temporary left
    store.path.write_text("not json")
    assert store.get("report") is None  # a damaged file is forgotten, not a crash


# --- the header's model -------------------------------------------------------------------------------------------

def test_the_header_names_the_model_the_stack_serves_not_the_demo_graphs(tmp_path):
    """It said `scripted (no vLLM configured)` on every stack: the demo graph's own fallback, not the stack's."""
    from lgconsole.console.config import Config
    from lgconsole.console.sources.stack import model_backend

    config = Config(state_dir=str(tmp_path))
    assert model_backend(config) == "none"
    config.vllm.model, config.vllm.served_model_name = "/models/llama-3.1-8b", "llama-3.1-8b"
    assert model_backend(config) == "vLLM (llama-3.1-8b)"
    config.vllm.url = "http://user:secret@gpu-box:8000"
    assert model_backend(config) == "external"  # no URL (it may hold credentials)
