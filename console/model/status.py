"""The console's view of a followed run and of its node steps, as one StrEnum per vocabulary (strings compare and
serialise as before), and the one mapping from how the server says a run ended to what the console shows."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """A followed run as the console shows it (header, `lgconsole run`, the Threads screen's run line)."""

    STARTING = "starting"
    RUNNING = "running"
    SUCCESS = "success"
    WAITING = "waiting"  # stopped at interrupt(): the thread waits for an answer
    ERROR = "error"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    LOST = "lost"  # the server forgot the run (restarted before saving its run index)
    UNKNOWN = "unknown"

    @property
    def over(self) -> bool:
        return self not in (RunStatus.STARTING, RunStatus.RUNNING)

    @property
    def stopped_early(self) -> bool:
        """Steps still running at this end were stopped (by a cancel, a failure, a lost server)."""
        return self in (RunStatus.CANCELLED, RunStatus.ERROR, RunStatus.TIMEOUT, RunStatus.LOST)


class StepStatus(StrEnum):
    """One node step of a run."""

    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # stopped at interrupt(), waits for input
    CANCELLED = "cancelled"  # stopped by a cancel or by a sibling's failure


# the server's run statuses that mean a cancel (run `interrupted` is a cancel with action=interrupt, not interrupt())
_CANCELLED = frozenset({"interrupted", "cancelled"})


def end_status(server_status: str | None, thread_status: str | None = None) -> RunStatus:
    """How a run ended, from the server's run status and its thread's status once the stream closed.

    The server says `success` for a run that stopped at interrupt() (its thread is `interrupted`) and `interrupted`
    for a run cancelled with action=interrupt; the console says `waiting` and `cancelled`."""
    if server_status in _CANCELLED:
        return RunStatus.CANCELLED
    if thread_status == "interrupted":
        return RunStatus.WAITING
    try:
        return RunStatus(server_status)
    except ValueError:
        return RunStatus.UNKNOWN
