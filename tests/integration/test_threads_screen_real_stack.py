"""The Threads screen on a real stack: a fork from the keyboard runs and its branch is read back from Postgres, and
the screen stays read-only (from Postgres alone) while the LangGraph server is stopped."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.model.thread_browser import checkpoint_key
from lgconsole.console.screens.threads import ForkScreen, ThreadsScreen
from lgconsole.widgets.checkpoint_tree_view import CheckpointTreeView
from pilotwait import pilot_wait


@pytest.mark.integration
async def test_fork_from_the_keyboard_runs_and_shows_the_new_branch(live_stack):
    from lgconsole.stack.server.credentials import sdk_client

    from lgconsole.console.sources.threads import ThreadsSource
    from lgconsole.console.sources.urls import langgraph_url
    from lgconsole.stack.checkpoints.reader import CheckpointReader
    from lgconsole.console.sources.urls import postgres_url

    client = sdk_client(url=langgraph_url(live_stack))
    tag = uuid.uuid4().hex[:6]
    tid = (await client.threads.create(metadata={"graph_id": "demo"}))["thread_id"]
    await client.runs.wait(tid, "demo", input={"task": f"pilot fork {tag}", "delay": 0}, raise_error=False)
    await client.aclose()

    app = LgConsoleApp(live_stack, triage_first=False)  # the Triage page would open itself while unwell
    async with app.run_test(size=(120, 40)) as pilot:
        screen = ThreadsScreen(ThreadsSource(live_stack))
        await app.push_screen(screen)
        await pilot.press("slash", *tid, "enter")
        await pilot_wait(pilot, lambda: screen.view.focus.thread_id == tid and screen.view.focus.tree is not None)
        await pilot_wait(pilot, lambda: screen.state is not None)
        tree = screen.query_one(CheckpointTreeView)
        tree.focus()
        await pilot.press("home", "down", "down")  # input, step 0, step 1 (after the supervisor)
        await pilot_wait(pilot, lambda: screen.state is not None and screen.state.step == 1)
        step1 = screen.state.checkpoint_id
        await pilot.press("f")
        await pilot_wait(pilot, lambda: isinstance(app.screen, ForkScreen), timeout=5)
        area = app.screen.query_one("#fork-values")
        # the `task` key (keys come in the graph's order: the human message that quotes the task is first)
        area.text = area.text.replace(f'"task": "pilot fork {tag}"', f'"task": "pilot fork {tag} edited"', 1)
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: isinstance(app.screen, ThreadsScreen), timeout=30)
        await pilot_wait(pilot, lambda: screen.view.followed.run is not None and screen.view.followed.run.status in ("waiting", "success", "error"))
        assert screen.view.followed.run.status == "waiting", screen.view.followed.run.error
        ran = [s.node for s in screen.view.followed.run.steps]
        assert "supervisor" not in ran and {"researcher", "coder", "reviewer", "join"} <= set(ran)
        # the tree, read back from Postgres, has the new branch from step 1, marked new
        await pilot_wait(pilot, lambda: screen.view.focus.nodes is not None and any(
            n.source == "update" and n.parent_checkpoint_id == step1 for n in screen.view.focus.nodes))
        await pilot_wait(pilot, lambda: any("edited state" in str(line) for line in _tree_lines(tree)), timeout=10)
        fork = next(n for n in screen.view.focus.nodes if n.source == "update")
        assert checkpoint_key(fork.checkpoint_id) in screen.view.focus.new

    with CheckpointReader(postgres_url(live_stack)) as reader:
        state = reader.state_at(tid, fork.checkpoint_id)
        assert state.values["task"] == f"pilot fork {tag} edited"
        heads = [n for n in reader.history(tid, include_subgraphs=False) if n.interrupted]
        assert len(heads) == 2  # the original branch and the fork both wait at approval


def _tree_lines(tree: CheckpointTreeView) -> list[str]:
    out = []

    def walk(node):
        for child in node.children:
            out.append(child.label.plain)
            walk(child)

    walk(tree.root)
    return out


@pytest.mark.integration
async def test_the_screen_is_read_only_while_the_server_is_stopped(live_stack):
    from lgconsole.console.sources.threads import ThreadsSource
    from lgconsole.stack.services import supervisor
    from stackutil import all_healthy, wait_for

    app = LgConsoleApp(live_stack, triage_first=False)  # the Triage page would open itself while unwell
    try:
        await asyncio.to_thread(supervisor.send_command, live_stack.state_path, {"cmd": "stop", "service": "langgraph"})
        async with app.run_test(size=(120, 40)) as pilot:
            screen = ThreadsScreen(ThreadsSource(live_stack))
            await app.push_screen(screen)
            await pilot_wait(pilot, lambda: screen.view.threads.server is not None and screen.view.threads.page is not None)
            assert not screen.view.threads.server.up
            assert screen.view.threads.page.total >= 1  # read from Postgres all the same
            assert "READ-ONLY" in str(screen.query_one("#threads-status").render())
            await pilot.press("f")
            await pilot.pause()  # a key that opens a modal has pushed it by the time press() returns
            assert isinstance(app.screen, ThreadsScreen)
    finally:
        await asyncio.to_thread(supervisor.send_command, live_stack.state_path,
                                {"cmd": "start", "service": "langgraph"})
        await asyncio.to_thread(wait_for, lambda: all_healthy(live_stack), 90, 0.2, "the stack healthy again")
