"""Two branches of a fork side by side: on the Threads screen, `m` marks one head of the recorded forked thread, `=`
on another opens the comparison (a snapshot, and Pilot tests of the keys)."""

from __future__ import annotations

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.checkpoint_tree import CheckpointTree
from lgconsole.console.model.thread_browser import checkpoint_key
from lgconsole.console.screens.threads import ThreadsScreen
from lgconsole.console.screens.threads_compare import CompareScreen
from lgconsole.widgets.checkpoint_tree_view import CheckpointTreeView
from pilotwait import pilot_wait, settled
from fakes import FixedStack, FixedThreads, fixed_stack_snapshot
from threadfixtures import load

DATA = load()
FORKED = DATA.labels["forked"]
TREE = CheckpointTree(DATA.histories[FORKED])
# the branch update_state wrote (the edited task) and the original one, each at its head
EDITED_HEAD, ORIGINAL_HEAD = sorted(TREE.heads(), key=lambda n: n.checkpoint_id)[1:]


def _app():
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(all_healthy=True)), poll=False)

    async def select(pilot, node) -> None:
        key = checkpoint_key(node.checkpoint_id, node.checkpoint_ns)
        app.screen.query_one(CheckpointTreeView).select_key(key)
        await pilot_wait(pilot, lambda: app.screen.state is not None and app.screen.state.checkpoint_id ==
                         node.checkpoint_id, timeout=10, what=f"the state of {key}")

    async def compare(pilot) -> CompareScreen:
        await app.push_screen(ThreadsScreen(FixedThreads(DATA), poll=False))
        await pilot_wait(pilot, lambda: app.screen.state is not None, timeout=10, what="the newest thread's head")
        await settled(pilot)
        await select(pilot, ORIGINAL_HEAD)
        await pilot.press("m")
        await select(pilot, EDITED_HEAD)
        await pilot.press("equals_sign")
        await pilot_wait(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=10, what="the comparison")
        await pilot_wait(pilot, lambda: "diff " in str(app.screen.query_one("#compare-diff").render()),
                         timeout=10, what="both states read")
        app.clear_notifications()  # (the mark's hint would cover the diff)
        await settled(pilot)
        return app.screen

    return app, compare


def test_two_branches_side_by_side(snap_compare):
    """The original branch's head (left, marked) and the edited branch's head (right): the task changed, the
    messages each branch added on its own marked `-` and `+`, the diff under them."""
    app, compare = _app()
    assert snap_compare(app, terminal_size=(140, 44), run_before=compare)


async def test_mark_then_equals_compares_and_x_swaps_sides():
    app, compare = _app()
    async with app.run_test(size=(140, 44)) as pilot:
        screen = await compare(pilot)
        left = str(screen.query_one("#compare-a").render())
        right = str(screen.query_one("#compare-b").render())
        diff = str(screen.query_one("#compare-diff").render())
        assert "marked" in left and "selected" in right
        assert "~ task" in left and "~ task" in right and "in French" in right and "in French" not in left
        assert "~ task: 'Write the release notes for 1.4' -> 'Write the release notes for 1.4, in French'" in diff
        assert any(line.startswith("-   [") for line in left.splitlines())  # a message only the left branch has
        assert any(line.startswith("+   [") for line in right.splitlines())
        fork = TREE.parent(EDITED_HEAD.checkpoint_id, "")
        assert "their branches part at" in str(screen.query_one("#compare-title").render())
        assert fork is not None
        await pilot.press("x")
        await pilot_wait(pilot, lambda: "in French" in str(screen.query_one("#compare-a").render()), timeout=10,
                         what="the sides swapped")
        assert "-> 'Write the release notes for 1.4'" in str(screen.query_one("#compare-diff").render())
        await pilot.press("escape")
        await settled(pilot)
        assert isinstance(app.screen, ThreadsScreen)


async def test_equals_without_a_mark_or_on_the_marked_checkpoint_says_what_to_do():
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(all_healthy=True)), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(ThreadsScreen(FixedThreads(DATA), poll=False))
        await pilot_wait(pilot, lambda: app.screen.state is not None, timeout=10, what="the newest thread's head")
        await settled(pilot)
        await pilot.press("equals_sign")
        await pilot.press("m", "equals_sign")
        await settled(pilot)
        said = [n.message for n in app._notifications]
        assert any("mark a checkpoint of this thread with m first" in m for m in said)
        assert any("select another checkpoint than the marked one" in m for m in said)
        assert isinstance(app.screen, ThreadsScreen)
