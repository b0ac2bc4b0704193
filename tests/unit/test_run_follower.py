"""The RunFollower on recorded streams: it owns the run's state, says how the run ended once, and keeps one timeline
across an answered interrupt."""

from __future__ import annotations

import asyncio
import json

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


# --- what `lgconsole run`/`watch` print (console/cli/live.py) on a user's supervisor graph ------------------------

def _printed(name: str, capsys, as_json: bool = False, tokens: bool = False, **session) -> list[str]:
    from lgconsole.console.cli.live import StepPrinter, follow

    follower = RunFollower(RecordedSession.url)
    follower.adopt(RecordedSession(name, **session))
    asyncio.run(follow(follower, StepPrinter(as_json, tokens=tokens)))
    return capsys.readouterr().out.splitlines()


def test_run_says_as_many_steps_as_it_printed_and_closes_the_handoff_step(capsys):
    lines = _printed("team_handoff", capsys)
    steps = [line for line in lines if line.startswith("[")]
    assert lines[-1].startswith("run run-team_handoff success: 7 node steps") and len(steps) == 7
    assert not any(" running " in line for line in steps)
    assert "      · no end event: closed when supervisor ended" in lines


def test_an_errored_run_prints_no_cancelled_step(capsys):
    lines = _printed("team_error", capsys, status="error", thread_status="error")
    assert not any("cancelled" in line for line in lines)
    assert any(line.startswith("[  2] researcher/tools") and " error " in line for line in lines)
    assert lines[-1].startswith("run run-team_error error: 6 node steps")


def test_progress_events_print_as_they_arrive_under_the_tool_step(capsys):
    lines = _printed("team_handoff", capsys)
    progress = [i for i, line in enumerate(lines) if line.startswith("      … ")]
    assert [lines[i] for i in progress] == [f'      … researcher/tools: {{"progress": "searched {n}/3"}}'
                                            for n in (1, 2, 3)]
    tools_step = next(i for i, line in enumerate(lines) if line.startswith("[  2] researcher/tools"))
    assert progress[-1] < tools_step  # live: before the step's own line, which comes when it ends


def test_tokens_stream_in_text_and_json_carries_token_and_custom_events(capsys):
    lines = _printed("team_handoff", capsys, tokens=True)
    assert "      » researcher/model: Calling slow_search." in lines
    assert "      » supervisor/model: Calling transfer_to_researcher." in lines
    records = [json.loads(line) for line in _printed("team_handoff", capsys, as_json=True, tokens=True)]
    tokens = [r for r in records if r["event"] == "token"]
    assert "".join(t["text"] for t in tokens if t["node"] == "model" and t["namespace"][0].startswith("researcher")) \
        == "Calling slow_search.Found three results."
    custom = [r for r in records if r["event"] == "custom"]
    assert [c["data"]["progress"] for c in custom] == ["searched 1/3", "searched 2/3", "searched 3/3"]
    assert {c["node"] for c in custom} == {"tools"} and records[-1]["steps"] == 7
    assert not any(r["event"] == "token" for r in (json.loads(line) for line in
                                                   _printed("team_handoff", capsys, as_json=True)))


def test_the_interrupt_hint_names_resume(capsys):
    lines = _printed("demo_answer_before", capsys, thread_status="interrupted")
    assert lines[-1] == "waiting for input; answer with: lgconsole resume recorded-thread VALUE"
