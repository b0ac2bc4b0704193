"""The console's one masking policy: which keys and which values are secrets, and how they are shown (`***`).

Every place that shows data from checkpoints or services masks through these functions: the Threads screen's state,
diff and fork editor, `lgconsole history` and `diff` text output.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "apikey", "credential", "credentials",
                          "authorization", "cookie"})
_WORD_SPLIT = re.compile(r"[-_.\s]+")

# Values that are secrets whatever key holds them. Each pattern starts and ends at a word edge, so a token is never
# found inside a longer word; group 1 (when there is one) is kept, the rest becomes MASK.
_TOKEN_CHARS = r"A-Za-z0-9._~+/-"
_SECRET_VALUES = re.compile("|".join((
    # an HTTP credential: `Bearer eyJ…`, `Authorization: Bearer abc.def` (the token has a digit or a symbol in it,
    # so prose like "bearer tokens" stays)
    rf"(?<![\w-])((?:Bearer|bearer|BEARER) +)(?=[{_TOKEN_CHARS}]*[0-9._~+/-])[{_TOKEN_CHARS}]{{8,}}=*",
    # a URL's password: scheme://user:PASSWORD@host
    r"(?<=//)([^\s:/@]*:)[^\s/@]+(?=@)",
    # provider key prefixes: OpenAI/Anthropic sk-, GitHub gh?_, Hugging Face hf_, Slack xox?-, AWS access key ids
    r"(?<![\w-])(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})(?![\w-])",
)))
# each pattern above needs one of these: `in` tests skip the regex for ~all text at a fraction of its cost
_MARKERS = ("earer", "EARER", "//", "sk-", "hp_", "ho_", "hu_", "hs_", "hr_", "hf_", "xox", "AKIA")
_MIN_SECRET_VALUE = 5  # no pattern above matches a shorter text (`//u:p@` is the shortest): skip the regex


def secret_key(name: Any) -> bool:
    """`api_key`, `access_token`, `OPENAI_API_KEY`, `password`; not `input_tokens` or `tokenizer`."""
    return _secret_name(name if isinstance(name, str) else str(name))


@functools.lru_cache(maxsize=4096)
def _secret_name(name: str) -> bool:  # a 10k-message state asks about the same dozen keys ~200k times
    words = set(_WORD_SPLIT.split(name.lower()))
    return bool(words & SECRET_WORDS) or {"api", "key"} <= words or {"private", "key"} <= words


def _replace(match: re.Match) -> str:
    kept = next((g for g in match.groups() if g is not None), "")
    return kept + MASK


def mask_text(text: str) -> str:
    """The text with secret-shaped values (`Bearer …` tokens, URL passwords, provider API keys) replaced by `***`."""
    if len(text) < _MIN_SECRET_VALUE or not any(marker in text for marker in _MARKERS):
        return text
    return _SECRET_VALUES.sub(_replace, text)


def mask_known(text: str, secrets: Iterable[str]) -> str:
    """The text with each of these known secret values replaced by `***` where it stands as a word of its own: a
    password "p" masks "p" and "user:p@host", never the p of "port 1"."""
    words = sorted({s for s in secrets if s}, key=len, reverse=True)  # the longest first: "ab" before "a"
    if not words:
        return text
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")
    return pattern.sub(MASK, text)


def mask_secrets(value: Any) -> Any:
    """The value with secret-looking keys' values replaced by `***` at any depth, and secret-shaped strings masked
    (what the console shows and puts in the fork editor; an unchanged `***` is never sent back)."""
    return _masked(value, True)


def mask_secret_keys(value: Any) -> Any:
    """Only the secret-looking keys' values masked, at any depth: for a big state (10k messages) that is diffed
    first and whose shown lines then pass `mask_text` (masking every string of it would cost ~5x the walk)."""
    return _masked(value, False)


def _masked(value: Any, strings: bool) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if secret_key(k) and v not in (None, ""):
                out[k] = MASK
            else:
                out[k] = _masked(v, strings) if isinstance(v, (dict, list, str)) else v
        return out
    if isinstance(value, list):
        return [_masked(v, strings) if isinstance(v, (dict, list, str)) else v for v in value]
    if strings and isinstance(value, str):
        return mask_text(value)
    return value
