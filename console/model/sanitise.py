"""The one sanitiser: text from data or services (state, messages, errors, names, logs, service output) made safe to
put on a terminal or in a widget, and JSON made safe the same way. Nothing a user's graph writes may control the
operator's terminal.

The rule, for every output:
- Escaped (shown as JSON's own `\\uXXXX`, so an escape inside a JSON string means the same character): the C0
  controls (ESC, BEL, BS, CR, NUL...), DEL and the C1 controls (the 8-bit CSI 0x9b, OSC 0x9d...), every invisible
  format character (Unicode category Cf: bidi overrides and isolates U+202A-U+202E, U+2066-U+2069, U+061C, the marks
  U+200E/U+200F, zero-width U+200B-U+200D, U+2060-U+2064, U+FEFF, tag characters that hide text), the line and
  paragraph separators U+2028/U+2029 and lone surrogates. A character past the BMP is written as its surrogate pair.
- Kept: every other character, accents, CJK, no-break spaces, private-use icons and emoji included; a zero-width
  joiner (U+200D) that joins two emoji (👩‍💻) is kept, any other is escaped.
- Line breaks: `printable(text)` is one line, so `\\n` and `\\t` are escaped too. `printable(text, multiline=True)` is
  for panes that show several lines (a state value, a log, a chat): `\\n` stays a line break, `\\r\\n` becomes `\\n`,
  a tab becomes spaces to the next multiple of 8 (as a terminal would show it); a raw CR, ESC or any other control
  is still escaped.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

ZWJ = "\u200d"
# unprintable to Python, harmless on a terminal: a no-break or narrow space (Zs) shows as a space, a private-use
# character (Co) as a font's icon, one unassigned in this Python's Unicode tables (Cn) as whatever newer text it is
_SHOWN_AS_IS = frozenset({"Zs", "Co", "Cn"})


def printable(text: str, multiline: bool = False) -> str:
    """The text with every character that could act on a terminal or hide what follows written as a visible
    `\\uXXXX` escape (the module docstring has the rule); `multiline` keeps line breaks and expands tabs."""
    if text.isprintable():
        return text
    if multiline:
        if "\r\n" in text:
            text = text.replace("\r\n", "\n")
        if "\t" in text:
            text = text.expandtabs(8)
        return "\n".join(printable(line) for line in text.split("\n"))
    last = len(text) - 1
    out = []
    for i, ch in enumerate(text):
        if ch.isprintable() or unicodedata.category(ch) in _SHOWN_AS_IS:
            out.append(ch)
        elif ch == ZWJ and 0 < i < last and _joins_emoji(text[i - 1], text[i + 1]):
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def _joins_emoji(before: str, after: str) -> bool:
    # 👩‍💻: So ZWJ So; 👩🏽‍💻: the skin tone (Sk) or the emoji presentation selector (Mn U+FE0F) before
    # the joiner
    return (unicodedata.category(before) in ("So", "Sk") or before == "\ufe0f") and unicodedata.category(after) == "So"


def _escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # a tag character (U+E0001...): as JSON writes it, a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(data: Any, indent: int | None = None) -> str:
    """`data` as JSON that is safe on a terminal and still valid: accents and emoji as they are (readable), every
    character `printable` escapes written as `\\uXXXX`. json.dumps escapes the C0 controls, quotes and backslashes
    and puts nothing but printable ASCII, spaces and line breaks between its strings, so `printable(multiline)` on its
    text escapes only inside strings, where `\\uXXXX` means the same character. Values JSON has no type for are
    written with str()."""
    return printable(json.dumps(data, indent=indent, ensure_ascii=False, default=str), multiline=True)
