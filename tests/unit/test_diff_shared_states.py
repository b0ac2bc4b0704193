"""`lgconsole diff`'s fast paths against the plain ones, on states that share objects as two states read together do
(the decoder's `sharing()` gives a message both hold as one object): `diff_masked_states` (the items at the same place
are not masked) against masking everything, and `diff_messages` on a list that starts with the other's objects
against the diff by id. Same StateDiff, same printed lines."""

from __future__ import annotations

import copy

import ormsgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgconsole.console.model.masking import diff_masked_states, mask_secret_keys, mask_text
from lgconsole.console.model.sanitise import printable
from lgconsole.console.model.state_diff import _diff_messages_by_id, diff_messages, diff_states
from lgconsole.stack.checkpoints.decoder import get_decoder

SECRETS = st.sampled_from(["sk-" + "a" * 20, "hunter2", "", None, 7])
MESSAGES = st.fixed_dictionaries(
    {"id": st.sampled_from([f"m{i}" for i in range(6)]), "type": st.sampled_from(["human", "ai"]),
     "content": st.sampled_from(["", "hi", "[bold]", "password=x1"])},
    optional={"additional_kwargs": st.fixed_dictionaries({}, optional={"api_key": SECRETS, "n": st.integers(0, 2)}),
              "name": st.just("coder")})
RECORDS = st.fixed_dictionaries({"n": st.integers(0, 3)}, optional={"password": SECRETS, "tags": st.lists(
    st.text(max_size=2), max_size=2)})
ITEMS = MESSAGES | RECORDS | st.integers(0, 3) | st.text(max_size=3) | st.just(["human", "hi"]) | st.binary(max_size=3)


@st.composite
def sharing_states(draw):
    """Two states whose lists hold objects of one pool (each taken as it is, or as a copy): kept in place, moved,
    taken twice, dropped, edited, or put under another key; sometimes b's messages start with a's very objects."""
    pool = draw(st.lists(ITEMS, max_size=6))

    def a_list() -> list:
        picks = draw(st.lists(st.integers(0, len(pool) - 1), max_size=7)) if pool else []
        return [pool[i] if draw(st.booleans()) else copy.deepcopy(pool[i]) for i in picks]

    keys = st.lists(st.sampled_from(["messages", "items", "token", "results"]), unique=True)
    a = {key: a_list() for key in draw(keys)}
    b = {key: a_list() for key in draw(keys)}
    if "messages" in a and draw(st.booleans()):  # the usual step: a's messages, then new ones
        b["messages"] = a["messages"][:draw(st.integers(0, len(a["messages"])))] + a_list()
    for state in (a, b):
        if draw(st.booleans()):
            state["task"] = draw(st.sampled_from(["x", "y", 1]))
        lists = sorted(k for k, v in state.items() if isinstance(v, list))
        if lists and draw(st.booleans()):  # one list object under two keys
            state["copy"] = state[draw(st.sampled_from(lists))]
    return a, b


def masked_everywhere(a, b):
    walked: dict = {}
    return diff_states(mask_secret_keys(a, walked), mask_secret_keys(b, walked))


def shown(found) -> list[str]:
    return [printable(mask_text(line)) for line in found.lines()]


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(sharing_states())
def test_diff_masked_states_is_the_diff_of_everything_masked(pair):
    a, b = pair
    before = copy.deepcopy(pair)
    fast, plain = diff_masked_states(a, b), masked_everywhere(a, b)
    assert fast == plain
    assert shown(fast) == shown(plain)
    assert (a, b) == before  # read, never changed


def test_an_item_kept_in_place_and_shown_elsewhere_is_masked():
    secret = {"id": "m1", "type": "ai", "content": "hi", "additional_kwargs": {"api_key": "hunter2"}}
    a = {"messages": [secret], "items": []}
    b = {"messages": [secret], "items": [secret]}  # the same object, new under another key: its line is masked
    found = diff_masked_states(a, b)
    assert found == masked_everywhere(a, b)
    (items,) = found.messages
    assert items.changes[0].new["additional_kwargs"] == {"api_key": "***"}


def test_a_list_whose_first_items_are_left_unmasked_is_masked_where_it_is_shown():
    secret = {"id": "m1", "type": "ai", "content": "hi", "additional_kwargs": {"api_key": "hunter2"}}
    new = {"id": "m2", "type": "ai", "content": "more"}
    messages = [secret, new]
    a, b = {"messages": [secret]}, {"messages": messages, "copy": messages}  # one list under two keys, one new
    found = diff_masked_states(a, b)
    assert found == masked_everywhere(a, b)
    (added,) = found.changes
    assert added.path == ("copy",) and added.new[0]["additional_kwargs"] == {"api_key": "***"}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MESSAGES | st.just(["human", "hi"]), max_size=6), st.data())
def test_diff_messages_of_a_list_that_starts_with_the_other_is_the_diff_by_id(a, data):
    # b: a's objects, then new messages, some of them a's objects again (a repeated id: no diff by id)
    extra = data.draw(st.lists(MESSAGES | st.sampled_from(a or [{"id": "z", "type": "ai", "content": ""}]),
                               max_size=3))
    b = a[:] + extra
    assert diff_messages(a, b) == _diff_messages_by_id(a, b, ("messages",))
    assert diff_messages(a, a[:]) == _diff_messages_by_id(a, a[:], ("messages",))


# --- through the decoder, as the reader reads two checkpoints ---------------------------------------------------------

def message_ext(fields: dict) -> ormsgpack.Ext:
    """A message as langgraph's serializer packs it (a pydantic model: module, class, fields, method)."""
    return ormsgpack.Ext(5, ormsgpack.packb(["langchain_core.messages.ai", "AIMessage", fields, "model_validate_json"]))


BLOB_ITEMS = (MESSAGES.map(message_ext) | RECORDS | st.binary(max_size=4)
              | st.just(ormsgpack.Ext(42, b"?"))  # an unknown ext type: a placeholder
              | st.just(ormsgpack.Ext(5, ormsgpack.packb(["my.module", "Secret", {"api_key": "k"}, None]))))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(BLOB_ITEMS, max_size=8), st.data())
def test_decoded_checkpoints_diff_alike(a_items, data):
    """Messages added, removed, edited in the middle, reordered; a channel unchanged; blocked and unknown ext
    values and bytes: decoded in one `sharing()` block (what the reader does), both diffs agree."""
    b_items = list(a_items)
    for _ in range(data.draw(st.integers(0, 3))):
        edit = data.draw(st.sampled_from(["append", "remove", "replace", "swap"]))
        if edit == "append" or not b_items:
            b_items.append(data.draw(BLOB_ITEMS))
        elif edit == "remove":
            b_items.pop(data.draw(st.integers(0, len(b_items) - 1)))
        elif edit == "replace":
            b_items[data.draw(st.integers(0, len(b_items) - 1))] = data.draw(BLOB_ITEMS)
        else:
            i, j = data.draw(st.integers(0, len(b_items) - 1)), data.draw(st.integers(0, len(b_items) - 1))
            b_items[i], b_items[j] = b_items[j], b_items[i]
    other = ormsgpack.packb({"n": 1, "password": "p"})
    decoder = get_decoder()
    labels: list[str] = []
    with decoder.sharing():
        a = {"messages": decoder.decode("msgpack", ormsgpack.packb(a_items), labels),
             "other": decoder.decode("msgpack", other, labels)}
        b = {"messages": decoder.decode("msgpack", ormsgpack.packb(b_items), labels),
             "other": decoder.decode("msgpack", other, labels)}
    fast, plain = diff_masked_states(a, b), masked_everywhere(a, b)
    assert fast == plain
    assert shown(fast) == shown(plain)
