"""The RunFollower on recorded streams: it owns the run's state, says how the run ended once, and keeps one timeline
across an answered interrupt."""

from __future__ import annotations

import asyncio

import pytest

from lgconsole.console.sources.run_follower import RunFollower
from lgconsole.stack.server.runs import RunError
from fakes import RecordedSession
from livefixtures import report_run


async def test_follow_folds_the_stream_and_maps_the_end_once():
    changes, events = [], []
    follower = RunFollower(RecordedSession.url, on_change=changes.append, on_event=events.append)
    session = RecordedSession("demo_answer_before", thread_status="interrupted")
    follower.adopt(session)
    outcome = await follower.follow()
    assert outcome.status == "success" and follower.live.status == "waiting"  # the server says success
    assert follower.live.interrupts and session.closed
    assert len(events) == len(session.events_) and len(changes) >= len(events)


async def test_an_answer_continues_the_timeline_a_new_run_starts_a_new_one():
    follower = RunFollower(RecordedSession.url)
    follower.adopt(RecordedSession("demo_answer_before", thread_status="interrupted"))
    await follower.follow()
    first = follower.live
    follower.adopt(RecordedSession("demo_answer_after"), new_run=False)
    assert follower.live is first and follower.live.status == "starting" and not follower.live.interrupts
    await follower.follow()
    assert follower.live.status == "success" and [s.node for s in first.steps][-2:] == ["approval", "finalize"]
    follower.adopt(RecordedSession(report_run()))
    assert follower.live is not first


@pytest.mark.parametrize(("server", "thread", "shown"), [("interrupted", "idle", "cancelled"),
                                                         ("error", "error", "error"), ("lost", None, "lost")])
async def test_how_a_run_ended(server, thread, shown):
    follower = RunFollower(RecordedSession.url)
    follower.adopt(RecordedSession(report_run(), status=server, thread_status=thread))
    await follower.follow()
    assert follower.live.status == shown


async def test_a_broken_stream_marks_the_run_failed_and_raises():
    class Broken(RecordedSession):
        async def events(self):
            yield self.events_[0]
            raise RunError("lost the stream of run r: the server stopped answering")

    follower = RunFollower(RecordedSession.url)
    session = Broken(report_run())
    follower.adopt(session)
    with pytest.raises(RunError):
        await follower.follow()
    assert follower.live.status == "error" and "lost the stream" in follower.live.error and session.closed


async def test_in_the_background_it_can_be_waited_for_or_stopped():
    class Slow(RecordedSession):
        async def events(self):
            for event in self.events_:
                await asyncio.sleep(0.01)
                yield event

    follower = RunFollower(RecordedSession.url)
    follower.adopt(Slow(report_run()))
    follower.follow_in_background()
    assert not follower.finished
    assert (await follower.wait(5)).status == "success" and follower.finished
    follower.adopt(Slow(report_run()))
    follower.follow_in_background()
    with pytest.raises(TimeoutError):
        await follower.wait(0.02)
    assert follower.finished and follower.session.closed


async def test_nothing_to_follow_or_cancel_is_one_line():
    follower = RunFollower(RecordedSession.url)
    with pytest.raises(RunError, match="no run to follow"):
        await follower.follow()
    with pytest.raises(RunError, match="no run to cancel"):
        await follower.cancel()
    with pytest.raises(RunError, match="no thread to answer"):
        await follower.resume(True)
