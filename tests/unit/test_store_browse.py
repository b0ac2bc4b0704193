"""The store browser's plain logic and text: namespaces as a tree, the text search of a store without a vector index,
secrets masked in values and key names, control characters escaped, Redis's host named without its password."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console.model.store_browse import namespace_text, namespace_tree, parse_namespace, text_matches
from lgconsole.console.rows.store_text import item_cells, redis_key_cells, redis_value_info, ttl_text, value_lines
from lgconsole.console.sources.store import masked_item, masked_value
from lgconsole.stack.server.store import StoreItem
from lgconsole.stack.services.redis_browse import RedisKey, RedisValue, _glob_escape, redis_where


def test_namespace_tree_lists_every_prefix_parents_first():
    nodes = namespace_tree([("demo", "tasks"), ("demo", "memories", "u1"), ("demo", "memories", "u2"), ("ops",)])
    assert [(n.path, n.holds_items) for n in nodes] == [
        (("demo",), False), (("demo", "memories"), False), (("demo", "memories", "u1"), True),
        (("demo", "memories", "u2"), True), (("demo", "tasks"), True), (("ops",), True)]
    assert [n.depth for n in nodes] == [0, 1, 2, 2, 1, 0]


namespaces = st.lists(st.tuples(st.text("abc", min_size=1, max_size=2)).flatmap(
    lambda first: st.lists(st.text("abc", min_size=1, max_size=2), max_size=3).map(lambda rest: first + tuple(rest))),
    max_size=8)


@given(namespaces)
def test_every_node_follows_its_parent_and_every_namespace_is_a_node(found):
    nodes = namespace_tree(found)
    paths = [n.path for n in nodes]
    assert set(found) <= set(paths) and len(paths) == len(set(paths))
    for n, node in enumerate(nodes):
        if len(node.path) > 1:
            assert node.path[:-1] in paths[:n]
        assert node.holds_items == (node.path in set(found))


def test_parse_namespace_round_trips():
    assert parse_namespace("demo/memories/u1") == ("demo", "memories", "u1")
    assert parse_namespace("/demo//tasks/") == ("demo", "tasks") and parse_namespace("") == ()
    assert namespace_text(parse_namespace("demo/memories/u1")) == "demo/memories/u1"


def test_text_search_needs_every_word_in_the_key_or_value():
    value = {"task": "Draft the on-call handover", "outcome": "approved"}
    assert text_matches("handover APPROVED", "k1", value)
    assert text_matches("k1", "k1", value) and text_matches("", "k1", value)
    assert not text_matches("handover rejected", "k1", value)


def test_values_are_masked_and_keys_masked_where_shown():
    item = StoreItem(("ops",), "https://u:hunter22@host/x", {"api_key": "sk-live-0123456789abcdef", "n": 1,
                                                             "nested": [{"password": "p"}]})
    shown = masked_item(item)
    assert shown.value == {"api_key": "***", "n": 1, "nested": [{"password": "***"}]}
    assert shown.key == item.key  # still names the item for a delete
    assert "hunter22" not in item_cells(shown)[0] and "***" in item_cells(shown)[0]


def test_a_redis_string_holding_json_is_shown_as_its_structure_masked():
    key = RedisKey("k", "string", 100, 12.0)
    value = masked_value(RedisValue(key, '{"token": "abc", "url": "redis://:pw@h:1/0"}', 44))
    assert value.value == {"token": "***", "url": "redis://:***@h:1/0"}
    cut = masked_value(RedisValue(key, '{"token": "ab', 20_000, cut=True))  # a cut preview is not JSON: text, masked
    assert cut.value == '{"token": "ab'


def test_control_characters_in_keys_and_values_are_escaped():
    key = RedisKey("evil\x1b[2Jkey", "string", None, None)
    assert "\x1b" not in redis_key_cells(key)[0] and redis_key_cells(key)[2:] == ("-", "no expiry")
    assert all("\x1b" not in line for line in value_lines("line\x1b[31m red\nnext"))


def test_redis_value_info_says_type_size_ttl_and_a_cut_preview():
    info = redis_value_info(RedisValue(RedisKey("k", "list", 2048, 90.0), ["a"], 500, cut=True))
    assert info == ["list · 2 KiB in memory · TTL 1m30s · 500 elements", "preview: the first part only"]
    assert ttl_text(None) == "no expiry"


def test_redis_is_named_by_host_and_port_never_the_password():
    assert redis_where("redis://:s3cret@127.0.0.1:6380/0") == "Redis at 127.0.0.1:6380"
    assert redis_where("redis://localhost") == "Redis at localhost:6379"


def test_a_prefix_matches_glob_characters_literally():
    assert _glob_escape("a*b?[c]\\") == "a\\*b\\?\\[c\\]\\\\"
