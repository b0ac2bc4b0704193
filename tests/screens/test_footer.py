"""The key footer (one widget): it shows the keys Textual's Footer shows, drawn as it draws them, follows binding
changes (a burst of them included) with a repaint, and a click on a key presses it."""

from __future__ import annotations

import asyncio
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey as TextualFooterKey

from lgconsole.widgets.footer import KeyFooter
from pilotwait import pilot_wait


class Toggles(App):
    BINDINGS = [Binding("r", "replay", "Replay"), Binding("f", "fork", "Fork"), Binding("q", "quit", "Quit")]

    def __init__(self, footer: type[Footer] | type[KeyFooter], palette: bool = False):
        super().__init__()
        self.footer_type = footer
        self.ENABLE_COMMAND_PALETTE = palette
        self.allowed = {"replay": True, "fork": True}
        self.done: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.footer_type()

    def check_action(self, action: str, parameters) -> bool | None:
        return self.allowed.get(action, True) or None  # None: shown, disabled

    def action_replay(self) -> None:
        self.done.append("replay")

    def action_fork(self) -> None:
        self.done.append("fork")

    def toggle_many(self, times: int) -> None:
        for i in range(times):
            self.allowed["replay"] = i % 2 == 1  # ends disabled when times is odd
            self.allowed["fork"] = i % 3 != 2
            self.refresh_bindings()


def _keys(app: App) -> dict[str, bool]:
    """What the footer shows: each key's description and whether it is enabled."""
    if isinstance(app.footer_type, type) and issubclass(app.footer_type, KeyFooter):
        return {k.description: k.enabled for k in app.query_one(KeyFooter).keys}
    return {k.description: not k.has_class("-disabled") for k in app.query(TextualFooterKey)}


async def _shown(pilot) -> None:
    """The footer shows the app's bindings of now."""
    app = pilot.app
    want = {"Replay": app.allowed["replay"], "Fork": app.allowed["fork"], "Quit": True}
    await pilot_wait(pilot, lambda: {k: v for k, v in _keys(app).items() if k in want} == want, timeout=10,
                     what=f"the footer showing {want}")
    await pilot.pause()


async def _after_burst(footer, times: int) -> dict[str, bool]:
    app = Toggles(footer)
    async with app.run_test() as pilot:
        await _shown(pilot)
        app.toggle_many(times)
        await _shown(pilot)
        return _keys(app)


async def test_after_a_burst_of_binding_changes_it_shows_what_textuals_footer_shows():
    keys = await _after_burst(KeyFooter, 7)
    assert keys == {"Replay": False, "Fork": True, "Quit": True}  # i = 6: replay off, fork on
    assert await _after_burst(Footer, 7) == keys


def _footer_line(svg: str) -> str:
    """The screenshot with its per-export ids taken out (they differ between two exports of the same picture)."""
    return re.sub(r"terminal-\d+", "terminal", svg)


async def _screenshot(footer, allowed: dict[str, bool], palette: bool, hover: int | None) -> str:
    app = Toggles(footer, palette=palette)
    app.allowed = dict(allowed)
    async with app.run_test(size=(60, 3)) as pilot:
        app.refresh_bindings()
        await _shown(pilot)
        if hover is not None:
            await pilot.hover(footer, offset=(hover, 0))
        await pilot.pause()
        return _footer_line(app.export_screenshot())


async def test_it_is_drawn_as_textuals_footer_is():
    for palette, hover in ((False, None), (True, None), (True, 12), (True, 58)):  # over Fork, over the palette key
        for allowed in ({"replay": True, "fork": True}, {"replay": False, "fork": True}):
            ours = await _screenshot(KeyFooter, allowed, palette, hover)
            assert ours == await _screenshot(Footer, allowed, palette, hover), (palette, hover, allowed)


async def test_a_click_presses_the_key_and_a_disabled_key_does_nothing():
    app = Toggles(KeyFooter)
    async with app.run_test() as pilot:
        await _shown(pilot)
        await pilot.click(KeyFooter, offset=(1, 0))  # " r Replay ": cells 0-9
        await pilot_wait(pilot, lambda: app.done == ["replay"], timeout=10, what="replay pressed")
        await pilot.click(KeyFooter, offset=(11, 0))  # " f Fork ": cells 10-17
        await pilot_wait(pilot, lambda: app.done == ["replay", "fork"], timeout=10, what="fork pressed")
        app.allowed["replay"] = False
        app.refresh_bindings()
        await _shown(pilot)
        await pilot.click(KeyFooter, offset=(1, 0))
        await pilot.pause()
        assert app.done == ["replay", "fork"]


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=5))
def test_after_any_changes_the_footer_shows_the_keys_of_now(states):
    """Repaints are skipped when the keys are those shown: after any sequence of changes, repeats included, the
    footer shows the keys of now."""
    async def go():
        app = Toggles(KeyFooter)
        async with app.run_test() as pilot:
            await _shown(pilot)
            for replay, fork in states:
                app.allowed = {"replay": replay, "fork": fork}
                app.refresh_bindings()
                await _shown(pilot)
                await pilot.pause()
                assert _keys(app) == {"Replay": replay, "Fork": fork, "Quit": True}

    asyncio.run(go())
