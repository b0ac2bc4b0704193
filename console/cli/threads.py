"""`lgconsole threads`, `history` and `diff`: threads and their checkpoints read straight from Postgres, so they work
while the LangGraph server is down. `replay`, `fork`, `resume` and `copy`: time travel through the server, checked
against Postgres first, with the run's node steps streamed as `lgconsole run` prints them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, TextIO


from lgconsole.console.cli.json_args import parse_sets
from lgconsole.console.cli import exit_codes
from lgconsole.console.config import Config
from lgconsole.console.cli.output import print_json, secrets_shown
from lgconsole.console.model.masking import diff_masked_states, mask_diff, mask_text
from lgconsole.console.model.sanitise import printable
from lgconsole.console.model.text import format_age
from lgconsole.console.rows.thread_text import cut, last_node, thread_detail
from lgconsole.console.sources.urls import graph_spec, postgres_url

STATUSES = ("running", "errored", "waiting", "idle", "unknown")
INDEX_HINT_CHECKPOINTS = 200_000  # from here on the listing's full scan costs ~0.1 s (bench_threads_1m.py)


def add_thread_commands(subparsers: Any) -> None:
    """Add `threads`, `history` and `diff` to the CLI's argparse subparsers."""
    threads = subparsers.add_parser("threads", help="threads from the checkpoint tables: status, last activity, "
                                                    "checkpoints, last node, error or interrupt")
    threads.add_argument("--status", choices=STATUSES, help="only threads with this status")
    threads.add_argument("--limit", type=_positive_int, default=50, help="how many threads (default 50)")
    threads.add_argument("--offset", type=_non_negative_int, default=0, help="skip this many threads first")
    threads.add_argument("--search", metavar="TEXT", help="only threads whose id contains TEXT")
    threads.add_argument("--text", action="append", default=[], metavar="WORDS",
                         help="only threads whose latest state has messages containing WORDS (case-insensitive; "
                              "repeatable, all must be found)")
    threads.add_argument("--meta", action="append", type=_meta_item, default=[], metavar="KEY=VALUE",
                         help="only threads whose metadata has KEY equal to the text VALUE (KEY:=JSON for a typed "
                              "value: step:=3); repeatable, all must hold")
    threads.add_argument("--json", action="store_true", help="machine-readable output")
    threads.add_argument("--create-index", action="store_true",
                         help="first add lgconsole's index on checkpoint ids (built CONCURRENTLY, ~100 MB per 1M "
                              "checkpoints) so listing the newest threads does not scan every checkpoint")
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
    add_time_travel_commands(subparsers)


def add_time_travel_commands(subparsers: Any) -> None:
    """`replay`, `fork`, `resume` and `copy` (they need the LangGraph server)."""
    replay = subparsers.add_parser("replay", help="run a thread again from a past checkpoint (a new branch): the "
                                                  "nodes due after it run, streamed")
    replay.add_argument("thread", metavar="THREAD", help="thread id")
    replay.add_argument("--checkpoint", required=True, metavar="ID", help="checkpoint id (or a unique prefix)")
    replay.add_argument("--json", action="store_true", help="one JSON object per line")
    fork = subparsers.add_parser("fork", help="write edited state as a new checkpoint after a past one "
                                              "(update_state), then run from it")
    fork.add_argument("thread", metavar="THREAD", help="thread id")
    fork.add_argument("--checkpoint", required=True, metavar="ID", help="checkpoint id (or a unique prefix)")
    fork.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=JSON",
                      help="a state key and its new value as JSON, e.g. --set 'task=\"new task\"' (repeatable; "
                           "KEY=@FILE reads the value from a file, KEY=- from stdin)")
    fork.add_argument("--as-node", metavar="NODE", help="write the update as if this node made it (decides what "
                                                        "runs next)")
    fork.add_argument("--no-run", action="store_true", help="only write the new checkpoint; do not run from it")
    fork.add_argument("--json", action="store_true", help="one JSON object per line")
    resume = subparsers.add_parser("resume", help="answer a thread's pending interrupt (or continue from a "
                                                  "breakpoint) and stream the run")
    resume.add_argument("thread", metavar="THREAD", help="thread id")
    resume.add_argument("value", metavar="VALUE", nargs="?", default=None,
                        help="the answer: JSON (true, {\"approved\": false}) or text, - reads it from stdin; none: "
                             "continue a thread stopped at a breakpoint")
    from lgconsole.console.cli.breakpoint_args import add_breakpoint_arguments

    add_breakpoint_arguments(resume)
    resume.add_argument("--json", action="store_true", help="one JSON object per line")
    copy = subparsers.add_parser("copy", help="copy a thread with all its checkpoints to a new thread")
    copy.add_argument("thread", metavar="THREAD", help="thread id")
    copy.add_argument("--json", action="store_true", help="machine-readable output")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _meta_item(text: str) -> tuple[str, Any]:
    from lgconsole.console.model.thread_filter import FilterError, parse_meta_token

    try:
        found = parse_meta_token(text)
    except FilterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r}: write KEY=VALUE (or KEY:=JSON)")
    return found


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


@contextmanager
def open_reader(config: Config) -> Iterator[Any]:
    """A CheckpointReader on the config's Postgres, closed afterwards; an unreachable managed Postgres says how
    to check on the stack."""
    from lgconsole.stack.checkpoints.reader import CheckpointReader
    from lgconsole.stack.checkpoints.records import CheckpointDbUnreachable

    reader = CheckpointReader(postgres_url(config), max_connections=1, graph_spec=graph_spec(config))
    try:
        yield reader
    except CheckpointDbUnreachable as exc:
        if config.postgres.url:
            raise
        raise CheckpointDbUnreachable(f"{exc} (is the stack up? see `lgconsole status`)") from None
    finally:
        reader.close()


def _print_json(data: Any, out: TextIO) -> None:
    """Records as JSON through the one JSON writer (masked unless --show-secrets, no raw control characters)."""
    from lgconsole.stack.checkpoints.decoder import jsonable

    print_json(jsonable(data), out)


# --- threads ---------------------------------------------------------------------------------------------------------

def cmd_threads(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    status = getattr(args, "status", None)
    limit = getattr(args, "limit", 50) or 50
    offset = getattr(args, "offset", 0) or 0
    search = getattr(args, "search", None)
    metadata = dict(getattr(args, "meta", None) or []) or None
    words = [w for w in (getattr(args, "text", None) or []) if w.strip()]
    if getattr(args, "create_index", False):
        _create_index(config)
    as_json = getattr(args, "json", False)
    from concurrent.futures import ThreadPoolExecutor

    server = server_view(config)
    # The threads are counted on a connection of their own while they are listed (the count walks every thread:
    # ~60 ms at 1M in a fresh backend), unless it needs a message search first or the statuses (a status filter).
    # What the count imports is imported before it starts: two threads importing the same modules at once can meet
    # in their import locks (a DeadlockError).
    with ThreadPoolExecutor(1, thread_name_prefix="lgconsole-count") as background, open_reader(config) as reader:
        schema = reader.schema_version()
        counted = None
        if not status and not words:
            _imports_of_count(metadata)
            counted = background.submit(_count_threads, config, metadata, search)
        only = None
        if words:
            from lgconsole.stack.checkpoints.message_search import threads_with_message_text

            only = threads_with_message_text(reader.db, words)
        summaries = reader.list_threads(limit=limit, offset=offset, status=status, metadata_filter=metadata,
                                        text=search, server=server, thread_ids=only)

        def total() -> int:  # a walk or scan of every thread: not when the page holds the rest
            if len(summaries) < limit and (summaries or offset == 0):
                return offset + len(summaries)
            if counted is not None:
                return counted.result()
            return reader.count(status=status, metadata_filter=metadata, text=search, server=server,
                                thread_ids=only)

        if as_json:
            _print_json({"total": total(), "offset": offset, "server": {"up": server is not None},
                         "schema": {"version": schema.version, "status": schema.status},
                         "threads": [s.to_json() for s in summaries]}, out)
            return 0
        if not reader.has_recent_index():
            size = reader.estimated_checkpoints()
            if size >= INDEX_HINT_CHECKPOINTS:
                print(f"lgconsole: note: {size:,} checkpoints and no index on time: listing the newest threads "
                      "reads all of them (0.2-0.4 s per 1M); `lgconsole threads --create-index` adds one",
                      file=sys.stderr)
        if not schema.ok:
            print(f"lgconsole: {schema.message}", file=sys.stderr)
        if server is None:
            print("lgconsole: note: the LangGraph server does not answer: running is told from the checkpoint tables "
                  "alone ('unknown' where they cannot tell)", file=sys.stderr)
        now = datetime.now(timezone.utc)
        ids = [printable(s.thread_id) for s in summaries]  # any string a user's saver was given, escaped
        width = max([36, *map(len, ids)])  # whole ids (to paste into `history`), the columns still aligned
        print(f"{'THREAD':<{width}}  {'STATUS':<7}  {'LAST ACTIVITY':>13}  {'CKPTS':>5}  {'STEP':>4}  "
              f"{'LAST NODE':<16}  DETAIL", file=out)
        for thread_id, s in zip(ids, summaries):
            nodes = cut(last_node(s), 16)
            step = "-" if s.latest_step is None else str(s.latest_step)
            print(f"{thread_id:<{width}}  {s.status.value:<7}  {format_age(s.last_activity, now):>13}  "
                  f"{s.checkpoint_count:>5}  {step:>4}  {nodes:<16}  {thread_detail(s)}".rstrip(), file=out)
        out.flush()  # the rows are worth reading while the total is counted
        count = total()
    what = f"{status} threads" if status else "threads"
    shown = f"{offset + 1}-{offset + len(summaries)} of {count}" if summaries else f"0 of {count}"
    print(f"{shown} {what} (read from Postgres)", file=out)
    return 0


def _imports_of_count(metadata: dict | None) -> None:
    """What `_count_threads` imports on its way (once a reader has connected: psycopg is loaded by then)."""
    from importlib import import_module

    import_module("lgconsole.stack.checkpoints.index")  # (thread_walk's, for the opt-in index)
    if metadata:
        import_module("psycopg.types.json")  # (thread_filters's)


def _count_threads(config: Config, metadata: dict | None, search: str | None) -> int:
    with open_reader(config) as reader:
        return reader.count(metadata_filter=metadata, text=search)


def server_view(config: Config) -> Any:
    """The server's busy threads for the thread list, or None when it does not answer."""
    from lgconsole.stack.checkpoints.records import ServerView
    from lgconsole.stack.errors import StackError
    from lgconsole.stack.server.busy import busy_thread_ids

    from lgconsole.console.sources.urls import langgraph_url

    try:
        return ServerView(busy_thread_ids(langgraph_url(config)))
    except StackError:
        return None


def _create_index(config: Config) -> None:
    """`--create-index`: the user's consent to add lgconsole's one index (stack/checkpoints/index.py)."""
    from lgconsole.stack.checkpoints.index import RECENT_INDEX, create_recent_index

    print(f"lgconsole: creating index {RECENT_INDEX} on checkpoints (checkpoint_id) INCLUDE (thread_id), "
          "CONCURRENTLY ...", file=sys.stderr, flush=True)
    result = create_recent_index(postgres_url(config))
    if result.created:
        print(f"lgconsole: index {RECENT_INDEX} created in {result.seconds:.1f}s ({result.size}, "
              f"~{result.rows:,} checkpoints)", file=sys.stderr)
    else:
        print(f"lgconsole: index {RECENT_INDEX} was already there ({result.size})", file=sys.stderr)


# --- history ---------------------------------------------------------------------------------------------------------

def cmd_history(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    from lgconsole.console.model.checkpoint_tree import CheckpointTree

    out = out or sys.stdout
    with open_reader(config) as reader:
        nodes = reader.history(args.thread, include_subgraphs=not getattr(args, "no_subgraphs", False))
    tree = CheckpointTree(nodes)
    if getattr(args, "json", False):
        _print_json({"thread_id": args.thread, "checkpoints": [n.to_json() for n in nodes],
                     "tree": tree.to_json()}, out)
        return 0
    for line in tree.lines():
        print(printable(line if secrets_shown() else mask_text(line)), file=out)  # from a user's graph, escaped
    root_count = sum(1 for n in nodes if not n.checkpoint_ns)
    calls = len(tree.namespaces()) - ('' in tree.namespaces())
    print(f"{len(nodes)} checkpoints ({root_count} in the root graph, {calls} subgraph call(s)), "
          f"{len(tree.heads())} head(s), {len(tree.forks())} fork(s)", file=out)
    return 0


# --- diff ------------------------------------------------------------------------------------------------------------

def cmd_diff(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    # (run as the program it runs with the collector off: SHORT_COMMANDS in cli/main.py, console/collector.py)
    from lgconsole.console.model.state_diff import diff_states

    out = out or sys.stdout

    with open_reader(config) as reader:
        ns_a, id_a = reader.find_checkpoint(args.thread, args.checkpoint_a)
        ns_b, id_b = reader.find_checkpoint(args.thread, args.checkpoint_b)
        state_b, state_a = reader.state_with_parent(args.thread, id_b, ns_b, parent=(id_a, ns_a))
    if getattr(args, "json", False):
        found = diff_states(state_a.values, state_b.values)
        found = found if secrets_shown() else mask_diff(found)  # a secret key's path is in a value: mask by path
        _print_json({"thread_id": args.thread,
                     "a": {"checkpoint_id": id_a, "checkpoint_ns": ns_a, "step": state_a.step},
                     "b": {"checkpoint_id": id_b, "checkpoint_ns": ns_b, "step": state_b.step},
                     "empty": found.is_empty, **found.to_json()}, out)
        return 0
    found = (diff_states(state_a.values, state_b.values) if secrets_shown()
             else diff_masked_states(state_a.values, state_b.values))
    print(f"--- {id_a}  step {state_a.step}{'  [' + ns_a + ']' if ns_a else ''}", file=out)
    print(f"+++ {id_b}  step {state_b.step}{'  [' + ns_b + ']' if ns_b else ''}", file=out)
    for line in found.lines():
        print(printable(line if secrets_shown() else mask_text(line)), file=out)
    if found.is_empty:
        print("(no differences in the state)", file=out)
    unreadable = sorted(set(state_a.unreadable) | set(state_b.unreadable))
    if unreadable:
        print(f"note: values shown as placeholders (not decoded): {', '.join(unreadable)}", file=out)
    return 0


# --- time travel -----------------------------------------------------------------------------------------------------

def parse_value(text: str) -> Any:
    """An interrupt answer (console/model/interrupts.py): JSON or text, `-` reads it from stdin; an empty or
    too deeply nested one is a one-line error."""
    from lgconsole.console.cli.exit_codes import UsageError
    from lgconsole.console.cli.json_args import MAX_JSON_DEPTH, json_depth, read_arg_text
    from lgconsole.console.model.interrupts import AnswerError, parse_answer

    try:
        # `-` only: an answer is text too, and text may start with `@`
        value = parse_answer(read_arg_text(text, "resume VALUE") if text == "-" else text)
    except AnswerError as exc:
        raise UsageError(f"resume: {exc}; nothing was sent") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise UsageError(f"resume: the answer is nested more than {MAX_JSON_DEPTH} levels deep; nothing was sent")
    return value


@contextmanager
def _quiet_sdk() -> Iterator[None]:
    """langgraph_sdk logs every retried request at WARNING; our errors say it in one line."""
    import logging

    log = logging.getLogger("langgraph_sdk")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _time_travel(config: Config, action) -> int:
    """Open a reader and a TimeTravel on the config's stack, run `action(tt)` (a coroutine function)."""
    import asyncio

    from lgconsole.stack.server.time_travel import TimeTravel

    from lgconsole.console.sources.urls import langgraph_url

    url = langgraph_url(config)
    with open_reader(config) as reader, _quiet_sdk():
        async def go() -> int:
            async with TimeTravel(url, reader) as tt:
                return await action(tt)

        return asyncio.run(go())


def _emit(data: dict, as_json: bool, text: str, out: TextIO) -> None:
    if as_json:
        print_json(data, out, indent=None)
    else:
        print(text, file=out, flush=True)


REATTACHED = "; the thread was re-attached to the server"


async def _announce_then_follow(args: argparse.Namespace, out: TextIO, data: dict, text: str,
                                session: Any | None, breakpoints: Any = None) -> int:
    """Say what was started (one line, or one JSON object with --json), then follow its run, if one was started.
    0 when there was no run or it succeeded, 1 otherwise."""
    from lgconsole.console.cli.live import StepPrinter, follow, succeeded
    from lgconsole.console.sources.run_follower import RunFollower

    _emit(data, args.json, text + (REATTACHED if data.get("reattached") else ""), out)
    if session is None:
        return 0
    follower = RunFollower(session.url)
    follower.adopt(session)
    return exit_codes.OK if succeeded(await follow(follower, StepPrinter(args.json), breakpoints)) else exit_codes.FAILED


def cmd_replay(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout

    async def action(tt: Any) -> int:
        started = await tt.replay(args.thread, args.checkpoint)
        run_id = started.session.run_id
        return await _announce_then_follow(
            args, out, {"event": "replay", "thread_id": started.thread_id, "checkpoint_id": started.checkpoint_id,
                        "run_id": run_id, "reattached": started.reattached},
            f"replay of thread {started.thread_id} from checkpoint {started.checkpoint_id}: run {run_id}",
            started.session)

    return _time_travel(config, action)


def cmd_fork(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    update = parse_sets(args.sets)

    async def action(tt: Any) -> int:
        result = await tt.fork(args.thread, args.checkpoint, update, as_node=args.as_node, run=not args.no_run)
        run_id = result.session.run_id if result.session else None
        keys = ", ".join(update) or "no keys"
        return await _announce_then_follow(
            args, out, {"event": "fork", "thread_id": result.thread_id, "from_checkpoint_id": result.from_checkpoint_id,
                        "checkpoint_id": result.checkpoint_id, "update": update, "as_node": result.as_node,
                        "run_id": run_id, "reattached": result.reattached},
            f"forked thread {result.thread_id} at {result.from_checkpoint_id}: new checkpoint "
            f"{result.checkpoint_id} ({keys}{' as ' + result.as_node if result.as_node else ''})"
            + (f"; run {run_id}" if run_id else ""),
            result.session)

    return _time_travel(config, action)


def cmd_resume(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.value is None:
        return _continue(config, args, out)
    value = parse_value(args.value)

    async def action(tt: Any) -> int:
        started = await tt.resume(args.thread, value)
        run_id = started.session.run_id
        return await _announce_then_follow(
            args, out, {"event": "resume", "thread_id": started.thread_id, "value": value, "run_id": run_id,
                        "reattached": started.reattached},
            f"resumed thread {started.thread_id} with {json.dumps(value, default=str)}: run {run_id}",
            started.session)

    return _time_travel(config, action)


def _continue(config: Config, args: argparse.Namespace, out: TextIO) -> int:
    """`resume THREAD` with no answer: a thread stopped at a breakpoint goes on (a run with no input)."""
    from lgconsole.console.cli.breakpoint_args import breakpoints_of

    breakpoints = breakpoints_of(args)

    async def action(tt: Any) -> int:
        if breakpoints:
            from lgconsole.stack.server.runs import get_thread

            from lgconsole.console.sources.assistant_admin import check_breakpoints

            metadata = ((await get_thread(tt.url, args.thread)) or {}).get("metadata") or {}
            assistant = metadata.get("assistant_id") or metadata.get("graph_id")
            if assistant:
                await check_breakpoints(tt.url, str(assistant), breakpoints)
        started = await tt.proceed(args.thread, **breakpoints.run_kwargs())
        run_id = started.session.run_id
        return await _announce_then_follow(
            args, out, {"event": "continue", "thread_id": started.thread_id, "run_id": run_id,
                        "reattached": started.reattached},
            f"continued thread {started.thread_id}: run {run_id}", started.session, breakpoints)

    return _time_travel(config, action)


def cmd_copy(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout

    async def action(tt: Any) -> int:
        result = await tt.copy(args.thread)
        _emit({"event": "copy", "from_thread_id": result.from_thread_id, "thread_id": result.thread_id,
               "reattached": result.reattached}, getattr(args, "json", False),
              f"copied thread {result.from_thread_id} to {result.thread_id}", out)
        return 0

    return _time_travel(config, action)
