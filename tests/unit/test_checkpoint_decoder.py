"""Safe decoding of checkpoint values (no services): messages and sends become plain dicts, allowlisted stdlib values
are rebuilt, anything else is a labelled placeholder; nothing is imported or unpickled on the way."""

from __future__ import annotations

import pickle
import sys
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Send

from hostile_values import TouchOnLoad, ext
from lgconsole.stack.checkpoints.decoder import (
    PLACEHOLDER_KEY,
    SafeDecoder,
    is_placeholder,
    jsonable,
    send_node_from_prefix,
)
from lgconsole.stack.checkpoints.ids import checkpoint_time
from lgconsole.stack.checkpoints.reader import KNOWN_SCHEMA_VERSION
from lgconsole.stack.checkpoints.writes import task_node


SERDE = JsonPlusSerializer()  # the writer's serializer: what the checkpointer stores


def test_decoder_turns_messages_and_sends_into_plain_dicts():
    decoder = SafeDecoder()
    messages = [HumanMessage("hi", id="m1"), AIMessage("hello", id="m2", name="coder")]
    value = decoder.decode(*SERDE.dumps_typed(messages))
    assert [m["id"] for m in value] == ["m1", "m2"]
    assert value[0]["type"] == "human" and value[0]["content"] == "hi"
    assert value[1]["name"] == "coder"
    send = decoder.decode(*SERDE.dumps_typed(Send("coder", {"task": "x", "messages": messages})))
    assert send["node"] == "coder" and send["arg"]["messages"][1]["content"] == "hello"


def test_decoder_builds_allowlisted_stdlib_values():
    decoder = SafeDecoder()
    when = datetime(2026, 11, 24, 6, 0, tzinfo=timezone.utc)
    uid = uuid.uuid4()
    value = decoder.decode(*SERDE.dumps_typed({"when": when, "id": uid, "amount": Decimal("1.5"), "tags": {"a", "b"},
                                               "gap": timedelta(seconds=3)}))
    assert value == {"when": when, "id": uid, "amount": Decimal("1.5"), "tags": {"a", "b"},
                     "gap": timedelta(seconds=3)}
    assert jsonable(value)["when"] == when.isoformat() and jsonable(value)["tags"] == ["a", "b"]


def test_blocked_class_is_a_labelled_placeholder_and_its_module_is_never_imported(side_effect_module):
    name, marker = side_effect_module
    blob = ormsgpack.packb({"ok": 1, "nested": [ext(2, name, "Secret", {"token": "t", "n": 2})]})
    labels: list[str] = []
    value = SafeDecoder().decode("msgpack", blob, labels)
    assert value["ok"] == 1
    assert value["nested"][0] == {PLACEHOLDER_KEY: f"{name}.Secret", "reason": "blocked",
                                  "fields": {"token": "t", "n": 2}}
    assert labels == [f"{name}.Secret"]
    assert not marker.exists() and name not in sys.modules
    # The control: langgraph's default (permissive) serializer does import it, which is why we never use it.
    JsonPlusSerializer().loads_typed(("msgpack", blob))
    assert marker.exists()


def test_a_blocked_value_nested_in_a_blocked_value_keeps_both_labels():
    inner = ext(5, "app.models", "Inner", {"x": 1})
    blob = ormsgpack.packb(ext(2, "app.models", "Outer", {"inner": inner}))
    labels: list[str] = []
    value = SafeDecoder().decode("msgpack", blob, labels)
    assert value[PLACEHOLDER_KEY] == "app.models.Outer"
    assert value["fields"]["inner"][PLACEHOLDER_KEY] == "app.models.Inner"
    assert sorted(labels) == ["app.models.Inner", "app.models.Outer"]


@pytest.mark.parametrize("type_, data, label", [
    ("pickle", pickle.dumps({"a": 1}), "pickle"),
    ("zstd+msgpack", b"\x28\xb5\x2f\xfd", "zstd+msgpack"),
    ("msgpack", b"\xc1\xc1\xc1", "corrupt"),
    ("msgpack", ormsgpack.packb([ormsgpack.Ext(42, b"??")]), "ext42"),
    ("msgpack", ormsgpack.packb(ormsgpack.Ext(2, b"\x01")), "corrupt"),
    ("json", b"{not json", "corrupt"),
])
def test_undecodable_values_become_placeholders_never_exceptions(type_, data, label):
    labels: list[str] = []
    value = SafeDecoder().decode(type_, data, labels)
    found = value if is_placeholder(value) else value[0]
    assert found[PLACEHOLDER_KEY] == label
    assert labels == [label]
    if type_ == "pickle":
        assert found["size"] == len(data)


def test_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(TouchOnLoad(str(marker)))
    SafeDecoder().decode("pickle", payload)
    assert not marker.exists()
    pickle.loads(payload)  # the control: loading it does run code
    assert marker.exists()


def test_null_bytes_and_json_rows():
    decoder = SafeDecoder()
    assert decoder.decode("null", b"") is None
    assert decoder.decode("bytes", b"\x00\x01") == b"\x00\x01"
    assert decoder.decode("json", b'{"a": [1, 2]}') == {"a": [1, 2]}


def test_send_node_is_read_from_the_first_bytes_only():
    big_state = {"messages": [HumanMessage("x" * 5000, id="m")]}
    _, blob = SERDE.dumps_typed(Send("researcher", big_state))
    assert send_node_from_prefix(blob[:512]) == "researcher"
    assert send_node_from_prefix(b"\x00garbage") is None
    assert send_node_from_prefix(SERDE.dumps_typed({"not": "a send"})[1]) is None


def test_task_paths_name_their_node():
    assert task_node("~__pregel_pull, join", None) == "join"
    assert task_node("~__pregel_push, 0000000001, 0000000000", ["researcher", "coder"]) == "coder"
    assert task_node("~__pregel_push, 0000000005, 0000000000", ["researcher"]) == "send[5]"
    assert task_node("", None) is None


def test_checkpoint_time_reads_uuid6_ids():
    from langgraph.checkpoint.base.id import uuid6

    before = datetime.now(timezone.utc)
    when = checkpoint_time(str(uuid6(clock_seq=-1)))
    assert before - timedelta(seconds=1) <= when <= datetime.now(timezone.utc) + timedelta(seconds=1)
    assert checkpoint_time(str(uuid.uuid4())) is None
    assert checkpoint_time("not-an-id") is None


def test_known_schema_version_matches_the_installed_checkpointer():
    from langgraph.checkpoint.postgres.base import BasePostgresSaver

    assert KNOWN_SCHEMA_VERSION == len(BasePostgresSaver.MIGRATIONS) - 1
