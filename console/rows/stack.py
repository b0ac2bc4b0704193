"""A stack snapshot -> the Stack screen's service rows."""

from __future__ import annotations

from lgconsole.widgets.service_table import ServiceRow

from lgconsole.console.model.text import format_duration
from lgconsole.console.rows.shown import shown
from lgconsole.console.sources.stack import StackSnapshot

BUILDING = "building environment"
NOTE_CHARS = 48


def starting_note(status) -> str:
    """What a starting service is busy with when it is not the server itself yet: the project environment's build
    phase ("building environment: installing …"), shown where the version will be once it runs."""
    detail = status.detail or ""
    if status.state.value != "starting" or not detail.startswith(BUILDING):
        return ""
    phase = detail.split(": ")[1] if ": " in detail else ""
    note = f"{BUILDING}: {phase}" if phase else BUILDING
    return note if len(note) <= NOTE_CHARS else note[:NOTE_CHARS - 1] + "…"


def service_rows(snapshot: StackSnapshot) -> list[ServiceRow]:
    return [
        ServiceRow(name=shown(s.name), state=s.state.value, managed=s.managed, pid=s.pid, port=s.port,
                   uptime=format_duration(s.uptime(snapshot.taken_at)), restarts=s.restarts,
                   version=shown(s.version or starting_note(s)), url=shown(s.url or ""),  # a server's own words
                   run_elsewhere=s.run_elsewhere)
        for s in snapshot.services
    ]
