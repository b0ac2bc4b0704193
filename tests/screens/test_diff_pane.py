"""The Live screen's diff pane (widgets/diff_view.py DiffPane): the sections DiffView shows, wrapped to the pane's
width, scrolled by keys, and redrawn line by line; a new text keeps the pane's size (no layout of the screen beyond
its own scrollbar) and the scroll position stays within the new text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.app import App, ComposeResult

from lgconsole.widgets.diff_view import DiffPane, diff_text
from pilotwait import pilot_wait


class PaneApp(App):
    CSS = "DiffPane { width: 40; height: 10; }"

    def compose(self) -> ComposeResult:
        yield DiffPane(id="pane")


def _screen_lines(app: App) -> list[str]:
    """What the terminal shows, line by line (the pane is at the top left, 40 cells wide)."""
    return ["".join(segment.text for segment in strip)[:40] for strip in app.screen._compositor.render_strips()]


def _many(n: int) -> list[tuple[str, list[str]]]:
    return [("state", [f"+ line {i}" for i in range(n)])]


async def test_a_long_line_wraps_to_the_pane_and_markup_is_text():
    app = PaneApp()
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(DiffPane)
        long = "+ messages[3] = 'the quick brown fox jumps over the lazy dog, twice over, and then once more'"
        pane.show([("diff to parent 1ef2", [long, "~ note: [bold]not markup[/bold]", "- gone"])])
        await pilot.pause()
        shown = _screen_lines(app)
        assert shown[0].strip() == "diff to parent 1ef2"
        assert shown[1].startswith(" + messages[3] = 'the quick brown fox")
        # the line goes on under itself, within the pane (1 cell of padding each side, and the scrollbar's gutter)
        text = " ".join(line.strip() for line in shown[1:5])
        assert "once more'" in text and "[bold]not markup[/bold]" in text
        assert all(cell_len(line.rstrip()) <= 39 for line in shown[:10])
        assert pane.plain == diff_text([("diff to parent 1ef2", [long, "~ note: [bold]not markup[/bold]",
                                                                   "- gone"])]).plain


async def test_keys_scroll_it_and_a_shorter_text_keeps_the_position_within_it():
    app = PaneApp()
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(DiffPane)
        pane.show(_many(200))
        pane.focus()
        await pilot.pause()
        assert " + line 0" in _screen_lines(app)[1]
        await pilot.press("end")
        await pilot_wait(pilot, lambda: any("+ line 199" in line for line in _screen_lines(app)), timeout=5,
                         what="the last line after end")
        await pilot.press("pageup")
        await pilot_wait(pilot, lambda: not any("+ line 199" in line for line in _screen_lines(app)), timeout=5,
                         what="page up")
        pane.show(_many(30))  # shorter than where the pane is scrolled to: it shows the new text's end
        await pilot_wait(pilot, lambda: any("+ line 29" in line for line in _screen_lines(app)), timeout=5,
                         what="the shorter text's end")
        await pilot.press("home")
        await pilot_wait(pilot, lambda: _screen_lines(app)[0].strip() == "state", timeout=5, what="the top")


async def test_a_new_text_of_the_same_length_needs_no_layout_and_a_resize_wraps_again():
    app = PaneApp()
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(DiffPane)
        pane.show(_many(5))
        await pilot.pause()
        size = pane.virtual_size
        pane.show([("state", [f"~ other {i}" for i in range(5)])])
        assert pane.virtual_size == size and not pane._layout_required
        await pilot.pause()
        assert " ~ other 4" in _screen_lines(app)[5]
        pane.styles.width = 20
        pane.show([("state", ["+ " + "word " * 12])])
        await pilot.pause()
        await pilot.pause()
        # 20 cells less the padding and the scrollbar's gutter: the 62-cell line wraps to at least 4
        assert pane.virtual_size.width == pane.scrollable_content_region.width <= 16
        assert pane.virtual_size.height >= 4


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(max_size=30), st.lists(st.text(max_size=120), max_size=6)), max_size=4),
       st.integers(min_value=12, max_value=60))
def test_every_line_fits_the_width_and_nothing_is_lost(sections, width):
    """Wrapping at any width keeps every character of the text (the wrap only breaks lines), and no rendered line is
    wider than the pane's text area."""
    import asyncio

    async def check() -> None:
        app = PaneApp()
        async with app.run_test(size=(80, 12)) as pilot:
            pane = app.query_one(DiffPane)
            pane.styles.width = width
            await pilot.pause()
            pane.show(sections)
            await pilot.pause()
            inner = pane.scrollable_content_region.width
            lines = pane._lines
            assert all(line.cell_len <= inner for line in lines)
            squeeze = "".join(pane.plain.split())
            assert "".join("".join(line.plain for line in lines).split()) == squeeze

    asyncio.run(check())
