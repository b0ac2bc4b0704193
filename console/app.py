"""The Textual application: screens by single keys, the `:` command line, `?` help, the command palette.

The app owns one stack snapshot (a reactive) refreshed by a worker; screens watch it. Every blocking call (state
file, log tails, control socket) runs in a thread worker that posts its result as a message; a failed worker is
reported by the one handler in `screens/base.py` (see its docstring for the pattern).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker

from lgconsole.console import collector
from lgconsole.console.config import Config, ConfigError, select_context
from lgconsole.console.rows.shown import shown
from lgconsole.console.screens.base import WorkerErrors
from lgconsole.console.screens.run_messages import FollowedRunChanged
from lgconsole.console.screens.stack import StackScreen
from lgconsole.console.screens.styles import styled_now, with_styles

if TYPE_CHECKING:  # the stack's sources are imported by the first read, after the first frame; the command line's
    # parser and the breakpoints when first used
    from lgconsole.console.model.breakpoints import BreakpointBook
    from lgconsole.console.sources.stack import LiveStack, StackSnapshot


@dataclass(frozen=True)
class ScreenEntry:
    name: str
    key: str
    title: str
    factory: Callable[[], Screen]


def _lazy(module: str, name: str) -> Callable[[], Screen]:
    """A screen's factory that imports its module when the screen is first opened: the first frame waits only for
    the screen it shows (each other screen's module tree costs 30-160 ms of imports)."""
    def factory() -> Screen:
        from importlib import import_module

        return styled_now(getattr(import_module(f"lgconsole.console.screens.{module}"), name)())

    return factory


def _live_stack(config: Config) -> LiveStack:
    from lgconsole.console.sources.stack import LiveStack

    return LiveStack(config)


# One entry per top-level screen. The Graph, Live, Threads, GPU and Triage screens of DESIGN.md register here
# (keys 2-6) as they are built; `:NAME`, the palette and `?` pick them up from this list.
SCREENS: tuple[ScreenEntry, ...] = (
    ScreenEntry("stack", "1", "Stack: services, health, logs", lambda: styled_now(StackScreen())),
    ScreenEntry("graph", "2", "Graph: topology and run state", _lazy("graph", "GraphScreen")),
    ScreenEntry("live", "3", "Live: runs streaming node by node with state diffs", _lazy("live", "LiveScreen")),
    ScreenEntry("threads", "4", "Threads: history from Postgres, checkpoint trees, diffs, replay and fork",
                _lazy("threads", "ThreadsScreen")),
    ScreenEntry("gpu", "5", "GPU: VRAM, KV cache, starvation alarm", _lazy("gpu", "GpuScreen")),
    ScreenEntry("triage", "6", "Triage: what is wrong right now, worst first", _lazy("triage", "TriageScreen")),
    ScreenEntry("store", "7", "Store and Redis: long-term memory items, Redis keys with type, size and TTL",
                _lazy("store", "StoreScreen")),
)


class ContextSwitching(Screen):
    """Shown for the moment the screens of the old context are taken down and those of the new one built."""

    def __init__(self, context: str):
        super().__init__()
        self.context = context

    def compose(self):
        yield Static(f"switching to context {shown(self.context)}…")


SWITCHING_MODE = "context-switch"


class LgConsoleApp(WorkerErrors, App):
    TITLE = "lgconsole"
    CSS_PATH = "app.tcss"
    MODES = {entry.name: entry.factory for entry in SCREENS}
    DEFAULT_MODE = "stack"
    BINDINGS = [
        *[Binding(entry.key, f"switch_mode('{entry.name}')", entry.name.capitalize(), show=False) for entry in SCREENS],
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+p", "command_palette", "Palette", show=False),
        Binding("q", "quit", "Quit"),
    ]

    snapshot: reactive[StackSnapshot | None] = reactive(None, always_update=True)

    def push_screen(self, screen, *args, **kwargs):
        if isinstance(screen, Screen):
            with_styles(self, screen)
        return super().push_screen(screen, *args, **kwargs)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Every toast of the console (screens and widgets call the app's): its text is mostly error texts and names
        from data, so it is masked and escaped (console/rows/shown.py) and never read as markup."""
        super().notify(shown(message, multiline=True), title=shown(title), severity=severity, timeout=timeout,
                       markup=False)

    def __init__(self, config: Config, source: LiveStack | None = None, poll: bool = True, triage_first: bool = True,
                 stack_source: Callable[[Config], LiveStack] = _live_stack):
        super().__init__()
        self.config = config
        self.stack_source = stack_source  # the stack source of a context switched to (tests give fixed ones)
        self._source = source  # None: made by the first read (in its worker, after the first frame)
        self._source_lock = threading.Lock()
        self._switching = False
        self.poll = poll
        self.triage_first = triage_first
        self.latest_live = None  # the LiveRun the Live screen follows, for a Graph screen opened after it began
        self._breakpoints: BreakpointBook | None = None  # read from the state dir when first asked for
        self._css_count_at_init = getattr(self, "_css_update_count", None)  # a theme set since changes it

    @property
    def source(self) -> LiveStack:
        """The stack source of the current context, made when first asked for (by a worker thread or a key)."""
        with self._source_lock:
            if self._source is None:
                self._source = self.stack_source(self.config)
            return self._source

    @source.setter
    def source(self, source: LiveStack) -> None:
        with self._source_lock:
            self._source = source

    @property
    def breakpoints(self) -> BreakpointBook:
        """Picked per assistant on the Graph screen, for the New-run form; kept in the state dir between consoles."""
        if self._breakpoints is None:
            from lgconsole.console.sources.breakpoints import breakpoint_book

            self._breakpoints = breakpoint_book(self.config)
        return self._breakpoints

    @breakpoints.setter
    def breakpoints(self, book: BreakpointBook) -> None:
        self._breakpoints = book

    def refresh_css(self, animate: bool = True) -> None:
        """Textual calls this as it makes the first screen, before anything is mounted (the screen is "older" than the
        app's CSS): a parse of every stylesheet again and a restyle, ~8 ms of the first frame, for a stylesheet
        parsed moments ago with the same theme. What the first screen needs of it is the app's own styles, which its
        widgets inherit as they mount (without them the detail and log lines drew in the background colour): those
        alone then. After a theme change, and once mounted, Textual's own."""
        mounted = getattr(self, "_mounted_event", None)  # Textual's private state, read defensively
        count = getattr(self, "_css_update_count", None)
        if mounted is None or mounted.is_set() or count is None or count != self._css_count_at_init:
            super().refresh_css(animate)
            return
        self.stylesheet.apply(self)
        if hasattr(self.screen, "_css_update_count"):
            self.screen._css_update_count = count  # styled as it mounts: no second pass when key 1 brings it back

    def on_load(self) -> None:
        collector.pause()  # until the first frame is painted (its full collection was ~20 ms of it)

    def on_unmount(self) -> None:
        collector.release()

    def on_mount(self) -> None:
        self._apply_configured_theme()
        # The first frame first: the stack's state (and the start-up triage) are read once it is painted, in
        # workers whose imports and reads would otherwise hold the GIL while the first screen mounts.
        self.call_after_refresh(self._first_reads)

    def _first_reads(self) -> None:
        collector.resume()  # start-up is done: frozen, and the collector on again (console/collector.py)
        self.refresh_snapshot()
        if self.poll:
            self.set_interval(self.config.ui.refresh_seconds, self.refresh_snapshot)
            if self.triage_first:
                self._open_triage_if_unwell()

    def _apply_configured_theme(self) -> None:
        wanted = getattr(self.config.ui, "theme", "") or ""
        if not wanted or wanted == self.theme:
            return
        if wanted not in self.available_themes:
            known = ", ".join(sorted(self.available_themes))
            self.notify(f"{self.config.source}: [ui] theme {wanted!r} is not a Textual theme; using {self.theme} "
                        f"(known: {known})", severity="warning", timeout=10)
            return
        self.theme = wanted

    class SnapshotRead(Message):
        """A fresh read of the supervisor's state file and the log tails."""

        def __init__(self, snapshot: StackSnapshot, source: object = None) -> None:
            super().__init__()
            self.snapshot = snapshot
            self.source = source  # the source read: a read of a context switched away from is dropped

    class StackUnwell(Message):
        """The start-up triage found warnings or worse: the Triage page opens first."""

    class CommandDone(Message):
        """A service or stack command finished; `outcome` says what happened."""

        def __init__(self, outcome: str) -> None:
            super().__init__()
            self.outcome = outcome

    @work(thread=True, group="startup-triage", name="start-up triage", exit_on_error=False)
    def _open_triage_if_unwell(self) -> None:
        """The Triage page is the first screen when anything is wrong."""
        from lgconsole.console.model.triage import exit_code
        from lgconsole.console.sources.triage import TriageSource

        config = self.config
        try:
            findings = TriageSource(config).findings()
        except Exception:  # turned into data: the Stack screen shows what is reachable, triage says more when opened
            return
        if exit_code(findings) > 0 and config is self.config:  # not after a switch to another context
            self.post_message(self.StackUnwell())

    def on_lg_console_app_stack_unwell(self, message: StackUnwell) -> None:
        if self.current_mode == self.DEFAULT_MODE:
            self.switch_mode("triage")

    def on_followed_run_changed(self, message: FollowedRunChanged) -> None:
        """The Live screen's run moved on: screens of other modes do not see each other's messages, so forward it
        (the Graph screen lights its nodes from it, and stops it there). One from a context switched away from is
        dropped."""
        if message.config is not None and message.config is not self.config:
            return
        self.latest_live = message.live
        for mode in self.MODES:
            try:
                screens = self.get_screen_stack(mode)
            except KeyError:  # a mode not visited yet has no screens
                continue
            for screen in screens:
                if hasattr(screen, "on_followed_run_changed"):
                    screen.post_message(FollowedRunChanged(message.live))

    # --- data ------------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="snapshot", name="reading stack state", exit_on_error=False)
    def refresh_snapshot(self) -> None:
        source = self.source
        self.post_message(self.SnapshotRead(source.snapshot(), source))

    def on_lg_console_app_snapshot_read(self, message: SnapshotRead) -> None:
        if message.source is None or message.source is self.source:
            self.snapshot = message.snapshot
        if not self._warmed:
            self._warmed = True
            self._warm_up()

    _warmed = False

    @work(thread=True, group="warm-up", name="preparing the Threads screen", exit_on_error=False)
    def _warm_up(self) -> None:
        """Once the first screen shows the stack: the Threads screen's modules and the Postgres driver its first read
        needs, imported in the background (~0.3 s on a cold start that key 4 would otherwise wait for). Nothing is
        read or connected."""
        from importlib import import_module

        from lgconsole.console.sources.threads import warm_imports

        import_module("lgconsole.console.screens.threads")  # the screen's own module tree
        warm_imports()

    def _run_blocking(self, label: str, call: Callable[[], str]) -> None:
        self.run_worker(lambda: self.post_message(self.CommandDone(call())), name=label, group="commands",
                        thread=True, exit_on_error=False)

    def on_lg_console_app_command_done(self, message: CommandDone) -> None:
        self.notify(message.outcome)
        self.refresh_snapshot()

    def worker_failed(self, worker: Worker, cause: str) -> None:
        super().worker_failed(worker, cause)
        if worker.group == "commands":
            self.refresh_snapshot()  # a failed restart still changed something: show the state as it is now

    def service_command(self, verb: str, service: str) -> None:
        self.notify(f"{verb} {service}…", timeout=2)
        self._run_blocking(f"{verb} {service}", lambda: self.source.command(verb, service))

    def stack_command(self, verb: str) -> None:
        from lgconsole.console.contexts import stack_verb_refusal

        refusal = stack_verb_refusal(self.config, verb)
        if refusal:
            self.notify(refusal, severity="warning")
            return
        if verb == "up":
            self.notify("bringing the stack up…", timeout=2)
            self._run_blocking("up", self.source.bring_up)
        else:
            self.notify("stopping the stack…", timeout=2)
            self._run_blocking("down", self.source.shut_down)

    def confirm_stack_down(self) -> None:
        from lgconsole.console.contexts import stack_verb_refusal
        from lgconsole.console.screens.confirm import ConfirmScreen

        refusal = stack_verb_refusal(self.config, "down")
        if refusal:
            self.notify(refusal, severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.stack_command("down")

        self.push_screen(ConfirmScreen("Stop every service of the stack (Postgres, Redis, vLLM, LangGraph server)?"),
                         answered)

    def open_logs(self, service: str) -> None:
        from lgconsole.console.screens.logs import LogScreen

        self.push_screen(LogScreen(service, self.source.log_path(service)))

    def jump_to(self, screen: str, target: str | None = None) -> None:
        """Go to the evidence of a finding: a service, its log, a thread, the GPU panel, a live run."""
        if screen == "logs" and target:
            self.open_logs(target)
            return
        if screen not in self.MODES:
            self.notify(f"the {screen} screen is not available in this build", severity="warning")
            return
        self.switch_mode(screen)
        if target is not None:
            self.call_after_refresh(self._select_on_screen, target)

    def _select_on_screen(self, target: str) -> None:
        select = getattr(self.screen, "select", None)
        if select is not None:
            select(target)

    # --- contexts ---------------------------------------------------------------------------------------
    def pick_context(self) -> None:
        """`:ctx`: the picker; the context chosen is switched to."""
        def picked(name: str | None) -> None:
            if name:
                self.switch_context(name)

        from lgconsole.console.contexts import context_summaries
        from lgconsole.console.screens.contexts import ContextPicker

        self.push_screen(ContextPicker(context_summaries(self.config)), picked)

    def switch_context(self, name: str) -> None:
        """`:ctx NAME`: every screen and source is built again on the context's config; an unknown name is one line
        and changes nothing."""
        if self._switching:
            self.notify("a context switch is under way", severity="warning")
            return
        try:
            config = select_context(self.config, name, "ctx")
        except ConfigError as exc:
            self.notify(str(exc), severity="error")
            return
        if config.context == self.config.context:
            self.notify(f"already in context {name}")
            return
        self._switching = True
        self.run_worker(self._enter_context(config), name=f"switching to context {name}", group="context",
                        exit_on_error=False)

    async def _enter_context(self, config: Config) -> None:
        """Take down every screen of the old context (their workers and run followers are cancelled with them, the
        runs go on on their server), then build the current screen again on the new config."""
        try:
            for group in ("snapshot", "startup-triage"):
                self.workers.cancel_group(self, group)
            mode = self.current_mode
            self.add_mode(SWITCHING_MODE, lambda: ContextSwitching(config.context))
            await self.switch_mode(SWITCHING_MODE)
            for entry in SCREENS:
                await self.remove_mode(entry.name)
            # the old screens are gone: what they still post carries the old config, and is dropped
            self.config, self.source = config, self.stack_source(config)
            from lgconsole.console.model.breakpoints import BreakpointBook

            self.latest_live, self.breakpoints = None, BreakpointBook()
            self.snapshot = None
            for entry in SCREENS:
                self.add_mode(entry.name, entry.factory)
            await self.switch_mode(mode)
            await self.remove_mode(SWITCHING_MODE)
        finally:
            self._switching = False
        self.refresh_snapshot()
        self.notify(f"context {config.context}: state in {config.state_path}", timeout=4)

    # --- command line, help, palette --------------------------------------------------------------------
    def run_command_line(self, text: str) -> None:
        from lgconsole.console.model.commands import CommandError, parse_command
        from lgconsole.console.sources.stack import SERVICE_NAMES

        try:
            cmd = parse_command(text, tuple(entry.name for entry in SCREENS), SERVICE_NAMES)
        except CommandError as exc:
            self.notify(str(exc), severity="error")
            return
        if cmd.verb in self.MODES:
            self.switch_mode(cmd.verb)
        elif cmd.verb == "logs":
            self.open_logs(cmd.service)
        elif cmd.service:
            self.service_command(cmd.verb, cmd.service)
        elif cmd.verb == "up":
            self.stack_command("up")
        elif cmd.verb == "down":
            self.confirm_stack_down()
        elif cmd.verb == "ctx" and cmd.context:
            self.switch_context(cmd.context)
        elif cmd.verb == "ctx":
            self.pick_context()
        elif cmd.verb == "help":
            self.action_help()
        elif cmd.verb == "quit":
            self.exit()

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        screen_keys = [(b.key_display or b.key, b.description) for b in self.screen.BINDINGS if isinstance(b, Binding)]
        app_keys = [(e.key, e.title) for e in SCREENS] + [
            (":", "command line"), ("?", "this help"), ("ctrl+p", "command palette"), ("q", "quit")]
        commands = [
            (":stack", "the Stack screen"),
            (":restart SERVICE", "restart postgres | redis | vllm | langgraph"),
            (":stop / :start SERVICE", "stop or start one service"),
            (":logs SERVICE", "the service's full log, followed"),
            (":up / :down", "bring the whole stack up / stop it"),
            (":ctx [NAME]", "switch context: pick one from the list, or NAME"),
        ]
        return [("This screen", screen_keys), ("Everywhere", app_keys), ("Commands (:)", commands)]

    def action_help(self) -> None:
        from lgconsole.console.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def get_system_commands(self, screen: Screen):
        from lgconsole.console.sources.stack import SERVICE_NAMES

        yield from super().get_system_commands(screen)
        for entry in SCREENS:
            yield SystemCommand(f"Go to {entry.name}", entry.title, lambda n=entry.name: self.switch_mode(n))
        for service in SERVICE_NAMES:
            for verb in ("restart", "stop", "start"):
                yield SystemCommand(f"{verb.capitalize()} {service}", f"{verb} the {service} service",
                                    lambda v=verb, s=service: self.service_command(v, s))
            yield SystemCommand(f"Logs of {service}", f"follow the {service} log", lambda s=service: self.open_logs(s))
        yield SystemCommand("Stack up", "start every service in dependency order", lambda: self.stack_command("up"))
        yield SystemCommand("Stack down", "stop every service", self.confirm_stack_down)
        yield SystemCommand("Switch context", "pick a context (a deployment of the config) to show", self.pick_context)
