"""Progress (custom) events show live under the step that emitted them: a worker's slow tool inside its subgraph
(tests/fixtures/live/team_handoff.jsonl, recorded from a user's supervisor project on the real server)."""

from __future__ import annotations

from fakes import FixedStack, RecordedSession, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.sources.run_follower import RunFollower
from livefixtures import recorded
from pilotwait import pilot_wait


def _detail(screen: LiveScreen) -> str:
    return screen.query_one("#step-diff").plain


async def test_progress_of_a_running_tool_shows_under_it_while_it_runs():
    events = recorded("team_handoff")
    second = [i for i, e in enumerate(events) if e.mode == "custom"][1]
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(130, 40)) as pilot:
        screen = LiveScreen(assistant="team")
        await app.push_screen(screen)
        screen.follower = RunFollower(RecordedSession.url, on_change=lambda _live: screen.schedule_paint())
        screen.follower.adopt(RecordedSession(events[: second + 1]))  # the run so far: the tool still searching
        for event in events[: second + 1]:
            screen.live.feed(event)
        screen.schedule_paint()
        await pilot_wait(pilot, lambda: "custom events" in _detail(screen), timeout=5, what="the progress shown")
        detail = _detail(screen)
        assert detail.startswith("researcher/tools · super-step 2 · running")
        assert '{"progress": "searched 1/3"}' in detail and '{"progress": "searched 2/3"}' in detail
