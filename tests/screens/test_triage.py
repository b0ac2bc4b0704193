"""The Triage screen with fixed findings: snapshots, and Enter jumping to each finding's evidence."""

from __future__ import annotations

from fakes import FixedStack, FixedTriage, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.triage import Finding, Jump
from lgconsole.console.screens.triage import TriageScreen
from pilotwait import pilot_wait, settled


def _triage_app(findings):
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(False)), poll=False)

    async def show(pilot):
        screen = TriageScreen(FixedTriage(findings), poll=False)
        await app.push_screen(screen)
        await settled(pilot)  # the screen's first read has landed: the fixed clock below is the last word
        screen.show_findings(findings, checked_at="03:00:00")
        await pilot.pause()

    return app, show


SAMPLE = [
    Finding("critical", "service-down", "langgraph is crashed", "langgraph is not serving; what depends on it fails.",
            ("langgraph: killed by signal 9 (SIGKILL); log: MemoryError",), "See its log; restart with r.",
            Jump("logs", "langgraph")),
    Finding("critical", "kv-starvation", "vLLM KV cache is starving (http://127.0.0.1:8000)", "KV cache nearly full.",
            ("usage 93%, running 7/8, waiting 9, +21 preemptions", "thread in flight: 01a20c2c-3fd8"),
            "Lower max_num_seqs or context.", Jump("gpu")),
    Finding("warning", "errored-threads", "2 threads failed with RuntimeError in coder", "In the last 24 h.",
            ("01a20c2c-4a8e  RuntimeError('demo failure requested at coder')",), "Replay from the last checkpoint.",
            Jump("threads", "01a20c2c-4a8e")),
    Finding("info", "waiting-threads", "3 threads wait for a human (oldest 22 min)", "They stopped at interrupt().",
            (), "Answer on the Threads screen.", Jump("threads", "01a20c2a")),
]


def test_triage_screen_with_findings(snap_compare):
    app, show = _triage_app(SAMPLE)
    assert snap_compare(app, terminal_size=(120, 32), run_before=show)


def test_triage_screen_all_well(snap_compare):
    app, show = _triage_app([Finding("info", "checkpoint-growth", "checkpoint tables 1 MiB, +163 checkpoints today",
                                     "Size and pace of the durable state.")])
    assert snap_compare(app, terminal_size=(100, 24), run_before=show)


async def test_enter_jumps_to_the_evidence():
    app, show = _triage_app(SAMPLE)
    async with app.run_test(size=(120, 32)) as pilot:
        await show(pilot)
        await pilot.press("enter")  # the crashed service: its log
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "LogScreen", timeout=10, what="the log screen")
        assert type(app.screen).__name__ == "LogScreen" and app.screen.service == "langgraph"


async def test_enter_on_an_errored_thread_opens_it_on_the_threads_screen():
    app, show = _triage_app(SAMPLE)
    async with app.run_test(size=(120, 32)) as pilot:
        await show(pilot)
        await pilot.press("down", "down", "enter")
        await pilot_wait(pilot, lambda: app.current_mode == "threads", timeout=10, what="the Threads screen")
        assert app.current_mode == "threads" and app.screen.text_filter == "01a20c2c-4a8e"


class _BrokenTriage:
    def findings(self):
        raise RuntimeError("pg_stat_user_tables: permission denied\nDETAIL: the rest of a long message")


async def test_a_failing_triage_read_is_shown_and_the_app_keeps_running():
    """The one worker-error handler (screens/base.py): the cause's first line in a notification, nothing crashes."""
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(False)), poll=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await app.push_screen(TriageScreen(_BrokenTriage(), poll=False))
        await pilot_wait(pilot, lambda: app._notifications, timeout=10, what="a notification")
        messages = [n.message for n in app._notifications]
        assert messages == ["triage failed: pg_stat_user_tables: permission denied"]
        assert app.is_running and isinstance(app.screen, TriageScreen)
        app.screen.action_refresh_findings()  # the next refresh runs again
        await pilot_wait(pilot, lambda: len(app._notifications) == 2, timeout=10, what="a second notification")
