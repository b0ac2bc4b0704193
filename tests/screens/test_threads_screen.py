"""The Threads screen on threads recorded from a real stack (fixed data): snapshots, and Pilot tests of its keys.
The same screen on a live stack: tests/integration/test_threads_screen_real_stack.py."""

from __future__ import annotations

import json

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.threads import ForkScreen, ResumeScreen, ThreadsScreen
from lgconsole.console.model.thread_browser import checkpoint_key
from lgconsole.widgets.checkpoint_tree_view import CheckpointTreeView
from pilotwait import pilot_wait, settled
from fakes import FixedStack, FixedThreads, fixed_stack_snapshot
from threadfixtures import load

DATA = load()
FORKED = DATA.labels["forked"]


def _app(server_up: bool = True, select: str | None = None, keys: tuple[str, ...] = ()):
    """The app on fixed data (no stack), the Threads screen pushed, optionally a checkpoint selected."""
    stack = fixed_stack_snapshot(all_healthy=server_up)  # when the server is down the header says so too
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(stack), poll=False)
    source = FixedThreads(DATA, server_up=server_up)

    def showing(key: str) -> bool:
        state = app.screen.state
        return state is not None and checkpoint_key(state.checkpoint_id, state.checkpoint_ns) == key

    async def show(pilot):
        await app.push_screen(ThreadsScreen(source, poll=False))
        # the chain rows -> newest thread's tree -> its head's state; select_key ignores a key not in the tree yet
        await pilot_wait(pilot, lambda: app.screen.state is not None, timeout=10, what="the newest thread's head state")
        await settled(pilot)
        for key in keys:
            await pilot.press(key)
            await settled(pilot)
        if select is not None:
            app.screen.query_one(CheckpointTreeView).select_key(select)
            await pilot_wait(pilot, lambda: showing(select), timeout=10, what=f"the state of checkpoint {select}")
        await settled(pilot)

    return app, show, source


def _root(thread_id: str, step: int, source: str = "loop"):
    return next(n for n in DATA.histories[thread_id]
                if not n.checkpoint_ns and n.step == step and n.source == source)


# --- snapshots ---------------------------------------------------------------------------------------------------

def test_threads_screen_list(snap_compare):
    """Newest thread first: the forked thread, its tree with three branches, its head's diff and state."""
    app, show, _ = _app()
    assert snap_compare(app, terminal_size=(120, 40), run_before=show)


def test_threads_screen_tree_on_the_edited_branch(snap_compare):
    """The checkpoint update_state wrote: the diff to step 1 is the edited task."""
    app, show, _ = _app(select=checkpoint_key(_root(FORKED, 2, "update").checkpoint_id))
    assert snap_compare(app, terminal_size=(120, 40), run_before=show)


def test_threads_screen_errored_thread_diff(snap_compare):
    """An errored thread (the review subgraph failed): status filter `e`, its head's pending error."""
    app, show, _ = _app(keys=("e",))
    assert snap_compare(app, terminal_size=(120, 40), run_before=show)


def test_threads_screen_at_80x24(snap_compare):
    app, show, _ = _app()
    assert snap_compare(app, terminal_size=(80, 24), run_before=show)


def test_threads_screen_server_down_read_only(snap_compare):
    app, show, _ = _app(server_up=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=show)


# --- keys, on fixed data -----------------------------------------------------------------------------------------

async def test_status_filter_sort_and_text_filter():
    app, show, _ = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await show(pilot)
        screen = app.screen
        table = screen.query_one("#thread-table")
        assert table.row_count == len(DATA.summaries) and table.selected_thread == FORKED
        await pilot.press("w")
        await settled(pilot)
        assert {r.status for r in table._thread_rows} == {"waiting"} and table.row_count == 2
        await pilot.press("w")  # the same key again: all
        await settled(pilot)
        assert table.row_count == len(DATA.summaries)
        await pilot.press("slash", *DATA.labels["errored"][-6:], "enter")
        await settled(pilot)
        assert [r.thread_id for r in table._thread_rows] == [DATA.labels["errored"]]
        assert "filter" in str(screen.query_one("#threads-status").render())
        await pilot.press("slash", "escape")  # clears the filter
        await settled(pilot)
        assert table.row_count == len(DATA.summaries)
        await pilot.press("s")  # checkpoints, most first
        await settled(pilot)
        counts = [r.checkpoints for r in table._thread_rows]
        assert counts == sorted(counts, reverse=True)
        await pilot.press("S")
        await settled(pilot)
        assert [r.checkpoints for r in table._thread_rows] == sorted(counts)


async def test_moving_in_the_tree_shows_that_checkpoints_state_and_diff():
    app, show, _ = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await show(pilot)
        screen = app.screen
        update = _root(FORKED, 2, "update")
        screen.query_one(CheckpointTreeView).select_key(checkpoint_key(update.checkpoint_id))
        await settled(pilot)
        assert screen.state.checkpoint_id == update.checkpoint_id
        diff = str(screen.query_one("#checkpoint-diff").render())
        assert "~ task: 'Write the release notes for 1.4' -> 'Write the release notes for 1.4, in French'" in diff
        assert "diff to parent" in diff and "step 1" in diff


async def test_invalid_fork_edits_are_refused_in_the_editor_and_nothing_is_sent():
    app, show, source = _app(select=checkpoint_key(_root(FORKED, 1).checkpoint_id))
    async with app.run_test(size=(120, 40)) as pilot:
        await show(pilot)
        await pilot.press("f")
        await settled(pilot)
        modal = app.screen
        assert isinstance(modal, ForkScreen)
        area = modal.query_one("#fork-values")
        original = area.text
        assert json.loads(original)["task"] == "Write the release notes for 1.4"
        area.text = original.replace('"task": "Write', '"task": Write', 1)
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert "not valid JSON" in str(modal.query_one(".modal-error").render())
        area.text = json.dumps({k: v for k, v in json.loads(original).items() if k != "summary"})
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert "key 'summary' was removed" in str(modal.query_one(".modal-error").render())
        assert source.actions == [] and isinstance(app.screen, ForkScreen)
        # a valid edit goes to the source with only the changed key; its error keeps the editor open
        area.text = original.replace("for 1.4", "for 1.5", 1)
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert source.actions == [("fork", FORKED, _root(FORKED, 1).checkpoint_id,
                                    {"task": "Write the release notes for 1.5"}, None)]
        assert "nothing is sent from a snapshot test" in str(modal.query_one(".modal-error").render())
        assert isinstance(app.screen, ForkScreen) and "for 1.5" in area.text
        await pilot.press("escape")
        assert isinstance(app.screen, ThreadsScreen)


async def test_server_down_disables_time_travel_keys():
    app, show, source = _app(server_up=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await show(pilot)
        await pilot.press("f", "p", "r", "y")
        await settled(pilot)
        assert isinstance(app.screen, ThreadsScreen) and source.actions == []
        assert "READ-ONLY" in str(app.screen.query_one("#threads-status").render())


async def test_postgres_unreachable_is_one_line_and_the_screen_keeps_running():
    from lgconsole.stack.checkpoints.records import CheckpointDbUnreachable

    class Down(FixedThreads):
        def read_threads(self, status, text, sort, offset=0):
            raise CheckpointDbUnreachable("cannot connect to Postgres at postgresql://lgconsole:***@127.0.0.1:5/x: "
                                          "connection refused")

    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = ThreadsScreen(Down(DATA), poll=False)
        await app.push_screen(screen)
        await settled(pilot)
        status = str(screen.query_one("#threads-status").render())
        assert "cannot connect to Postgres at postgresql://lgconsole:***@" in status
        assert screen.query_one("#thread-table").row_count == 0
        await pilot.press("s", "e", "ctrl+r")  # still answers keys
        await settled(pilot)
        assert isinstance(app.screen, ThreadsScreen)


async def test_rows_show_before_the_count_and_a_failed_count_says_why():
    """At 1M checkpoints the count is a 0.3-0.5 s scan of its own: the rows do not wait for it."""
    import dataclasses
    import threading

    from lgconsole.stack.checkpoints.records import CheckpointDbUnreachable

    class SlowCount(FixedThreads):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release = threading.Event()
            self.fail = False

        def read_threads(self, status, text, sort, offset=0):
            return dataclasses.replace(super().read_threads(status, text, sort, offset), total=None)

        def count_threads(self, status, text):
            self.release.wait(10)
            if self.fail:
                raise CheckpointDbUnreachable("cannot connect to Postgres at 127.0.0.1:5: connection refused")
            return 1234

    source = SlowCount(DATA)
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = ThreadsScreen(source, poll=False)
        await app.push_screen(screen)
        await pilot_wait(pilot, lambda: screen.table.row_count > 0, 10, "rows")
        status = str(screen.query_one("#threads-status").render())
        assert f"showing {len(DATA.summaries)} threads · counting…" in status
        source.release.set()
        await pilot_wait(pilot, lambda: "1,234 threads in Postgres" in str(screen.query_one("#threads-status").render()),
                         10, "the count")
        source.release.clear()
        source.fail = True
        await pilot.press("e")  # other filters: a new count, which fails
        await pilot_wait(pilot, lambda: "counting…" in str(screen.query_one("#threads-status").render()), 10,
                         "the new count under way")
        assert "counting…" in str(screen.query_one("#threads-status").render())
        source.release.set()
        await pilot_wait(pilot, lambda: "count failed: cannot connect to Postgres" in
                         str(screen.query_one("#threads-status").render()), 10, "the failure")
        assert screen.table.row_count > 0  # the rows stay
        source.fail = False
        await pilot.press("a")  # all threads again: counted anew, and said
        await pilot_wait(pilot, lambda: "1,234 threads in Postgres" in str(screen.query_one("#threads-status").render()),
                         10, "the count after a failure")


async def test_resume_asks_for_an_answer_and_only_on_a_waiting_thread():
    app, show, source = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await show(pilot)
        await pilot.press("r")
        await settled(pilot)
        assert isinstance(app.screen, ResumeScreen)
        assert "Approve the team's result" in str(app.screen.query_one("#resume-question").render())
        await pilot.press(*'{"approved": true}', "enter")
        await settled(pilot)
        assert source.actions == [("resume", FORKED, {"approved": True})]
        await pilot.press("escape")
        await pilot.press("i")  # idle threads only
        await settled(pilot)
        await pilot.press("r")
        await settled(pilot)
        assert isinstance(app.screen, ThreadsScreen) and len(source.actions) == 1


async def test_a_theme_switch_recolours_statuses_marks_and_the_status_line():
    """Thread statuses, tree marks and the status line take the theme's colours (widgets/palette.py): another theme,
    the cells and labels are built again in its colours."""
    from rich.style import Style
    from textual.color import Color

    def colour(style) -> str:  # "#d4969c" from a Rich style ("bold #d4969c") or a rendered one ("rgb(212,150,156)")
        return Style.parse(str(style)).color.get_truecolor().hex

    app, show, _ = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await show(pilot)
        screen = app.screen
        table = screen.query_one("#thread-table")
        tree = screen.query_one(CheckpointTreeView)
        errored = DATA.labels["errored"]

        def status_colour() -> str:
            return colour(table.get_cell(errored, "status").style)

        def head_mark_colour() -> str:  # the forked thread's head: "head" in the theme's success colour
            label = next(node.label for node in tree._item_nodes.values() if "  head" in node.label.plain)
            return next(colour(span.style) for span in label.spans if label.plain[span.start:span.end] == "  head")

        def server_colour() -> str:
            status = screen.query_one("#threads-status").render()
            return next(colour(span.style) for span in status.spans if status.plain[span.start:span.end] == "● up")

        def theme_colour(variable: str) -> str:
            return Color.parse(app.theme_variables[variable]).rich_color.get_truecolor().hex

        assert status_colour() == theme_colour("text-error")
        assert head_mark_colour() == server_colour() == theme_colour("text-success")
        dark = status_colour(), head_mark_colour()
        app.theme = "nord"
        await pilot_wait(pilot, lambda: status_colour() != dark[0], timeout=10, what="nord's error colour")
        assert status_colour() == theme_colour("text-error") == "#d4969c"
        assert head_mark_colour() == server_colour() == theme_colour("text-success") != dark[1]


