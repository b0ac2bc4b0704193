"""State written by a graph must never control the operator's terminal: a thread whose state, error, interrupt
question and node names carry an OSC title sequence, a CSI clear-screen, a BEL and a bidi override is shown on the
Threads screen and the Live screen (an interrupt question), and every character the screen sends is checked, as
are the app's title and the screen's."""

from __future__ import annotations

import dataclasses

from fakes import FixedStack, FixedThreads, fixed_stack_snapshot
from hostile_values import CSI_CLEAR, HOSTILE, OSC_TITLE, RLO, terminal_unsafe
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.screens.threads import ThreadsScreen
from lgconsole.stack.server.runs import RunEvent
from pilotwait import pilot_wait, settled
from threadfixtures import load

EVIL_NODE = f"wri{OSC_TITLE}ter{RLO}"


def _screen_text(app) -> str:
    """Every character of the screen as the compositor hands it to the terminal driver."""
    update = app.screen._compositor.render_update(full=True)
    return "\n".join("".join(segment.text for segment in strip) for strip in update.strips)


def _hostile_threads():
    """The recorded threads, the newest one's summary, history and every state carrying hostile text."""
    data = load()
    newest = max(data.summaries, key=lambda s: s.last_activity)
    thread = newest.thread_id
    data.summaries = [dataclasses.replace(s, status=type(s.status)("errored"), error=f"boom {HOSTILE}",
                                          status_node=EVIL_NODE) if s.thread_id == thread else s
                      for s in data.summaries]
    data.histories[thread] = [dataclasses.replace(n, writers=[EVIL_NODE, *n.writers[1:]] if n.writers else n.writers,
                                                  error=f"error {CSI_CLEAR}" if n.error else n.error)
                              for n in data.histories[thread]]
    data.states[thread] = {key: dataclasses.replace(s, values={**s.values, f"note{OSC_TITLE}": HOSTILE,
                                                               "task": f"clear {CSI_CLEAR} bell \x07 {RLO}olleh"},
                                                    error=f"err {HOSTILE}" if s.error else s.error)
                           for key, s in data.states[thread].items()}
    return data


def _app() -> LgConsoleApp:
    return LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)


def _assert_intact(app, screen_text: str) -> None:
    assert not terminal_unsafe(screen_text), f"raw control characters reached the screen: {terminal_unsafe(screen_text)}"
    assert app.title == "lgconsole" and "pwned" not in (app.sub_title or "")
    assert app.screen.title in (None, "", "lgconsole") and "pwned" not in (app.screen.sub_title or "")


async def test_the_threads_screen_shows_hostile_state_escaped():
    data = _hostile_threads()
    app = _app()
    async with app.run_test(size=(160, 50)) as pilot:
        await app.push_screen(ThreadsScreen(FixedThreads(data), poll=False))
        await pilot_wait(pilot, lambda: app.screen.state is not None, timeout=10, what="the newest thread's state")
        await settled(pilot)
        text = _screen_text(app)
        _assert_intact(app, text)
        assert "\\u001b]0;pwned\\u0007" in text  # shown, as a visible escape
        assert "\\u202e" in text


async def test_the_live_screen_shows_a_hostile_interrupt_question_escaped():
    question = f"Approve? {OSC_TITLE}{CSI_CLEAR}\x07{RLO}yes"
    asked = [{"value": {"question": question, f"detail{CSI_CLEAR}": HOSTILE}, "id": "i-1"}]
    live = LiveRun()
    for event in [RunEvent("metadata", {"run_id": f"run{OSC_TITLE}"}, (), None, 1.0),
                  RunEvent("tasks", {"id": "t-1", "name": EVIL_NODE, "input": {}, "triggers": []}, (), None, 1.1),
                  RunEvent("updates", {EVIL_NODE: {"draft": HOSTILE}}, (), None, 1.2),
                  RunEvent("updates", {"__interrupt__": asked}, (), None, 1.3),
                  RunEvent("tasks", {"id": "t-1", "name": EVIL_NODE, "error": None, "result": {}, "interrupts": asked},
                           (), None, 1.4)]:
        live.feed(event)
    live.finish("waiting")
    app = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = LiveScreen(live, assistant=f"demo{OSC_TITLE}")
        screen.thread_id = f"thread{CSI_CLEAR}"
        await app.push_screen(screen)
        await settled(pilot)
        await pilot_wait(pilot, lambda: screen.query_one("#interrupt-panel").display, timeout=5,
                         what="the interrupt panel")
        text = _screen_text(app)
        _assert_intact(app, text)
        assert "Approve? \\u001b]0;pwned\\u0007\\u001b[2J\\u0007\\u202eyes" in text


async def test_a_toast_built_from_an_error_is_escaped_masked_and_not_markup():
    app = _app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        app.notify(f"run failed: [bold]{HOSTILE}[/bold] Bearer abc.def123456", severity="error")
        await pilot.pause()
        (toast,) = list(app._notifications)
        assert not terminal_unsafe(toast.message) and "[bold]" in toast.message  # shown as written, not as markup
        assert "abc.def123456" not in toast.message
        _assert_intact(app, _screen_text(app))
