"""`lgconsole threads`, `history` and `diff`: threads and their checkpoints read straight from Postgres, so they work
while the LangGraph server is down."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TextIO

from lgconsole.stack.errors import StackError

from .config import Config
from .urls import postgres_url

STATUSES = ("errored", "waiting", "idle")
DETAIL_CHARS = 60


def add_thread_commands(subparsers: Any) -> None:
    """Add `threads`, `history` and `diff` to the CLI's argparse subparsers."""
    threads = subparsers.add_parser("threads", help="threads from the checkpoint tables: status, last activity, "
                                                    "checkpoints, last node, error or interrupt")
    threads.add_argument("--status", choices=STATUSES, help="only threads with this status")
    threads.add_argument("--limit", type=_positive_int, default=50, help="how many threads (default 50)")
    threads.add_argument("--offset", type=_non_negative_int, default=0, help="skip this many threads first")
    threads.add_argument("--search", metavar="TEXT", help="only threads whose id contains TEXT")
    threads.add_argument("--json", action="store_true", help="machine-readable output")
    history = subparsers.add_parser("history", help="a thread's checkpoints as a tree (forks are branches, "
                                                    "subgraph calls nested)")
    history.add_argument("thread", metavar="THREAD", help="thread id")
    history.add_argument("--no-subgraphs", action="store_true", help="only the root graph's checkpoints")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    diff = subparsers.add_parser("diff", help="what changed in a thread's state between two checkpoints")
    diff.add_argument("thread", metavar="THREAD", help="thread id")
    diff.add_argument("checkpoint_a", metavar="CKPT_A", help="checkpoint id (or a unique prefix of one)")
    diff.add_argument("checkpoint_b", metavar="CKPT_B", help="checkpoint id (or a unique prefix of one)")
    diff.add_argument("--json", action="store_true", help="machine-readable output")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


@contextmanager
def open_reader(config: Config) -> Iterator[Any]:
    """A CheckpointReader on the config's Postgres, closed afterwards; an unreachable managed Postgres says how
    to check on the stack."""
    from lgconsole.stack.checkpoints import CheckpointDbUnreachable, CheckpointReader

    reader = CheckpointReader(postgres_url(config))
    try:
        yield reader
    except CheckpointDbUnreachable as exc:
        if config.postgres.url:
            raise
        raise CheckpointDbUnreachable(f"{exc} (is the stack up? see `lgconsole status`)") from None
    finally:
        reader.close()


def _dumps(data: Any) -> str:
    from lgconsole.stack.checkpoints import jsonable

    return json.dumps(jsonable(data), indent=2, ensure_ascii=False)


def _one_line(text: Any, limit: int = DETAIL_CHARS) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    from .units import format_duration

    return f"{format_duration(max(0.0, (now - when).total_seconds()))} ago"


def _detail(summary: Any) -> str:
    if summary.status.value == "errored":
        return _one_line(f"{summary.status_node or '?'}: {summary.error or ''}")
    if summary.status.value == "waiting":
        payload = summary.interrupts[0] if summary.interrupts else None
        value = payload.get("value") if isinstance(payload, dict) else payload
        if isinstance(value, dict) and "question" in value:
            value = value["question"]
        return _one_line(f"{summary.status_node or '?'}: {value if value is not None else ''}")
    return ""


# --- threads ---------------------------------------------------------------------------------------------------------

def cmd_threads(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    status = getattr(args, "status", None)
    limit = getattr(args, "limit", 50) or 50
    offset = getattr(args, "offset", 0) or 0
    search = getattr(args, "search", None)
    with open_reader(config) as reader:
        schema = reader.schema_version()
        summaries = reader.list_threads(limit=limit, offset=offset, status=status, text=search)
        total = reader.count(status=status, text=search)
    if getattr(args, "json", False):
        print(_dumps({"total": total, "offset": offset, "schema": {"version": schema.version, "status": schema.status},
                      "threads": [s.to_json() for s in summaries]}), file=out)
        return 0
    if not schema.ok:
        print(f"lgconsole: {schema.message}", file=sys.stderr)
    now = datetime.now(timezone.utc)
    print(f"{'THREAD':<36}  {'STATUS':<7}  {'LAST ACTIVITY':>13}  {'CKPTS':>5}  {'STEP':>4}  {'LAST NODE':<16}  DETAIL",
          file=out)
    for s in summaries:
        nodes = _one_line(", ".join(s.latest_nodes) or "-", 16)
        step = "-" if s.latest_step is None else str(s.latest_step)
        print(f"{s.thread_id:<36}  {s.status.value:<7}  {_ago(s.last_activity, now):>13}  {s.checkpoint_count:>5}  "
              f"{step:>4}  {nodes:<16}  {_detail(s)}".rstrip(), file=out)
    what = f"{status} threads" if status else "threads"
    shown = f"{offset + 1}-{offset + len(summaries)} of {total}" if summaries else f"0 of {total}"
    print(f"{shown} {what} (read from Postgres)", file=out)
    return 0


# --- history ---------------------------------------------------------------------------------------------------------

def cmd_history(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    from .checkpoint_tree import CheckpointTree

    out = out or sys.stdout
    with open_reader(config) as reader:
        nodes = reader.history(args.thread, include_subgraphs=not getattr(args, "no_subgraphs", False))
    tree = CheckpointTree(nodes)
    if getattr(args, "json", False):
        print(_dumps({"thread_id": args.thread, "checkpoints": [n.to_json() for n in nodes],
                      "tree": tree.to_json()}), file=out)
        return 0
    for line in tree.lines():
        print(line, file=out)
    root_count = sum(1 for n in nodes if not n.checkpoint_ns)
    print(f"{len(nodes)} checkpoints ({root_count} in the root graph, {len(tree.namespaces()) - ('' in tree.namespaces())}"
          f" subgraph call(s)), {len(tree.heads())} head(s), {len(tree.forks())} fork(s)", file=out)
    return 0


# --- diff ------------------------------------------------------------------------------------------------------------

def cmd_diff(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    from .state_diff import diff_states

    out = out or sys.stdout
    with open_reader(config) as reader:
        ns_a, id_a = reader.find_checkpoint(args.thread, args.checkpoint_a)
        ns_b, id_b = reader.find_checkpoint(args.thread, args.checkpoint_b)
        state_a = reader.state_at(args.thread, id_a, ns_a)
        state_b = reader.state_at(args.thread, id_b, ns_b)
    found = diff_states(state_a.values, state_b.values)
    if getattr(args, "json", False):
        print(_dumps({"thread_id": args.thread,
                      "a": {"checkpoint_id": id_a, "checkpoint_ns": ns_a, "step": state_a.step},
                      "b": {"checkpoint_id": id_b, "checkpoint_ns": ns_b, "step": state_b.step},
                      "empty": found.is_empty, **found.to_json()}), file=out)
        return 0
    print(f"--- {id_a}  step {state_a.step}{'  [' + ns_a + ']' if ns_a else ''}", file=out)
    print(f"+++ {id_b}  step {state_b.step}{'  [' + ns_b + ']' if ns_b else ''}", file=out)
    for line in found.lines():
        print(line, file=out)
    if found.is_empty:
        print("(no differences in the state)", file=out)
    unreadable = sorted(set(state_a.unreadable) | set(state_b.unreadable))
    if unreadable:
        print(f"note: values shown as placeholders (not decoded): {', '.join(unreadable)}", file=out)
    return 0
