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


# --- what every command prints: masked and terminal-safe -------------------------------------------------------------

_secrets_shown = False  # `--show-secrets`: the one way to see them


def show_secrets(shown: bool) -> None:
    """`lgconsole --show-secrets`: this command's output (text and JSON) keeps secrets in clear."""
    global _secrets_shown
    _secrets_shown = shown


def secrets_shown() -> bool:
    return _secrets_shown


class SafeStream:
    """stdout or stderr as every command writes it: each write masked by the one masking policy (unless
    --show-secrets) and made terminal-safe by the one sanitiser (a line break stays one). Everything else (fileno,
    flush, encoding, isatty) is the stream's own, so a closed pipe is told as before."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        from lgconsole.console.model.masking import mask_text
        from lgconsole.console.model.sanitise import printable

        return self.stream.write(printable(text if _secrets_shown else mask_text(text), multiline=True))

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def run_with_safe_output(command: Callable[[], int]) -> int:
    """Run a command with sys.stdout and sys.stderr as SafeStreams (put back afterwards): nothing it prints, from
    any code path, can control the terminal or show a secret the policy knows."""
    saved = sys.stdout, sys.stderr
    sys.stdout = SafeStream(sys.stdout) if sys.stdout is not None else None
    sys.stderr = SafeStream(sys.stderr) if sys.stderr is not None else None
    try:
        return command()
    finally:
        sys.stdout, sys.stderr = saved


def print_unmasked(text: str, out=None) -> None:
    """For a command whose purpose is to print a secret the user asked for (a token for their own client, the export
    lines of `env`), or text the generic policy would break (`export`'s files, masked against the stack's known
    secrets): the text escaped but not masked. Nothing else may call it."""
    from lgconsole.console.model.sanitise import printable

    out = out or sys.stdout
    stream = out.stream if isinstance(out, SafeStream) else out
    print(printable(text, multiline=True), file=stream, flush=True)


def print_json(data, out=None, indent: int | None = 2) -> None:
    """The one writer of every command's JSON (a document, or one line of a JSON-lines stream with indent=None):
    secrets masked at any depth (keys and secret-shaped strings) unless --show-secrets, then written as valid JSON
    with no raw control, format or bidi character (model/sanitise.py's json_text)."""
    from lgconsole.console.model.masking import mask_secrets
    from lgconsole.console.model.sanitise import json_text

    out = out or sys.stdout
    text = json_text(data if _secrets_shown else mask_secrets(_plain(data)), indent=indent)
    stream = out.stream if isinstance(out, SafeStream) else out  # already safe: no second pass over it
    print(text, file=stream, flush=True)


def _plain(data):
    """Tuples as lists, so the masking walk reaches inside them (JSON writes both as arrays)."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data
