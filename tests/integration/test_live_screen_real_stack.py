"""The Live screen driving runs on a real server from the keyboard: start, answer the interrupt, attach to a run
started elsewhere and cancel it, an unknown assistant, and two graphs plus an answered interrupt in one session."""

from __future__ import annotations

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.screens.live import LiveScreen
from live_timeline import live_header, nested_under, tree_rows
from pilotwait import pilot_wait


@pytest.mark.integration
async def test_run_answer_the_interrupt_and_complete_from_the_keyboard(live_stack):
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=10, what="the Live screen")
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10, what="the new-run form")
        app.screen.query_one("#new-run-input").text = '{"task": "pilot run", "delay": 0.1}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: screen.live.status == "waiting")
        nodes = [s.node for s in screen.live.steps]
        assert nodes[0] == "supervisor" and sorted(nodes[1:4]) == ["coder", "researcher", "reviewer"]
        await pilot_wait(pilot, lambda: screen.query_one("#interrupt-panel").display, timeout=2)
        await pilot.press("i", *"true", "enter")
        await pilot_wait(pilot, lambda: screen.live.status == "success")
        assert screen.live.state["outcome"] == "approved"
        assert [s.node for s in screen.live.steps][-2:] == ["approval", "finalize"]
        await pilot_wait(pilot, lambda: not screen.query_one("#interrupt-panel").display, timeout=2)


@pytest.mark.integration
async def test_attach_mid_run_from_a_second_client_and_cancel(live_stack):
    from lgconsole.console.sources.urls import langgraph_url
    from lgconsole.stack.server.runs import RunSession

    url = langgraph_url(live_stack)
    elsewhere = await RunSession.start(url, "demo", input={"task": "started elsewhere", "delay": 6.0})
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=10, what="the Live screen")
        screen = app.screen
        await pilot.press("a")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "AttachScreen", timeout=10, what="the attach form")
        await pilot.press(*elsewhere.thread_id, "enter")
        await pilot_wait(pilot, lambda: any(s.node == "coder" for s in screen.live.steps))
        assert screen.live.run_id == elsewhere.run_id
        await pilot.press("c")
        await pilot_wait(pilot, lambda: screen.live.status == "cancelled")
        await pilot_wait(pilot, lambda: "cancelled" in str(screen.query_one("#live-info").render()), timeout=2)
    await elsewhere.close()


@pytest.mark.integration
async def test_unknown_assistant_is_one_line_in_the_ui(live_stack):
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3", "n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10, what="the new-run form")
        app.screen.query_one("#new-run-assistant").value = "no-such-graph"
        await pilot.press("ctrl+s")
        screen = app.screen
        await pilot_wait(pilot, lambda: screen.live.status == "error")
        assert "no such assistant" in screen.live.error


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
        await pilot_wait(pilot, lambda: " success " in live_header(screen) and "report" in live_header(screen),
                         what="the report run to succeed")
        rows = tree_rows(screen)
        assert [label.split()[2] for depth, label in rows if depth == 0] == ["gather", "draft", "publish"], rows
        assert nested_under(rows, "draft") == ["outline", "write"], rows
        first_run = screen.live.run_id

        # 2. the `demo` graph in the same session: its review subgraph's steps are nested under review
        await _new_run(pilot, screen, "demo", '{"task": "second run of the session", "delay": 0.05}')
        await pilot_wait(pilot, lambda: " waiting " in live_header(screen), what="the demo run to wait at the approval")
        assert screen.live.run_id != first_run and f"run {screen.live.run_id}" in live_header(screen)
        rows = tree_rows(screen)
        roots = [label.split()[2] for depth, label in rows if depth == 0]
        assert roots[0] == "supervisor" and roots[-3:] == ["join", "review", "approval"], rows
        assert "gather" not in roots  # the first run's rows are gone
        assert nested_under(rows, "review") == ["critique", "score"], rows
        assert "waits for input" in rows[-1][1]
        await pilot_wait(pilot, lambda: screen.query_one("#interrupt-panel").display, timeout=5)
        assert "Approve" in str(screen.query_one("#interrupt-payload").render())

        # 3. the interrupt answered in place: the same timeline goes on
        await pilot.press("i", *"true", "enter")
        await pilot_wait(pilot, lambda: " success " in live_header(screen), what="the answered run to succeed")
        await pilot_wait(pilot, lambda: "finalize" in tree_rows(screen)[-1][1], timeout=5)
        rows = tree_rows(screen)
        labels = [label for _, label in rows]
        assert not any("waits for input" in label for label in labels), labels
        approval = [label for depth, label in rows if depth == 0 and label.split()[2] == "approval"]
        assert len(approval) == 1 and approval[0].startswith("✓"), labels
        assert nested_under(rows, "review") == ["critique", "score"], rows
        assert f"{screen.live.step_count} steps" in live_header(screen)
        assert not screen.query_one("#interrupt-panel").display
        assert screen.live.state["outcome"] == "approved"

        # 4. and a third run, of the first graph again: its nested steps are there too
        await _new_run(pilot, screen, "report", '{"topic": "session three", "delay": 0.05}')
        await pilot_wait(pilot, lambda: " success " in live_header(screen) and "report" in live_header(screen)
                         and "supervisor" not in str(tree_rows(screen)), what="the third run to succeed")
        assert nested_under(tree_rows(screen), "draft") == ["outline", "write"]
