"""The Triage screen: what is wrong right now, worst first; enter jumps to the evidence."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from lgconsole.widgets.findings_table import FindingRow, FindingsTable
from lgconsole.widgets.palette import Palette

from lgconsole.console.model.triage import Finding, exit_code
from lgconsole.console.rows.shown import shown
from lgconsole.console.screens.base import ConsoleScreen

REFRESH_SECONDS = 15.0


def finding_key(n: int, finding: Finding) -> str:
    return f"{n}:{finding.code}"


class TriageScreen(ConsoleScreen):
    BINDINGS = [
        Binding("enter", "jump", "Evidence"),
        Binding("R", "refresh_findings", "Refresh"),
    ]

    def __init__(self, source=None, poll: bool = True):
        super().__init__()
        self.source = source
        self.poll = poll
        self.findings: list[Finding] = []
        self.checked_at: str | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="triage-body"):
            yield Static("checking…", id="triage-summary")
            yield FindingsTable(id="findings")
            yield Static(id="finding-detail")

    def on_mount(self) -> None:
        if self.source is None:
            from lgconsole.console.sources.triage import TriageSource

            self.source = TriageSource(self.app.config)
        self.action_refresh_findings()
        if self.poll:
            self.set_interval(REFRESH_SECONDS, self.action_refresh_findings)

    def action_refresh_findings(self) -> None:
        self._gather()

    def show_snapshot(self, snapshot) -> None:
        """The stack snapshot (read every second) says the supervisor came or went: check again now, not in 15 s."""
        running = snapshot.supervisor_running
        if self.poll and getattr(self, "_supervisor_running", running) != running:
            self.action_refresh_findings()
        self._supervisor_running = running

    class FindingsRead(Message):
        """One triage pass over the stack's readers, worst first."""

        def __init__(self, findings: list[Finding]) -> None:
            super().__init__()
            self.findings = findings

    @work(thread=True, exclusive=True, group="triage", name="triage", exit_on_error=False)
    def _gather(self) -> None:
        self.post_message(self.FindingsRead(self.source.findings()))

    def on_triage_screen_findings_read(self, message: FindingsRead) -> None:
        self.show_findings(message.findings)

    def show_findings(self, findings: list[Finding], checked_at: str | None = None) -> None:
        import time

        self.findings = findings
        self.checked_at = checked_at or time.strftime("%H:%M:%S")
        counts = {s: sum(f.severity == s for f in findings) for s in ("critical", "warning", "info")}
        summary = Text()
        code = exit_code(findings)
        verdict = "well" if code == 0 else "attention" if code == 1 else "critical"
        summary.append(f" {verdict.upper() if code else 'ALL WELL'} ", style=Palette.of(self).badge(verdict))
        summary.append(f"  {counts['critical']} critical · {counts['warning']} warning{'s' * (counts['warning'] != 1)}"
                       f" · {counts['info']} info"
                       f"  ·  checked {self.checked_at}  ·  enter: evidence  R: refresh")
        self.query_one("#triage-summary", Static).update(summary)
        self.query_one(FindingsTable).show([FindingRow(finding_key(n, f), f.severity, shown(f.title))
                                            for n, f in enumerate(findings)])
        self._show_detail()

    def restyle(self) -> None:
        if self.checked_at is not None:
            self.show_findings(self.findings, self.checked_at)

    def _selected(self) -> Finding | None:
        key = self.query_one(FindingsTable).selected_key
        if key is None:
            return None
        return self.findings[int(key.split(":", 1)[0])]

    def _show_detail(self) -> None:
        finding = self._selected()
        detail = self.query_one("#finding-detail", Static)
        if finding is None:
            detail.update(Text("nothing to report", style="dim"))
            return
        palette = Palette.of(self)
        text = Text()
        # a finding quotes errors, thread ids and node names from users' graphs
        text.append(shown(finding.title) + "\n", style="bold")
        text.append(shown(finding.explanation, multiline=True) + "\n")
        for line in finding.evidence:
            text.append(f"  · {shown(line)}\n", style=palette.style("note"))
        if finding.action:
            text.append(f"→ {shown(finding.action)}\n", style=palette.style("ok", "bold"))
        if finding.jump:
            where = finding.jump.screen + (f" · {shown(finding.jump.target)}" if finding.jump.target else "")
            text.append(f"enter: go to {where}", style="dim")
        detail.update(text)

    def on_data_table_row_highlighted(self, event) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event) -> None:
        self.action_jump()

    def action_jump(self) -> None:
        finding = self._selected()
        if finding is not None and finding.jump is not None:
            self.console.jump_to(finding.jump.screen, finding.jump.target)
