"""Two states' lists read together (`lgconsole diff`, the Threads screen's diff of a checkpoint with its parent): where
one list's element bytes start the other's (messages appended), the shorter is decoded once and the longer reuses
its elements. Whatever the bytes, each state gets what decoding its own blob alone gives, values and labels alike."""

from __future__ import annotations

import ormsgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgconsole.stack.checkpoints import states
from lgconsole.stack.checkpoints.decoder import array_header, get_decoder, jsonable, pack_array_header
from lgconsole.stack.checkpoints.states import decode_blobs

SETTINGS = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
PAD = "lorem ipsum " * 40  # ~480 bytes a message: a few messages pass PREFIX_MIN_BYTES

KINDS = st.sampled_from([
    ("langchain_core.messages.human", "HumanMessage", 5), ("langchain_core.messages.ai", "AIMessage", 2),
    ("os", "system", 2),  # blocked: a labelled placeholder
    ("langgraph.types", "Send", 1), ("datetime", "datetime", 9),  # an unknown ext code
])


@st.composite
def message(draw) -> ormsgpack.Ext:
    module, name, code = draw(KINDS)
    payload = {"id": draw(st.text(max_size=4)), "content": PAD + draw(st.text(max_size=8)), "type": "human"}
    inner = [module, name, ["node", payload] if name == "Send" else payload]
    if code == 5:
        inner.append("model_validate_json")
    return ormsgpack.Ext(code, ormsgpack.packb(inner))


def packed(items: list, header_size: int | None = None) -> bytes:
    """A msgpack array of `items`, its header in the smallest form or forced to 3 or 5 bytes (writers may use any)."""
    body = b"".join(ormsgpack.packb(i) for i in items)
    if header_size == 3:
        return b"\xdc" + len(items).to_bytes(2, "big") + body
    if header_size == 5:
        return b"\xdd" + len(items).to_bytes(4, "big") + body
    return pack_array_header(len(items)) + body


@st.composite
def two_lists(draw) -> tuple[bytes, bytes]:
    """Two blobs of one channel, mostly a list and the same list with more appended; sometimes spoiled: junk after
    the shorter one's elements, a short count, a cut, another header form, an edited element."""
    items = draw(st.lists(st.one_of(message(), message(), st.text(max_size=3), st.integers(-2**63, 2**63 - 1)),
                          min_size=draw(st.sampled_from([0, 12])), max_size=30))
    more = draw(st.lists(message() | st.none(), max_size=4))
    short = packed(items, draw(st.sampled_from([None, 3, 5])))
    long = packed(items + more, draw(st.sampled_from([None, 3, 5])))
    spoil = draw(st.sampled_from(["none"] * 6 + ["junk", "count", "cut_short", "cut_long", "edit", "not_list"]))
    if spoil == "junk":  # bytes after the last element: readers ignore them, the long list's elements do not
        short += draw(st.sampled_from([b"\xc0", b"\x01", ormsgpack.packb(PAD), long[len(short):len(short) + 7]]))
    elif spoil == "count" and items:
        head = array_header(short)
        short = pack_array_header(head[0] - 1) + short[head[1]:]
    elif spoil == "cut_short":
        short = short[:-draw(st.integers(1, 5))]
    elif spoil == "cut_long":
        long = long[:-draw(st.integers(1, 5))]
    elif spoil == "edit" and items:
        i = draw(st.integers(0, len(items) - 1))
        long = packed(items[:i] + ["edited"] + items[i + 1:] + more)
    elif spoil == "not_list":
        short = ormsgpack.packb({"x": PAD * 10})
    return (short, long) if draw(st.booleans()) else (long, short)


def alone(blob: bytes) -> tuple:
    labels: list[str] = []
    return jsonable(get_decoder().decode("msgpack", blob, labels)), sorted(labels)


@SETTINGS
@given(two_lists(), st.booleans())
def test_two_states_lists_decode_as_each_alone(pair, in_sharing_block):
    first, second = pair
    unreadable: list[list[str]] = [[], []]
    decoder = get_decoder()
    if in_sharing_block:  # as the reader runs it
        with decoder.sharing():
            values = decode_blobs([[("messages", "msgpack", first)], [("messages", "msgpack", second)]], unreadable)
    else:
        values = decode_blobs([[("messages", "msgpack", first)], [("messages", "msgpack", second)]], unreadable)
    assert (jsonable(values[0]["messages"]), sorted(unreadable[0])) == alone(first)
    assert (jsonable(values[1]["messages"]), sorted(unreadable[1])) == alone(second)


def test_an_appended_list_reuses_the_shorter_ones_elements():
    items = [ormsgpack.Ext(5, ormsgpack.packb(["langchain_core.messages.human", "HumanMessage",
                                                {"id": f"m{i}", "content": PAD}, "model_validate_json"]))
             for i in range(40)]
    old, new = packed(items), packed(items + items[:1])
    assert len(old) > states.PREFIX_MIN_BYTES
    values = decode_blobs([[("messages", "msgpack", new)], [("messages", "msgpack", old)]], [[], []])
    newer, older = values[0]["messages"], values[1]["messages"]
    assert len(newer) == 41 and len(older) == 40
    assert all(x is y for x, y in zip(older, newer))  # one object each: a diff passes them by identity
    assert newer is not older  # each state has a list of its own
    assert newer[40] == {"id": "m0", "content": PAD}


def test_blobs_that_are_not_lists_or_are_short_decode_as_before():
    small = packed(["a", "b"])
    values = decode_blobs([[("messages", "msgpack", packed(["a", "b", "c"])), ("task", "msgpack", small)],
                           [("messages", "msgpack", small), ("task", None, None)]], [[], []])
    assert values == [{"messages": ["a", "b", "c"], "task": ["a", "b"]}, {"messages": ["a", "b"], "task": None}]
