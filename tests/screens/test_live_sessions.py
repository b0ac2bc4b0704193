"""One console session, several runs on the Live screen: each run's full tree stays visible (nested subgraph steps of
the second run, the steps after an answered interrupt), recorded streams through the real RunFollower. The same
against a real server with two graphs: tests/integration/test_live_screen_real_stack.py."""

from __future__ import annotations

from fakes import FixedStack, RecordedSession, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.sources.run_follower import RunFollower
from live_timeline import live_header, nested_under, root_names, tree_rows
from livefixtures import report_run
from pilotwait import pilot_wait


async def _live_screen(pilot, app) -> LiveScreen:
    screen = LiveScreen()
    await app.push_screen(screen)
    screen.follower = RunFollower(RecordedSession.url, on_change=lambda _live: screen.schedule_paint())
    return screen


async def test_each_run_of_a_session_shows_its_own_full_tree():
    """Two graphs back to back, then the first again: rows were keyed by per-run step numbers, so the second run's
    steps landed on the first run's rows (workers nested under `draft`, subgraph steps gone)."""
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(130, 40)) as pilot:
        screen = await _live_screen(pilot, app)
        runs = [(report_run("report-1"), "idle", ["gather", "draft", "publish"], "draft", ["outline", "write"]),
                ("demo_interrupt", "interrupted", None, "review", ["critique", "score"]),
                (report_run("report-2"), "idle", ["gather", "draft", "publish"], "draft", ["outline", "write"]),
                ("demo_answer_before", "interrupted", None, "review", ["critique", "score"])]
        for stream, thread_status, roots, parent, nested in runs:
            screen.follower.adopt(RecordedSession(stream, thread_status=thread_status))
            await screen.follower.follow()
            run_id = screen.live.run_id  # from the stream's metadata event
            await pilot_wait(pilot, lambda: f"run {run_id}" in live_header(screen), timeout=5, what=f"run {run_id} painted")
            rows = tree_rows(screen)
            if roots:
                assert root_names(rows) == roots, rows
            else:
                assert root_names(rows)[0] == "supervisor" and root_names(rows)[-3:] == ["join", "review", "approval"], rows
                assert sorted(root_names(rows)[1:4]) == ["coder", "researcher", "reviewer"], rows
            assert nested_under(rows, parent) == nested, rows
            assert len(rows) == sum(1 for _ in screen.live.all_steps())


async def test_after_the_answer_the_step_that_waited_shows_how_it_ended():
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(130, 40)) as pilot:
        screen = await _live_screen(pilot, app)
        follower = screen.follower
        follower.adopt(RecordedSession("demo_answer_before", thread_status="interrupted"))
        await follower.follow()
        await pilot_wait(pilot, lambda: screen.query_one("#interrupt-panel").display, timeout=5)
        assert any("approval" in label and "waits for input" in label for _, label in tree_rows(screen))
        follower.adopt(RecordedSession("demo_answer_after"), new_run=False)  # the answer's run, same timeline
        await follower.follow()
        await pilot_wait(pilot, lambda: "success" in live_header(screen), timeout=5)
        rows = [label for _, label in tree_rows(screen)]
        assert not any("waits for input" in label for label in rows), rows
        approval = [label for label in rows if label.split()[2] == "approval"]
        assert len(approval) == 1 and approval[0].startswith("✓") and "answered" in approval[0]
        assert "finalize" in rows[-1]
        assert f"{follower.live.step_count} steps" in live_header(screen) and "10 steps" in live_header(screen)
        assert not screen.query_one("#interrupt-panel").display


