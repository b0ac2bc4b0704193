"""The one masking policy (console/model/masking.py): secret keys at any depth, secret-shaped values, known secrets
only where they stand as words of their own; properties checked with hypothesis."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console.model.masking import MASK, mask_known, mask_secrets, mask_text, secret_key

WORD = st.text(string.ascii_letters + string.digits, min_size=1, max_size=8)
TEXT = st.text(string.ascii_letters + string.digits + " .,:;/@-_=\n", max_size=80)
TOKEN = st.text(string.ascii_letters + string.digits + "._-", min_size=8, max_size=40).filter(
    lambda t: any(c in t for c in string.digits + "._-"))
KEYS = st.sampled_from(["task", "model", "api_key", "OPENAI_API_KEY", "password", "input_tokens", "note", "token"])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                    max_leaves=20)


def test_a_short_password_never_masks_inside_another_word():
    assert mask_known("port 1", ["p"]) == "port 1"
    assert mask_known("p at user:p@host, (p)", ["p"]) == f"{MASK} at user:{MASK}@host, ({MASK})"
    assert mask_known("sw0rdfish-secret and sw0rdfish", ["sw0rdfish-secret", "sw0rdfish"]) == f"{MASK} and {MASK}"
    assert mask_known("nothing to hide", [""]) == "nothing to hide"


def test_secret_keys_and_values():
    assert [secret_key(k) for k in ("api_key", "OPENAI_API_KEY", "access_token", "password", "private_key")] == [
        True] * 5
    assert [secret_key(k) for k in ("input_tokens", "tokenizer", "max_tokens", "key", "summary")] == [False] * 5
    assert mask_text("Authorization: Bearer abc.def123456") == f"Authorization: Bearer {MASK}"
    assert mask_text("bearer tokens are fine") == "bearer tokens are fine"
    assert mask_text("postgresql://lgc:s3cret@127.0.0.1:5/x") == f"postgresql://lgc:{MASK}@127.0.0.1:5/x"
    assert mask_text("use sk-abcdefghijklmnop1234 here") == f"use {MASK} here"
    assert mask_text("task-sk-abcdefghijklmnopqrstu") == "task-sk-abcdefghijklmnopqrstu"  # part of a longer word
    state = {"config": {"api_key": "sk-live-123", "model": "m"}, "usage": {"input_tokens": 5}, "password": "",
             "messages": [{"content": "call it with Bearer eyJhbGciOi.J9x"}]}
    masked = mask_secrets(state)
    assert masked["config"] == {"api_key": MASK, "model": "m"} and masked["usage"] == {"input_tokens": 5}
    assert masked["password"] == "" and masked["messages"][0]["content"] == f"call it with Bearer {MASK}"


@given(WORD, TEXT)
def test_a_known_secret_is_gone_as_a_word_and_nothing_else_changes(secret, text):
    masked = mask_known(text, [secret])
    assert masked.replace(MASK, secret) == text or MASK in text  # only whole occurrences were replaced
    padded = f" {masked} "
    for sep_before in " .,:;/@=\n":
        for sep_after in " .,:;/@=\n":
            assert f"{sep_before}{secret}{sep_after}" not in padded.replace(MASK, "\0")


@given(WORD, WORD, WORD)
def test_a_known_secret_inside_a_longer_word_is_left_alone(secret, before, after):
    word = f"{before}{secret}{after}"
    assert mask_known(f"{word} {word}", [secret]) == f"{word} {word}"


@given(TEXT, TOKEN)
def test_a_bearer_token_never_shows(text, token):
    masked = mask_text(f"{text} Authorization: Bearer {token} {text}")
    assert f"Bearer {MASK}" in masked and f"Bearer {token}" not in masked


@given(JSON)
def test_masking_keeps_the_shape_and_is_idempotent(value):
    masked = mask_secrets(value)
    assert mask_secrets(masked) == masked

    def same_shape(a, b):
        if isinstance(a, dict):
            return isinstance(b, dict) and a.keys() == b.keys() and all(
                b[k] == MASK if secret_key(k) and a[k] not in (None, "") else same_shape(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return isinstance(b, list) and len(a) == len(b) and all(same_shape(x, y) for x, y in zip(a, b))
        return a == b or isinstance(a, str)  # a string may have had a secret-shaped part masked

    assert same_shape(value, masked)


ONE_LINE_JSON = st.recursive(st.none() | st.integers() | st.text(string.ascii_letters + string.digits + " .:/@-_=",
                                                                 max_size=60),
                             lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                             max_leaves=20)


@given(ONE_LINE_JSON)
def test_keys_only_then_the_lines_is_what_the_full_policy_shows(value):
    """The Threads diff masks keys in the states and values in its lines: a value shown either way reads the same
    (repr escapes control characters, so the generated text has none)."""
    from lgconsole.console.model.masking import mask_secret_keys

    assert mask_text(repr(mask_secret_keys(value))) == mask_text(repr(mask_secrets(value)))
