"""What every command shares about where its text goes: a reader that went away (`lgconsole graph | head -1`) ends
the command quietly with 141, as it ends `seq` or `git log`, instead of a BrokenPipeError traceback."""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Callable

from lgconsole.console.cli.exit_codes import CLOSED_PIPE as CLOSED_PIPE_EXIT  # 141, as `seq 1000000 | head -1`'s seq


def reader_gone(stream) -> bool:
    """True when `stream` is a pipe (or socket) whose reading end has been closed: a poll says POLLERR (Linux,
    macOS). Where poll is missing, a BrokenPipeError is taken at its word."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    try:
        events = poller.poll(0)
    except OSError:
        return False
    return any(mask & (select.POLLERR | select.POLLNVAL) for _, mask in events)


def _silence(stream) -> None:
    """Point the stream's file descriptor at /dev/null, so that the interpreter's last flush at exit (of text still
    buffered) goes nowhere instead of raising again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def quiet_when_reader_goes(command: Callable[[], int]) -> int:
    """Run a command (it returns the exit code) and flush what it printed. A BrokenPipeError because stdout's or
    stderr's reader went away ends it with CLOSED_PIPE_EXIT and no traceback (the `finally` blocks of the command
    have run: readers closed, connections released). A BrokenPipeError from anything else (a socket to a service)
    is raised as it is."""
    try:
        code = command()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: started with the descriptor closed (`>&-`), print() writes nowhere
                stream.flush()
        return code
    except BrokenPipeError:
        gone = [s for s in (sys.stdout, sys.stderr) if reader_gone(s)]
        if not gone:
            raise
        for stream in gone:
            _silence(stream)
        return CLOSED_PIPE_EXIT
