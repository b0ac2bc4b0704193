"""The console's one masking policy: which keys and which values are secrets, and how they are shown (`***`).

Every place that shows data from checkpoints or services masks through these functions: every CLI command's text
and JSON (console/cli/output.py: SafeStream and print_json; `--show-secrets` is the one way around them), the
Threads screen's state, diff and fork editor, the Live screen's step diffs, interrupts and chat, the Logs screen.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "apikey", "credential", "credentials",
                          "authorization", "cookie"})
_WORD_SPLIT = re.compile(r"[-_.\s]+")

# Values that are secrets whatever key holds them. Each pattern starts and ends at a word edge, so a token is never
# found inside a longer word; group 1 (when there is one) is kept, the rest becomes MASK. No pattern matches a `"`,
# so masking JSON text never crosses from one string into the next.
_TOKEN_CHARS = r"A-Za-z0-9._~+/-"
_SECRET_VALUES = re.compile("|".join((
    # an HTTP credential: `Bearer eyJ…`, `Authorization: Bearer abc.def` (the token has a digit or a symbol in it,
    # so prose like "bearer tokens" stays)
    rf"(?<![\w-])((?:Bearer|bearer|BEARER) +)(?=[{_TOKEN_CHARS}]*[0-9._~+/-])[{_TOKEN_CHARS}]{{8,}}=*",
    # a URL's password: scheme://user:PASSWORD@host
    r"(?<=//)([^\s:/@\"]*:)[^\s/@\"]+(?=@)",
    # a JWT (any signed token: header.payload.signature, base64url, the header a JSON object: `eyJ`)
    r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    # provider key prefixes: OpenAI/Anthropic sk-, Stripe sk_live_/rk_live_, GitHub gh?_ and github_pat_, GitLab
    # glpat-, Hugging Face hf_, Slack xox?-, Google AIza; cloud access key ids: AWS AKIA (long-lived) and ASIA
    # (temporary)
    r"(?<![\w-])(?:sk-[A-Za-z0-9_-]{16,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[A-Za-z0-9_-]{35}|(?:AKIA|ASIA)[0-9A-Z]{16})(?![\w-])",
)))
# each pattern above needs one of these: `in` tests skip the regex for ~all text at a fraction of its cost
_MARKERS = ("earer", "EARER", "//", "eyJ", "sk-", "k_live_", "k_test_", "hp_", "ho_", "hu_", "hs_", "hr_", "b_pat_",
            "glpat-", "hf_", "xox", "AIza", "AKIA", "ASIA")
_MIN_SECRET_VALUE = 5  # no pattern above matches a shorter text (`//u:p@` is the shortest): skip the regex

# `password=hunter2`, `"api_key": "abc"`, `Authorization: Basic dXNlcjpw`: a secret-named key in text (a conninfo
# string, a log line, JSON inside a message); the name is judged by secret_key, the value (a quoted string, or a
# scheme word and its token, or a run up to a space or separator) becomes MASK. After an unquoted one-word name a
# colon is prose as often as not ("credentials: found 3"): there only a header's name counts (_HEADER_NAMES).
_KEYED_VALUE = re.compile(
    r"""(?<![\w.-])(?P<quote>["']?)(?P<name>[A-Za-z][\w.-]*)(?P=quote)(?P<sep>\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'"""
    r"""|(?P<scheme>(?:Bearer|Basic|Token|bearer|basic|token) +)?[^\s"',;&}\]]+)""")
_HEADER_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "password", "passwd"})
# what every name secret_key accepts has in it (SECRET_WORDS' stems, and the `key` of api/private key): a prefilter,
# the name itself is judged by secret_key
_KEY_WORDS = ("token", "secret", "passw", "apikey", "key", "credential", "authoriz", "cookie")
# one of them right before a separator: the cheap test that skips _KEYED_VALUE for ~all prose (searched in the
# lowered text: a case-insensitive pattern costs ~5x)
_KEYED_HINT = re.compile("(?:" + "|".join(_KEY_WORDS) + r")[\w.-]*[\"']?\s*[:=]")


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
    """The text with secret-shaped values (`Bearer …` tokens, JWTs, URL passwords, provider API keys, cloud access
    key ids) and the values of secret-named keys written in it (`password=…`, `"api_key": "…"`) replaced by
    `***`."""
    if len(text) < _MIN_SECRET_VALUE:
        return text
    if any(marker in text for marker in _MARKERS):
        text = _SECRET_VALUES.sub(_replace, text)
    if ("=" in text or ":" in text) and _keyed_hint(text):
        text = _KEYED_VALUE.sub(_replace_keyed, text)
    return text


def _keyed_hint(text: str) -> bool:
    lower = text.lower()
    return any(word in lower for word in _KEY_WORDS) and _KEYED_HINT.search(lower) is not None


def _replace_keyed(match: re.Match) -> str:
    name, value, scheme = match["name"], match["value"], match["scheme"] or ""
    if not secret_key(name) or value[len(scheme):].strip("\"'") in ("", MASK) or value in ("null", "None"):
        return match[0]
    if ":" in match["sep"] and not match["quote"] and not {"_", "-", "."} & set(name) \
            and name.lower() not in _HEADER_NAMES:
        return match[0]
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match['quote']}{name}{match['quote']}{match['sep']}{quote}{scheme}{MASK}{quote}"


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


def mask_secret_keys(value: Any, shared: dict[int, Any] | None = None) -> Any:
    """Only the secret-looking keys' values masked, at any depth: for a big state (10k messages) that is diffed
    first and whose shown lines then pass `mask_text` (masking every string of it would cost ~5x the walk).
    What holds no secret key is returned as it is, not copied (so a diff still sees two states' shared messages
    as the same objects): the result is read, never changed in place. `shared`: one dict for the calls on values
    that share parts (a state and its parent), so that a shared part is walked once."""
    return _masked_keys(value, {} if shared is None else shared)


def diff_masked_states(a: Any, b: Any) -> Any:
    """`diff_states(mask_secret_keys(a), mask_secret_keys(b))` (one walk for both), whose lines may be shown.
    The items at the same place in both (the same object at the same index of a list under the same top-level key:
    the messages a step kept, read together, are one object) are not walked: the diff passes them by identity, so
    they are in none of its values, masked or not; a 10k-message state then costs its new messages only. Where one
    is in them all the same (such a list is under another key too), the diff is made again with everything
    masked."""
    from lgconsole.console.model.state_diff import diff_states

    in_place: set[int] = set()  # ids of those items
    slots: dict[Any, int] = {}  # top-level key -> how many items of its list are in place
    if isinstance(a, dict) and isinstance(b, dict):
        for key, old in a.items():
            new = b.get(key)
            if isinstance(old, list) and isinstance(new, list) and old is not new:
                n = min(len(old), len(new))
                if not all(map(operator.is_, old, new)):
                    n = next(i for i, (x, y) in enumerate(zip(old, new)) if x is not y)
                if n:
                    in_place.update(map(id, itertools.islice(old, n)))
                    slots[key] = n
    walked: dict[int, Any] = {}
    if slots:  # (only there: reached any other way, a list or an item of it is walked as it is everywhere)
        found = diff_states(_masked_keys(a, walked, slots), _masked_keys(b, walked, slots))
        if not _holds_any(found, in_place):  # (a safety net: what is in place is compared with itself only)
            return found
        walked = {}
    return diff_states(mask_secret_keys(a, walked), mask_secret_keys(b, walked))


def _masked_items(items: list, start: int, shared: dict[int, Any]) -> list:
    """The list as `_masked_keys` masks it, its items before `start` left as they are."""
    out = None
    for i in range(start, len(items)):
        v = items[i]
        if v and isinstance(v, (dict, list)) and (new := _masked_keys(v, shared)) is not v:
            if out is None:
                out = list(items)
            out[i] = new
    return items if out is None else out


def _holds_any(found: Any, objects: set[int]) -> bool:
    """Whether any old or new value of a StateDiff is or holds (at any depth) a dict, list or tuple whose id is in
    `objects` (a string or number there is shown as it is, masked or not)."""
    values = [v for c in found.changes for v in (c.old, c.new)]
    for m in found.messages:
        for c in m.changes:
            values += [c.old, c.new, *(v for f in c.fields for v in (f.old, f.new))]
    seen: set[int] = set()
    while values:
        value = values.pop()
        if isinstance(value, (dict, list, tuple)) and id(value) not in seen:
            if id(value) in objects:
                return True
            seen.add(id(value))
            values.extend(value.values() if isinstance(value, dict) else value)
    return False


# dict key tuples seen with no secret key: 10k messages share a few (a record's keys, not a big mapping's: bounded)
_KEYSETS_WITHOUT_SECRETS: set[tuple] = set()


def _masked_keys(value: Any, shared: dict[int, Any], slots: dict[Any, int] | None = None) -> Any:
    """`_masked(value, False)`, copying only the dicts and lists on the way to a masked value; `shared` maps the
    id of each container already walked (alive as long as the values are) to its result. `slots` (for a state
    dict only): the list under key k has its first slots[k] items left as they are (see diff_masked_states)."""
    done = shared.get(id(value))
    if done is not None:
        return done
    if isinstance(value, dict):
        keys = tuple(value)
        clean_keys = keys in _KEYSETS_WITHOUT_SECRETS
        out = None
        any_secret = False
        for k, v in value.items():
            if not clean_keys and secret_key(k):
                any_secret = True
                if v in (None, ""):
                    continue
                new = MASK
            elif v and isinstance(v, (dict, list)):  # (an empty one has nothing to mask)
                new = _masked_items(v, slots[k], shared) if slots and k in slots else _masked_keys(v, shared)
            else:
                continue
            if new is not v:
                if out is None:
                    out = dict(value)
                out[k] = new
        if not clean_keys and not any_secret and len(keys) <= 64 and len(_KEYSETS_WITHOUT_SECRETS) < 4096:
            _KEYSETS_WITHOUT_SECRETS.add(keys)
        result = value if out is None else out
    elif isinstance(value, list):
        out_list = None
        for i, v in enumerate(value):
            if v and isinstance(v, (dict, list)) and (new := _masked_keys(v, shared)) is not v:
                if out_list is None:
                    out_list = list(value)
                out_list[i] = new
        result = value if out_list is None else out_list
    else:
        return value
    if not slots:  # (a result with items left as they are is for its one place)
        shared[id(value)] = result
    return result


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


def mask_diff(diff: Any) -> Any:
    """A StateDiff (console/model/state_diff.py) as it may be shown: an old or new value under a secret-named key at
    any depth of its path is `***`, every other value masked as `mask_secrets` masks it. For diffs made from the
    raw state (a live run's steps) before they reach any output."""
    from dataclasses import replace

    from lgconsole.console.model.state_diff import MISSING

    def value(v: Any, secret: bool) -> Any:
        if v is MISSING:
            return v
        if secret and v not in (None, ""):
            return MASK
        return mask_secrets(v)

    def change(c: Any) -> Any:
        secret = any(secret_key(p) for p in c.path if isinstance(p, str))
        return replace(c, old=value(c.old, secret), new=value(c.new, secret))

    messages = tuple(replace(m, changes=tuple(replace(c, old=value(c.old, False), new=value(c.new, False),
                                                      fields=tuple(change(f) for f in c.fields))
                                              for c in m.changes))
                     for m in diff.messages)
    return replace(diff, changes=tuple(change(c) for c in diff.changes), messages=messages)


@functools.lru_cache(maxsize=1024)  # a GPU process's argv is read again at every refresh: masked once
def mask_argv(argv: tuple[str, ...], max_chars: int = 160) -> str:
    """A command line fit for panes and --json: the value after a secret-named flag (`--api-key X`), of a
    secret-named `VAR=...` or `--flag=...`, and every secret-shaped word (URL passwords, provider keys) replaced by
    `***`; shortened to `max_chars` with an ellipsis."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        name, eq, _ = arg.partition("=")
        if eq and name and " " not in name and secret_key(name.lstrip("-")):
            out.append(f"{name}={MASK}")
            continue
        if arg.startswith("-") and secret_key(arg.lstrip("-")):
            hide_next = True
        out.append(mask_text(arg))
    text = " ".join(out)
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


class StreamMask:
    """Masks text that arrives in pieces (a model's tokens, printed as they come), so that a secret split over two
    pieces is still masked whole. Text is let out up to the last space; the word after it waits for the next piece,
    and a quoted value after a secret-named key (`"password": "two words"`) waits for its closing quote. At most
    `hold` characters wait: a longer run without a break is let out masked as it stands."""

    def __init__(self, hold: int = 256):
        self.hold = hold
        self._text = ""  # the line so far (raw)
        self._sent = 0  # how much of mask_text(self._text[:cut]) was let out

    def feed(self, piece: str) -> str:
        """What can be shown now that `piece` arrived (masked; maybe "")."""
        self._text += piece
        return self._let_out(self._safe_cut())

    def end(self) -> str:
        """The rest, masked; the line starts again empty."""
        out = self._let_out(len(self._text))
        self._text, self._sent = "", 0
        return out

    def _safe_cut(self) -> int:
        text = self._text
        cut = max(text.rfind(" "), text.rfind("\t"), text.rfind("\n")) + 1
        hint = None
        for hint in _KEYED_HINT.finditer(text.lower()):
            pass
        if hint is not None:  # an open quote after the last secret-named key: its value is not whole yet
            rest = text[hint.end():]
            quote = rest.lstrip()[:1]
            if quote in ("\"", "'") and rest.lstrip()[1:].count(quote) == 0:
                cut = min(cut, hint.end() + len(rest) - len(rest.lstrip()))
        if len(text) - cut > self.hold:
            cut = len(text)
        return cut

    def _let_out(self, cut: int) -> str:
        masked = mask_text(self._text[:cut])
        out = masked[self._sent:]
        self._sent = max(self._sent, len(masked))
        return out
