"""The exit codes of every `lgconsole` command, in one table (the README's "Exit codes" section lists the same), and
the error a command raises for a bad argument value so that it ends with USAGE like argparse's own errors."""

from __future__ import annotations

import signal

OK = 0
FAILED = 1  # the command ran and failed: a service unreachable, a run that errored, a refusal; `status`: unhealthy
USAGE = 2  # the command line: argparse's errors and argument values that cannot be used (`--input` not JSON, ...)
NOT_RUNNING = 3  # `status`: no supervisor runs the stack, and something is lgconsole's to run (not all external)
CONFIG = 4  # the config file or an environment override: unreadable, unknown key, wrong type, out of range
DOCTOR_WARNING = 5  # `doctor`: warnings, nothing critical
DOCTOR_CRITICAL = 6  # `doctor`: at least one critical finding
INTERRUPTED = 128 + signal.SIGINT  # 130: ctrl+c
CLOSED_PIPE = 128 + signal.SIGPIPE  # 141: the reader of the output went away (`lgconsole threads | head -1`)

# What each code means, for the README and `lgconsole --help`'s epilog.
MEANINGS = (
    (OK, "success; `doctor`: nothing to warn about"),
    (FAILED, "the command failed (a service unreachable, a run that errored, a refusal); `status`: not all healthy"),
    (USAGE, "bad command line: an unknown option, a missing or unusable argument value"),
    (NOT_RUNNING, "`status`: no supervisor runs the stack"),
    (CONFIG, "bad configuration: the config file or an environment override"),
    (DOCTOR_WARNING, "`doctor`: warnings, nothing critical"),
    (DOCTOR_CRITICAL, "`doctor`: something critical"),
    (INTERRUPTED, "interrupted (ctrl+c)"),
    (CLOSED_PIPE, "the reader of the output went away (a pipe into `head`)"),
)


class UsageError(Exception):
    """An argument value that cannot be used; str() is one line naming the option, and the command exits USAGE."""


def doctor_exit(level: int) -> int:
    """`doctor`'s exit code for the triage level (0 healthy, 1 warnings, 2 critical)."""
    return {0: OK, 1: DOCTOR_WARNING}.get(level, DOCTOR_CRITICAL)


def epilog() -> str:
    """The table for `lgconsole --help` (a raw-text epilog: one code a line)."""
    return "exit codes:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in MEANINGS)
