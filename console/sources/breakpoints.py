"""Where the console's breakpoints are kept between consoles: the state dir's breakpoints.json
(stack/services/breakpoint_store.py), read once when the console starts and written on every change."""

from __future__ import annotations

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.breakpoint_store import breakpoints_path, read_breakpoints, write_breakpoints

from lgconsole.console.config import Config
from lgconsole.console.model.breakpoints import BreakpointBook


def breakpoint_book(config: Config) -> BreakpointBook:
    """The breakpoints saved in the config's state dir, saved again on each change. A file that cannot be read is
    left as it is (its one line in `load_error`) and the breakpoints picked are kept for the session only."""
    if not config.state_dir:  # (a bare Config: no state dir at all, not the working directory)
        return BreakpointBook()
    state_dir = config.state_path
    try:
        saved = read_breakpoints(state_dir)
    except StackError as exc:
        return BreakpointBook(load_error=f"{exc} (breakpoints are kept for this session only)")

    def save(book: dict) -> str | None:
        try:
            if write_breakpoints(state_dir, book):
                return None
            return f"breakpoints kept for this session only: {state_dir} does not exist (`lgconsole up` makes it)"
        except OSError as exc:
            return (f"breakpoints kept for this session only: cannot write {breakpoints_path(state_dir)} "
                    f"({exc.strerror or exc})")

    return BreakpointBook(saved, save)
