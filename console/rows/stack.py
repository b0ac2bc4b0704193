"""A stack snapshot -> the Stack screen's service rows."""

from __future__ import annotations

from lgconsole.widgets.service_table import ServiceRow

from lgconsole.console.model.text import format_duration
from lgconsole.console.sources.stack import StackSnapshot


def service_rows(snapshot: StackSnapshot) -> list[ServiceRow]:
    return [
        ServiceRow(name=s.name, state=s.state.value, managed=s.managed, pid=s.pid, port=s.port,
                   uptime=format_duration(s.uptime(snapshot.taken_at)), restarts=s.restarts,
                   version=s.version or "", url=s.url or "")
        for s in snapshot.services
    ]
