"""The Live screen: start a run (or attach to one), watch its node steps stream with their state diffs, tokens and
custom events, and answer an interrupt in place.

Events are folded into a `LiveRun` as they arrive (cheap); a paint is scheduled by the first event after the last
paint, at most one per PAINT_GAP, so a burst of hundreds of events costs one paint and a lone event shows at once.
"""

from __future__ import annotations

import asyncio
import json
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea
from textual.worker import Worker

from lgconsole.widgets.diff_view import DiffView
from lgconsole.widgets.palette import Palette
from lgconsole.widgets.timeline import Timeline

from lgconsole.console.model.interrupts import AnswerError, interrupt_value, parse_answer, payload_fields, \
    payload_json, question_of
from lgconsole.console.model.live_run import LiveRun, NodeStep
from lgconsole.console.model.status import RunStatus, StepStatus
from lgconsole.console.model.text import format_step_duration
from lgconsole.console.rows.live import step_items
from lgconsole.console.sources.run_follower import RunFollower
from lgconsole.console.sources.urls import langgraph_url
from lgconsole.console.screens.base import ConsoleScreen
from lgconsole.console.screens.run_messages import FollowedRunChanged

PAINT_GAP = 0.05  # at most 20 paints a second
IDLE_REPAINT_SECONDS = 1.0  # elapsed time in the info line
DEFAULT_INPUT = '{"task": "Summarise last night\'s failed batch jobs", "delay": 0.5}'


def interrupt_text(value, max_lines: int = 6, palette: Palette | None = None) -> Text:
    """The interrupt payload: its question first, then each other field on one line."""
    palette = palette or Palette.of(None)
    text = Text("waiting for input", style=palette.style("waiting", "bold"))
    if isinstance(value, dict):
        if question_of(value) is not value:
            text.append(f"  {question_of(value)}", style="bold")
        for key, line in payload_fields(value, max_lines):
            text.append(f"\n  {key}: ", style=palette.style("waiting"))
            text.append(line)
    else:
        text.append("  " + payload_json(value, limit=400))
    return text


class NewRunScreen(ModalScreen[dict | None]):
    """Assistant, JSON input (validated before anything is sent) and an optional thread (styled in app.tcss)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Start")]

    def __init__(self, assistant: str = "demo", payload: str = DEFAULT_INPUT, thread_id: str = ""):
        super().__init__()
        self.assistant, self.payload, self.thread_id = assistant, payload, thread_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Assistant or graph id")
            yield Input(self.assistant, id="new-run-assistant")
            yield Label("Input (JSON)")
            yield TextArea(self.payload, id="new-run-input", language=None)
            yield Label("Thread id (empty: a new thread)")
            yield Input(self.thread_id, id="new-run-thread")
            yield Static("", id="new-run-error")
            with Horizontal():
                yield Button("Start (ctrl+s)", variant="primary", id="new-run-start")
                yield Button("Cancel (esc)", id="new-run-cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "new-run-start":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        assistant = self.query_one("#new-run-assistant", Input).value.strip()
        text = self.query_one("#new-run-input", TextArea).text
        error = self.query_one("#new-run-error", Static)
        if not assistant:
            error.update("the assistant id is empty")
            return
        try:
            payload = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            error.update(f"input is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
            return
        thread = self.query_one("#new-run-thread", Input).value.strip() or None
        self.dismiss({"assistant": assistant, "input": payload, "thread_id": thread})

    def action_cancel(self) -> None:
        self.dismiss(None)


class AttachScreen(ModalScreen[str | None]):
    """The thread whose run in progress to follow (styled in app.tcss)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Attach to the run in progress on thread:")
            yield Input(placeholder="thread id", id="attach-thread")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LiveScreen(ConsoleScreen):
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("a", "attach", "Attach"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("i", "answer", "Answer"),
        Binding("f", "toggle_follow", "Follow"),
    ]

    def __init__(self, live: LiveRun | None = None, assistant: str = "demo"):
        super().__init__()
        self._shown = live or LiveRun()  # what is shown until a run is followed (a recorded one in snapshots)
        self.follower: RunFollower | None = None
        self.assistant = assistant
        self.thread_id: str | None = None
        self.started_at: float | None = None
        self._painted: tuple[int, int] | None = None
        self._selected: str | None = None
        self._last_paint = 0.0
        self._paint_scheduled = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="live-info")
        with Horizontal(id="live-body"):
            yield Timeline(id="timeline")
            with VerticalScroll(id="step-detail"):
                yield DiffView(id="step-diff")
        with Vertical(id="interrupt-panel"):
            yield Static(id="interrupt-payload")
            yield Input(placeholder='answer: JSON (true, {"approved": false, "note": "..."}) or text; enter sends',
                        id="interrupt-answer")

    def on_mount(self) -> None:  # (ConsoleScreen.on_mount is called by Textual too: handlers run along the MRO)
        self.set_interval(IDLE_REPAINT_SECONDS, self.schedule_paint)
        self.repaint()

    @property
    def live(self) -> LiveRun:
        """The run shown: the follower's (it owns the run's state), else the one given."""
        return self.follower.live if self.follower is not None else self._shown

    # --- painting ------------------------------------------------------------------------------------------
    def feed(self, event) -> None:
        """Fold one event into the shown run and make sure a paint follows soon (the follower does this for the runs
        it follows; tests/bench/bench_live.py feeds events straight in)."""
        self.live.feed(event)
        self.schedule_paint()

    def schedule_paint(self) -> None:
        if self._paint_scheduled:
            return
        self._paint_scheduled = True
        wait = max(0.001, self._last_paint + PAINT_GAP - time.monotonic())  # Textual timers need > 0
        self.set_timer(wait, lambda: self.repaint())

    def repaint(self) -> None:
        self._paint_scheduled = False
        self._last_paint = time.monotonic()
        painted = (self.live.number, self.live.version)
        if painted == self._painted and self.live.status != RunStatus.RUNNING:
            return
        if self._painted is not None and painted[0] != self._painted[0]:
            self._selected = None  # a new run: the detail follows its newest step
        self._painted = painted
        self.post_message(FollowedRunChanged(self.live))  # the app forwards it to the Graph screen
        timeline = self.query_one(Timeline)
        timeline.show(step_items(self.live.steps))
        self._paint_info()
        self._paint_detail()
        self._paint_interrupt()

    def restyle(self) -> None:
        """A theme switch: the header and the interrupt panel again in the new theme's colours (the timeline and
        the diff view redraw themselves)."""
        self._paint_info()
        self._paint_interrupt()

    def _paint_info(self) -> None:
        live = self.live
        palette = Palette.of(self)
        text = Text()
        # a run still starting has no colour yet; any other status is the palette's (a run's own `interrupted`
        # is a cancel from outside, not an interrupt())
        status_style = "bold" if live.status == RunStatus.STARTING else palette.style(live.status, "bold", kind="run")
        text.append(f" {live.status} ", style=f"reverse {status_style}")
        text.append(f"  {self.assistant}")
        if self.thread_id:
            text.append(f"  thread {self.thread_id}", style="dim")
        if live.run_id:
            text.append(f"  run {live.run_id}", style="dim")
        text.append(f"  ·  {live.step_count} steps · {live.events} events")
        if live.steps_dropped:
            text.append(f" · {live.steps_dropped} oldest steps dropped", style=palette.style("warning"))
        if self.started_at is not None and live.status == RunStatus.RUNNING:
            text.append(f" · {time.monotonic() - self.started_at:.0f}s")
        if live.error:
            text.append(f"\n {live.error}", style=palette.style("error"))
        if live.notes:
            text.append(f"\n {live.notes[-1]}", style=palette.style("warning"))
        if not live.step_count and live.status == RunStatus.STARTING:
            text.append("\n n: start a run   a: attach to a run in progress on a thread", style="dim")
        self.query_one("#live-info", Static).update(text)

    def _find(self, key: str | None) -> NodeStep | None:
        if key is None:
            return None
        for step in self.live.all_steps():
            if step.key == key:
                return step
        return None

    def _paint_detail(self) -> None:
        step = self._find(self._selected) or (self.live.steps[-1] if self.live.steps else None)
        view = self.query_one(DiffView)
        if step is None:
            view.show([("state", [f"{k}: {str(v)[:100]}" for k, v in list(self.live.state.items())[:30]])])
            return
        where = "/".join(ns.split(":")[0] for ns in step.namespace)
        title = f"{where + '/' if where else ''}{step.node} · super-step {step.superstep} · {step.status}"
        if step.duration is not None:
            title += f" · {format_step_duration(step.duration)}"
        sections = [(title, [])]
        if step.diff is not None:
            sections[0] = (title, step.diff.lines(100))
        elif step.status == StepStatus.INTERRUPTED:
            sections[0] = (title, ["# stopped at interrupt() before writing anything"])
        elif step.status == StepStatus.RUNNING:
            sections[0] = (title, ["# running…"])
        elif step.status in (StepStatus.ERROR, StepStatus.CANCELLED):
            sections[0] = (title, [f"# {'failed' if step.status == StepStatus.ERROR else 'cancelled'} before writing "
                                   "anything"])
        if step.error:
            sections.append(("error", [f"! {step.error}"]))
        if step.tokens:
            more = f" (+{step.tokens_dropped} chars not kept)" if step.tokens_dropped else ""
            sections.append((f"tokens{more}", step.tokens.splitlines() or [step.tokens]))
        if step.custom:
            sections.append(("custom events", [json.dumps(c, default=str)[:160] for c in step.custom]))
        for interrupt in step.interrupts:
            sections.append(("interrupt", [f"? {line}" for line in
                                           payload_json(interrupt_value(interrupt), indent=2).splitlines()]))
        for interrupt in step.answered:
            sections.append(("interrupt (answered)", [f"  {line}" for line in
                                                      payload_json(interrupt_value(interrupt), indent=2).splitlines()]))
        view.show(sections)

    def _paint_interrupt(self) -> None:
        panel = self.query_one("#interrupt-panel")
        waiting = bool(self.live.interrupts) and self.live.status.over
        panel.display = waiting
        if waiting:
            last = self.live.interrupts[-1]
            self.query_one("#interrupt-payload", Static).update(
                interrupt_text(interrupt_value(last) if isinstance(last, dict) else None, palette=Palette.of(self)))

    def on_timeline_step_selected(self, event: Timeline.StepSelected) -> None:
        self._selected = event.key
        self._paint_detail()

    # --- actions -----------------------------------------------------------------------------------------------
    def select(self, thread_id: str) -> None:
        """Attach to the thread's run in progress (a jump from Triage)."""
        self.run_stream("attach", thread_id=thread_id)

    def action_new_run(self) -> None:
        def chosen(result: dict | None) -> None:
            if result:
                self.assistant = result["assistant"]
                self.run_stream("start", payload=result["input"], thread_id=result["thread_id"])

        self.app.push_screen(NewRunScreen(self.assistant), chosen)

    def action_attach(self) -> None:
        def chosen(thread_id: str | None) -> None:
            if thread_id:
                self.run_stream("attach", thread_id=thread_id)

        self.app.push_screen(AttachScreen(), chosen)

    def action_cancel_run(self) -> None:
        if self.follower is None or not self.follower.running:
            self.notify("no run in progress", severity="warning")
            return
        self._cancel()

    def action_answer(self) -> None:
        if self.query_one("#interrupt-panel").display:
            self.query_one("#interrupt-answer", Input).focus()
        else:
            self.notify("the run is not waiting for input", severity="warning")

    def action_toggle_follow(self) -> None:
        timeline = self.query_one(Timeline)
        timeline.follow = not timeline.follow
        self.notify("following the newest step" if timeline.follow else "follow off")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "interrupt-answer":
            return super().on_input_submitted(event)
        event.stop()
        if not self.thread_id:
            return
        try:
            answer = parse_answer(event.value)
        except AnswerError:
            return  # nothing typed: nothing to send
        event.input.value = ""
        self.run_stream("resume", thread_id=self.thread_id, answer=answer)

    # --- workers -------------------------------------------------------------------------------------------
    async def _follower(self) -> RunFollower:
        if self.follower is None:
            url = await asyncio.to_thread(langgraph_url, self.app.config)
            self.follower = RunFollower(url, on_change=lambda _live: self.schedule_paint(), live=self._shown)
        return self.follower

    @work(exclusive=True, group="live-stream", name="run", exit_on_error=False)
    async def run_stream(self, how: str, payload=None, thread_id: str | None = None, answer=None) -> None:
        """Begin a run (`start`, `attach`, or `resume` with an answer) and follow it to its end; a failure to start
        or a broken stream ends the worker, and `worker_failed` shows it."""
        follower = await self._follower()
        if how == "attach":
            await follower.attach(thread_id)
        elif how == "resume":
            # the assistant of the run that waits (an attached run's may not be the one typed last)
            await follower.resume(answer, thread_id=thread_id, assistant=follower.assistant or self.assistant)
        else:
            await follower.start(self.assistant, input=payload, thread_id=thread_id)
        self.thread_id, self.started_at = follower.thread_id, time.monotonic()
        await follower.follow()

    @work(group="live-cancel", name="cancel", exit_on_error=False)
    async def _cancel(self) -> None:
        await self.follower.cancel()
        self.notify("cancel sent")

    def worker_failed(self, worker: Worker, cause: str) -> None:
        """A run that could not start (or whose stream broke) and a refused cancel are said in the server's words;
        before any follower exists the shown run takes the error, so the header says it too."""
        error = worker.error
        if worker.group == "live-stream":
            if self.follower is None:
                self._shown.fail(str(error))
            self.schedule_paint()
            self.notify(str(error), severity="error", timeout=8)
        elif worker.group == "live-cancel":
            self.notify(str(error), severity="error")
        else:
            super().worker_failed(worker, cause)
