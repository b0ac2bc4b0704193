"""What the Threads screen shows, as plain data, and where it comes from.

`ThreadsSource` reads the checkpoint tables (blocking: call it from thread workers only), probes the LangGraph
server, and does time travel through it (async). The functions below turn the reader's records into the rows the
widgets take; they do no I/O, so snapshots feed them fixed records.
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from lgconsole.stack.checkpoints.reader import (
    PLACEHOLDER_KEY,
    CheckpointNode,
    CheckpointState,
    SchemaInfo,
    ThreadSummary,
    is_placeholder,
    jsonable,
)
from lgconsole.widgets.checkpoint_tree_view import CheckpointItem
from lgconsole.widgets.state_view import StateEntry
from lgconsole.widgets.thread_table import ThreadRow

from lgconsole.console.model.checkpoint_tree import CheckpointTree, TreeNode, namespace_node
from lgconsole.console.cli.threads import _ago, _detail
from lgconsole.console.config import Config
from lgconsole.console.model.interrupts import question_text
from lgconsole.console.model.state_diff import diff_states, message_fields, message_summary

PAGE_SIZE = 200  # threads the table holds (filter and sort run in SQL over all of them)
COUNT_SECONDS = 15.0  # the total is a count over every checkpoint (0.3 s at 1M): not on every refresh
SLOW_LIST_SECONDS = 0.25
SORTS = ("last_activity", "checkpoint_count", "step", "status", "thread_id")
SORT_TITLES = {"last_activity": "last activity", "checkpoint_count": "checkpoints", "step": "step",
               "status": "status", "thread_id": "thread id"}
MAX_VALUE_LINES = 14
MAX_MESSAGES = 10
DETAIL_CHARS = 48
BRANCH_KINDS = {"update": "edited state", "fork": "replayed", "input": "new input", "loop": "original"}


# --- records ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServerState:
    up: bool
    detail: str  # "http://127.0.0.1:P" when up, else why not


@dataclass
class ThreadsPage:
    summaries: list[ThreadSummary]
    total: int | None  # None: not counted yet (the screen counts after showing the rows)
    schema: SchemaInfo | None
    server: ServerState
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    hint: str | None = None  # e.g. that the listing is slow for want of lgconsole's index


def checkpoint_key(checkpoint_id: str, ns: str = "") -> str:
    """The tree's key of a checkpoint: its id, `@namespace` for a subgraph's."""
    return f"{checkpoint_id}@{ns}" if ns else checkpoint_id


def split_key(key: str) -> tuple[str, str]:
    """(checkpoint id, namespace) of a tree key."""
    cid, _, ns = key.partition("@")
    return cid, ns


# --- the source ------------------------------------------------------------------------------------------------------

class ThreadsSource:
    """The real stack: Postgres through a CheckpointReader, the LangGraph server through TimeTravel."""

    def __init__(self, config: Config, page_size: int = PAGE_SIZE, probe_timeout: float = 1.5):
        self.config = config
        self.page_size = page_size
        self.probe_timeout = probe_timeout
        self._reader = None
        self._count: tuple[float, tuple, int] | None = None  # (when, filters, total)

    # --- blocking reads (thread workers) ----------------------------------------------------------------------
    @property
    def reader(self):
        if self._reader is None:
            from lgconsole.stack.checkpoints.reader import CheckpointReader

            from lgconsole.console.sources.urls import postgres_url

            self._reader = CheckpointReader(postgres_url(self.config))
        return self._reader

    def server_url(self) -> str:
        from lgconsole.console.sources.urls import langgraph_url

        return langgraph_url(self.config)

    def server_state(self) -> ServerState:
        import httpx

        try:
            url = self.server_url()
        except Exception as exc:
            return ServerState(False, str(exc))
        try:
            response = httpx.get(f"{url}/ok", timeout=self.probe_timeout)
        except httpx.HTTPError as exc:
            return ServerState(False, f"{url} does not answer ({' '.join(str(exc).split()) or type(exc).__name__})")
        if response.status_code != 200:
            return ServerState(False, f"{url}/ok answered {response.status_code}")
        return ServerState(True, url)

    def read_threads(self, status: str | None, text: str | None, sort: str) -> ThreadsPage:
        """The page of threads; its `total` only when a recent count for these filters is at hand (else None:
        `count_threads` is a scan of every checkpoint, 0.3-0.5 s at 1M, and the rows should not wait for it)."""
        reader = self.reader
        schema = reader.schema_version()
        t0 = time.monotonic()
        summaries = reader.list_threads(limit=self.page_size, status=status or None, text=text or None, sort=sort)
        took = time.monotonic() - t0
        cached = self._count
        total = None
        if cached is not None and cached[1] == (status or None, text or None) and \
                time.monotonic() - cached[0] < COUNT_SECONDS:
            total = cached[2]
        elif len(summaries) < self.page_size:  # the whole list is on the page: that is the count
            total = len(summaries)
        hint = None
        if took > SLOW_LIST_SECONDS and sort.lstrip("-") == "last_activity" and not reader.has_recent_index():
            hint = (f"listing the threads took {took:.1f}s for want of an index on time: "
                    "`lgconsole threads --create-index` adds one (~20 ms at 1M checkpoints)")
        return ThreadsPage(summaries, total, schema, self.server_state(), hint=hint)

    def count_threads(self, status: str | None, text: str | None) -> int:
        """How many threads match (kept COUNT_SECONDS for the pages that follow)."""
        total = self.reader.count(status=status or None, text=text or None)
        self._count = (time.monotonic(), (status or None, text or None), total)
        return total

    def read_history(self, thread_id: str) -> list[CheckpointNode]:
        return self.reader.history(thread_id)

    def read_state(self, thread_id: str, checkpoint_id: str, ns: str = "") -> CheckpointState:
        return self.reader.state_at(thread_id, checkpoint_id, ns)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # --- time travel (async workers) -----------------------------------------------------------------------------
    def _time_travel(self):
        from lgconsole.stack.server.time_travel import TimeTravel

        return TimeTravel(self.server_url(), self.reader)

    async def replay(self, thread_id: str, checkpoint_id: str):
        async with self._time_travel() as tt:
            return await tt.replay(thread_id, checkpoint_id)

    async def fork(self, thread_id: str, checkpoint_id: str, update: dict, as_node: str | None = None):
        async with self._time_travel() as tt:
            return await tt.fork(thread_id, checkpoint_id, update, as_node=as_node)

    async def resume(self, thread_id: str, value: Any):
        async with self._time_travel() as tt:
            return await tt.resume(thread_id, value)

    async def copy(self, thread_id: str):
        async with self._time_travel() as tt:
            return await tt.copy(thread_id)


# --- the thread table ------------------------------------------------------------------------------------------------

def _cut(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def thread_rows(summaries: list[ThreadSummary], now: datetime, detail_chars: int = DETAIL_CHARS) -> list[ThreadRow]:
    rows = []
    for s in summaries:
        detail = _detail(s)
        if ": " in detail and s.status_node and detail.startswith(s.status_node + ":"):
            detail = detail[len(s.status_node) + 2:]  # the node has its own column
        node = s.status_node or ", ".join(s.latest_nodes) or (s.latest_source or "-")
        rows.append(ThreadRow(
            thread_id=s.thread_id, status=s.status.value, last_activity=_ago(s.last_activity, now),
            checkpoints=s.checkpoint_count, step="-" if s.latest_step is None else str(s.latest_step),
            last_node=_cut(node, 14), detail=_cut(detail, detail_chars)))
    return rows


# --- the checkpoint tree ---------------------------------------------------------------------------------------------

def _count(node: TreeNode) -> int:
    n, stack = 0, [node]
    while stack:
        item = stack.pop()
        n += 1
        stack.extend(item.children)
        stack.extend(item.subgraphs)
    return n


def _chain_head(node: TreeNode) -> TreeNode:
    while node.children:
        node = node.children[-1]
    return node


def _marks(c: CheckpointNode, node: TreeNode, new: set[str], latest: str | None) -> tuple[tuple[str, str], ...]:
    marks: list[tuple[str, str]] = []
    if getattr(c, "error", None):
        where = f"{c.error_node}: " if c.error_node else ""
        marks.append(("error", _cut(f"✖ {where}{c.error}", 60)))
    if getattr(c, "interrupted", False):
        where = f" at {c.interrupt_node}" if c.interrupt_node else ""
        if node.is_head:
            marks.append(("interrupted", f"◆ waits{where}" if where else "◆ waits for input"))
        else:  # the run went on from here: the interrupt was answered
            marks.append(("answered", f"◇ asked{where}, answered"))
    if not node.ns and node.is_head:
        marks.append(("head", "head" if c.checkpoint_id == latest else "branch head"))
    if checkpoint_key(c.checkpoint_id, c.checkpoint_ns) in new:
        marks.append(("new", "new"))
    return tuple(marks)


def _checkpoint_item(node: TreeNode, children: list[CheckpointItem], new: set[str], latest: str | None,
                     short: int) -> CheckpointItem:
    c = node.checkpoint
    writers = [w for w in (c.writers or []) if w != "__input__"]
    title = ", ".join(writers) if writers else {"input": "input", "update": "update_state",
                                                "fork": "fork"}.get(c.source or "", c.source or "")
    return CheckpointItem(
        key=checkpoint_key(c.checkpoint_id, c.checkpoint_ns), kind="checkpoint",
        step="" if c.step is None else str(c.step), title=title, source=c.source or "",
        short_id=short_id(c.checkpoint_id, short), marks=_marks(c, node, new, latest), children=tuple(children))


def _end_mark(node: TreeNode) -> str:
    c = node.checkpoint
    if getattr(c, "error", None):
        return "✖"
    if getattr(c, "interrupted", False):
        return "◆"
    return ""


def _chain_items(start: TreeNode, new: set[str], latest: str | None, short: int) -> list[CheckpointItem]:
    out: list[CheckpointItem] = []
    node = start
    while True:
        children: list[CheckpointItem] = []
        for sub in node.subgraphs:
            calls = _count(sub)
            children.append(CheckpointItem(
                key=f"sub:{checkpoint_key(sub.checkpoint_id, sub.ns)}", kind="subgraph",
                title=f"{namespace_node(sub.ns)} subgraph · {calls} checkpoint{'s' if calls != 1 else ''}",
                children=tuple(_chain_items(sub, new, latest, short)), expanded=False))
        if len(node.children) > 1:
            for i, child in enumerate(node.children, 1):
                head = _chain_head(child)
                kind = BRANCH_KINDS.get(child.checkpoint.source or "", child.checkpoint.source or "branch")
                n = _count(child)
                is_new = checkpoint_key(child.checkpoint_id, child.ns) in new
                end = _end_mark(head)
                title = (f"{kind} · {n} checkpoint{'s' if n != 1 else ''} → step {head.checkpoint.step}"
                         f"{' ' + end if end else ''}{' · new' if is_new else ''}")
                children.append(CheckpointItem(
                    key=f"branch:{checkpoint_key(child.checkpoint_id, child.ns)}", kind="branch", title=title,
                    children=tuple(_chain_items(child, new, latest, short)), expanded=True))
        out.append(_checkpoint_item(node, children, new, latest, short))
        if len(node.children) == 1:
            node = node.children[0]
            continue
        return out


def short_id(checkpoint_id: str, width: int = 9) -> str:
    """The part of a time-ordered uuid6 that differs between a thread's checkpoints (time low + counter)."""
    if len(checkpoint_id) == 36 and checkpoint_id[8] == "-":
        return checkpoint_id[9:9 + width]
    return checkpoint_id[:width]


def latest_checkpoint(nodes: list[CheckpointNode]) -> str | None:
    """The thread's current head: its newest root-graph checkpoint (what a plain run continues from)."""
    root = [n.checkpoint_id for n in nodes if not n.checkpoint_ns]
    return max(root) if root else None


def tree_items(tree: CheckpointTree, new: set[str] | None = None, latest: str | None = None,
               short: int = 9) -> list[CheckpointItem]:
    """Rows for the tree widget: chains flat, forks as branch groups, subgraph calls as collapsed groups."""
    items: list[CheckpointItem] = []
    for root in tree.roots:
        items.extend(_chain_items(root, new or set(), latest, short))
    return items


# --- one checkpoint --------------------------------------------------------------------------------------------------

def _is_message(value: Any) -> bool:
    fields = message_fields(value)
    return isinstance(fields, dict) and "type" in fields and "content" in fields


def _value_lines(value: Any, max_lines: int) -> list[str]:
    if isinstance(value, str):
        lines = value.splitlines() or [""]
        lines = [json.dumps(lines[0], ensure_ascii=False)] if len(lines) == 1 else lines
    else:
        text = json.dumps(jsonable(value), indent=2, ensure_ascii=False, default=str)
        lines = text.splitlines()
    if len(lines) > max_lines:
        hidden = len(lines) - max_lines + 1
        lines = lines[: max_lines - 1] + [f"… {hidden} more line{'s' if hidden != 1 else ''}"]
    return lines


def state_entries(values: dict, max_lines: int = MAX_VALUE_LINES, max_messages: int = MAX_MESSAGES,
                  width: int = 90) -> list[StateEntry]:
    """One entry per state key: messages one a line (newest last), placeholders named, other values as JSON;
    secrets masked."""
    entries = []
    ordered = sorted(values.items(), key=lambda kv: (isinstance(kv[1], list) and kv[0] == "messages", str(kv[0])))
    for key, value in ordered:
        if secret_key(key) and value not in (None, ""):
            entries.append(StateEntry(str(key), (MASK,)))
            continue
        messages = isinstance(value, list) and bool(value) and all(_is_message(m) for m in value)
        if not messages:  # (messages: only the shown tail is masked, not 10k of them)
            value = mask_secrets(value)
        if is_placeholder(value):
            extra = ", ".join(f"{k}={v}" for k, v in value.items() if k not in (PLACEHOLDER_KEY, "fields"))
            entries.append(StateEntry(str(key), (f"<{value[PLACEHOLDER_KEY]}> not decoded ({extra})",),
                                      "placeholder", warn=True))
        elif messages:
            shown = mask_secrets(value[-max_messages:])
            lines = [f"… {len(value) - len(shown)} earlier"] if len(value) > len(shown) else []
            first = len(value) - len(shown)
            lines += [f"[{first + i}] {message_summary(m, width)}" for i, m in enumerate(shown)]
            entries.append(StateEntry(str(key), tuple(lines), f"{len(value)} message{'s' if len(value) != 1 else ''}"))
        else:
            entries.append(StateEntry(str(key), tuple(_value_lines(value, max_lines))))
    return entries


def _when(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"


def checkpoint_info(state: CheckpointState, node: CheckpointNode | None = None) -> list[str]:
    """A few lines about the checkpoint: where, when, written by, what runs next, what waits or failed."""
    writers = ", ".join(w for w in (node.writers if node else []) if w != "__input__")
    lines = [f"thread {state.thread_id}",
             f"checkpoint {state.checkpoint_id}" + (f"  in {state.checkpoint_ns}" if state.checkpoint_ns else ""),
             f"step {state.step} · {state.source or '-'}" + (f" · written by {writers}" if writers else "")
             + f" · {_when(state.created_at)}"]
    if state.next:
        lines.append(f"next: {', '.join(dict.fromkeys(state.next))}")
    if state.unreadable:
        lines.append(f"not decoded (placeholders): {', '.join(state.unreadable)}")
    return lines


def pending_lines(state: CheckpointState) -> list[str]:
    """The error and the interrupt waiting at this checkpoint, as DiffView lines (`!` red, `?` magenta)."""
    lines = []
    if state.error:
        node = next((w.node for w in state.pending_writes if w.channel == "__error__" and w.node), None)
        lines.append(f"! {node + ': ' if node else ''}{_cut(state.error, 200)}")
    for interrupt in state.interrupts:
        lines.append(f"? waits for input: {question_text(jsonable([interrupt]), 200)}")
    return lines


def diff_sections(state: CheckpointState, parent: CheckpointState | None, width: int = 100) -> list[tuple[str, list[str]]]:
    """DiffView sections: what this checkpoint changed against its parent, then what waits or failed here."""
    if parent is None:
        found = diff_states({}, mask_secrets(state.values))
        title = "diff: the thread's first checkpoint (everything is new)"
    else:
        found = diff_states(mask_secrets(parent.values), mask_secrets(state.values))
        where = " (where the subgraph call started)" if parent.checkpoint_ns != state.checkpoint_ns else ""
        title = f"diff to parent {short_id(parent.checkpoint_id)} · step {parent.step}{where}"
    lines = found.lines(width)
    sections = [(title, lines if lines else ["# no change to the state"])]
    pending = pending_lines(state)
    if pending:
        sections.append(("pending at this checkpoint", pending))
    return sections


# --- secrets ---------------------------------------------------------------------------------------------------------

SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "apikey", "credential", "credentials",
                          "authorization", "cookie"})
MASK = "***"


def secret_key(name: Any) -> bool:
    """`api_key`, `access_token`, `OPENAI_API_KEY`, `password`; not `input_tokens` or `tokenizer`."""
    return _secret_name(name if isinstance(name, str) else str(name))


@functools.lru_cache(maxsize=4096)
def _secret_name(name: str) -> bool:  # a 10k-message state asks about the same dozen keys ~200k times
    words = set(_WORD_SPLIT.split(name.lower()))
    return bool(words & SECRET_WORDS) or {"api", "key"} <= words or {"private", "key"} <= words


_WORD_SPLIT = re.compile(r"[-_.\s]+")


def mask_secrets(value: Any) -> Any:
    """The state with the values of secret-looking keys replaced by `***`, at any depth (what the screen shows,
    diffs and puts in the fork editor; an unchanged `***` is never sent back)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if secret_key(k) and v not in (None, ""):
                out[k] = MASK
            else:
                out[k] = mask_secrets(v) if isinstance(v, (dict, list)) else v
        return out
    if isinstance(value, list):
        return [mask_secrets(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


# --- fork and resume input -------------------------------------------------------------------------------------------

class EditError(ValueError):
    """A fork edit or an interrupt answer that cannot be sent; str() is one line."""


def values_json(values: dict) -> str:
    """The state as the fork editor shows it (secrets masked)."""
    return json.dumps(jsonable(mask_secrets(values)), indent=2, ensure_ascii=False, default=str)


def fork_update(original: dict, edited_text: str) -> dict:
    """The update a fork sends: the top-level keys whose value the edit changed (update_state applies reducers to
    them, so unchanged keys are left out; a masked secret left as `***` is unchanged). Raises EditError for text
    that is not a JSON object or drops a key."""
    try:
        edited = json.loads(edited_text)
    except json.JSONDecodeError as exc:
        raise EditError(f"the state is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}); "
                        "nothing was sent") from None
    if not isinstance(edited, dict):
        raise EditError("the state must be a JSON object of keys to values; nothing was sent")
    before = jsonable(mask_secrets(original))
    dropped = [k for k in before if k not in edited]
    if dropped:
        raise EditError(f"key {dropped[0]!r} was removed: a fork cannot delete a key (set it to null instead); "
                        "nothing was sent")
    return {k: v for k, v in edited.items() if k not in before or before[k] != v}


def parse_answer(text: str) -> Any:
    """An interrupt answer (console/model/interrupts.py); EditError when it cannot be sent."""
    from lgconsole.console.model.interrupts import AnswerError, parse_answer as parse

    try:
        return parse(text)
    except AnswerError as exc:
        raise EditError(str(exc)) from None


def interrupt_question(summary: ThreadSummary | None) -> str:
    return question_text(jsonable(summary.interrupts)) if summary is not None else ""


def now_utc() -> datetime:
    return datetime.fromtimestamp(time.time(), tz=timezone.utc)
