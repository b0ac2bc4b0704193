"""Where the CLI's text goes: a reader that went away ends a command quietly (141, no traceback); a BrokenPipeError
that is not about stdout is still an error (real pipes, no processes: the pipe's reading end is closed by hand, as
`head -1` closes it when it has its line). Text from a user's graph reaches the terminal escaped."""

from __future__ import annotations

import io
import os
import sys

import pytest
from hypothesis import given, strategies as st

from lgconsole.console.cli.output import CLOSED_PIPE_EXIT, quiet_when_reader_goes, reader_gone
from lgconsole.console.rows.thread_text import cut


@pytest.fixture
def pipe():
    """(reading fd or None once closed, a text stream on the writing end); both closed afterwards."""
    read_fd, write_fd = os.pipe()
    stream = os.fdopen(write_fd, "w", buffering=1)
    ends = {"read": read_fd}

    def close_reader():
        os.close(ends.pop("read"))

    yield stream, close_reader
    if "read" in ends:
        os.close(ends["read"])
    try:
        stream.close()
    except OSError:
        pass


def test_reader_gone_only_for_a_pipe_whose_reader_closed(pipe):
    stream, close_reader = pipe
    assert not reader_gone(stream)
    close_reader()
    assert reader_gone(stream)
    assert not reader_gone(io.StringIO()), "a stream without a file descriptor (pytest's capture) is never 'gone'"


def test_a_command_printing_into_a_closed_pipe_ends_quietly_with_141(pipe, monkeypatch):
    stream, close_reader = pipe
    monkeypatch.setattr(sys, "stdout", stream)
    closed = []

    def command() -> int:
        try:
            print("first line", flush=True)
            close_reader()  # `head -1` has its line and exits
            for n in range(10_000):
                print(f"row {n}")
            return 0
        finally:
            closed.append("reader closed")  # the command's own clean-up still runs

    assert quiet_when_reader_goes(command) == CLOSED_PIPE_EXIT == 141
    assert closed == ["reader closed"]
    print("after: goes to /dev/null, raises nothing")
    sys.stdout.flush()


def test_text_still_buffered_when_the_command_returns_is_flushed_inside(pipe, monkeypatch):
    """The interpreter's last flush at exit would raise outside any handler: the flush happens in the guard."""
    stream, close_reader = pipe
    buffered = os.fdopen(os.dup(stream.fileno()), "w", buffering=1 << 16)
    monkeypatch.setattr(sys, "stdout", buffered)
    close_reader()

    def command() -> int:
        print("a whole graph drawing, still in the buffer")
        return 0

    assert quiet_when_reader_goes(command) == 141
    buffered.write("x" * 10)
    buffered.close()  # the descriptor points at /dev/null now: nothing raises


def test_the_exit_code_of_a_command_that_printed_everything_is_kept(pipe, monkeypatch):
    stream, _ = pipe
    monkeypatch.setattr(sys, "stdout", stream)
    assert quiet_when_reader_goes(lambda: print("ok") or 2) == 2


def test_started_with_stdout_closed_the_command_still_runs(monkeypatch):
    """`lgconsole gpu >&-`: Python starts with sys.stdout None, print() writes nowhere; the guard must not trip."""
    monkeypatch.setattr(sys, "stdout", None)
    assert quiet_when_reader_goes(lambda: print("nowhere") or 3) == 3


def test_a_broken_pipe_that_is_not_stdout_is_raised(pipe, monkeypatch):
    """A socket to a service breaking is an error to show, not a reader that went away."""
    stream, _ = pipe
    monkeypatch.setattr(sys, "stdout", stream)

    def command() -> int:
        raise BrokenPipeError(32, "Broken pipe (a socket to Postgres)")

    with pytest.raises(BrokenPipeError, match="socket to Postgres"):
        quiet_when_reader_goes(command)


# --- text from a user's graph, on a terminal -------------------------------------------------------------------------

UNSAFE = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))] + list("\u061c\u200e\u200f\u202a\u202b\u202c\u202d"
                                                                       "\u202e\u2066\u2067\u2068\u2069")


def _terminal_safe(text: str) -> bool:
    text.encode("utf-8")  # no lone surrogate: printing it would raise
    return not any(ch in UNSAFE for ch in text)


@given(st.text(alphabet=st.characters(blacklist_categories=())), st.integers(min_value=2, max_value=200))
def test_cut_is_one_safe_line_within_the_limit(text, limit):
    shown = cut(text, limit)
    assert len(shown) <= limit and "\n" not in shown and _terminal_safe(shown)


def test_cut_examples():
    assert cut("line one\n\tline two " + "x" * 50, 20) == "line one line two x…"
