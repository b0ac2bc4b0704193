"""Structural diff of two graph states: keys added, changed and removed (nested, by path), and message lists (under
any key: a list whose items look like messages) diffed message by message, by id, or by position for messages without
one.

Independent of where the states came from (two checkpoints read from Postgres, or two `values` events of a live
run): a state is any nest of dicts and lists; messages may be dicts (`{"id", "type", "content", ...}` as decoded
from the checkpoint tables), LangChain message objects, or id-less lists/tuples (`["human", "hi"]`).
`apply(a, diff_states(a, b)) == b` always holds. Rendering here is plain text; escaping is the widget's job.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import ormsgpack

Path = tuple[Hashable, ...]
MESSAGE_KEYS = frozenset({"messages"})  # a list under one of these keys is diffed message by message
_LC_TYPES = {"HumanMessage": "human", "AIMessage": "ai", "AIMessageChunk": "ai", "ToolMessage": "tool",
             "SystemMessage": "system", "FunctionMessage": "function", "ChatMessage": "chat",
             "RemoveMessage": "remove", "HumanMessageChunk": "human", "ToolMessageChunk": "tool"}


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __deepcopy__(self, memo: dict) -> _Missing:
        return self


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Change:
    """One key or list item: `added` (new only), `removed` (old only) or `changed` (both)."""

    kind: Literal["added", "removed", "changed"]
    path: Path
    old: Any = MISSING
    new: Any = MISSING


@dataclass(frozen=True)
class MessageChange:
    """One message of a messages list: `appended` at the end, `inserted` before kept messages, `removed`,
    or `changed` (same id, other content; `fields` says what differs inside it)."""

    kind: Literal["appended", "inserted", "removed", "changed"]
    message_id: Hashable
    index: int  # in the new list (appended, inserted, changed) or the old one (removed)
    old: Any = MISSING
    new: Any = MISSING
    fields: tuple[Change, ...] = ()


@dataclass(frozen=True)
class MessagesDiff:
    path: Path  # where the list is, e.g. ("messages",)
    changes: tuple[MessageChange, ...]
    order: tuple[Hashable, ...]  # message ids of the new list, in order: what `apply` rebuilds
    reordered: bool = False  # kept messages changed their relative order

    @property
    def appended(self) -> list[MessageChange]:
        return [c for c in self.changes if c.kind == "appended"]

    @property
    def removed(self) -> list[MessageChange]:
        return [c for c in self.changes if c.kind == "removed"]


@dataclass(frozen=True)
class StateDiff:
    changes: tuple[Change, ...] = ()
    messages: tuple[MessagesDiff, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not self.changes and not self.messages

    def __bool__(self) -> bool:
        return not self.is_empty

    @property
    def added(self) -> list[Path]:
        return [c.path for c in self.changes if c.kind == "added"]

    @property
    def removed(self) -> list[Path]:
        return [c.path for c in self.changes if c.kind == "removed"]

    @property
    def changed(self) -> list[Path]:
        return [c.path for c in self.changes if c.kind == "changed"]

    def top_level_keys(self) -> set[Hashable]:
        """The state keys the diff touches (what a node's update wrote)."""
        return {p[0] for p in [c.path for c in self.changes] + [m.path for m in self.messages] if p}

    def apply(self, a: Any) -> Any:
        return apply(a, self)

    def lines(self, max_value_chars: int = 80) -> list[str]:
        return render_lines(self, max_value_chars)

    def to_json(self) -> dict:
        """Plain data (values as they are: the caller serialises exotic ones)."""
        return {
            "changes": [{"kind": c.kind, "path": path_str(c.path), "path_parts": list(c.path),
                         **({} if c.old is MISSING else {"old": c.old}),
                         **({} if c.new is MISSING else {"new": c.new})} for c in self.changes],
            "messages": [{"path": path_str(m.path), "reordered": m.reordered, "changes": [
                {"kind": c.kind, "id": None if isinstance(c.message_id, PositionKey) else c.message_id, "index": c.index,
                 **({} if c.old is MISSING else {"old": c.old}),
                 **({} if c.new is MISSING else {"new": c.new}),
                 **({"fields": [{"kind": f.kind, "path": path_str(f.path)} for f in c.fields]} if c.fields else {})}
                for c in m.changes]} for m in self.messages],
        }


# --- diff ------------------------------------------------------------------------------------------------------------

def same(x: Any, y: Any) -> bool:
    """Equality for state values: NaN equals NaN, and True is not 1 (a bool that became an int is a change)."""
    if x is y:
        return True
    if isinstance(x, bool) != isinstance(y, bool):
        return False
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, list) and isinstance(y, list):
        return len(x) == len(y) and all(same(i, j) for i, j in zip(x, y))
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(same(i, j) for i, j in zip(x, y))
    if type(x) is not type(y) and isinstance(x, (dict, list, tuple)) != isinstance(y, (dict, list, tuple)):
        return False
    try:
        return bool(x == y)
    except Exception:  # an object whose __eq__ raises
        return False


def diff_states(a: Any, b: Any, message_keys: Iterable[str] = MESSAGE_KEYS) -> StateDiff:
    """What changed from state `a` to state `b`."""
    changes: list[Change] = []
    messages: list[MessagesDiff] = []
    _diff(a, b, (), changes, messages, frozenset(message_keys))
    return StateDiff(tuple(changes), tuple(messages))


diff = diff_states


def _diff(a: Any, b: Any, path: Path, changes: list[Change], messages: list[MessagesDiff],
          message_keys: frozenset[str]) -> None:
    if a is b:  # one object (a value both states share): `same` all the way down, nothing to walk
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key, old in a.items():
            if key not in b:
                changes.append(Change("removed", path + (key,), old=old))
            else:
                _diff(old, b[key], path + (key,), changes, messages, message_keys)
        for key, new in b.items():
            if key not in a:
                changes.append(Change("added", path + (key,), new=new))
        return
    if isinstance(a, list) and isinstance(b, list):
        if (path and path[-1] in message_keys) or _message_lists(a, b):
            found = diff_messages(a, b, path)
            if found is not None:
                if found.changes or found.reordered:
                    messages.append(found)
                return
        for i in range(min(len(a), len(b))):
            _diff(a[i], b[i], path + (i,), changes, messages, message_keys)
        for i in range(len(a) - 1, len(b) - 1, -1):  # from the end, so `apply` can pop them in order
            changes.append(Change("removed", path + (i,), old=a[i]))
        for i in range(len(a), len(b)):
            changes.append(Change("added", path + (i,), new=b[i]))
        return
    if not same(a, b):
        changes.append(Change("changed", path, old=a, new=b))


# --- messages --------------------------------------------------------------------------------------------------------

def _serialized(message: Any) -> bool:
    return (isinstance(message, dict) and message.get("lc") == 1 and message.get("type") == "constructor"
            and isinstance(message.get("id"), list) and isinstance(message.get("kwargs"), dict))


def looks_like_message(item: Any) -> bool:
    """A message dict (`type` or `role` and `content`), a serialized LangChain message or a LangChain message."""
    if isinstance(item, dict):
        if _serialized(item):
            return str(item["id"][-1]).endswith(("Message", "MessageChunk"))
        return ("type" in item or "role" in item) and "content" in item
    if isinstance(item, (list, tuple, str, bytes, int, float)) or item is None:
        return False
    return hasattr(item, "content") and hasattr(item, "type")


def is_message_list(value: Any) -> bool:
    """A non-empty list whose every item looks like a message."""
    return isinstance(value, list) and bool(value) and all(looks_like_message(m) for m in value)


def _message_lists(a: list, b: list) -> bool:
    return (is_message_list(a) or not a) and (is_message_list(b) or not b) and bool(a or b)


def message_id(message: Any) -> Hashable | None:
    """The id of a message dict or LangChain message; None for id-less forms such as `["human", "hi"]`."""
    if _serialized(message):
        found = message["kwargs"].get("id")
    elif isinstance(message, dict):
        found = message.get("id")
    elif isinstance(message, (list, tuple, str)):
        return None
    else:
        found = getattr(message, "id", None)
    if found is None:
        return None
    try:
        hash(found)
    except TypeError:
        return None
    return found


def message_fields(message: Any) -> Any:
    """A message as plain fields, to compare a dict with a LangChain object and to say what changed inside it."""
    if _serialized(message):
        kind = str(message["id"][-1])
        return {**message["kwargs"], "type": _LC_TYPES.get(kind, kind)}
    if isinstance(message, dict):
        return message
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        try:
            return dump()
        except Exception:
            return message
    return message


def _packed_equal(x: Any, y: Any) -> bool:
    """True when both pack to the same msgpack bytes: then `same(x, y)` (msgpack tells bool from int and keeps key
    order and types). False says nothing: not packable, or equal some other way (`same` decides)."""
    try:
        return ormsgpack.packb(x, option=ormsgpack.OPT_NON_STR_KEYS) == \
            ormsgpack.packb(y, option=ormsgpack.OPT_NON_STR_KEYS)
    except Exception:
        return False


def message_key(message: Any, index: int) -> Hashable:
    """A message's identity in a diff: its id, or `#index` (its position) when it has none."""
    if type(message) is dict and "lc" not in message:  # the usual decoded message: message_id's answer, sooner
        found = message.get("id")
        if type(found) is str:
            return found
    found = message_id(message)
    return PositionKey(index) if found is None else found


class PositionKey(int):
    """The key of a message without an id: its position in the list (rendered `#3`)."""

    def __repr__(self) -> str:
        return f"#{int(self)}"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PositionKey) and int(self) == int(other)

    def __hash__(self) -> int:
        return hash(("#", int(self)))


def diff_messages(a: list, b: list, path: Path = ("messages",)) -> MessagesDiff | None:
    """Messages diffed by id (a message without one by its position); None when ids repeat (then the caller diffs
    the lists item by item)."""
    if len(a) <= len(b) and all(map(operator.is_, a, b)):
        return _appended_only(a, b, path)
    return _diff_messages_by_id(a, b, path)


def _appended_only(a: list, b: list, path: Path) -> MessagesDiff | None:
    """`diff_messages` when b starts with a's very objects (a step that appended, or none: two states read together
    share their messages): what it finds then, from b's keys alone. A kept message is itself, so it did not change;
    no key of a is missing from b, none moved; b's other messages come after the last kept one: appended."""
    ids_b = [message_key(m, i) for i, m in enumerate(b)]
    if len(set(ids_b)) != len(ids_b):  # (a's keys are b's first ones: a repeat in a is one in b)
        return None
    changes = tuple(MessageChange("appended", ids_b[i], i, new=b[i]) for i in range(len(a), len(b)))
    return MessagesDiff(path, changes, tuple(ids_b), False)


def _diff_messages_by_id(a: list, b: list, path: Path) -> MessagesDiff | None:
    ids_a = [message_key(m, i) for i, m in enumerate(a)]
    ids_b = [message_key(m, i) for i, m in enumerate(b)]
    if len(set(ids_a)) != len(ids_a) or len(set(ids_b)) != len(ids_b):
        return None
    old_by_id = dict(zip(ids_a, a))
    new_ids = set(ids_b)
    changes: list[MessageChange] = []
    for i, (mid, old) in enumerate(zip(ids_a, a)):
        if mid not in new_ids:
            changes.append(MessageChange("removed", mid, i, old=old))
    kept = [mid for mid in ids_b if mid in old_by_id]
    kept_in_old_order = [mid for mid in ids_a if mid in new_ids]
    reordered = kept != kept_in_old_order
    last_kept = max((i for i, mid in enumerate(ids_b) if mid in old_by_id), default=-1)
    for i, (mid, new) in enumerate(zip(ids_b, b)):
        if mid not in old_by_id:
            changes.append(MessageChange("appended" if i > last_kept else "inserted", mid, i, new=new))
            continue
        old = old_by_id[mid]
        if old is new or _packed_equal(old, new):  # the common cases: shared, or ~0.4 us a message to compare
            continue
        if not same(old, new) and not same(message_fields(old), message_fields(new)):
            inner = diff_states(message_fields(old), message_fields(new), message_keys=())
            changes.append(MessageChange("changed", mid, i, old=old, new=new, fields=inner.changes))
        elif not same(old, new):  # same fields, other form (dict vs object): keep b's form
            changes.append(MessageChange("changed", mid, i, old=old, new=new))
    return MessagesDiff(path, tuple(changes), tuple(ids_b), reordered)


# --- apply -----------------------------------------------------------------------------------------------------------

def apply(a: Any, state_diff: StateDiff) -> Any:
    """State `a` with the diff applied (a is not modified): `apply(a, diff_states(a, b)) == b`."""
    result = copy.deepcopy(a)
    for change in state_diff.changes:
        result = _apply_change(result, change)
    for found in state_diff.messages:
        old = _get(result, found.path)
        by_id = {message_key(m, i): m for i, m in enumerate(old)}
        for c in found.changes:
            if c.kind != "removed":
                by_id[c.message_id] = copy.deepcopy(c.new)
        result = _set(result, found.path, [by_id[mid] for mid in found.order])
    return result


def _get(value: Any, path: Path) -> Any:
    for key in path:
        value = value[key]
    return value


def _set(root: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    _get(root, path[:-1])[path[-1]] = new
    return root


def _apply_change(root: Any, change: Change) -> Any:
    if not change.path:
        return copy.deepcopy(change.new) if change.kind != "removed" else None
    container = _get(root, change.path[:-1])
    key = change.path[-1]
    if change.kind == "removed":
        if isinstance(container, list):
            container.pop(key)
        else:
            del container[key]
    elif change.kind == "added" and isinstance(container, list):
        container.append(copy.deepcopy(change.new))
    else:
        container[key] = copy.deepcopy(change.new)
    return root


# --- text ------------------------------------------------------------------------------------------------------------

def path_str(path: Path) -> str:
    """`results.coder`, `messages[3]`, `['odd key']`: a path as one short string."""
    if not path:
        return "(state)"
    out = ""
    for key in path:
        if isinstance(key, int) and not isinstance(key, bool):
            out += f"[{key}]"
        elif isinstance(key, str) and key and key.replace("_", "a").replace("-", "a").isalnum():
            out += f".{key}" if out else key
        else:
            out += f"[{key!r}]"
    return out


def short_value(value: Any, max_chars: int = 80) -> str:
    """A value on one line, cut to max_chars."""
    text = repr(message_fields(value) if not isinstance(value, (str, int, float, bool, type(None))) else value)
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def message_summary(message: Any, max_chars: int = 60) -> str:
    """`ai (coder): Sketch of the code…`: a message's type, name and the start of its content."""
    fields = message_fields(message)
    if isinstance(fields, dict):
        kind = fields.get("type") or fields.get("role") or "message"
        name = fields.get("name")
        content = fields.get("content")
        if isinstance(content, list):  # content blocks
            content = " ".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in content)
        text = " ".join(str(content or "").split())
        if not text and fields.get("tool_calls"):
            text = "tool calls: " + ", ".join(str(c.get("name")) for c in fields["tool_calls"] if isinstance(c, dict))
        head = f"{kind} ({name})" if name else str(kind)
        text = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
        return f"{head}: {text!r}"
    return short_value(message, max_chars)


def render_lines(state_diff: StateDiff, max_value_chars: int = 80) -> list[str]:
    """One line per change: `+ key = value`, `- key (was value)`, `~ key: old -> new`, and per message
    `+ messages: appended ai (coder): '…' [id]`."""
    lines = []
    for c in state_diff.changes:
        where = path_str(c.path)
        if c.kind == "added" and is_message_list(c.new):
            # a messages list that did not exist yet: show its messages, not one long list literal
            lines.extend(f"+ {where}: appended {message_summary(m, max_value_chars)}{_id_tag(message_id(m))}"
                         for m in c.new)
            continue
        if c.kind in ("added", "removed") and looks_like_message(c.new if c.kind == "added" else c.old):
            message = c.new if c.kind == "added" else c.old
            lines.append(f"{'+' if c.kind == 'added' else '-'} {where}: "
                         f"{'appended' if c.kind == 'added' else 'removed'} "
                         f"{message_summary(message, max_value_chars)}{_id_tag(message_id(message))}")
            continue
        if c.kind == "added":
            lines.append(f"+ {where} = {short_value(c.new, max_value_chars)}")
        elif c.kind == "removed":
            lines.append(f"- {where} (was {short_value(c.old, max_value_chars)})")
        else:
            lines.append(f"~ {where}: {short_value(c.old, max_value_chars // 2)} -> "
                         f"{short_value(c.new, max_value_chars // 2)}")
    for m in state_diff.messages:
        where = path_str(m.path)
        for c in m.changes:
            if c.kind in ("appended", "inserted"):
                at = "" if c.kind == "appended" else f" at {c.index}"
                lines.append(f"+ {where}: {c.kind}{at} {message_summary(c.new, max_value_chars)}"
                             f"{_id_tag(c.message_id)}")
            elif c.kind == "removed":
                lines.append(f"- {where}: removed {message_summary(c.old, max_value_chars)}{_id_tag(c.message_id)}")
            else:
                what = ", ".join(path_str(f.path) for f in c.fields) or "form"
                lines.append(f"~ {where}: changed {what} of {message_summary(c.new, max_value_chars)}"
                             f"{_id_tag(c.message_id)}")
        if m.reordered:
            lines.append(f"~ {where}: messages reordered")
    return lines


def _id_tag(mid: Any) -> str:
    """` [id]` after a message line; nothing for a message without an id."""
    return "" if mid is None or isinstance(mid, PositionKey) else f" [{mid}]"
