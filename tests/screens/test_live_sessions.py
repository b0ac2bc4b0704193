"""One console session, several runs on the Live screen: each run's full tree stays visible (nested subgraph steps of
the second run, the steps after an answered interrupt). Recorded streams through the real RunFollower first, then the
same against a real server with two graphs."""

from __future__ import annotations

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.sources.run_follower import RunFollower
from livefixtures import RecordedSession, report_run
from stackutil import pilot_wait
from fakes import FixedStack, fixed_stack_snapshot


def tree_rows(screen: LiveScreen) -> list[tuple[int, str]]:
    """The timeline as a user sees it: (depth, label) per row, in order."""
    rows = []

    def walk(node, depth):
        for child in node.children:
            rows.append((depth, str(child.label)))
            walk(child, depth + 1)

    walk(screen.query_one("Timeline").root, 0)
    return rows


def header(screen: LiveScreen) -> str:
    return str(screen.query_one("#live-info").render())


async def _live_screen(pilot, app) -> LiveScreen:
    screen = LiveScreen()
    await app.push_screen(screen)
    screen.follower = RunFollower(RecordedSession.url, on_change=lambda _live: screen.schedule_paint())
    return screen


def _nested_under(rows: list[tuple[int, str]], parent: str) -> list[str]:
    """The node names of the rows right under the (last) row of `parent`."""
    start = max(i for i, (depth, label) in enumerate(rows) if depth == 0 and label.split()[2] == parent)
    out = []
    for depth, label in rows[start + 1:]:
        if depth == 0:
            break
        out.append(label.split()[2])
    return out


def _roots(rows: list[tuple[int, str]]) -> list[str]:
    return [label.split()[2] for depth, label in rows if depth == 0]


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
            await pilot_wait(pilot, lambda: f"run {run_id}" in header(screen), timeout=5, what=f"run {run_id} painted")
            rows = tree_rows(screen)
            if roots:
                assert _roots(rows) == roots, rows
            else:
                assert _roots(rows)[0] == "supervisor" and _roots(rows)[-3:] == ["join", "review", "approval"], rows
                assert sorted(_roots(rows)[1:4]) == ["coder", "researcher", "reviewer"], rows
            assert _nested_under(rows, parent) == nested, rows
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
        await pilot_wait(pilot, lambda: "success" in header(screen), timeout=5)
        rows = [label for _, label in tree_rows(screen)]
        assert not any("waits for input" in label for label in rows), rows
        approval = [label for label in rows if label.split()[2] == "approval"]
        assert len(approval) == 1 and approval[0].startswith("✓") and "answered" in approval[0]
        assert "finalize" in rows[-1]
        assert f"{follower.live.step_count} steps" in header(screen) and "10 steps" in header(screen)
        assert not screen.query_one("#interrupt-panel").display


# --- against the real server: two graphs and an answered interrupt in one session -------------------------------

async def _new_run(pilot, screen: LiveScreen, assistant: str, payload: str) -> None:
    await pilot.press("n")
    await pilot_wait(pilot, lambda: type(pilot.app.screen).__name__ == "NewRunScreen", timeout=5)
    pilot.app.screen.query_one("#new-run-assistant").value = assistant
    pilot.app.screen.query_one("#new-run-input").text = payload
    await pilot.press("ctrl+s")
    await pilot_wait(pilot, lambda: pilot.app.screen is screen, timeout=5)


@pytest.mark.integration
async def test_two_graphs_back_to_back_and_an_answered_interrupt_in_one_session(live_stack):
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=5)
        screen = app.screen

        # 1. the `report` graph: gather -> draft (outline -> write) -> publish
        await _new_run(pilot, screen, "report", '{"topic": "session one", "delay": 0.05}')
        await pilot_wait(pilot, lambda: " success " in header(screen) and "report" in header(screen),
                         what="the report run to succeed")
        rows = tree_rows(screen)
        assert [label.split()[2] for depth, label in rows if depth == 0] == ["gather", "draft", "publish"], rows
        assert _nested_under(rows, "draft") == ["outline", "write"], rows
        first_run = screen.live.run_id

        # 2. the `demo` graph in the same session: its review subgraph's steps are nested under review
        await _new_run(pilot, screen, "demo", '{"task": "second run of the session", "delay": 0.05}')
        await pilot_wait(pilot, lambda: " waiting " in header(screen), what="the demo run to wait at the approval")
        assert screen.live.run_id != first_run and f"run {screen.live.run_id}" in header(screen)
        rows = tree_rows(screen)
        roots = [label.split()[2] for depth, label in rows if depth == 0]
        assert roots[0] == "supervisor" and roots[-3:] == ["join", "review", "approval"], rows
        assert "gather" not in roots  # the first run's rows are gone
        assert _nested_under(rows, "review") == ["critique", "score"], rows
        assert "waits for input" in rows[-1][1]
        await pilot_wait(pilot, lambda: screen.query_one("#interrupt-panel").display, timeout=5)
        assert "Approve" in str(screen.query_one("#interrupt-payload").render())

        # 3. the interrupt answered in place: the same timeline goes on
        await pilot.press("i", *"true", "enter")
        await pilot_wait(pilot, lambda: " success " in header(screen), what="the answered run to succeed")
        await pilot_wait(pilot, lambda: "finalize" in tree_rows(screen)[-1][1], timeout=5)
        rows = tree_rows(screen)
        labels = [label for _, label in rows]
        assert not any("waits for input" in label for label in labels), labels
        approval = [label for depth, label in rows if depth == 0 and label.split()[2] == "approval"]
        assert len(approval) == 1 and approval[0].startswith("✓"), labels
        assert _nested_under(rows, "review") == ["critique", "score"], rows
        assert f"{screen.live.step_count} steps" in header(screen)
        assert not screen.query_one("#interrupt-panel").display
        assert screen.live.state["outcome"] == "approved"

        # 4. and a third run, of the first graph again: its nested steps are there too
        await _new_run(pilot, screen, "report", '{"topic": "session three", "delay": 0.05}')
        await pilot_wait(pilot, lambda: " success " in header(screen) and "report" in header(screen)
                         and "supervisor" not in str(tree_rows(screen)), what="the third run to succeed")
        assert _nested_under(tree_rows(screen), "draft") == ["outline", "write"]
