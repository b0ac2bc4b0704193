"""The Live screen: start a run of any assistant (or attach to one), watch its node steps stream with their state
diffs, tokens and custom events, answer an interrupt in place, go on from a breakpoint (or edit the state there
first, in the Threads screen's fork editor), and talk to a message graph (chat mode: each message
a run on the same thread). The forms are in screens/new_run.py.

Events are folded into a `LiveRun` as they arrive (cheap); a paint is scheduled by the first event after the last
paint, at most one per PAINT_GAP (half a frame at 60 Hz, longer while paints are slow, so painting never takes more
than a third of the time), so a burst of hundreds of events costs one paint and a lone event shows at once. A paint
redraws only the rows and the detail that changed since the last one; Textual draws the screen from them at its next
frame.
"""

from __future__ import annotations

import asyncio
import json
import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static
from textual.worker import Worker

from lgconsole.stack.errors import StackError
from lgconsole.widgets.diff_view import DiffPane
from lgconsole.widgets.palette import Palette
from lgconsole.widgets.timeline import Timeline

from lgconsole.console.model.breakpoints import Breakpoints
from lgconsole.console.model.interrupts import AnswerError, interrupt_value, parse_answer, payload_json
from lgconsole.console.model.input_template import chat_input
from lgconsole.console.model.live_run import LiveRun, NodeStep
from lgconsole.console.model.masking import mask_diff, mask_secrets
from lgconsole.console.model.status import RunStatus, StepStatus
from lgconsole.console.model.text import format_step_duration
from lgconsole.console.rows.live import StepRows
from lgconsole.console.rows.live_text import chat_transcript, interrupt_text
from lgconsole.console.rows.shown import shown, shown_lines
from lgconsole.console.sources.assistants import AssistantCatalog
from lgconsole.console.sources.run_follower import RunFollower, locate_server, saved_steps_url
from lgconsole.console.sources.urls import graph_spec, langgraph_url
from lgconsole.console.screens.base import ConsoleScreen
from lgconsole.console.screens.live_breakpoints import BreakpointKeys
from lgconsole.console.screens.new_run import AttachScreen, NewRunScreen
from lgconsole.console.screens.run_messages import FollowedRunChanged

# Textual draws a frame at most 60 times a second, from whatever the paints before it changed. Painting twice as often
# halves the wait of an event for the paint that the next frame shows (bench_live.py at 1,000 events/s, interleaved:
# arrival -> paint p95 27-37 -> 17-25 ms, -> the frame on the terminal p95 43-79 -> 33-60 ms), for ~5 % more of a
# core: a paint is 1-3 ms, and frames (10-15 ms each) are no more frequent.
PAINT_GAP = 1 / 120
PAINT_SHARE = 3  # the gap is at least this many times the last paint's cost
MAX_PAINT_GAP = 0.1  # however slow a paint: at least 10 a second
IDLE_REPAINT_SECONDS = 1.0  # elapsed time in the info line


class LiveScreen(BreakpointKeys, ConsoleScreen):
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("a", "attach", "Attach"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("i", "answer", "Answer"),
        # shown in the breakpoint panel when a run stops at one (and in ? help)
        Binding("r", "continue_run", "Continue", show=False),
        Binding("e", "edit_and_continue", "Edit & continue", show=False),
        Binding("f", "toggle_follow", "Follow"),
        Binding("t", "trace", "Trace", show=False),
        Binding("A", "assistants", "Assistants", show=False),
        Binding("m", "message", "Message", show=False),
        Binding("escape", "leave_message", "Leave the message box", show=False),
    ]

    def __init__(self, live: LiveRun | None = None, assistant: str | None = None, catalog=None):
        super().__init__()
        self._shown = live or LiveRun()  # what is shown until a run is followed (a recorded one in snapshots)
        self.follower: RunFollower | None = None
        self.assistant = assistant  # the one chosen last in the New-run form
        self.catalog = catalog  # the server's assistants and schemas (an AssistantCatalog unless given)
        self.chat_key: str | None = None  # chat mode: the input key of the graph's message list
        self.run_config: dict | None = None  # config and context of the last run started here, for the next message
        self.run_context: dict | None = None
        self.run_breakpoints = Breakpoints()  # of the last run started here: a continue keeps them
        self.thread_id: str | None = None
        self.started_at: float | None = None
        self._painted: tuple[int, int] | None = None
        self._selected: str | None = None
        self._last_paint = 0.0
        # CPU time of the last paint, up to the end of the frame that showed it (CPU, not wall time: on a busy machine
        # waiting for a core is no reason to paint less often)
        self._paint_cost = 0.0
        self._rows = StepRows()
        self._info_lines = -1  # line breaks in the info line's last text
        self._detail_shown: tuple | None = None  # what the detail pane was last drawn from
        self._answer_fresh = False  # the answer box took the focus by itself and nothing was typed in it yet
        self._paint_scheduled = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="live-info")
        with Horizontal(id="live-body"):
            yield Timeline(id="timeline")
            yield DiffPane(id="step-diff")
        yield Static(id="breakpoint-panel")
        with Vertical(id="interrupt-panel"):
            yield Static(id="interrupt-payload")
            yield Input(placeholder='answer: JSON (true, {"approved": false, "note": "..."}) or text; enter sends',
                        id="interrupt-answer")
        yield Static(id="chat-log")
        yield Input(placeholder="message: enter sends it on this thread (m: type here, esc: leave)", id="chat-box")

    def on_mount(self) -> None:  # (ConsoleScreen.on_mount is called by Textual too: handlers run along the MRO)
        if self.catalog is None:
            self.catalog = AssistantCatalog(self.app.config)
        self.set_interval(IDLE_REPAINT_SECONDS, self.schedule_paint)
        self.repaint()

    @property
    def followed_assistant(self) -> str | None:
        """The assistant of the run shown: the followed run's (an attached run says its own), else the one chosen."""
        assistant = self.follower.assistant if self.follower is not None and self.follower.assistant else \
            self.assistant
        if assistant == self.assistant or self.catalog is None:
            return assistant  # as the user chose it
        return self.catalog.graph_of(assistant) or assistant  # an attached run's UUID: its graph id

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
        if self.live.interrupts and self.live.status.over and not self.query_one("#interrupt-panel").display:
            self._paint_interrupt()  # at once, not on the paint clock: the keys typed from now on go to the answer
        if self._paint_scheduled:
            return
        self._paint_scheduled = True
        gap = min(MAX_PAINT_GAP, max(PAINT_GAP, PAINT_SHARE * self._paint_cost))
        wait = max(0.001, self._last_paint + gap - time.monotonic())  # Textual timers need > 0
        self.set_timer(wait, lambda: self.repaint())

    def repaint(self) -> None:
        self._paint_scheduled = False
        self._last_paint = time.monotonic()
        began = time.thread_time()
        painted = (self.live.number, self.live.version)
        if painted == self._painted and self.live.status != RunStatus.RUNNING:
            return
        if self._painted is not None and painted[0] != self._painted[0]:
            self._selected = None  # a new run: the detail follows its newest step
        self._painted = painted
        self.post_message(FollowedRunChanged(self.live, self.app.config))  # the app forwards it to the Graph screen
        timeline = self.query_one(Timeline)
        if timeline.show(self._rows.items(self.live.steps)):
            self._selected = None  # the cursor follows the newest step: so does the detail, in this same paint
        self._paint_info()
        self._paint_detail()
        self._paint_interrupt()
        self._paint_breakpoint()
        self._paint_chat()
        self._paint_cost = time.thread_time() - began
        self.call_after_refresh(self._frame_done, began)

    def _frame_done(self, began: float) -> None:
        """The paint is on screen: what it cost with Textual's layout and render sets the gap to the next one."""
        self._paint_cost = time.thread_time() - began

    def restyle(self) -> None:
        """A theme switch: the header and the interrupt panel again in the new theme's colours (the timeline and
        the diff view redraw themselves)."""
        self._paint_info()
        self._paint_interrupt()
        self._paint_breakpoint()

    def _paint_info(self) -> None:
        live = self.live
        palette = Palette.of(self)
        text = Text()
        # a run still starting has no colour yet; any other status is the palette's (a run's own `interrupted`
        # is a cancel from outside, not an interrupt())
        status_style = "bold" if live.status == RunStatus.STARTING else palette.style(live.status, "bold", kind="run")
        text.append(f" {live.status} ", style=f"reverse {status_style}")
        text.append(f"  {shown(self.followed_assistant or 'no assistant yet')}")
        if self.chat_key:
            text.append("  chat", style="bold")
        if self.thread_id:
            text.append(f"  thread {shown(self.thread_id)}", style="dim")
        if live.run_id:
            text.append(f"  run {shown(live.run_id)}", style="dim")
        text.append(f"  ·  {live.step_count} steps · {live.events} events")
        if live.steps_dropped:
            text.append(f" · {live.steps_dropped} oldest steps dropped", style=palette.style("warning"))
        if self.started_at is not None and live.status == RunStatus.RUNNING:
            text.append(f" · {time.monotonic() - self.started_at:.0f}s")
        if live.error:
            text.append(f"\n {shown(live.error)}", style=palette.style("error"))
        if live.notes:
            text.append(f"\n {shown(live.notes[-1])}", style=palette.style("warning"))
        if not live.step_count and live.status == RunStatus.STARTING:
            text.append("\n n: start a run   a: attach to a run in progress on a thread", style="dim")
        lines = text.plain.count("\n")
        # the same number of lines: no layout pass for the whole screen (most paints only move the counters)
        self.query_one("#live-info", Static).update(text, layout=lines != self._info_lines)
        self._info_lines = lines

    def _paint_detail(self) -> None:
        # the selected step, else the newest at any depth (a subgraph's running tool with its progress events)
        step = self.live.step(self._selected) or self.live.newest
        drawn_from = _detail_source(step, self.live)
        if self._detail_shown is not None and all(a is b or a == b for a, b in zip(drawn_from, self._detail_shown)):
            return  # it would read the same
        self._detail_shown = drawn_from
        view = self.query_one(DiffPane)
        if step is None:
            state = mask_secrets(dict(list(self.live.state.items())[:30]))
            view.show([("state", shown_lines(f"{k}: {str(v)[:100]}" for k, v in state.items()))])
            return
        where = "/".join(ns.split(":")[0] for ns in step.namespace)
        title = shown(f"{where + '/' if where else ''}{step.node} · super-step {step.superstep} · {step.status}")
        if step.duration is not None:
            title += f" · {format_step_duration(step.duration)}"
        sections = [(title, [])]
        if step.diff is not None:
            sections[0] = (title, shown_lines(mask_diff(step.diff).lines(100)))
        elif step.status == StepStatus.INTERRUPTED:
            sections[0] = (title, ["# stopped at interrupt() before writing anything"])
        elif step.status == StepStatus.RUNNING:
            sections[0] = (title, ["# running…"])
        elif step.status in (StepStatus.ERROR, StepStatus.CANCELLED):
            sections[0] = (title, [f"# {'failed' if step.status == StepStatus.ERROR else 'cancelled'} before writing "
                                   "anything"])
        if step.error:
            sections.append(("error", shown_lines(f"! {line}" for line in step.error.splitlines() or [""])))
        if step.tokens:
            more = f" (+{step.tokens_dropped} chars not kept)" if step.tokens_dropped else ""
            sections.append((f"tokens{more}", shown_lines(step.tokens.splitlines() or [step.tokens])))
        if step.custom:
            sections.append(("custom events", shown_lines(json.dumps(mask_secrets(c), default=str)[:160]
                                                          for c in step.custom)))
        for interrupt in step.interrupts:
            payload = payload_json(mask_secrets(interrupt_value(interrupt)), indent=2)
            sections.append(("interrupt", shown_lines(f"? {line}" for line in payload.splitlines())))
        for interrupt in step.answered:
            payload = payload_json(mask_secrets(interrupt_value(interrupt)), indent=2)
            sections.append(("interrupt (answered)", shown_lines(f"  {line}" for line in payload.splitlines())))
        view.show(sections)

    def _paint_interrupt(self) -> None:
        """The interrupt panel; when it appears its answer box takes the focus, when it goes the timeline does."""
        panel = self.query_one("#interrupt-panel")
        waiting = bool(self.live.interrupts) and self.live.status.over
        appears, box = waiting and not panel.display, self.query_one("#interrupt-answer", Input)
        panel.display = waiting
        if appears:
            box.value = ""
            box.focus()
            self._answer_fresh = True
        elif not waiting and self.focused is box:
            self.query_one(Timeline).focus()
        if waiting:
            last = self.live.interrupts[-1]
            self.query_one("#interrupt-payload", Static).update(
                interrupt_text(interrupt_value(last) if isinstance(last, dict) else None, palette=Palette.of(self)))

    def _paint_chat(self) -> None:
        """Chat mode: the conversation (the state's message list, then the reply streaming) and the message box,
        which steps aside while an interrupt waits for its answer."""
        chatting = self.chat_key is not None
        log, box = self.query_one("#chat-log", Static), self.query_one("#chat-box", Input)
        log.display = chatting
        box.display = chatting and not self.query_one("#interrupt-panel").display
        if not chatting:
            return
        running = [s for s in self.live.steps if s.status == StepStatus.RUNNING and s.tokens]
        log.update(chat_transcript(self.live.state.get(self.chat_key), running[-1].tokens if running else "",
                                   palette=Palette.of(self)))

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
                self.assistant, self.chat_key = result["assistant"], result.get("chat_key")
                self.run_config, self.run_context = result.get("config"), result.get("context")
                self.run_breakpoints = result.get("breakpoints") or Breakpoints()
                if result.get("remember") is not None:
                    self._remember(result["assistant"], result["remember"])
                self.run_stream("start", payload=result["input"], thread_id=result["thread_id"],
                                config=self.run_config, context=self.run_context)
                self.schedule_paint()

        self.app.push_screen(NewRunScreen(self.catalog, self.followed_assistant), chosen)

    def new_run_of(self, assistant: str) -> None:
        """The New-run form for this assistant (the Assistants view's `s`)."""
        self.assistant = assistant
        if self.follower is not None:
            self.follower.assistant = None  # the form starts from the one chosen, not the run shown
        self.action_new_run()

    def action_assistants(self) -> None:
        from lgconsole.console.screens.assistants import open_assistants

        def closed(chosen: dict) -> None:
            if chosen.get("show"):  # enter: its graph on the Graph screen
                self.app.switch_mode("graph")
                self.app.call_later(lambda: self.app.screen.show_assistant(chosen["show"]))

        graph_of = getattr(self.catalog, "graph_of", None)  # (a recorded catalog in tests may not know graphs)
        assistant = self.followed_assistant
        open_assistants(self, (graph_of(assistant) if graph_of else None) or assistant, closed)

    def action_leave_message(self) -> None:
        """esc in the message or the answer box: back to the steps, so keys are the screen's again (1-7, n, a)."""
        if self.focused in (self.query_one("#chat-box"), self.query_one("#interrupt-answer")):
            self.query_one(Timeline).focus()

    def action_message(self) -> None:
        if self.query_one("#chat-box").display:
            self.query_one("#chat-box", Input).focus()
        else:
            self.notify("not in chat mode: start a run of a message graph (n)", severity="warning")

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

    trace_source = None  # what the Trace view reads (None: the stack's; tests give recorded data)

    def action_trace(self) -> None:
        """The shown run as a trace: its steps from its checkpoints, time to first token from this stream."""
        from lgconsole.console.model.trace import first_tokens
        from lgconsole.console.screens.trace import TraceScreen

        live = self.live
        ref = live.run_id or self.thread_id
        if not ref:
            self.notify("trace: no run shown yet", severity="warning")
            return
        self.app.push_screen(TraceScreen(ref, self.trace_source, first_tokens=first_tokens(live)))

    def action_toggle_follow(self) -> None:
        timeline = self.query_one(Timeline)
        timeline.follow = not timeline.follow
        self.notify("following the newest step" if timeline.follow else "follow off")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "interrupt-answer" or not self._answer_fresh or not event.value:
            return
        self._answer_fresh = False
        if event.value == "i":  # `i` (answer) pressed for the box that already took the focus: a key, not text
            event.input.value = ""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "chat-box":
            event.stop()
            self._send_message(event.input)
            return
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

    def _send_message(self, box: Input) -> None:
        """One user message as a run of the same assistant on the same thread (a new thread before the first)."""
        text = box.value.strip()
        if not text or self.chat_key is None:
            return
        if self.follower is not None and self.follower.running:
            self.notify("the reply is still coming: send when the run is over", severity="warning")
            return
        box.value = ""
        self.run_stream("start", payload=chat_input(text, self.chat_key), thread_id=self.thread_id,
                        config=self.run_config, context=self.run_context)

    # --- workers -------------------------------------------------------------------------------------------
    async def _follower(self) -> RunFollower:
        if self.follower is None:
            url = await asyncio.to_thread(langgraph_url, self.app.config)
            saved = await asyncio.to_thread(saved_steps_url, self.app.config)  # runs started elsewhere: their steps
            spec = await asyncio.to_thread(graph_spec, self.app.config)
            self.follower = RunFollower(url, on_change=lambda _live: self.schedule_paint(), live=self._shown,
                                        postgres_url=saved, graph_spec=spec, locate=locate_server(self.app.config))
        return self.follower

    @work(exclusive=True, group="live-stream", name="run", exit_on_error=False)
    async def run_stream(self, how: str, payload=None, thread_id: str | None = None, answer=None,
                         config: dict | None = None, context: dict | None = None, session=None) -> None:
        """Begin a run (`start`, `attach`, `resume` with an answer, `continue` from a breakpoint, `adopt` the run an
        edit at a breakpoint started) and follow it to its end; a failure to start or a broken stream ends the worker,
        and `worker_failed` shows it."""
        follower = await self._follower()
        breaks = self.run_breakpoints.run_kwargs()
        context_kw = {"context": self.run_context} if self.run_context else {}
        if how == "attach":
            await follower.attach(thread_id)
            if self.catalog is not None:
                await self.catalog.assistants()  # the attached run's assistant is a UUID: its graph id for the header
                # a run of a chat graph, attached: chat mode, so the next message continues its thread
                self.chat_key = await self.catalog.chat_key(follower.assistant)
                if self.chat_key is not None:
                    self.assistant = self.catalog.graph_of(follower.assistant) or follower.assistant
        elif how == "resume":
            # the assistant of the run that waits (an attached run's may not be the one typed last)
            await follower.resume(answer, thread_id=thread_id, assistant=follower.assistant or self.assistant,
                                  **context_kw)
        elif how == "continue":
            await follower.proceed(thread_id, assistant=follower.assistant or self.assistant, **breaks, **context_kw)
        elif how == "adopt":
            follower.adopt(session, new_run=False)
        else:
            if breaks:
                try:
                    await self.catalog.check_breakpoints(self.assistant, self.run_breakpoints)
                except StackError as exc:
                    follower.refuse(str(exc))
                    raise
            await follower.start(self.assistant, input=payload, thread_id=thread_id, config=config, context=context,
                                 **breaks)
        self.thread_id, self.started_at = follower.thread_id, time.monotonic()
        await follower.follow()

    @work(thread=True, group="live-remember", name="remember input", exit_on_error=False)
    def _remember(self, assistant: str, entry: dict) -> None:
        """The form's fields, kept for this assistant's next run (a small file under the state dir)."""
        self.catalog.remembered().put(assistant, entry)

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


def _detail_source(step: NodeStep | None, live: LiveRun) -> tuple:
    """Everything the detail pane shows of this step (or of the run's state when there is no step yet)."""
    if step is None:
        return (None, live.number, live.state)
    custom = step.custom[-1] if step.custom else None
    return (step.key, step.status, step.started, step.ended, step.diff, step.error, len(step.tokens),
            step.tokens_dropped, len(step.custom), custom, len(step.interrupts), len(step.answered))
