"""Threads whose latest state holds a message with given words: SQL finds the head blobs (and the head's pending
writes) whose bytes hold each word, then decoding confirms that the word is in a message's text, not in another
field, key or value.

The state read is the thread's newest root checkpoint, as `get_state` reads it: its channels' blobs plus the writes
of tasks that finished on it. A channel counts when its decoded value is a list of messages (any name: `messages`,
`__root__`, a custom key). A thread whose head carries DeltaChannel counters is read in full (its messages are a
snapshot plus later writes), after SQL found the word anywhere in its state rows. Matching ignores case.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lgconsole.stack.checkpoints.decoder import get_decoder
from lgconsole.stack.checkpoints.replay import apply_writes, finished_writes
from lgconsole.stack.checkpoints.states import raw_values
from lgconsole.stack.checkpoints.writes import NULL_TASK_ID, WriteRow, internal_channel

DELTA_COUNTERS = "counters_since_delta_snapshot"


def state_channel_sql(column: str) -> str:
    """Whether `column` names a state channel (writes.internal_channel in SQL; no `%`, the query has parameters)."""
    return (f"({column} = '__root__' OR NOT (starts_with({column}, '__') OR starts_with({column}, 'branch:') "
            f"OR starts_with({column}, 'join:') OR starts_with({column}, 'start:')))")


def needles(word: str) -> list[str]:
    """What the SQL looks for in `lower(encode(blob, 'escape'))`, any one found: the word's UTF-8 bytes as `escape`
    writes them (bytes >= 0x80 as `\\ooo`, `\\` doubled), lower-cased (only ASCII letters change). That finds every
    case of an ASCII word and any word without cased letters outside ASCII; for one with them (`Ärger`), its
    longest ASCII run is looked for instead (`rger`), else each of its usual casings."""
    def escaped(text: str) -> str:
        return "".join(chr(b) if 0 < b < 0x80 and b != 0x5C else ("\\\\" if b == 0x5C else f"\\{b:03o}")
                       for b in text.encode("utf-8")).lower()

    if all(ord(c) < 0x80 or c.lower() == c.upper() for c in word):
        return [escaped(word)]
    runs = sorted(("".join(c if ord(c) < 0x80 else " " for c in word)).split(), key=len, reverse=True)
    if runs:
        return [escaped(runs[0])]
    return sorted({escaped(w) for w in (word, word.lower(), word.upper(), word.title())})


def _any_word_sql(column: str, words: list[str], params: dict) -> str:
    """SQL true when `column`'s bytes may hold at least one of the words (a thread's row may hold one word and
    another row the next). Each word is found by any of its needles; they go into `params`."""
    each = []
    for i, word in enumerate(words):
        alternatives = []
        for j, needle in enumerate(needles(word)):
            params[f"w{i}_{j}"] = needle
            # COLLATE "C": the escaped text is ASCII, and lower() then takes its byte-wise path (2x faster)
            alternatives.append(f"strpos(lower(encode({column}, 'escape') COLLATE \"C\"), %(w{i}_{j})s) > 0")
        each.append(f"({' OR '.join(alternatives)})")
    return " OR ".join(each)


def _search_sql(words: list[str], restrict: bool) -> tuple[str, dict]:
    params: dict = {"null_task": NULL_TASK_ID}
    blob_any = _any_word_sql("b.blob", words, params)
    write_any = _any_word_sql("w.blob", words, params)
    only = "AND thread_id = ANY(%(threads)s)" if restrict else ""
    # A list (msgpack array) or an ext value (a DeltaChannel snapshot) as a blob; a message or a list as a write.
    list_blob = "(get_byte(b.blob, 0) BETWEEN 144 AND 159 OR get_byte(b.blob, 0) IN (199, 200, 201, 212, 213, 214, " \
                "215, 216, 220, 221))"
    # Each blob and write is fetched by its key first, and only then searched (OFFSET 0 keeps the search out of the
    # index scan: pushed down, it reads every version of every channel of the thread, not just the head's).
    sql = f"""
        WITH head_ids AS (
            SELECT thread_id, max(checkpoint_id) AS checkpoint_id FROM checkpoints
            WHERE checkpoint_ns = '' {only} GROUP BY thread_id
        ), heads AS (
            SELECT c.thread_id, c.checkpoint_id, c.checkpoint -> 'channel_versions' AS versions,
                   coalesce(c.metadata ? '{DELTA_COUNTERS}', false) AS delta
            FROM head_ids i JOIN checkpoints c ON c.thread_id = i.thread_id AND c.checkpoint_ns = ''
                AND c.checkpoint_id = i.checkpoint_id)
        SELECT h.thread_id, 'blob', v.key, b.type, b.blob, NULL, NULL, NULL
        FROM heads h
        CROSS JOIN LATERAL jsonb_each_text(coalesce(h.versions, '{{}}'::jsonb)) v(key, version)
        CROSS JOIN LATERAL (
            SELECT b.type, b.blob FROM checkpoint_blobs b
            WHERE b.thread_id = h.thread_id AND b.checkpoint_ns = '' AND b.channel = v.key AND b.version = v.version
              AND b.type IN ('msgpack', 'json') OFFSET 0) b
        WHERE NOT h.delta AND {state_channel_sql("v.key")} AND octet_length(b.blob) > 0 AND {list_blob}
          AND ({blob_any})
        UNION ALL
        SELECT h.thread_id, 'write', w.channel, w.type, w.blob, w.task_id, w.task_path, w.idx
        FROM heads h
        CROSS JOIN LATERAL (
            SELECT w.channel, w.type, w.blob, w.task_id, w.task_path, w.idx FROM checkpoint_writes w
            WHERE w.thread_id = h.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = h.checkpoint_id
              AND w.task_id <> %(null_task)s AND w.type IN ('msgpack', 'json') OFFSET 0) w
        WHERE NOT h.delta AND {state_channel_sql("w.channel")} AND ({write_any})
        UNION ALL
        SELECT h.thread_id, 'delta', NULL, NULL, NULL, NULL, NULL, NULL
        FROM heads h
        WHERE h.delta
          AND (EXISTS (SELECT 1 FROM (SELECT b.channel, b.blob FROM checkpoint_blobs b
                                      WHERE b.thread_id = h.thread_id AND b.checkpoint_ns = '' OFFSET 0) b
                       WHERE {state_channel_sql("b.channel")} AND ({blob_any}))
               OR EXISTS (SELECT 1 FROM (SELECT w.channel, w.blob FROM checkpoint_writes w
                                         WHERE w.thread_id = h.thread_id AND w.checkpoint_ns = '' OFFSET 0) w
                          WHERE {state_channel_sql("w.channel")} AND ({write_any})))"""
    return sql, params


# --- what counts as a message's text -----------------------------------------------------------------------------

def message_text(item: Any) -> str | None:
    """The text of a decoded message (a message's fields, a serialized LangChain message, a `role`/`content` dict):
    its content when a string, else its text blocks joined; None when `item` is not a message."""
    if not isinstance(item, dict):
        return None
    if item.get("lc") == 1 and item.get("type") == "constructor" and isinstance(item.get("kwargs"), dict):
        item = item["kwargs"]
    if not (("type" in item or "role" in item) and "content" in item):
        return None
    content = item["content"]
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str) and \
                    block.get("type", "text") in ("text", "text-plain"):
                parts.append(block["text"])
        return "\n".join(parts)
    return ""


def message_texts(value: Any) -> list[str]:
    """The texts of a message list (a channel's value or a write: one message or several); [] for anything else."""
    if isinstance(value, dict) and set(value) == {"__overwrite__"}:
        value = value["__overwrite__"]
    items = value if isinstance(value, list) else [value]
    texts = [message_text(m) for m in items]
    return [t for t in texts if t is not None] if items and all(t is not None for t in texts) else []


def holds_words(texts: Iterable[str], words: list[str]) -> bool:
    """Every word in at least one of the texts, compared lower-cased (`lower`, not `casefold`: what a byte search
    can find, so `STRASSE` does not find `Straße`)."""
    lowered = [t.lower() for t in texts]
    return all(any(w.lower() in t for t in lowered) for w in words)


# --- the search ------------------------------------------------------------------------------------------------------

def threads_with_message_text(db: Any, words: Iterable[str], thread_ids: list[str] | None = None) -> list[str]:
    """The threads (sorted ids) whose latest state has messages holding every one of `words`; only among
    `thread_ids` when given. `db`: a CheckpointDb (its READ ONLY transaction)."""
    wanted = [w for w in dict.fromkeys(words) if w]
    if not wanted:
        return sorted(thread_ids) if thread_ids is not None else []
    sql, params = _search_sql(wanted, thread_ids is not None)
    if thread_ids is not None:
        params["threads"] = list(thread_ids)
    decoder = get_decoder()
    texts: dict[str, list[str]] = {}
    writes: dict[str, list[WriteRow]] = {}
    blobs: dict[str, dict[str, Any]] = {}
    delta: list[str] = []
    with db.transaction() as conn:
        for thread_id, kind, channel, type_, blob, task_id, task_path, idx in conn.execute(sql, params):
            if kind == "delta":
                delta.append(thread_id)
            elif kind == "blob":
                blobs.setdefault(thread_id, {})[channel] = decoder.decode(type_, blob)
            else:
                writes.setdefault(thread_id, []).append(
                    WriteRow("", "", task_id, task_path or "", idx, channel, type_, blob))
        for thread_id in set(blobs) | set(writes):
            values = dict(blobs.get(thread_id, {}))
            done, _ = finished_writes(writes.get(thread_id, []), lambda w: decoder.decode(w.type, w.blob))
            for channel, value in done:  # a write's own messages count, and so do those it adds to a list
                texts.setdefault(thread_id, []).extend(message_texts(value))
            apply_writes(values, [(ch, v) for ch, v in done if ch in values])
            for value in values.values():
                texts.setdefault(thread_id, []).extend(message_texts(value))
        for thread_id in delta:
            texts[thread_id] = _delta_head_texts(conn, thread_id)
    return sorted(t for t, found in texts.items() if holds_words(found, wanted))


def _delta_head_texts(conn: Any, thread_id: str) -> list[str]:
    """The message texts of a DeltaChannel thread's newest root checkpoint, its channels rebuilt as the reader does."""
    row = conn.execute(
        """SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata FROM checkpoints
           WHERE thread_id = %s AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1""", (thread_id,)).fetchone()
    if row is None:
        return []
    checkpoint = row[3] if isinstance(row[3], dict) else {}
    blobs = conn.execute(
        """SELECT b.channel, b.type, b.blob FROM jsonb_each_text(%s::jsonb) v(channel, version)
           JOIN checkpoint_blobs b ON b.thread_id = %s AND b.checkpoint_ns = '' AND b.channel = v.channel
               AND b.version = v.version""",
        (_json(checkpoint.get("channel_versions") or {}), thread_id)).fetchall()
    decoder = get_decoder()
    raw = raw_values(conn, thread_id, (row[0], row[1], row[2], checkpoint, row[4] or {}),
                     {channel: decoder.decode(type_, blob) for channel, type_, blob in blobs}, [])
    return [t for ch, value in raw.items() if not internal_channel(ch) for t in message_texts(value)]


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
