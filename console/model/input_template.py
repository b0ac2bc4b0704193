"""What a graph takes, read from its JSON Schemas (the server's `get_schemas`): an input template with the required
keys, whether the input holds a list of messages (a chat graph), and a check of input, config and context against
the schemas that says in one line which key fails. Plain Python: a subset of JSON Schema, the part graph schemas use
($ref/$defs, type, required, properties, additionalProperties, items, enum, const, anyOf/oneOf/allOf)."""

from __future__ import annotations

import json
from typing import Any

MESSAGE_ROLES = ("user", "human", "ai", "assistant", "system", "tool", "function", "developer")
MAX_REF_DEPTH = 20
# the keys of a RunnableConfig besides `configurable` (what the server passes through untouched)
CONFIG_KEYS = ("tags", "metadata", "recursion_limit", "run_name", "max_concurrency", "run_id", "callbacks")


class JsonFieldError(ValueError):
    """Text typed into a JSON field that does not parse or is not the kind of value asked for; one line."""


def parse_json_field(text: str, what: str, *, want_object: bool = False) -> Any:
    """The value of a JSON field (empty text: None); a JsonFieldError saying where it does not parse."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFieldError(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") \
            from None
    except RecursionError:
        raise JsonFieldError(f"{what} is nested too deeply") from None
    if want_object and not isinstance(value, dict):
        raise JsonFieldError(f"{what} must be a JSON object ({{...}}), got {_kind(value)}")
    return value


# --- reading a schema ------------------------------------------------------------------------------------------------

def resolve(root: dict, node: Any, depth: int = 0) -> dict:
    """`node` with a local `$ref` (`#/$defs/X`, `#/definitions/X`) followed; anything unreadable is `{}` (no rule)."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < MAX_REF_DEPTH:
        target: Any = root
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node, depth = target, depth + 1
    return node if isinstance(node, dict) else {}


def _options(root: dict, node: dict) -> list[dict]:
    """The alternatives of an anyOf/oneOf, resolved (a node without them is its own only option)."""
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            return [resolve(root, option) for option in node[key]]
    return [node]


def _types(node: dict) -> list[str]:
    kind = node.get("type")
    return [kind] if isinstance(kind, str) else [k for k in kind if isinstance(k, str)] if isinstance(kind, list) \
        else []


def _looks_like_message(root: dict, node: dict, depth: int = 0) -> bool:
    """An item schema of a message list: LangChain's message classes (AIMessage, HumanMessage...) or an object with
    `content` and a `type` or `role`."""
    options = _options(root, node)
    if len(options) > 1 or options[0] is not node:
        return depth < 3 and any(_looks_like_message(root, o, depth + 1) for o in options)
    title = str(node.get("title") or "")
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    if title.endswith("Message") or title.endswith("MessageChunk"):
        return True
    return "content" in props and ("type" in props or "role" in props)


def message_key(schema: dict | None) -> str | None:
    """The input's property that holds a list of messages (`messages` first), or None."""
    if not isinstance(schema, dict):
        return None
    root = schema
    props = resolve(root, schema).get("properties") or {}
    keys = sorted(props, key=lambda k: (k != "messages", k))
    for key in keys:
        prop = resolve(root, props[key])
        for option in _options(root, prop):
            if "array" in _types(option) and _looks_like_message(root, resolve(root, option.get("items") or {})):
                return key
    return None


def is_chat(schema: dict | None) -> bool:
    """A graph that is talked to: its message list is required, or it is the only thing the input takes."""
    key = message_key(schema)
    if key is None:
        return False
    node = resolve(schema, schema)
    return key in (node.get("required") or []) or list(node.get("properties") or {}) == [key]


def user_message(text: str) -> dict:
    """One user message as the server takes it in an input."""
    return {"role": "user", "content": text}


def chat_input(text: str, key: str = "messages", base: dict | None = None) -> dict:
    """An input that sends one user message under `key` (other keys from `base` kept)."""
    return {**(base or {}), key: [user_message(text)]}


# --- template ---------------------------------------------------------------------------------------------------

def empty_value(root: dict, node: Any, depth: int = 0) -> Any:
    """A sensible empty value for a schema: its default or const, the first enum value, "" / 0 / false / [] / {},
    an object with its own required keys filled; for a union, the first option that is not null."""
    node = resolve(root, node)
    if depth > MAX_REF_DEPTH:
        return None
    if "default" in node:
        return node["default"]
    if "const" in node:
        return node["const"]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return node["enum"][0]
    options = _options(root, node)
    if len(options) > 1 or options[0] is not node:
        chosen = next((o for o in options if _types(o) != ["null"]), options[0] if options else {})
        return empty_value(root, chosen, depth + 1)
    types = [t for t in _types(node) if t != "null"] or _types(node)
    kind = types[0] if types else ("object" if "properties" in node else None)
    if kind == "object":
        props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
        return {key: empty_value(root, props.get(key, {}), depth + 1) for key in node.get("required") or []
                if isinstance(key, str)}
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "null": None}.get(kind, None)


def input_template(schema: dict | None) -> dict:
    """The input to prefill: the required keys with empty values; in a chat graph its message list is left to the
    chat box."""
    if not isinstance(schema, dict):
        return {}
    node = resolve(schema, schema)
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    template = {key: empty_value(schema, props.get(key, {})) for key in node.get("required") or []
                if isinstance(key, str)}
    key = message_key(schema)
    if key is not None and is_chat(schema):
        template.pop(key, None)
    return template


def describe_keys(schema: dict | None, limit: int = 12) -> str:
    """The input's keys and their kinds in one line ("topic: string, delay: number*" where * is required)."""
    if not isinstance(schema, dict):
        return ""
    node = resolve(schema, schema)
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    required = set(node.get("required") or [])
    parts = []
    for key, prop in list(props.items())[:limit]:
        kinds = [k for o in _options(schema, resolve(schema, prop)) for k in _types(o) if k != "null"]
        parts.append(f"{key}{'*' if key in required else ''}: {'|'.join(dict.fromkeys(kinds)) or 'any'}")
    more = f", … {len(props) - limit} more" if len(props) > limit else ""
    return ", ".join(parts) + more


# --- validation --------------------------------------------------------------------------------------------------

def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is(value: Any, kind: str) -> bool:
    return {"string": isinstance(value, str), "boolean": isinstance(value, bool), "null": value is None,
            "integer": isinstance(value, int) and not isinstance(value, bool)
            or isinstance(value, float) and value.is_integer(),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "array": isinstance(value, list), "object": isinstance(value, dict)}.get(kind, True)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:39] + "…"


def _where(path: tuple) -> str:
    return ".".join(_key(p) for p in path) if path else "the value"


def _key(key: Any) -> str:
    """A key as a message quotes it: control characters escaped (a key may hold a newline; a message is one line)."""
    return json.dumps(str(key), ensure_ascii=False)[1:-1]


def schema_error(value: Any, schema: Any, root: dict | None = None, path: tuple = (), depth: int = 0) -> str | None:
    """The first place where `value` breaks `schema`, as "'key.sub' should be a string, got 3"; None if it fits."""
    root = root if root is not None else schema if isinstance(schema, dict) else {}
    node = resolve(root, schema)
    if not node or depth > 2 * MAX_REF_DEPTH:
        return None
    where = f"'{_where(path)}'" if path else "the value"
    if "const" in node and value != node["const"]:
        return f"{where} should be {_short(node['const'])}, got {_short(value)}"
    if isinstance(node.get("enum"), list) and value not in node["enum"]:
        return f"{where} should be one of {', '.join(_short(v) for v in node['enum'][:8])}, got {_short(value)}"
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list) and node[key]:
            errors = [schema_error(value, option, root, path, depth + 1) for option in node[key]]
            if all(errors):
                return errors[0] if len(errors) == 1 else _union_error(where, root, node[key], value, errors)
    for part in node.get("allOf") or []:
        error = schema_error(value, part, root, path, depth + 1)
        if error:
            return error
    types = _types(node)
    if types and not any(_is(value, t) for t in types):
        wanted = " or ".join(("an object" if t == "object" else "a list" if t == "array" else
                              "an integer" if t == "integer" else f"a {t}") for t in types)
        return f"{where} should be {wanted}, got {_kind(value)} {_short(value)}"
    if isinstance(value, dict):
        return _object_error(value, node, root, path, depth)
    if isinstance(value, list) and node.get("items") is not None:
        for i, item in enumerate(value):
            error = schema_error(item, node["items"], root, (*path, i), depth + 1)
            if error:
                return error
    return None


def _union_error(where: str, root: dict, options: list, value: Any, errors: list[str]) -> str:
    """A value that fits no alternative: the error of the alternative of its own kind, else the kinds wanted."""
    for option, error in zip(options, errors):
        if any(_is(value, t) for t in _types(resolve(root, option))):
            return error
    kinds = [t for o in options for t in _types(resolve(root, o))]
    wanted = " or ".join(dict.fromkeys(kinds)) or "one of the allowed forms"
    return f"{where} should be {wanted}, got {_kind(value)} {_short(value)}"


def _object_error(value: dict, node: dict, root: dict, path: tuple, depth: int) -> str | None:
    props = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    for key in node.get("required") or []:
        if key not in value:
            return f"'{_where((*path, key))}' is required"
    extra = node.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            error = schema_error(item, props[key], root, (*path, key), depth + 1)
        elif extra is False:
            known = ", ".join(list(props)[:10])
            error = f"'{_where((*path, key))}' is not a known key" + (f" (known: {known})" if known else "")
        elif isinstance(extra, dict):
            error = schema_error(item, extra, root, (*path, key), depth + 1)
        else:
            error = None
        if error:
            return error
    return None


def check_input(value: Any, schema: dict | None) -> str | None:
    """One line when the input does not fit the graph's input schema ("input: 'topic' should be a string, got 3")."""
    if not isinstance(schema, dict) or value is None:
        return None
    error = schema_error(value, schema)
    return f"input: {error}" if error else None


def unknown_input_keys(value: Any, schema: dict | None) -> str | None:
    """One line when the input object has keys the graph's input schema does not name (the graph takes only its
    state's channels: LangGraph drops the others without a word), listing the schema's keys; None otherwise."""
    import difflib

    if not isinstance(value, dict) or not isinstance(schema, dict):
        return None
    node = resolve(schema, schema)
    props = node.get("properties")
    if not isinstance(props, dict) or not props or node.get("patternProperties") \
            or isinstance(node.get("additionalProperties"), dict):
        return None  # a schema that names no keys, or takes any key of a pattern: nothing to compare with
    unknown = [str(k) for k in value if k not in props]
    if not unknown:
        return None
    close = difflib.get_close_matches(unknown[0], [str(k) for k in props], n=1)
    hint = f" (did you mean '{_key(close[0])}'?)" if close else ""
    shown = ", ".join(_key(k) for k in list(props)[:20]) + (", …" if len(props) > 20 else "")
    which = ", ".join(f"'{_key(k[:40])}'" for k in unknown[:5])
    which += f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    many = len(unknown) > 1
    return (f"input key{'s' if many else ''} {which} {'are' if many else 'is'} not in the graph's input schema{hint}, "
            f"so the graph never sees {'them' if many else 'it'}; its keys: {shown}")


def check_config(value: Any, schema: dict | None) -> str | None:
    """A run config: an object whose `configurable` fits the graph's config schema."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"config must be a JSON object, got {_kind(value)}"
    configurable = value.get("configurable", {})
    if not isinstance(configurable, dict):
        return f"config: 'configurable' should be an object, got {_kind(configurable)}"
    unknown = [k for k in value if k != "configurable" and k not in CONFIG_KEYS]
    if unknown:
        key = _key(unknown[0])
        return (f"config: '{key}' is not a run config key (use configurable.{key}, or one of: "
                f"configurable, {', '.join(CONFIG_KEYS[:4])})")
    if "configurable" not in value or not isinstance(schema, dict):
        return None
    # the keys given are checked, none is required: the server's config schema mirrors a graph's context schema,
    # whose keys come with the context
    optional = {k: v for k, v in resolve(schema, schema).items() if k != "required"}
    error = schema_error(configurable, optional, root=schema, path=("configurable",))
    return f"config: {error}" if error else None


def check_context(value: Any, schema: dict | None) -> str | None:
    """A run context: a JSON object that fits the graph's context schema."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"context must be a JSON object, got {_kind(value)}"
    error = schema_error(value, schema) if isinstance(schema, dict) else None
    return f"context: {error}" if error else None
