"""Tokens printed as they arrive (`lgconsole run --tokens`, and its JSON token events): a secret split over tokens is
still masked."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console.model.masking import MASK, StreamMask, mask_text

SECRETS = ["sk-proj-4f9a8b7c6d5e4f3a2b1c0d9e", "ghp_abcdefghijklmnopqrstuvwxyz0123",
           "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
           "postgresql://app:hunter2pw@db.internal/lg"]
SECRET_BODIES = ["4f9a8b7c6d5e4f3a2b1c0d9e", "abcdefghijklmnopqrstuvwxyz0123", "sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
                 "hunter2pw"]


def stream(text: str, cuts: list[int]) -> str:
    mask, out, start = StreamMask(), io.StringIO(), 0
    for cut in sorted(set(c for c in cuts if 0 < c < len(text))):
        out.write(mask.feed(text[start:cut]))
        start = cut
    out.write(mask.feed(text[start:]))
    out.write(mask.end())
    return out.getvalue()


prose = st.text(alphabet=st.sampled_from(list("abc xyz,.:\n")), max_size=40)


@given(before=prose, after=prose, secret=st.sampled_from(range(len(SECRETS))),
       cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=30))
def test_a_secret_split_anywhere_is_never_shown(before, after, secret, cuts):
    text = f"{before} {SECRETS[secret]} {after}"
    shown = stream(text, cuts)
    assert SECRET_BODIES[secret] not in shown
    assert MASK in shown


@given(text=st.text(max_size=120))
def test_text_fed_whole_comes_out_as_mask_text_shows_it(text):
    assert stream(text, []) == mask_text(text)


@given(words=st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=8), max_size=20),
       cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=30))
def test_prose_comes_out_unchanged_however_it_is_split(words, cuts):
    text = " ".join(words)
    assert stream(text, cuts) == text


def test_a_quoted_secret_value_with_spaces_waits_for_its_closing_quote():
    mask = StreamMask()
    shown = "".join(mask.feed(p) for p in ['{"pass', 'word": "correct ', 'horse battery', ' staple"} done'])
    shown += mask.end()
    assert "correct" not in shown and "horse" not in shown
    assert shown == '{"password": "***"} done'


def test_a_run_without_breaks_is_let_out_after_the_hold():
    mask = StreamMask(hold=10)
    assert mask.feed("x" * 25) == "x" * 25
    assert mask.end() == ""


@given(secret=st.sampled_from(range(len(SECRETS))), cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=20))
def test_run_tokens_json_never_carries_half_a_secret_in_one_event(secret, cuts):
    """`lgconsole run --tokens --json`: a consumer joins the token events' texts, so the events go through the same
    StreamMask as the printed line: no event holds a piece of the secret and the joined text is masked whole."""
    import json

    from lgconsole.console.cli.live import StepPrinter
    from lgconsole.console.model.live_run import NodeStep

    text = f"the key is {SECRETS[secret]} ok"
    out = io.StringIO()
    printer = StepPrinter(as_json=True, out=out, tokens=True)
    step = NodeStep(node="model", seq=0, superstep=1)
    start = 0
    for cut in sorted(set(c for c in cuts if 0 < c < len(text))) + [len(text)]:
        printer._token(step, text[start:cut])
        start = cut
    printer._end_tokens()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(e["event"] == "token" and e["node"] == "model" for e in events)
    joined = "".join(e["text"] for e in events)
    assert joined == mask_text(text) and SECRET_BODIES[secret] not in joined
    assert not any(piece in e["text"] for e in events for piece in (SECRET_BODIES[secret][:6],))
