"""The Threads screen past one page and by metadata, on threads recorded from a real stack (fixed data, three a page
here instead of 200): `]`/`[` page through, `KEY=VALUE` in the filter box matches the threads' metadata."""

from __future__ import annotations

from fakes import FixedStack, FixedThreads, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.threads import ThreadsScreen
from pilotwait import pilot_wait, settled
from threadfixtures import load

DATA = load()


def _app():
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    screen = ThreadsScreen(FixedThreads(DATA, page_size=3), poll=False)

    async def show(pilot):
        await app.push_screen(screen)
        await pilot_wait(pilot, lambda: screen.view.threads.page is not None, timeout=10, what="the first page")
        await settled(pilot)

    return app, screen, show


def _shown(screen) -> list[str]:
    return [s.thread_id for s in screen.view.threads.page.summaries]


def _status(screen) -> str:
    return str(screen.query_one("#threads-status").render())


async def _page_to(pilot, screen, key: str, offset: int) -> None:
    await pilot.press(key)
    await pilot_wait(pilot, lambda: screen.view.query.offset == offset and screen.view.threads.answered
                     and screen.view.threads.page is not None and not screen.view.threads.reading, timeout=10,
                     what=f"the page from row {offset + 1}")
    await settled(pilot)


async def test_brackets_page_through_every_thread():
    app, screen, show = _app()
    newest_first = sorted(DATA.summaries, key=lambda s: (s.last_activity, s.thread_id), reverse=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await show(pilot)
        seen = list(_shown(screen))
        assert len(seen) == 3 and "showing 3" in _status(screen) and "] next page" in _status(screen)
        await _page_to(pilot, screen, "right_square_bracket", 3)
        assert "showing 4-6" in _status(screen)
        seen += _shown(screen)
        await _page_to(pilot, screen, "right_square_bracket", 6)
        seen += _shown(screen)
        assert seen == [s.thread_id for s in newest_first] and "showing 7-7" in _status(screen)
        await pilot.press("right_square_bracket")  # the last page: it stays
        await settled(pilot)
        assert screen.view.query.offset == 6
        await _page_to(pilot, screen, "left_square_bracket", 3)
        assert _shown(screen) == [s.thread_id for s in newest_first[3:6]]


async def test_metadata_words_in_the_filter_match_the_threads_metadata():
    app, screen, show = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        await show(pilot)
        await _page_to(pilot, screen, "right_square_bracket", 3)
        await pilot.press("slash", *"lgc_fixture=waiting", "enter")  # a new filter starts at the first page
        await pilot_wait(pilot, lambda: screen.view.threads.answered[1] == "lgc_fixture=waiting", timeout=10,
                         what="the filtered list")
        await settled(pilot)
        assert screen.view.query.offset == 0 and _shown(screen) == [DATA.labels["waiting"]]
        await pilot.press("slash", "ctrl+u", *"graph_id=demo step:=999", "enter")
        await pilot_wait(pilot, lambda: screen.view.threads.answered[1] == "graph_id=demo step:=999", timeout=10,
                         what="the filtered list")
        assert _shown(screen) == []


def test_threads_screen_second_page(snap_compare):
    app, screen, show = _app()

    async def run_before(pilot):
        await show(pilot)
        await _page_to(pilot, screen, "right_square_bracket", 3)

    assert snap_compare(app, terminal_size=(140, 40), run_before=run_before)
