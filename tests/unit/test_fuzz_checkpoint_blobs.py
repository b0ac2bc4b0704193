"""Fuzz: checkpoint blobs. Arbitrary bytes under every type tag decode to a value or to a labelled placeholder
("corrupt", "unknown serialization type", ...), never an exception, and `--json` can always print the result."""

from __future__ import annotations

import json

import ormsgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz
from lgconsole.stack.checkpoints.decoder import PLACEHOLDER_KEY, decode_value, is_placeholder, jsonable, \
    send_node_from_prefix

pytestmark = pytest.mark.fuzz

TYPE_TAGS = st.one_of(st.sampled_from([None, "null", "empty", "bytes", "bytearray", "pickle", "msgpack", "json"]),
                      st.text(max_size=12))
KNOWN = {None, "null", "empty", "bytes", "bytearray", "pickle", "msgpack", "json"}

# msgpack-encodable payloads: what a constructor ext carries (module, name, args[, method])
PLAIN = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(),
                               st.text(max_size=10), st.binary(max_size=10)),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=4),
                     max_leaves=12)
MODULES = st.sampled_from(["langchain_core.messages.human", "langgraph.types", "datetime", "uuid", "decimal",
                           "builtins", "os", "collections", "pathlib", "numpy", "", "x" * 300])
NAMES = st.sampled_from(["HumanMessage", "Send", "datetime", "UUID", "Decimal", "set", "system", "deque",
                         "Path", "ndarray", "", "__import__"])


def _json_printable(value) -> None:
    json.dumps(jsonable(value), allow_nan=True)


@st.composite
def ext_blobs(draw) -> bytes:
    """A msgpack blob whose top level (or a nested value) is an ext of any code, often a constructor ext."""
    code = draw(st.integers(0, 127))  # what ormsgpack packs
    if draw(st.booleans()):
        parts = [draw(MODULES), draw(NAMES), draw(PLAIN)] + ([draw(st.text(max_size=8))] if draw(st.booleans())
                                                             else [])
        data = ormsgpack.packb(parts[: draw(st.integers(0, len(parts)))] if draw(st.booleans()) else parts)
    else:
        data = draw(st.binary(max_size=40))
    ext = ormsgpack.Ext(code, data)
    return ormsgpack.packb({"v": [ext, draw(PLAIN)]} if draw(st.booleans()) else ext)


@fuzz
@given(TYPE_TAGS, st.one_of(st.none(), st.binary(max_size=200)))
def test_any_bytes_under_any_type_tag(type_tag, data):
    labels: list[str] = []
    value = decode_value(type_tag, data, labels)
    _json_printable(value)
    if type_tag not in KNOWN:
        assert is_placeholder(value) and value["reason"] == "unknown serialization type"
    if is_placeholder(value):
        assert value[PLACEHOLDER_KEY] in labels


@fuzz
@given(ext_blobs())
def test_msgpack_extensions_of_any_code_and_payload(blob: bytes):
    labels: list[str] = []
    _json_printable(decode_value("msgpack", blob, labels))
    _json_printable(decode_value("msgpack", blob[: len(blob) // 2], []))  # truncated


@fuzz
@given(st.binary(max_size=60))
def test_a_sends_node_from_any_prefix(prefix: bytes):
    node = send_node_from_prefix(prefix)
    assert node is None or isinstance(node, str)


def test_deeply_nested_msgpack_is_a_corrupt_placeholder():
    blob = b"\x91" * 100_000 + b"\xc0"  # 100,000 nested one-element arrays
    value = decode_value("msgpack", blob)
    _json_printable(value)
