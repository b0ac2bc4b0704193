"""Service logs rotated by size, with no line lost: a service writes its stdout and stderr into a pipe, and a small
logger process of its own appends what comes out of it to `logs/NAME.log`; past `max_bytes` it renames the file to
NAME.log.1 (the older ones shift up to NAME.log.KEEP, the oldest goes) and opens a new one, at a line boundary.

Why a pipe and a process: a service that writes straight to the file keeps writing to its open descriptor, so a
rename leaves it in the old file, and copy-then-truncate loses what it writes between the copy and the truncate.
The reader of the pipe is a process of its own, not a supervisor thread, so a service outlives its supervisor as
before (a new one adopts it) and its output still lands in the file. It reads until the service and every process
that inherited the pipe have exited, so the last lines of a crash are there too.

    python -m lgconsole.stack.services.log_rotation LOG_PATH MAX_BYTES KEEP    (the pipe on stdin)
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

READ_CHUNK = 64 * 1024
FILE_MODE = 0o600


@dataclass(frozen=True)
class LogLimits:
    """How big a service log grows before it is rotated, and how many rotated files are kept."""

    max_bytes: int = 10_000_000
    keep: int = 5


def rotated(path: Path, index: int) -> Path:
    return path.with_name(f"{path.name}.{index}")


def log_files(path: Path) -> list[Path]:
    """The log and its rotated files that exist, oldest first (NAME.log.N ... NAME.log.1, NAME.log)."""
    older = []
    index = 1
    while rotated(path, index).exists():
        older.append(rotated(path, index))
        index += 1
    return [*reversed(older), *([path] if path.exists() else [])]


class RotatingLog:
    """Appends bytes to a log file and rotates it past `max_bytes`, at the next line end (a line longer than the
    limit is cut, so a file never grows past twice the limit)."""

    def __init__(self, path: Path, limits: LogLimits):
        self.path = Path(path)
        self.limits = limits
        self.fd = -1
        self.size = 0
        self._open()

    def _open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        self.size = os.fstat(self.fd).st_size

    def _reopen_if_moved(self) -> None:
        """Someone else rotated or removed the file (a second logger draining, a person): follow the name."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(self.fd)
        if current is None or (current.st_ino, current.st_dev) != (mine.st_ino, mine.st_dev):
            os.close(self.fd)
            self._open()
        else:
            self.size = current.st_size  # the supervisor appends its start banner to the same file

    def write(self, data: bytes) -> None:
        self._reopen_if_moved()
        limit = self.limits.max_bytes
        while data:
            if self.size < limit:
                piece, data = data[:limit - self.size], data[limit - self.size:]
            else:
                end = data.find(b"\n")
                cut = (end + 1) if end >= 0 else len(data)
                if end < 0 and self.size + len(data) >= 2 * limit:
                    cut = max(1, 2 * limit - self.size)  # a line with no end in sight: cut it here
                piece, data = data[:cut], data[cut:]
            self._append(piece)
            if self.size >= limit and (piece.endswith(b"\n") or self.size >= 2 * limit):
                self.rotate()

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
            self.size += written

    def rotate(self) -> None:
        os.close(self.fd)
        keep = self.limits.keep
        rotated(self.path, keep).unlink(missing_ok=True)
        for index in range(keep - 1, 0, -1):
            if rotated(self.path, index).exists():
                os.replace(rotated(self.path, index), rotated(self.path, index + 1))
        if self.path.exists():
            os.replace(self.path, rotated(self.path, 1))
        self._open()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class LogFollower:
    """What is appended to a log, as it grows, across rotations: at a rotation, the rest of the file it had open,
    then every file rotated after it (several rotations may pass between two reads), then the new file: each line
    once, as long as the rotated files are still kept. A truncated file is read again from its start. Opens at the
    end of the file (or its start, when the file appears later)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fh = None
        self._open(at_end=True)

    def _open(self, at_end: bool) -> None:
        try:
            self.fh = open(self.path, "rb")
        except FileNotFoundError:
            self.fh = None
            return
        if at_end:
            self.fh.seek(0, os.SEEK_END)

    def read(self) -> bytes:
        """The bytes appended since the last call (b"" when none)."""
        if self.fh is None:
            self._open(at_end=False)
            if self.fh is None:
                return b""
        data = self.fh.read()
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return data  # between the rename and the new file: the next call opens it
        if _ident(current) != _ident(os.fstat(self.fh.fileno())):
            return data + self._catch_up()
        if current.st_size < self.fh.tell():
            self.fh.seek(0)
            data += self.fh.read()
        return data

    def _catch_up(self) -> bytes:
        data = self.fh.read()  # written before the logger renamed it
        ours = _ident(os.fstat(self.fh.fileno()))
        self.fh.close()
        self._open(at_end=False)  # pinned first: what rotates after this is read at the next call
        pinned = _ident(os.fstat(self.fh.fileno())) if self.fh else None
        between = []  # files rotated after ours and before the pinned one, newest first
        seen: set[tuple[int, int]] = set()
        index = 1
        while True:
            try:
                fh = open(rotated(self.path, index), "rb")
            except FileNotFoundError:
                # The logger renames .k to .k+1 from the oldest down: caught in the middle, one index is missing
                # and the older files sit above it. Only where nothing is above is ours gone (more rotations
                # than kept files): every file left is newer than it.
                if rotated(self.path, index + 1).exists():
                    index += 1
                    continue
                break
            ident = _ident(os.fstat(fh.fileno()))
            if ident == ours:
                fh.close()
                break
            if ident == pinned:  # the pinned file rotated meanwhile: those before it are newer, for later
                for newer in between:
                    newer.close()
                between, seen = [], set()
                fh.close()
            elif ident in seen:  # moved up one index while we walked: met again, read once
                fh.close()
            else:
                between.append(fh)
                seen.add(ident)
            index += 1
        for fh in reversed(between):
            data += fh.read()
            fh.close()
        return data + (self.fh.read() if self.fh else b"")

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _ident(st: os.stat_result) -> tuple[int, int]:
    return st.st_ino, st.st_dev


def start_logger(path: Path, limits: LogLimits) -> tuple[int, subprocess.Popen]:
    """A logger process reading a new pipe into `path`: returns the pipe's write end (the service's stdout and
    stderr; the caller closes it once the service holds it) and the logger."""
    read_end, write_end = os.pipe()
    try:
        logger = subprocess.Popen(
            [sys.executable, "-I", "-m", "lgconsole.stack.services.log_rotation", str(path), str(limits.max_bytes),
             str(limits.keep)],
            stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # the service's group signals and the supervisor's end do not reach it
            close_fds=True)
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return write_end, logger


def copy_stream(source_fd: int, log: RotatingLog) -> None:
    while True:
        try:
            data = os.read(source_fd, READ_CHUNK)
        except InterruptedError:
            continue
        if not data:
            return
        log.write(data)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m lgconsole.stack.services.log_rotation LOG_PATH MAX_BYTES KEEP", file=sys.stderr)
        return 2
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the end of its pipe ends it: every line gets written
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    log = RotatingLog(Path(args[0]), LogLimits(max(1, int(args[1])), max(1, int(args[2]))))
    try:
        copy_stream(0, log)
    finally:
        log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
