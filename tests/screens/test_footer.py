"""The key footer: a burst of binding changes is one rebuild, and the footer shows the state after the last one."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from lgconsole.widgets.footer import KeyFooter
from pilotwait import pilot_wait


class Toggles(App):
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("r", "replay", "Replay"), Binding("f", "fork", "Fork"), Binding("q", "quit", "Quit")]

    def __init__(self, footer: type[Footer]):
        super().__init__()
        self.footer_type = footer
        self.allowed = {"replay": True, "fork": True}
        self.rebuilds = 0

    def compose(self) -> ComposeResult:
        yield self.footer_type()

    def check_action(self, action: str, parameters) -> bool | None:
        return self.allowed.get(action, True) or None  # None: shown, disabled

    def toggle_many(self, times: int) -> None:
        for i in range(times):
            self.allowed["replay"] = i % 2 == 1  # ends disabled when times is odd
            self.allowed["fork"] = i % 3 != 2
            self.refresh_bindings()


def _keys(app: App) -> dict[str, bool]:
    return {k.description: not k.has_class("-disabled") for k in app.query(FooterKey)}


async def _shown(pilot) -> None:
    """The footer shows the app's bindings of now: its rebuild after the last change has run."""
    app = pilot.app
    want = {"Replay": app.allowed["replay"], "Fork": app.allowed["fork"], "Quit": True}
    await pilot_wait(pilot, lambda: _keys(app) == want, timeout=10, what=f"the footer showing {want}")
    await pilot.pause()  # rebuilds queued behind it (Textual's footer queues one per change) run in the same flush


def _counting(footer: type[Footer]) -> type[Footer]:
    class Counting(footer):
        async def recompose(self) -> None:
            self.app.rebuilds += 1
            await super().recompose()

    return Counting


async def _burst(footer: type[Footer], times: int) -> tuple[int, dict[str, bool]]:
    app = Toggles(_counting(footer))
    async with app.run_test() as pilot:
        await _shown(pilot)
        before = app.rebuilds
        app.toggle_many(times)
        await _shown(pilot)
        return app.rebuilds - before, _keys(app)


async def test_a_burst_of_binding_changes_is_one_rebuild_showing_the_last_state():
    rebuilds, keys = await _burst(KeyFooter, 7)
    assert keys == {"Replay": False, "Fork": True, "Quit": True}  # i = 6: replay off, fork on
    assert rebuilds == 1
    textual_rebuilds, textual_keys = await _burst(Footer, 7)
    assert textual_keys == keys  # what Textual's own footer shows, with one rebuild per change
    assert textual_rebuilds == 7


async def test_changes_after_a_rebuild_are_shown_too():
    app = Toggles(KeyFooter)
    async with app.run_test() as pilot:
        await _shown(pilot)
        app.toggle_many(2)
        await _shown(pilot)
        assert _keys(app)["Replay"] is True
        app.toggle_many(1)
        await _shown(pilot)
        assert _keys(app)["Replay"] is False
        await pilot.press("f")  # the keys still work


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=5))
def test_after_any_changes_the_footer_shows_the_keys_of_now(states):
    """A rebuild is skipped when the keys it would show are those shown (the fast path): after any sequence of
    changes, repeats included, the footer shows what a rebuild of now shows."""
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


async def test_a_signal_that_changes_no_key_rebuilds_nothing():
    app = Toggles(KeyFooter)
    async with app.run_test() as pilot:
        await _shown(pilot)
        before = list(app.query(FooterKey))
        app.refresh_bindings()  # the same keys, the same states
        await pilot.pause()
        await pilot.pause()
        assert list(app.query(FooterKey)) == before and all(k.is_attached for k in before)
