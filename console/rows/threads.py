"""Thread records -> what the Threads screen's widgets and the thread commands show: table rows, the checkpoint
tree's items, a state's entries, diff sections, the fork editor's text and the status line. No I/O: snapshots and
tests feed them fixed records. Every value shown passes the one masking policy (console/model/masking.py) and the
one sanitiser (console/model/sanitise.py): names, ids and values from a user's graph cannot control the terminal.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from lgconsole.stack.checkpoints.decoder import PLACEHOLDER_KEY, is_placeholder, jsonable
from lgconsole.stack.checkpoints.records import CheckpointNode, CheckpointState, ThreadSummary
from lgconsole.widgets.checkpoint_tree_view import CheckpointItem
from lgconsole.widgets.state_view import StateEntry
from lgconsole.widgets.thread_table import ThreadRow

from lgconsole.console.model.checkpoint_tree import CheckpointTree, TreeNode, namespace_node
from lgconsole.console.model.interrupts import question_text
from lgconsole.console.model.masking import MASK, mask_secret_keys, mask_secrets, mask_text, secret_key
from lgconsole.console.model.sanitise import json_text, printable
from lgconsole.console.model.state_diff import diff_states, message_fields, message_summary
from lgconsole.console.model.text import format_age
from lgconsole.console.model.thread_browser import FollowedRun, ThreadsView, checkpoint_key
from lgconsole.console.rows.shown import shown, shown_lines
from lgconsole.console.rows.thread_text import cut, last_node, thread_detail

MAX_VALUE_LINES = 14
MAX_MESSAGES = 10
DETAIL_CHARS = 48  # the table's error / interrupt column
BRANCH_KINDS = {"update": "edited state", "fork": "replayed", "input": "new input", "loop": "original"}


def interrupt_question(summary: ThreadSummary | None) -> str:
    """The question of the interrupt a thread waits on ("" when none), secrets masked."""
    return shown(question_text(mask_secrets(jsonable(summary.interrupts)))) if summary is not None else ""


# --- the thread table ------------------------------------------------------------------------------------------------

def thread_rows(summaries: list[ThreadSummary], now: datetime, detail_chars: int = DETAIL_CHARS) -> list[ThreadRow]:
    rows = []
    for s in summaries:
        detail = thread_detail(s)
        if ": " in detail and s.status_node and detail.startswith(s.status_node + ":"):
            detail = detail[len(s.status_node) + 2:]  # the node has its own column
        node = last_node(s)
        rows.append(ThreadRow(
            thread_id=s.thread_id, shown_id=printable(s.thread_id), status=s.status.value,
            last_activity=format_age(s.last_activity, now),
            checkpoints=s.checkpoint_count, step="-" if s.latest_step is None else str(s.latest_step),
            last_node=cut(node, 14), detail=cut(detail, detail_chars)))
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
        marks.append(("error", cut(mask_text(f"✖ {where}{c.error}"), 60)))
    if getattr(c, "interrupted", False):
        where = f" at {shown(c.interrupt_node)}" if c.interrupt_node else ""
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
        step="" if c.step is None else str(c.step), title=shown(title), source=shown(c.source or ""),
        short_id=shown(short_id(c.checkpoint_id, short)), marks=_marks(c, node, new, latest), children=tuple(children))


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
                title=f"{shown(namespace_node(sub.ns))} subgraph · {calls} checkpoint{'s' if calls != 1 else ''}",
                children=tuple(_chain_items(sub, new, latest, short)), expanded=False))
        if len(node.children) > 1:
            for child in node.children:
                head = _chain_head(child)
                kind = BRANCH_KINDS.get(child.checkpoint.source or "", shown(child.checkpoint.source or "branch"))
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
            entries.append(StateEntry(shown(key), (MASK,)))
            continue
        messages = isinstance(value, list) and bool(value) and all(_is_message(m) for m in value)
        if not messages:  # (messages: only the shown tail is masked, not 10k of them)
            value = mask_secrets(value)
        if is_placeholder(value):
            extra = ", ".join(f"{k}={v}" for k, v in value.items() if k not in (PLACEHOLDER_KEY, "fields"))
            entries.append(StateEntry(shown(key), (shown(f"<{value[PLACEHOLDER_KEY]}> not decoded ({extra})"),),
                                      "placeholder", warn=True))
        elif messages:
            tail = mask_secrets(value[-max_messages:])
            lines = [f"… {len(value) - len(tail)} earlier"] if len(value) > len(tail) else []
            first = len(value) - len(tail)
            lines += [printable(f"[{first + i}] {message_summary(m, width)}") for i, m in enumerate(tail)]
            entries.append(StateEntry(printable(str(key)), tuple(lines),
                                      f"{len(value)} message{'s' if len(value) != 1 else ''}"))
        else:
            lines = [printable(line) for line in _value_lines(value, max_lines)]
            entries.append(StateEntry(printable(str(key)), tuple(lines)))
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
    return shown_lines(lines)


def pending_lines(state: CheckpointState) -> list[str]:
    """The error and the interrupt waiting at this checkpoint, as DiffView lines (`!` an error, `?` a question)."""
    lines = []
    if state.error:
        node = next((w.node for w in state.pending_writes if w.channel == "__error__" and w.node), None)
        lines.append(f"! {shown(node) + ': ' if node else ''}{cut(mask_text(state.error), 200)}")
    for interrupt in state.interrupts:
        lines.append(shown(f"? waits for input: {question_text(mask_secrets(jsonable([interrupt])), 200)}"))
    return lines


def diff_sections(state: CheckpointState, parent: CheckpointState | None, width: int = 100) -> list[tuple[str, list[str]]]:
    """DiffView sections: what this checkpoint changed against its parent, then what waits or failed here."""
    # keys masked in the states, secret-shaped values in the lines shown (a 10k-message state is diffed, not shown)
    if parent is None:
        found = diff_states({}, mask_secret_keys(state.mapping))
        title = "diff: the thread's first checkpoint (everything is new)"
    else:
        found = diff_states(mask_secret_keys(parent.mapping), mask_secret_keys(state.mapping))
        where = " (where the subgraph call started)" if parent.checkpoint_ns != state.checkpoint_ns else ""
        title = shown(f"diff to parent {short_id(parent.checkpoint_id)} · step {parent.step}{where}")
    lines = shown_lines(found.lines(width))
    sections = [(title, lines if lines else ["# no change to the state"])]
    pending = pending_lines(state)
    if pending:
        sections.append(("pending at this checkpoint", pending))
    return sections


# --- the fork editor -------------------------------------------------------------------------------------------------

class EditError(ValueError):
    """A fork edit that cannot be sent; str() is one line."""


def values_json(values: dict) -> str:
    """The state as the fork editor shows it (secrets masked)."""
    return json_text(jsonable(mask_secrets(values)), indent=2)  # readable, and no raw control character


def fork_update(original: dict, edited_text: str) -> dict:
    """The update a fork sends: the top-level keys whose value the edit changed (update_state applies reducers to
    them, so unchanged keys are left out; a masked secret left as `***` is unchanged). Raises EditError for text
    that is not a JSON object or drops a key."""
    try:
        edited = json.loads(edited_text)
    except json.JSONDecodeError as exc:
        raise EditError(f"the state is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}); "
                        "nothing was sent") from None
    except RecursionError:
        raise EditError("the state is nested too deeply to read; nothing was sent") from None
    if not isinstance(edited, dict):
        raise EditError("the state must be a JSON object of keys to values; nothing was sent")
    before = jsonable(mask_secrets(original))
    dropped = [k for k in before if k not in edited]
    if dropped:
        raise EditError(f"key {dropped[0]!r} was removed: a fork cannot delete a key (set it to null instead); "
                        "nothing was sent")
    return {k: v for k, v in edited.items() if k not in before or before[k] != v}


# --- the status lines ------------------------------------------------------------------------------------------------

READ_ONLY = ("LangGraph server down: read-only. History, state and diffs come from Postgres; "
             "replay, fork, resume and copy need the server")
KEYS_HINT = "   e/w/i/a status · / filter · s sort"
Segment = tuple[str, str, str]  # (text, palette status or "", attributes): the screen resolves it in its theme


def rows_shown(offset: int, shown: int) -> str:
    """`200` on the first page, `201-400` on the second (rows are counted from 1)."""
    return f"{shown:,}" if not offset else f"{offset + 1:,}-{offset + shown:,}"


def status_segments(view: ThreadsView, width: int) -> list[Segment]:
    """The Threads screen's status: what is listed (and counted), filter, sort, the server, the keys when they fit;
    then the read error or the listing's hint, the read-only notice, the followed run."""
    page, query, server = view.threads.page, view.query, view.threads.server
    out: list[Segment] = [("Threads", "", "bold")]
    if page is not None:
        what = f"{query.status} thread" if query.status else "thread"
        if page.total is None:
            out.append((f"  showing {rows_shown(query.offset, len(page.summaries))} {what}s", "", ""))
            error = view.threads.count_error
            out.append((f" · count failed: {error}" if error else " · counting…", "", "dim"))
        else:
            out.append((f"  {page.total:,} {what}{'s' if page.total != 1 else ''} in Postgres", "", ""))
            if page.total > len(page.summaries):
                out.append((f" · showing {rows_shown(query.offset, len(page.summaries))}", "", "dim"))
        if query.offset or (page.total or 0) > query.offset + len(page.summaries):
            out.append(("  ] next page  [ previous", "", "dim"))
    if query.text:
        out.append((f"  · filter '{query.text}'", "", "bold"))
    out.append((f"  · sort {query.sort_title}", "", ""))
    if page is not None and page.schema is not None and not page.schema.ok:
        out.append((f"  · {page.schema.message}", "warning", ""))
    if server is None:
        out.append(("  · server: checking…", "", "dim"))
    elif server.up:
        out += [("  · server ", "", ""), ("● up", "ok", "bold")]
    else:
        out += [("  ", "", ""), (" READ-ONLY ", "warning", "bold reverse")]
    if sum(len(text) for text, _, _ in out) + len(KEYS_HINT) <= width - 2:
        out.append((KEYS_HINT, "", "dim"))
    if view.threads.read_error:
        out.append((f"\n{view.threads.read_error}", "error", "bold"))
    elif page is not None and page.hint:
        out.append((f"\n{page.hint}", "warning", "dim"))
    if server is not None and not server.up:
        out.append((f"\n{READ_ONLY} ({server.detail})", "warning", ""))
    run = run_segments(view.followed)
    if run:
        out += [("\n", "", ""), *run]
    return [(shown(text, multiline=True), status, attributes) for text, status, attributes in out]


def run_segments(followed: FollowedRun) -> list[Segment]:
    """`replay from step 2: running · 3 node steps (a, b, c) · run …`, or nothing when no run was started."""
    if followed.label is None:
        return []
    run = followed.run
    if run is None:
        return [(f"{followed.label}: starting…", "starting", "")]
    nodes = [s.node for s in run.steps]
    out: list[Segment] = [(f"{followed.label}: ", "", "bold"), (str(run.status), str(run.status), "bold"),
                          (f" · {run.step_count} node step{'s' if run.step_count != 1 else ''}", "", "")]
    if nodes:
        out.append((f" ({', '.join(nodes[-6:])}{', …' if len(nodes) > 6 else ''})", "", "dim"))
    if run.error:
        out.append((f" · {run.error}", "error", ""))
    if followed.note:
        out.append((f" · {followed.note}", "", "dim"))
    return out
