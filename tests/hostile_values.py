"""Values a checkpoint may hold that must never run code when the console reads them: a msgpack extension naming a
class, and a pickle that touches a file when unpickled. The importable module that marks its own import is the
`side_effect_module` fixture in conftest.py."""

from __future__ import annotations

from pathlib import Path

import ormsgpack


def ext(code: int, module: str, name: str, payload) -> ormsgpack.Ext:
    """langgraph's msgpack extension for an instance of module.name built from payload."""
    return ormsgpack.Ext(code, ormsgpack.packb((module, name, payload)))


class TouchOnLoad:
    """Unpickling it creates the file at `path`: proof of whether something unpickled it."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path(self.path).touch, ())


# --- text that would drive a terminal if it reached one raw ----------------------------------------------------------

OSC_TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
CSI_CLEAR = "\x1b[2J"  # clears the screen
C1_CSI_CLEAR = "\x9b2J"  # the same, as the 8-bit CSI
BELL = "\x07"
RLO = "\u202e"  # right-to-left override: what follows reads backwards
HOSTILE = f"ask{OSC_TITLE}me{CSI_CLEAR}now{BELL}{RLO}evil{C1_CSI_CLEAR}\r\x08end"
HOSTILE_TEXTS = (OSC_TITLE, CSI_CLEAR, C1_CSI_CLEAR, BELL, RLO, HOSTILE, "tab\there", "a\u200bb\u2066c\ufeff",
                 "\U000e0041\U000e0042 hidden tags", "line\u2028sep", "\ud800 lone")


def terminal_unsafe(text: str) -> list[str]:
    """The characters of `text` a terminal would act on or that hide or reorder text: C0 controls but the line break,
    DEL and C1, Unicode format characters (bidi overrides, zero-width, tag characters; the zero-width joiner only
    between emoji is fine), line/paragraph separators, lone surrogates."""
    import unicodedata

    found = []
    for i, ch in enumerate(text):
        code = ord(ch)
        if ch == "\n":
            continue
        if ch == "\u200d" and 0 < i < len(text) - 1 and unicodedata.category(text[i + 1]) == "So":
            continue
        if code < 0x20 or 0x7F <= code < 0xA0 or unicodedata.category(ch) in ("Cf", "Zl", "Zp", "Cs"):
            found.append(ch)
    return found
