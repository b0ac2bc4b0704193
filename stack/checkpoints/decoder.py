"""Decode checkpoint blobs safely: msgpack (ormsgpack) and legacy json rows, never pickle, never an import of the
user's graph code. Values of types outside langgraph's strict allowlist come back as labelled placeholders, not
crashes; `jsonable` turns decoded values into what `--json` prints."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from lgconsole.stack.services.service import one_line

PLACEHOLDER_KEY = "__lgconsole_unknown__"


def placeholder(label: str, reason: str, **extra: Any) -> dict:
    """The stand-in for a value that is not decoded: `{"__lgconsole_unknown__": label, "reason": ..., ...}`."""
    return {PLACEHOLDER_KEY: label, "reason": reason, **extra}


def is_placeholder(value: Any) -> bool:
    return isinstance(value, dict) and PLACEHOLDER_KEY in value


_EXT_CONSTRUCTOR_SINGLE_ARG = 0
_EXT_CONSTRUCTOR_POS_ARGS = 1
_EXT_CONSTRUCTOR_KW_ARGS = 2
_EXT_METHOD_SINGLE_ARG = 3
_EXT_PYDANTIC_V1 = 4
_EXT_PYDANTIC_V2 = 5
_EXT_NUMPY_ARRAY = 6
_EXT_DELTA_SNAPSHOT = 7
_CONSTRUCTOR_CODES = frozenset({_EXT_CONSTRUCTOR_SINGLE_ARG, _EXT_CONSTRUCTOR_POS_ARGS, _EXT_CONSTRUCTOR_KW_ARGS,
                                _EXT_METHOD_SINGLE_ARG, _EXT_PYDANTIC_V1, _EXT_PYDANTIC_V2})


class _BlockedEvents(threading.local):
    """Serde events of the decode running on this thread (the listener is process-wide)."""

    def __init__(self) -> None:
        self.sink: list[str] | None = None
        # while SafeDecoder.sharing() is on: (ext code, bytes) -> (the value decoded from them, its labels)
        self.shared: dict[tuple[int, bytes], tuple[Any, tuple[str, ...]]] | None = None


_events = _BlockedEvents()
_listener_lock = threading.Lock()
_listener_registered = False


def _on_serde_event(event: dict) -> None:
    sink = _events.sink
    if sink is not None and str(event.get("kind", "")).endswith("blocked"):
        sink.append(f"{event.get('module')}.{event.get('name')}")


class SafeDecoder:
    """Decodes checkpoint blobs without unpickling and without importing modules outside langgraph's allowlist.

    msgpack ext values are unpacked here, one level at a time, so each blocked value is replaced in place by a
    placeholder naming its class (`{"__lgconsole_unknown__": "pkg.mod.Class", "reason": "blocked", "fields": ...}`).
    LangChain messages and langgraph's own types become plain dicts (a message keeps `id`, `type`, `content`, ...);
    stdlib values on the allowlist (datetime, UUID, Decimal, set, ...) are built by langgraph's strict serializer,
    `JsonPlusSerializer(allowed_msgpack_modules=None)`, whose serde events are captured too.
    """

    def __init__(self) -> None:
        import ormsgpack
        from langgraph.checkpoint.serde import _msgpack as lg_msgpack

        self._ormsgpack = ormsgpack
        self._unpackb = ormsgpack.unpackb  # (these three looked up once: _unpack runs once per message)
        self._hook = self._ext_hook
        self._option = ormsgpack.OPT_NON_STR_KEYS
        self._safe_types = lg_msgpack.SAFE_MSGPACK_TYPES
        self._safe_methods = lg_msgpack.SAFE_MSGPACK_METHODS
        self._strict_serde = None
        self._strict_lock = threading.Lock()
        # (module, name, ext code) of the allowed kinds whose value is their fields as they are (messages, ...)
        self._fields_kinds: set[tuple[str, str, int]] = set()

    @property
    def _strict(self):
        """langgraph's strict serializer, built on first need: its module imports langchain_core (~0.3 s), which
        messages, Sends and interrupts (the common values, unpacked here) never need."""
        if self._strict_serde is None:
            with self._strict_lock:
                if self._strict_serde is None:
                    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

                    self._register_listener()
                    self._strict_serde = JsonPlusSerializer(allowed_msgpack_modules=None)
        return self._strict_serde

    @staticmethod
    def _register_listener() -> None:
        global _listener_registered
        with _listener_lock:
            if not _listener_registered:
                from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

                register_serde_event_listener(_on_serde_event)
                _listener_registered = True

    @contextmanager
    def sharing(self) -> Iterator[None]:
        """Within the block (on this thread), an ext value (a message, a Send, ...) whose bytes were decoded before
        in the block is not decoded again: it is the same object, and it gives the same labels. Two states of one
        thread hold mostly the same messages: they are decoded once, and a diff passes them by identity. Values
        decoded in the block must not be changed in place (they may be shared)."""
        if _events.shared is not None:  # inside an outer block: its memo goes on
            yield
            return
        _events.shared = {}
        try:
            yield
        finally:
            _events.shared = None

    def decode(self, type_: str | None, data: bytes | memoryview | None, labels: list[str] | None = None,
               share: bool = True) -> Any:
        """One stored value; never raises. `labels` collects the labels of the placeholders produced. `share=False`:
        not through (nor into) the memo of a `sharing()` block (a value no other one in the block repeats)."""
        found: list[str] = [] if labels is None else labels
        previous, _events.sink = _events.sink, found
        shared = _events.shared
        if not share:
            _events.shared = None
        try:
            return self._decode(type_, bytes(data) if data is not None else None, found)
        except RecursionError:
            found.append("corrupt")
            return placeholder("corrupt", "corrupt", type=type_, size=len(data or b""), error="nested too deeply")
        finally:
            _events.sink = previous
            _events.shared = shared

    def decode_list_prefix(self, data: bytes, labels: list[str]) -> list | None:
        """A msgpack array blob, decoded as `decode` decodes it, when its elements are exactly its bytes after the
        header (msgpack readers ignore bytes past the last element, so another blob that starts with these bytes
        holds these elements first, then its own); None when not (`decode` it then). A random sentinel after the
        bytes must be the one element past them: junk after the elements would be read in its place."""
        head = array_header(data)
        if head is None:
            return None
        count, size = head
        found: list[str] = []
        value = self._unpack_apart(pack_array_header(count + 1) + data[size:] + _SENTINEL, found)
        if not (isinstance(value, list) and len(value) == count + 1 and value[-1] == _SENTINEL_VALUE):
            return None  # (malformed too: `decode` says how)
        labels.extend(found)
        del value[-1]
        return value

    def decode_list_tail(self, base: list, data: bytes, start: int, labels: list[str]) -> list | None:
        """A msgpack array blob whose bytes up to `start` are its header and `base`'s elements (decoded by
        `decode_list_prefix` from a shorter blob): `base`'s elements, the same objects, then those of its bytes from
        `start`; None when those bytes do not hold the rest of its elements (`decode` it then)."""
        head = array_header(data)
        if head is None or head[0] < len(base):
            return None
        found: list[str] = []
        tail = self._unpack_apart(pack_array_header(head[0] - len(base)) + data[start:], found)
        if not isinstance(tail, list) or len(tail) != head[0] - len(base):
            return None
        labels.extend(found)
        return base + tail

    def _unpack_apart(self, data: bytes, found: list[str]) -> Any:
        """`data` unpacked outside any `sharing()` memo, its placeholders' labels into `found`; None when malformed."""
        previous, shared, _events.sink, _events.shared = _events.sink, _events.shared, found, None
        try:
            return self._unpack(data)
        except Exception:
            return None
        finally:
            _events.sink, _events.shared = previous, shared

    def _decode(self, type_: str | None, data: bytes | None, found: list[str]) -> Any:
        size = len(data or b"")
        if type_ in (None, "null") and not data:
            return None
        if type_ == "empty":
            return None
        if type_ == "bytes":
            return data
        if type_ == "bytearray":
            return bytearray(data or b"")
        if type_ == "pickle":
            found.append("pickle")
            return placeholder("pickle", "pickle is never unpickled", size=size)
        if type_ == "msgpack":
            try:
                return self._unpack(data)
            except Exception as exc:  # malformed bytes: say so, keep going
                found.append("corrupt")
                return placeholder("corrupt", "corrupt", type=type_, size=size, error=one_line(exc))
        if type_ == "json":
            try:
                return _plain(self._strict.loads_typed((type_, data or b"")))
            except Exception as exc:
                found.append("corrupt")
                return placeholder("corrupt", "corrupt", type=type_, size=size, error=one_line(exc))
        label = str(type_)
        found.append(label)
        return placeholder(label, "unknown serialization type", size=size)

    def _unpack(self, data: bytes) -> Any:
        return self._unpackb(data, ext_hook=self._hook, option=self._option)

    def _ext_hook(self, code: int, data: bytes) -> Any:
        shared = _events.shared
        if shared is None:  # (the hot path: once per message)
            return self._constructor_value(code, data) if code in _CONSTRUCTOR_CODES else self._ext_value(code, data)
        key = (code, data)
        hit = shared.get(key)
        sink = _events.sink
        if hit is not None:
            if hit[1] and sink is not None:
                sink.extend(hit[1])
            return hit[0]
        start = len(sink) if sink is not None else 0
        value = self._ext_value(code, data)
        shared[key] = (value, tuple(sink[start:]) if sink is not None and len(sink) > start else ())
        return value

    def _ext_value(self, code: int, data: bytes) -> Any:
        if code == _EXT_DELTA_SNAPSHOT:
            return self._unpack(data)
        if code == _EXT_NUMPY_ARRAY:
            try:
                dtype, shape = self._ormsgpack.unpackb(data)[:2]
                _sink().append("numpy.ndarray")
                return placeholder("numpy.ndarray", "not decoded", dtype=str(dtype), shape=list(shape))
            except Exception as exc:
                return _corrupt_ext(code, data, exc)
        if code not in _CONSTRUCTOR_CODES:
            _sink().append(f"ext{code}")
            return placeholder(f"ext{code}", "unknown msgpack extension", size=len(data))
        return self._constructor_value(code, data)

    def _constructor_value(self, code: int, data: bytes) -> Any:
        """The value of a constructor ext (`[module, name, payload, ...]`): a kind seen before whose value is its
        fields gives them at once; any other is checked against the allowlist."""
        try:
            tup = self._unpackb(data, ext_hook=self._hook, option=self._option)
            module, name, payload = tup[0], tup[1], tup[2]
            if not (isinstance(module, str) and isinstance(name, str)):
                raise ValueError("no class name")
        except Exception as exc:
            return _corrupt_ext(code, data, exc)
        if (module, name, code) in self._fields_kinds:
            return payload
        if (module, name) not in self._safe_types or (
            code == _EXT_METHOD_SINGLE_ARG and (module, name, tup[3] if len(tup) > 3 else None) not in self._safe_methods
        ):
            label = f"{module}.{name}"
            _sink().append(label)
            return placeholder(label, "blocked", fields=payload)
        if code in (_EXT_PYDANTIC_V1, _EXT_PYDANTIC_V2) or module.startswith(("langchain_core.", "langgraph.")):
            # Messages, documents and langgraph's own records: their fields, as plain data.
            if name == "Send" and module == "langgraph.types":
                if not (isinstance(payload, (list, tuple)) and payload):
                    return payload
                send = {"node": payload[0], "arg": payload[1] if len(payload) > 1 else None}
                if len(payload) > 2:
                    send["timeout"] = payload[2]
                return send
            if code != _EXT_METHOD_SINGLE_ARG:  # (whose method is checked each time)
                self._fields_kinds.add((module, name, code))
            return payload
        try:  # datetime, UUID, Decimal, set, ...: built by strict mode, which imports nothing off its allowlist
            return self._strict.loads_typed(("msgpack", self._ormsgpack.packb(self._ormsgpack.Ext(code, data))))
        except Exception as exc:
            return _corrupt_ext(code, data, exc)


_SENTINEL_VALUE = "lgconsole-end-" + os.urandom(16).hex()  # one per process: no stored bytes can forge it
_SENTINEL = b"\xd9" + bytes([len(_SENTINEL_VALUE)]) + _SENTINEL_VALUE.encode()  # msgpack str8


def array_header(data: bytes) -> tuple[int, int] | None:
    """(element count, header size) of a msgpack array's bytes; None when they are not an array."""
    if not data:
        return None
    first = data[0]
    if 0x90 <= first <= 0x9F:
        return first & 0x0F, 1
    if first == 0xDC and len(data) >= 3:
        return int.from_bytes(data[1:3], "big"), 3
    if first == 0xDD and len(data) >= 5:
        return int.from_bytes(data[1:5], "big"), 5
    return None


def pack_array_header(count: int) -> bytes:
    if count < 16:
        return bytes([0x90 | count])
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def _corrupt_ext(code: int, data: bytes, exc: Exception) -> dict:
    _sink().append("corrupt")
    return placeholder("corrupt", "corrupt", ext=code, size=len(data), error=one_line(exc))


def _sink() -> list[str]:
    """Where the labels of this thread's decode go (a throwaway list outside a decode)."""
    return _events.sink if _events.sink is not None else []


def _plain(value: Any) -> Any:
    """LangChain objects revived from legacy `json` rows, as plain dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return _plain(dump())
        except Exception:
            return placeholder(f"{type(value).__module__}.{type(value).__name__}", "not decoded")
    return value


_decoder: SafeDecoder | None = None
_decoder_lock = threading.Lock()


def get_decoder() -> SafeDecoder:
    """The process's decoder, built on first use."""
    global _decoder
    with _decoder_lock:
        if _decoder is None:
            _decoder = SafeDecoder()
        return _decoder


def decode_value(type_: str | None, data: bytes | memoryview | None, labels: list[str] | None = None) -> Any:
    return get_decoder().decode(type_, data, labels)


def jsonable(value: Any) -> Any:
    """Decoded values as JSON-compatible data for `--json` (datetimes as ISO text, sets as lists, bytes by size)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return {"__lgconsole_bytes__": len(raw), "head": raw[:32].hex()}
    if isinstance(value, datetime):
        return value.isoformat()
    iso = getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return jsonable(dump())
        except Exception:
            pass
    pattern = getattr(value, "pattern", None)
    if isinstance(pattern, str):
        return pattern
    return str(value)


# --- a Send's node from the first bytes of its blob -------------------------------------------------------------------

def _read_str(buf: bytes, pos: int) -> tuple[str, int]:
    tag = buf[pos]
    if 0xA0 <= tag <= 0xBF:
        n, pos = tag & 0x1F, pos + 1
    elif tag == 0xD9:
        n, pos = buf[pos + 1], pos + 2
    elif tag == 0xDA:
        n, pos = int.from_bytes(buf[pos + 1:pos + 3], "big"), pos + 3
    elif tag == 0xDB:
        n, pos = int.from_bytes(buf[pos + 1:pos + 5], "big"), pos + 5
    else:
        raise ValueError("not a string")
    if pos + n > len(buf):
        raise ValueError("truncated")
    return buf[pos:pos + n].decode("utf-8"), pos + n


def _read_array_header(buf: bytes, pos: int) -> tuple[int, int]:
    tag = buf[pos]
    if 0x90 <= tag <= 0x9F:
        return tag & 0x0F, pos + 1
    if tag == 0xDC:
        return int.from_bytes(buf[pos + 1:pos + 3], "big"), pos + 3
    if tag == 0xDD:
        return int.from_bytes(buf[pos + 1:pos + 5], "big"), pos + 5
    raise ValueError("not an array")


def send_node_from_prefix(prefix: bytes | memoryview | None) -> str | None:
    """The node name of a msgpack `Send` from the first bytes of its blob, without decoding the state it carries."""
    if not prefix:
        return None
    buf = bytes(prefix)
    try:
        tag, pos = buf[0], 1
        if 0xD4 <= tag <= 0xD8:  # fixext 1..16
            pos += 1
        elif tag == 0xC7:
            pos += 2
        elif tag == 0xC8:
            pos += 3
        elif tag == 0xC9:
            pos += 5
        else:
            return None
        if buf[pos - 1] != _EXT_CONSTRUCTOR_POS_ARGS:
            return None
        n, pos = _read_array_header(buf, pos)
        if n < 3:
            return None
        module, pos = _read_str(buf, pos)
        name, pos = _read_str(buf, pos)
        if (module, name) != ("langgraph.types", "Send"):
            return None
        _, pos = _read_array_header(buf, pos)
        node, _ = _read_str(buf, pos)
        return node
    except (IndexError, ValueError, UnicodeDecodeError):
        return None
