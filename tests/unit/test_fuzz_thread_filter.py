"""The Threads filter box's syntax under generated input: what a user writes (metadata words, `text:` words and
phrases, thread-id words, in any order) comes back as written; any text at all parses or fails in one FilterError;
and the SQL needles of a message search find every casing of a word in the bytes msgpack stores."""

from __future__ import annotations

import json

import ormsgpack
from hypothesis import example, given
from hypothesis import strategies as st

from lgconsole.console.model.thread_filter import FilterError, parse_filter
from lgconsole.stack.checkpoints.message_search import holds_words, message_texts, needles

# Plain words: no whitespace, no quote, no `=` or `:` (those would make a metadata word or a `text:` word).
plain = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters='"=:\x85'),
                min_size=1, max_size=12).filter(lambda w: not w.lower().startswith("text") and w.split() == [w])
key = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k != "text")
phrase = st.lists(plain, min_size=1, max_size=3).map(" ".join)
json_value = st.one_of(st.integers(), st.booleans(), st.none(), plain)


def _quoted(value: str) -> str:
    return f'"{value}"' if " " in value else value


@given(meta_text=st.dictionaries(key, phrase, max_size=3), meta_json=st.dictionaries(key, json_value, max_size=2),
       words=st.lists(phrase, max_size=3, unique=True), ids=st.lists(plain, max_size=3), data=st.randoms())
def test_what_is_written_comes_back_in_any_order(meta_text, meta_json, words, ids, data):
    tokens = [f"{k}={_quoted(v)}" for k, v in meta_text.items() if k not in meta_json]
    tokens += [f"{k}:={json.dumps(v)}" for k, v in meta_json.items() if not isinstance(v, str) or " " not in v]
    tokens += [f"text:{_quoted(w)}" for w in words]
    data.shuffle(tokens)
    id_tokens = list(ids)
    # id words keep their order among themselves; the other words go anywhere around them
    merged = []
    for token in tokens:
        merged.insert(data.randint(0, len(merged)), token)
    at = 0
    for word in id_tokens:
        at = data.randint(at, len(merged))
        merged.insert(at, word)
        at += 1
    found = parse_filter("  ".join(merged))
    expected_meta = {k: v for k, v in meta_text.items() if k not in meta_json}
    expected_meta.update({k: v for k, v in meta_json.items() if not isinstance(v, str) or " " not in v})
    assert found.text == " ".join(id_tokens) and found.metadata == expected_meta
    assert sorted(found.message_words) == sorted(words)  # in the order written, which was shuffled


@given(st.text(max_size=60))
@example('" ')  # an open quote runs to the end: its trailing space once came back as the thread-id text
def test_any_text_parses_or_fails_in_one_line(text):
    try:
        found = parse_filter(text)
    except FilterError as exc:
        assert ":=" in text and "\n" not in str(exc).strip()
        return
    assert all(w and w == w.strip() for w in found.message_words)
    assert found.text == found.text.strip() and '"' not in found.text


def _escape(raw: bytes) -> str:
    """Postgres `encode(raw, 'escape')`."""
    return "".join("\\\\" if b == 0x5C else chr(b) if 0 < b < 0x80 else f"\\{b:03o}" for b in raw)


@given(word=st.text(min_size=1, max_size=10).filter(lambda w: w.strip() and "\x00" not in w),
       before=st.text(max_size=8), after=st.text(max_size=8), casing=st.sampled_from(["lower", "upper", "title", "same"]))
def test_a_needle_finds_the_word_in_any_usual_casing_inside_a_stored_message(word, before, after, casing):
    said = {"lower": word.lower(), "upper": word.upper(), "title": word.title(), "same": word}[casing]
    if word.lower() not in said.lower():
        return  # a casing that changes the letters (`ß` -> `SS`) is not the same word to `lower`
    message = {"type": "human", "content": f"{before}{said}{after}", "id": "m1"}
    try:
        blob = ormsgpack.packb([message])
    except TypeError:
        return  # a lone surrogate cannot be stored
    stored = _escape(blob).lower()
    assert any(n in stored for n in needles(word))
    assert holds_words(message_texts([message]), [word])


def test_a_word_outside_message_text_is_no_match():
    tool_call = {"type": "ai", "content": "", "tool_calls": [{"name": "lookup", "args": {"q": "kestrel"}}]}
    blocks = {"type": "human", "content": [{"type": "image_url", "image_url": {"url": "kestrel.png"}},
                                           {"type": "text", "text": "a bird"}]}
    assert not holds_words(message_texts([tool_call, blocks]), ["kestrel"])
    assert holds_words(message_texts([blocks]), ["BIRD"])
    assert message_texts(["kestrel", "notes"]) == [] and message_texts({"kestrel": 1}) == []
