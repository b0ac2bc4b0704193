"""The fast paths of reading and diffing a state with its parent (`lgconsole diff`, the Threads screen's diff): equal
messages decoded once and shared, secret keys masked without copying what holds none, shared values skipped by the
diff. Each gives what the plain path it replaces gives, on generated states and blobs."""

from __future__ import annotations

import copy

import ormsgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgconsole.console.model.masking import MASK, _masked, mask_secret_keys
from lgconsole.console.model.state_diff import PositionKey, diff_states, message_id, message_key
from lgconsole.stack.checkpoints.decoder import get_decoder, jsonable

KEYS = st.sampled_from(["id", "type", "content", "api_key", "password", "token", "access_token", "input_tokens",
                        "messages", "results", "x"]) | st.text(max_size=4)
SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "hi", "sk-x", MASK]) \
    | st.floats(allow_nan=False, width=32)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=20)
MESSAGES = st.lists(st.fixed_dictionaries({"id": st.sampled_from([f"m{i}" for i in range(8)]),
                                           "type": st.sampled_from(["human", "ai"]), "content": VALUES},
                                          optional={"additional_kwargs": st.dictionaries(KEYS, VALUES, max_size=2)}),
                    unique_by=lambda m: m["id"], max_size=6)
STATES = st.fixed_dictionaries({"messages": MESSAGES}, optional={"task": VALUES, "results": VALUES,
                                                                 "api_key": VALUES})
SETTINGS = settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def related_states(draw):
    """(a, b) where b shares some of a's values as the same objects (a reader's shared decode), changes others."""
    a = draw(STATES)
    b = {k: (v if draw(st.booleans()) else copy.deepcopy(v)) for k, v in a.items() if draw(st.integers(0, 4))}
    b.update(draw(st.dictionaries(st.sampled_from(["task", "results", "api_key", "new"]), VALUES, max_size=2)))
    kept = [m if draw(st.booleans()) else copy.deepcopy(m) for m in a["messages"] if draw(st.integers(0, 3))]
    for i, m in enumerate(kept):
        if draw(st.integers(0, 4)) == 0:
            kept[i] = {**m, "content": draw(VALUES)}
    b["messages"] = kept + [m for m in draw(MESSAGES) if m["id"] not in {k["id"] for k in kept}]
    return a, b


@SETTINGS
@given(VALUES | STATES)
def test_masking_secret_keys_gives_what_the_copying_walk_gives_and_changes_nothing(value):
    before = copy.deepcopy(value)
    masked = mask_secret_keys(value)
    assert masked == _masked(value, False)
    assert mask_secret_keys(value) == masked  # again, with the key sets it has learnt
    assert value == before
    if masked == value and MASK not in repr(value):
        assert masked is value  # nothing to mask: nothing copied


@SETTINGS
@given(related_states())
def test_a_diff_of_shared_values_equals_the_diff_of_copies(pair):
    a, b = pair
    plain = diff_states(_masked(copy.deepcopy(a), False), _masked(copy.deepcopy(b), False))
    walked: dict = {}
    assert diff_states(mask_secret_keys(a, walked), mask_secret_keys(b, walked)) == plain
    assert diff_states(a, b) == diff_states(copy.deepcopy(a), copy.deepcopy(b))


MODULES = st.sampled_from([("langchain_core.messages.human", "HumanMessage"), ("langgraph.types", "Send"),
                           ("datetime", "datetime"), ("uuid", "UUID"), ("os", "system"), ("numpy", "ndarray")])


@st.composite
def blobs_sharing_exts(draw) -> list[bytes]:
    """Blobs whose ext values (messages, Sends, blocked classes, unknown codes) recur across and within them."""
    exts = []
    for _ in range(draw(st.integers(1, 4))):
        module, name = draw(MODULES)
        payload = draw(st.dictionaries(st.sampled_from(["id", "content", "type"]), st.text(max_size=3), max_size=3))
        code = draw(st.sampled_from([0, 1, 2, 5, 9]))
        inner = ormsgpack.packb([module, name, payload] if code != 1 else [module, name, [payload.get("id")]])
        if draw(st.booleans()):  # nested: an ext inside the payload of another one
            inner = ormsgpack.packb([module, name, {"nested": ormsgpack.Ext(code, inner)}])
        exts.append(ormsgpack.Ext(code, inner))
    picks = st.lists(st.sampled_from(exts), max_size=5)
    return [ormsgpack.packb(draw(picks)) for _ in range(draw(st.integers(1, 3)))]


@SETTINGS
@given(blobs_sharing_exts())
def test_decoding_in_a_sharing_block_gives_the_same_values_and_labels(blobs):
    decoder = get_decoder()
    plain = []
    for blob in blobs:
        labels: list[str] = []
        plain.append((jsonable(decoder.decode("msgpack", blob, labels)), labels))
    shared = []
    with decoder.sharing():
        for blob in blobs:
            labels = []
            shared.append((jsonable(decoder.decode("msgpack", blob, labels)), labels))
    assert shared == plain


MESSAGE_LIKE = st.dictionaries(st.sampled_from(["id", "type", "content", "lc", "kwargs"]),
                               st.none() | st.integers(0, 2) | st.text(max_size=3) | st.lists(st.text(max_size=2),
                                                                                               max_size=2)
                               | st.fixed_dictionaries({"id": st.text(max_size=2)}), max_size=5) \
    | st.lists(st.text(max_size=2), max_size=2) | st.text(max_size=2) | st.none()


@SETTINGS
@given(MESSAGE_LIKE, st.integers(0, 5))
def test_a_message_key_is_its_id_as_message_id_reads_it_or_its_position(message, index):
    found = message_id(message)
    assert message_key(message, index) == (PositionKey(index) if found is None else found)
