"""The `--break-before` / `--break-after` options that `run` and `resume` share, apart from the run commands, so that
building the thread commands' parser (`threads`, `history`, `diff`) does not import the run follower."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where the options are read: building the parser (every cold command) needs none of it
    from lgconsole.console.model.breakpoints import Breakpoints


def add_breakpoint_arguments(command) -> None:
    command.add_argument("--break-before", action="append", default=[], metavar="NODE",
                         help="stop before this node of the root graph (repeatable); `lgconsole resume THREAD` goes on")
    command.add_argument("--break-after", action="append", default=[], metavar="NODE",
                         help="stop after this node of the root graph (repeatable)")


def breakpoints_of(args) -> Breakpoints:
    from lgconsole.console.model.breakpoints import Breakpoints

    before, after = getattr(args, "break_before", None) or [], getattr(args, "break_after", None) or []
    return Breakpoints(tuple(dict.fromkeys(before)), tuple(dict.fromkeys(after)))
