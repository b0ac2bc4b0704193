"""The one sanitiser (console/model/sanitise.py): every character class it escapes, what it keeps, the multi-line
rule, and JSON that stays valid and means the same."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from hostile_values import HOSTILE, HOSTILE_TEXTS, terminal_unsafe
from lgconsole.console.model.sanitise import json_text, printable

ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()))


@pytest.mark.parametrize("raw, shown", [
    ("a\x1b[1mb", "a\\u001b[1mb"),  # ESC: a CSI that recolours
    ("\x1b]0;pwned\x07", "\\u001b]0;pwned\\u0007"),  # OSC: sets the title; BEL ends it
    ("a\x9b2Jb", "a\\u009b2Jb"),  # the 8-bit CSI
    ("a\x9d0;t\x9cb", "a\\u009d0;t\\u009cb"),  # 8-bit OSC and ST
    ("x\x08y", "x\\u0008y"),  # BS: would overwrite what came before
    ("x\ry", "x\\u000dy"),  # CR: would overwrite the line
    ("x\x00y\x7fz", "x\\u0000y\\u007fz"),  # NUL, DEL
    ("x\ny\tz", "x\\u000ay\\u0009z"),  # one line: no line break, no tab
])
def test_controls_are_escaped(raw, shown):
    assert printable(raw) == shown


@pytest.mark.parametrize("ch", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
                                "\u2069", "\u061c", "\u200e", "\u200f"])
def test_bidi_overrides_isolates_and_marks_are_escaped(ch):
    assert printable(f"a{ch}b") == f"a\\u{ord(ch):04x}b"


@pytest.mark.parametrize("ch", ["\u200b", "\u200c", "\u200d", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064",
                                "\ufeff", "\u00ad", "\u2028", "\u2029"])
def test_invisible_format_characters_and_separators_are_escaped(ch):
    assert printable(f"a{ch}b") == f"a\\u{ord(ch):04x}b"


def test_tag_characters_and_lone_surrogates_are_escaped_as_json_writes_them():
    assert printable("\U000e0041") == "\\udb40\\udc41"
    assert printable("x\ud800") == "x\\ud800"
    printable("x\ud800").encode("utf-8")  # printable on any terminal: no lone surrogate left


def test_readable_text_is_unchanged():
    for text in ("café 東京 Ωμέγα", "👩‍💻 and 👩🏽‍💻 and 🏳️‍🌈", "no\u00a0break\u202fnarrow", "\ue0b0 private-use icon",
                 "plain ascii [bold]not markup[/]"):
        assert printable(text) == text


def test_multiline_keeps_line_breaks_expands_tabs_and_still_escapes_the_rest():
    assert printable("a\r\nb\tc\rd\x1b[2J", multiline=True) == "a\nb       c\\u000dd\\u001b[2J"
    assert printable("one\ntwo", multiline=True) == "one\ntwo"


@given(ANY_TEXT)
def test_nothing_a_terminal_acts_on_is_left(text):
    one_line = printable(text)
    assert not terminal_unsafe(one_line) and "\n" not in one_line
    assert not terminal_unsafe(printable(text, multiline=True))
    one_line.encode("utf-8")
    if text.isprintable():
        assert one_line == text


@given(st.recursive(st.none() | st.booleans() | st.integers() | ANY_TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
                    max_leaves=12))
def test_json_text_is_valid_means_the_same_and_is_terminal_safe(value):
    for indent in (None, 2):
        text = json_text(value, indent=indent)
        assert not terminal_unsafe(text)
        assert json.loads(text) == value


def test_json_text_examples():
    assert json_text({"q": HOSTILE}) == json.dumps({"q": HOSTILE})  # (HOSTILE: ASCII but for what is escaped)
    assert json_text(["é", "\u202e", "\x7f"]) == '["é", "\\u202e", "\\u007f"]'
    for text in HOSTILE_TEXTS:
        assert json.loads(json_text(text)) == text
