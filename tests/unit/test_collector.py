"""console/collector.py: after the first frame the console freezes what start-up built and raises the young
generation's threshold; when the app ends, Python's defaults are back (the suite runs many apps in one process)."""

from __future__ import annotations

import asyncio
import gc

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console import collector
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config


def test_settle_then_restore_leaves_the_collector_as_it_was():
    before = gc.get_threshold()
    try:
        collector.settle()
        assert gc.get_threshold()[0] >= collector.YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        frozen = gc.get_freeze_count()
        assert frozen > 0
        collector.settle()  # a second call changes nothing
        assert gc.get_freeze_count() == frozen
    finally:
        collector.restore()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    collector.restore()  # and restoring twice is harmless
    assert gc.get_threshold() == before


def test_the_app_settles_after_its_first_frame_and_restores_when_it_ends():
    before = gc.get_threshold()
    seen = {}

    async def run() -> None:
        app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.pause()
            seen["threshold"], seen["frozen"] = gc.get_threshold(), gc.get_freeze_count()

    asyncio.run(run())
    assert seen["threshold"][0] == max(collector.YOUNG_THRESHOLD, before[0]) and seen["frozen"] > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
