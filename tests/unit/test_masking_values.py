"""The masking policy's value patterns added for issue 17 (JWTs, cloud and provider keys, secret-named keys written in
text), the diff masked by path, and what stays readable."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from lgconsole.console.model.masking import MASK, mask_diff, mask_secrets, mask_text
from lgconsole.console.model.state_diff import diff_states

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.mark.parametrize("secret", [
    JWT,
    "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE",  # AWS access key ids: long-lived, temporary
    "AIzaSyA-1234567890abcdefghijklmnopqrstu",  # Google API key
    "sk-proj-abcdefghijklmnop1234", "sk-ant-api03-abcdefghijklmnop",  # OpenAI, Anthropic
    "sk_live_abcdefghijklmnop1234", "rk_test_abcdefghijklmnop1234",  # Stripe
    "ghp_abcdefghijklmnopqrstuvwxyz0123", "github_pat_11ABCDEFG0123456789_abcdefghijkl",  # GitHub
    "glpat-abcdefghijklmnopqrst", "hf_abcdefghijklmnopqrstuvwxyz", "xoxb-1234567890-abcdef",
])
def test_secret_shaped_values_are_masked_inside_any_text(secret):
    assert mask_text(f"the model said: use {secret} now") == f"the model said: use {MASK} now"
    assert mask_secrets({"messages": [{"content": f"({secret})"}]}) == {"messages": [{"content": f"({MASK})"}]}


@pytest.mark.parametrize("text, masked", [
    ("host=db password=hunter2 port=5432", "host=db password=*** port=5432"),
    ('{"api_key": "abc def", "n": 1}', '{"api_key": "***", "n": 1}'),
    ("{'client_secret': 'xyz'}", "{'client_secret': '***'}"),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
    ("x-api-key: abc123", "x-api-key: ***"),
    ("OPENAI_API_KEY=whatever export", "OPENAI_API_KEY=*** export"),
    ("postgresql://u:pw@db/x and https://a:b@h", "postgresql://u:***@db/x and https://a:***@h"),
])
def test_secret_named_keys_written_in_text_are_masked(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", [
    "research the database credentials: found three sources",  # prose after a colon
    "token: the unit a model reads", "input_tokens=512 max_tokens: 20", "the password is wrong",
    "eyJ alone is not a token", "AKIA is a prefix", "see https://example.com/path", "api_key=None",
    "password=***",  # already masked
])
def test_prose_and_harmless_values_are_left_alone(text):
    assert mask_text(text) == text


@given(st.text(max_size=60))
def test_mask_text_is_idempotent(text):
    once = mask_text(text)
    assert mask_text(once) == once


def test_a_diff_is_masked_by_the_path_of_each_change():
    old = {"config": {"api_key": "old-k", "model": "m1"}, "messages": []}
    new = {"config": {"api_key": "new-k", "model": "m2"}, "password": "p",
           "messages": [{"type": "ai", "content": f"token {JWT}", "id": "1"}]}
    lines = mask_diff(diff_states(old, new)).lines()
    text = "\n".join(lines)
    assert "old-k" not in text and "new-k" not in text and JWT not in text and "'p'" not in text
    assert "m2" in text and "config.api_key" in text  # what changed is still said, and where
    assert diff_states(old, new).lines() != lines  # (the raw diff is unchanged: masking makes a copy)


def test_the_prefilter_for_keys_in_text_covers_every_secret_word():
    from lgconsole.console.model.masking import _KEY_WORDS, SECRET_WORDS

    assert all(any(stem in word for stem in _KEY_WORDS) for word in SECRET_WORDS)
