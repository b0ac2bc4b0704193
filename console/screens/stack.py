"""The Stack screen: every service with its state, pid, port, uptime, restarts; start/stop/restart; log tails."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from lgconsole.widgets.log_tail import LogTail
from lgconsole.widgets.palette import Palette
from lgconsole.widgets.service_table import ServiceTable

from lgconsole.console.rows.shown import shown, shown_lines
from lgconsole.console.model.text import format_step_duration
from lgconsole.console.screens.base import ConsoleScreen


# A killed service must not look healthy a second later: while this screen is up the state file is read this often
# (a cheap read; read_state also checks each recorded process in /proc, ahead of the supervisor's own tick).
KILL_VISIBLE_S = 0.5


class StackScreen(ConsoleScreen):
    BINDINGS = [
        Binding("r", "service('restart')", "Restart"),
        Binding("x", "service('stop')", "Stop"),
        Binding("u", "service('start')", "Start"),
        Binding("l,enter", "logs", "Logs"),
        Binding("U", "stack_up", "Stack up"),
        Binding("D", "stack_down", "Stack down"),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="stack-body"):
            yield ServiceTable(id="services")
            yield Static(id="service-detail")
            yield LogTail(id="log-tail")

    def on_mount(self) -> None:
        if getattr(self.console, "poll", False):
            self.set_interval(KILL_VISIBLE_S, self._poll_while_shown)

    def _poll_while_shown(self) -> None:
        if self.is_current:
            self.console.refresh_snapshot()

    @property
    def table(self) -> ServiceTable:
        return self.query_one(ServiceTable)

    def show_snapshot(self, snapshot) -> None:
        # imported with the first snapshot, after the first frame (the rows import the stack's sources: ~30 ms)
        from lgconsole.console.rows.stack import service_rows

        self.table.show(service_rows(snapshot))
        self._show_selected(snapshot)

    def _show_selected(self, snapshot) -> None:
        name = self.table.selected_service
        svc = snapshot.by_name(name) if name else None
        detail = self.query_one("#service-detail", Static)
        tail = self.query_one(LogTail)
        if svc is None:
            detail.update("")
            tail.show("log", [])
            return
        from lgconsole.console.sources.external import PROBE_EVERY_S

        palette = Palette.of(self)
        text = Text()
        text.append(f"{svc.name} ", style="bold")
        managed = "managed by lgconsole" if svc.managed else f"external: probed every {PROBE_EVERY_S:g} s, not run"
        if svc.run_elsewhere:
            managed = f"run without lgconsole's supervisor: probed every {PROBE_EVERY_S:g} s, not started or stopped"
        text.append(f"· {shown(svc.url or 'no url')} · {managed}")
        if svc.state.value == "down":
            text.append(f"\ndown: {shown(svc.detail or 'no answer')}", style=palette.style("error", "bold"))
        elif svc.detail:
            text.append(f"\n{shown(svc.detail, multiline=True)}",
                        style=palette.style("starting") if svc.state.value == "starting" else "")
        if svc.name == "redis" and snapshot.redis_use and snapshot.redis_use != svc.detail:
            text.append(f"\n{shown(snapshot.redis_use)}", style="dim")
        if svc.last_error and svc.state.value != "down":
            text.append(f"\nlast error: {shown(svc.last_error, multiline=True)}", style=palette.style("error"))
        if svc.healthy_at and svc.started_at and svc.healthy_at >= svc.started_at:
            text.append(f"\nhealthy {format_step_duration(svc.healthy_at - svc.started_at)} after start", style="dim")
        if snapshot.unsupervised:
            names = ", ".join(s.name for s in snapshot.unsupervised)
            text.append(f"\nthe supervisor (pid {snapshot.supervisor_pid}) has died: {names} run unsupervised and "
                        "nothing restarts them; press U to start a new supervisor that adopts them",
                        style=palette.style("error", "bold"))
        elif svc.run_elsewhere:
            text.append("\nit runs without lgconsole's supervisor (the exported systemd units or another manager): "
                        "start, stop and restart it there", style="dim")
        elif not snapshot.supervisor_running and not snapshot.needs_supervisor:
            text.append("\nevery service is external or not used: nothing to bring up", style="dim")
        elif not snapshot.supervisor_running:
            text.append("\nthe stack is not running: press U to bring it up", style=palette.style("warning", "bold"))
        detail.update(text)
        tail.show(shown(f"{svc.name} log · {svc.log_path or 'no log'}"),
                  shown_lines(snapshot.log_tails.get(svc.name, [])))

    def on_service_table_row_highlighted(self, event) -> None:
        if self.console.snapshot is not None:
            self._show_selected(self.console.snapshot)

    def select(self, name: str) -> None:
        """Put the cursor on a service (a jump from Triage)."""
        keys = self.table.row_keys
        if name in keys:
            self.table.move_cursor(row=keys.index(name))

    def action_service(self, verb: str) -> None:
        name = self.table.selected_service
        snapshot = self.console.snapshot
        svc = snapshot.by_name(name) if name and snapshot is not None else None
        if svc is not None and not svc.managed:
            self.notify(f"{name} is external: lgconsole probes it but does not run it, so it cannot {verb} it",
                        severity="warning")
            return
        if svc is not None and svc.run_elsewhere:
            self.notify(f"{name} runs without lgconsole's supervisor (the exported systemd units or another manager): "
                        f"lgconsole cannot {verb} it", severity="warning")
            return
        if name:
            self.console.service_command(verb, name)

    def action_logs(self) -> None:
        name = self.table.selected_service
        if name:
            self.console.open_logs(name)

    def action_stack_up(self) -> None:
        self.console.stack_command("up")

    def action_stack_down(self) -> None:
        self.console.confirm_stack_down()
