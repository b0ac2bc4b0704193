"""`lgconsole prune` (delete old threads from the checkpoint tables, dry run unless --yes) and `lgconsole drill kill
SERVICE` (the spot-eviction drill)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timedelta
from typing import Any, TextIO

from lgconsole.stack.errors import StackError

from lgconsole.console.cli.output import print_json
from lgconsole.console.config import Config
from lgconsole.console.cli import exit_codes
from lgconsole.console.model.text import format_age

MAX_IDS_SHOWN = 5
MIN_AGE = timedelta(seconds=1)  # below this an age is a slip (0.0001m: every thread, even the one written now)
MAX_AGE = timedelta(days=36500)  # 100 years: older matches nothing, and a cutoff before 1926 means a typo


def add_ops_commands(subparsers: Any) -> None:
    """Add `prune` and `drill` to the CLI's argparse subparsers."""
    prune = subparsers.add_parser("prune", help="delete threads whose latest checkpoint is older than AGE from the "
                                                "checkpoint tables (a dry run unless --yes)")
    prune.add_argument("--older-than", required=True, type=_age, metavar="AGE",
                       help="how long since a thread's latest checkpoint: 90m, 36h, 7d, 2w")
    mode = prune.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing (default)")
    mode.add_argument("--yes", action="store_true", help="delete")
    from lgconsole.stack.checkpoints.prune import DEFAULT_BATCH_THREADS

    prune.add_argument("--batch", type=_positive_int, default=DEFAULT_BATCH_THREADS, metavar="N",
                       help=f"threads deleted per transaction (default {DEFAULT_BATCH_THREADS}); writers wait while "
                            "a batch holds its lock")
    prune.add_argument("--force-server-down", action="store_true",
                       help="delete even when the LangGraph server does not answer (live runs cannot be checked)")
    prune.add_argument("--json", action="store_true", help="machine-readable output")

    drill = subparsers.add_parser("drill", help="operations drills on the running stack")
    drills = drill.add_subparsers(dest="drill", required=True)
    kill = drills.add_parser("kill", help="spot-eviction drill: SIGKILL a service while a node of a demo run is in "
                                          "flight, then check that the thread resumes from its last checkpoint")
    from lgconsole.console.sources.drill import DEFAULT_DELAY_S, DRILL_SERVICES, HELD_FOR_S, HELD_NODE

    kill.add_argument("service", choices=DRILL_SERVICES, metavar="SERVICE",
                      help=f"the service to kill: {', '.join(DRILL_SERVICES)}")
    kill.add_argument("--delay", type=_delay, default=DEFAULT_DELAY_S, metavar="S",
                      help=f"seconds each demo worker sleeps (default {DEFAULT_DELAY_S:g}; {HELD_NODE}, killed "
                           f"after the others finished, {HELD_FOR_S:g}s more); 12 or more lets the dev server save "
                           "its run index before the kill")
    kill.add_argument("--thread", metavar="THREAD", help="use this thread (attach to its run, else start one on it)")
    kill.add_argument("--json", action="store_true", help="machine-readable output")


def _age(text: str):
    from lgconsole.stack.checkpoints.prune import PruneError, parse_age

    try:
        age = parse_age(text)
    except PruneError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not MIN_AGE <= age <= MAX_AGE:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is out of range: an age from 1s to 36500d (100 years), "
                                         "e.g. 90m, 36h, 7d, 2w")
    return age


def _delay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 600 seconds")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# --- prune -----------------------------------------------------------------------------------------------------------

def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({format_age(moment, now)})"


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    return shown + (f" and {len(ids) - MAX_IDS_SHOWN} more" if len(ids) > MAX_IDS_SHOWN else "")


def _rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {table}" for table, n in rows.items()) + f" ({sum(rows.values()):,} rows)"


def cmd_prune(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    from lgconsole.stack.server.busy import busy_threads_sync
    from lgconsole.stack.checkpoints.prune import PruneRefused, execute_prune, plan_prune

    from lgconsole.console.sources.urls import langgraph_url, postgres_url

    out = out or sys.stdout
    as_json = getattr(args, "json", False)
    delete = getattr(args, "yes", False)
    force = getattr(args, "force_server_down", False)
    pg_url = postgres_url(config)

    server_url, server_error, busy = None, None, {}
    try:
        server_url = langgraph_url(config)
        busy = busy_threads_sync(server_url)
    except StackError as exc:  # LangGraphUnreachable, or no server configured at all
        server_error = str(exc)
    if server_error and delete and not force:
        raise PruneRefused(f"{server_error}: prune cannot prove that no run is live on the threads it would delete, "
                           "so it deleted nothing; start the server (`lgconsole up`) or pass --force-server-down")

    plan = plan_prune(pg_url, args.older_than, set(busy))
    now = plan.planned_at
    server = {"url": server_url, "reachable": server_error is None, "error": server_error,
              "busy_threads": [b.to_json() for b in busy.values()]}
    if not as_json:
        _print_plan(plan, busy, server_error, delete, now, out)
    if not delete:
        if as_json:
            print_json({"dry_run": True, "server": server, "plan": plan.to_json(), "result": None}, out)
        return 0

    def still_protected() -> set[str]:
        if server_error:  # --force-server-down: nobody to ask
            return set()
        return set(busy_threads_sync(server_url))

    last_print = [0.0]

    def progress(p) -> None:
        if as_json or (time.monotonic() - last_print[0] < 1.0 and p.batch != p.batches):
            return
        last_print[0] = time.monotonic()
        print(f"  batch {p.batch}/{p.batches}: {p.threads_done:,} of {p.threads_total:,} threads deleted"
              f"{f', {p.threads_skipped} skipped' if p.threads_skipped else ''}, {sum(p.rows.values()):,} rows, "
              f"{p.elapsed_s:.1f}s", file=sys.stderr, flush=True)

    forget = None if server_error else _server_forget(server_url)
    earlier = _forget_pending(config, forget)
    result = execute_prune(pg_url, plan, batch_threads=args.batch, progress=progress, still_protected=still_protected,
                           forget=forget, server_down=server_error)
    _remember_pending(config, result.server_kept)
    if as_json:
        print_json({"dry_run": False, "server": server, "plan": plan.to_json(list_threads=False),
                    "result": {**result.to_json(), "server_deleted_from_earlier_prunes": earlier}}, out)
        return 0
    batches = f"{result.batches} batch{'es' if result.batches != 1 else ''}"
    print(f"deleted {len(result.deleted):,} threads in {batches} ({result.elapsed_s:.2f}s, "
          f"{result.rows_per_s:,.0f} rows/s): {_rows(result.rows)}", file=out)
    if result.skipped_new_activity:
        print(f"  skipped, a new checkpoint since the plan: {len(result.skipped_new_activity)} thread(s): "
              f"{_ids(result.skipped_new_activity)}", file=out)
    if result.skipped_protected:
        print(f"  skipped, a run became pending or running on the server: {len(result.skipped_protected)} thread(s): "
              f"{_ids(result.skipped_protected)}", file=out)
    if result.skipped_gone:
        print(f"  skipped, already gone: {len(result.skipped_gone)} thread(s)", file=out)
    if result.server_deleted or result.server_unknown:
        print(f"  the LangGraph server's records deleted too: {len(result.server_deleted):,} thread(s)"
              + (f" ({len(result.server_unknown):,} it did not know)" if result.server_unknown else ""), file=out)
    if result.server_kept:
        print(f"  the LangGraph server still lists {len(result.server_kept):,} of them with their old status and values "
              f"({result.server_error}): {_ids(result.server_kept)}; the next `lgconsole prune --yes` with the server "
              "up deletes them there", file=out)
    if earlier:
        print(f"  deleted from the server's records, left by an earlier prune while it was down: {len(earlier)} "
              "thread(s)", file=out)
    if result.batches:
        print(f"  checkpoint writers were held off {result.lock_held_ms_mean:.0f} ms per batch on average "
              f"(at most {result.lock_held_ms_max:.0f} ms)", file=out)
    return 0


PENDING_FILE = "prune-server-pending.json"  # threads pruned from Postgres while the server was down


def _server_forget(server_url: str):
    """Deletes a batch of threads from the server's own records (the SDK's threads.delete), for execute_prune."""
    from lgconsole.stack.checkpoints.prune import ServerForget
    from lgconsole.stack.server.runs import delete_threads

    def forget(thread_ids: list[str]) -> ServerForget:
        done = asyncio.run(delete_threads(server_url, thread_ids))
        return ServerForget(done.deleted, done.unknown, done.failed, done.error)

    return forget


def _forget_pending(config: Config, forget) -> list[str]:
    """Threads an earlier prune deleted from Postgres while the server was down: deleted on the server now."""
    path = config.state_path / PENDING_FILE
    if forget is None or not path.exists():
        return []
    try:
        pending = [str(t) for t in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return []
    answer = forget(pending) if pending else None
    _write_pending(path, answer.failed if answer else [])
    return (answer.deleted + answer.unknown) if answer else []


def _remember_pending(config: Config, kept: list[str]) -> None:
    if not kept:
        return
    path = config.state_path / PENDING_FILE
    try:
        known = json.loads(path.read_text()) if path.exists() else []
    except (OSError, ValueError):
        known = []
    _write_pending(path, sorted(set(known) | set(kept)))


def _write_pending(path, thread_ids: list[str]) -> None:
    import os

    if not thread_ids:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(thread_ids, fh)


def _print_plan(plan, busy: dict, server_error: str | None, delete: bool, now: datetime, out: TextIO) -> None:
    from lgconsole.stack.checkpoints.prune import format_age

    print(f"prune: threads whose latest checkpoint is older than {format_age(plan.older_than)} "
          f"(before {plan.cutoff:%Y-%m-%d %H:%M} UTC); {plan.threads_total:,} threads in the checkpoint tables",
          file=out)
    verb = "deleting" if delete else "would delete"
    print(f"  {verb} {len(plan.candidates):,} threads: {_rows(plan.rows)}", file=out)
    if plan.candidates:
        print(f"  their last activity: oldest {_when(plan.oldest_activity, now)}, newest "
              f"{_when(plan.newest_activity, now)}", file=out)
    if plan.protected:
        described = []
        for p in plan.protected[:MAX_IDS_SHOWN]:
            runs = busy.get(p.thread_id).runs if p.thread_id in busy else []
            described.append(p.thread_id + (f" (run {runs[0][0]} {runs[0][1]})" if runs else ""))
        more = len(plan.protected) - len(described)
        print(f"  skipped, a run is pending or running on the server: {len(plan.protected)} thread(s): "
              f"{', '.join(described)}{f' and {more} more' if more else ''}", file=out)
    if plan.undated:
        print(f"  kept, latest checkpoint id is not a uuid6 (age unknown): {plan.undated:,} thread(s)", file=out)
    if server_error:
        print(f"  warning: {server_error}: live runs were NOT checked"
              + ("" if delete else "; --yes will refuse unless --force-server-down"), file=out)
    if not delete:
        print("dry run: nothing was deleted; add --yes to delete", file=out)


# --- drill -----------------------------------------------------------------------------------------------------------

def cmd_drill(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    from lgconsole.console.sources.drill import drill_target, report_lines, run_drill

    out = out or sys.stdout
    as_json = getattr(args, "json", False)
    target = drill_target(config)

    def say(line: str) -> None:
        if not as_json:
            print(f"  … {line}", file=sys.stderr, flush=True)

    report = asyncio.run(run_drill(target, args.service, delay=args.delay, thread_id=args.thread, progress=say))
    if as_json:
        print_json(report.to_json(), out)
    else:
        for line in report_lines(report):
            print(line, file=out)
    return exit_codes.OK if report.ok else exit_codes.FAILED
