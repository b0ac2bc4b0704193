"""`lgconsole trace RUN|THREAD`: a run's waterfall of node steps with its model calls, tokens, totals and cost, the
thread's state growth, and the slowest nodes across recent runs; read from Postgres (the server only for the run's
status)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from lgconsole.console.config import Config


def add_trace_command(subparsers: Any) -> None:
    trace = subparsers.add_parser("trace", help="a run's node steps as a waterfall with model calls, tokens and cost; "
                                                "the thread's state growth; the slowest nodes of recent runs")
    trace.add_argument("ref", metavar="RUN|THREAD", help="a run id, or a thread id (its latest run)")
    trace.add_argument("--width", type=int, default=100, help="text width of the waterfall (default 100)")
    trace.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_trace(config: Config, args: argparse.Namespace, out: TextIO | None = None) -> int:
    from lgconsole.console.cli.output import print_json
    from lgconsole.console.model.masking import mask_text
    from lgconsole.console.model.sanitise import printable
    from lgconsole.console.rows.trace_text import growth_lines, slowest_lines, summary_lines, waterfall_lines
    from lgconsole.console.sources.trace import TraceSource

    out = out or sys.stdout
    source = TraceSource(config)
    try:
        report = source.report(args.ref)
    finally:
        source.close()
    if args.json:
        print_json(report.to_json(), out)
        return 0
    width = max(40, args.width)
    sections = [summary_lines(report.trace), ["", "waterfall (node steps, from the run's checkpoints):"],
                waterfall_lines(report.trace, width)]
    if report.growth is not None:
        sections += [["", f"state growth of thread {report.trace.thread_id}:"], growth_lines(report.growth)]
    sections += [["", "slowest nodes across recent runs (mean duration):"], slowest_lines(report.slowest)]
    for section in sections:
        for line in section:
            print(printable(mask_text(line)), file=out)
    return 0
