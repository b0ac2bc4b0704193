"""LiveRun folds a real recorded stream into node steps with the right diffs, in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lgconsole.console.model.live_run import LiveRun, project_update
from lgconsole.stack.server.runs import RunEvent
from livefixtures import recorded


def _fed(name: str, upto: int | None = None) -> LiveRun:
    live = LiveRun()
    for event in recorded(name)[:upto]:
        live.feed(event)
    return live


def test_every_node_step_in_order_with_parallel_workers_as_three_steps():
    live = _fed("demo_interrupt")
    root = [s.node for s in live.steps]
    assert root[0] == "supervisor" and sorted(root[1:4]) == ["coder", "researcher", "reviewer"]
    assert root[4:] == ["join", "review", "approval"]
    workers = [s for s in live.steps if s.node in ("researcher", "coder", "reviewer")]
    assert len(workers) == 3 and len({s.superstep for s in workers}) == 1
    assert live.steps[0].node == "supervisor" and live.steps[-1].node == "approval"


def test_each_step_carries_its_own_diff():
    live = _fed("demo_interrupt")
    by_node = {s.node: s for s in live.steps}
    coder = by_node["coder"].diff
    assert ("results", "coder") in coder.added
    assert len(coder.messages[0].appended) == 1 and coder.messages[0].appended[0].new["name"] == "coder"
    researcher = by_node["researcher"].diff
    assert ("results", "researcher") in researcher.added and ("results", "coder") not in researcher.added
    assert "cache" in researcher.top_level_keys()
    assert by_node["join"].diff.changed == [("summary",)]


def test_subgraph_steps_nest_under_their_parent_node():
    live = _fed("demo_interrupt")
    review = next(s for s in live.steps if s.node == "review")
    assert [c.node for c in review.children] == ["critique", "score"]
    assert ("review", "score") in review.children[1].diff.added


def test_tokens_custom_events_and_the_interrupt():
    live = _fed("demo_interrupt")
    coder = next(s for s in live.steps if s.node == "coder")
    assert coder.tokens.startswith("Coder on") and len(coder.custom) == 5
    approval = live.steps[-1]
    assert approval.status == "interrupted" and approval.interrupts[0]["value"]["question"].startswith("Approve")
    assert live.interrupts and live.state["review"]["verdict"]


def test_mid_run_steps_are_running():
    live = _fed("demo_interrupt", upto=12)
    assert any(s.status == "running" for s in live.steps)


def test_an_error_is_shown_on_its_node_and_the_run():
    live = _fed("demo_error")
    assert live.status == "error" and "demo failure requested at coder" in live.error
    coder = next(s for s in live.steps if s.node == "coder")
    assert coder.status == "error" and "demo failure requested at coder" in coder.error


def test_cancelled_run_marks_running_steps_cancelled():
    live = _fed("demo_interrupt", upto=12)
    live.finish("cancelled")
    assert live.status == "cancelled"
    assert not [s for s in live.all_steps() if s.status == "running"]


def test_ring_buffer_caps_steps_and_keeps_the_final_state():
    live = LiveRun(max_steps=50)
    for i in range(1000):
        live.feed(RunEvent("updates", {"loop": {"i": i}}))
        live.feed(RunEvent("values", {"i": i}))
    assert len(live.steps) == 50 and live.steps_dropped == 950
    assert live.state == {"i": 999}
    assert live.steps[-1].diff.changes[0].new == 999


def test_project_update_uses_reducer_semantics():
    before = {"messages": [{"id": "1", "type": "human", "content": "hi"}], "results": {"a": 1}, "n": 1}
    old, new = project_update(before, {"messages": [{"id": "2", "type": "ai", "content": "yo"}],
                                       "results": {"b": 2}, "n": 2, "fresh": True})
    assert [m["id"] for m in new["messages"]] == ["1", "2"]
    assert new["results"] == {"a": 1, "b": 2} and new["n"] == 2 and "fresh" not in old


def test_node_stats_for_the_graph_screen():
    stats = _fed("demo_interrupt").node_stats()
    assert stats["coder"]["count"] == 1 and stats["coder"]["state"] == "done"
    assert stats["review:critique"]["count"] == 1
    assert stats["approval"]["state"] == "interrupted"


def test_a_resumed_run_hands_back_saved_writes_without_bogus_steps():
    """After an interruption the server re-announces finished parallel tasks and hands back their writes."""
    live = LiveRun()
    live.feed(RunEvent("values", {"results": {}}))
    for task_id, node in (("t1", "coder"), ("t2", "reviewer"), ("t3", "researcher")):
        live.feed(RunEvent("tasks", {"id": task_id, "name": node, "input": {}, "triggers": []}))
    live.feed(RunEvent("updates", {"coder": {"results": {"coder": "done before"}}, "__metadata__": {"cached": True}}))
    live.feed(RunEvent("updates", {"researcher": {"results": {"researcher": "fresh"}}}))
    live.feed(RunEvent("tasks", {"id": "t3", "name": "researcher", "error": None, "result": {}, "interrupts": []}))
    nodes = {s.node: s for s in live.steps}
    assert "__metadata__" not in nodes
    assert nodes["coder"].cached and nodes["coder"].status == "done" and "not re-run" in nodes["coder"].summary()
    assert nodes["researcher"].status == "done" and not nodes["researcher"].cached
    assert nodes["reviewer"].status == "running"  # neither handed back nor finished yet


# --- an answered interrupt, and runs side by side ---------------------------------------------------------------

def test_the_step_that_waited_shows_how_it_ended_after_the_answer():
    """The answer resumes the very task that stopped at interrupt() (same task id): its step goes on, done."""
    live = _fed("demo_answer_before")
    live.finish("waiting", interrupts=live.steps[-1].interrupts)
    approval = live.steps[-1]
    assert approval.node == "approval" and approval.status == "interrupted" and "waits for input" in approval.summary()
    steps_before = live.step_count
    live.begin()
    for event in recorded("demo_answer_after"):
        live.feed(event)
    live.finish("success")
    assert [s.node for s in live.steps][-2:] == ["approval", "finalize"]
    assert approval.status == "done" and not approval.interrupts and approval.answered
    assert "waits for input" not in approval.summary() and "answered" in approval.summary()
    assert approval.diff is not None and approval.diff.top_level_keys()
    assert live.step_count == steps_before + 1  # finalize; approval is the same step, not a second one
    assert not any(s.status == "interrupted" for s in live.all_steps())


def test_step_keys_are_unique_across_runs():
    first, second = _fed("demo_interrupt"), _fed("demo_interrupt")
    keys = [s.key for s in first.all_steps()] + [s.key for s in second.all_steps()]
    assert len(keys) == len(set(keys))
    assert any(s.children for s in second.steps)  # the review subgraph's steps, nested


def test_the_model_takes_any_event_with_the_four_fields():
    from dataclasses import dataclass

    @dataclass
    class Event:  # not the stack's RunEvent
        mode: str
        data: object
        namespace: tuple = ()
        received: float = 0.0

    live = LiveRun()
    live.feed(Event("tasks", {"id": "t1", "name": "coder", "input": {}}))
    live.feed(Event("tasks", {"id": "t1", "name": "coder", "error": {"error": "RuntimeError", "message": "boom"},
                              "result": None}, received=1.0))
    assert live.steps[0].status == "error" and live.steps[0].error == "RuntimeError: boom"


# --- a user's supervisor graph (tests/fixtures/live/agent_project, recorded from the real server) ------------------

def test_a_handoff_tool_without_an_end_event_closes_when_its_parent_ends():
    """langgraph-supervisor-style handoff tools end by raising Command(graph=PARENT): the server streams their task
    start, never its end."""
    live = _fed("team_handoff")
    supervisor = live.steps[0]
    tools = next(c for c in supervisor.children if c.node == "tools")
    assert supervisor.status == "done" and tools.status == "done" and tools.closed_by == "supervisor"
    assert "no end event: closed when supervisor ended" in tools.summary()
    live.finish("success")
    assert not [s for s in live.all_steps() if s.status == "running"]


def test_an_errored_run_cancels_nothing_that_ended():
    live = _fed("team_error")
    live.finish("error", "RuntimeError: search backend refused the query")
    statuses = {(s.namespace[-1].split(":")[0] if s.namespace else "", s.node): s.status for s in live.all_steps()}
    assert "cancelled" not in statuses.values()
    assert statuses[("researcher", "tools")] == "error" and statuses[("", "researcher")] == "error"


def test_progress_events_go_to_the_tool_step_that_emitted_them_as_they_arrive():
    events = recorded("team_handoff")
    live = LiveRun()
    seen = []
    for event in events:
        live.feed(event)
        if event.mode == "custom":
            target = live.last_target
            seen.append((target.node, target.status, len(target.custom)))
    assert seen == [("tools", "running", 1), ("tools", "running", 2), ("tools", "running", 3)]
    researcher = next(s for s in live.steps if s.node == "researcher")
    assert not researcher.custom and [c["progress"] for c in researcher.children[1].custom][-1] == "searched 3/3"


def test_a_tool_message_without_an_id_is_appended_and_read_as_a_message():
    live = _fed("team_handoff")
    lines = live.steps[0].diff.lines()
    assert lines == ["+ messages: appended tool (transfer_to_researcher): 'Transferred to researcher'"]


def test_all_steps_walks_every_depth_parents_first():
    live = LiveRun()
    live.feed(RunEvent("tasks", {"id": "a", "name": "outer", "input": {}}))
    live.feed(RunEvent("tasks", {"id": "b", "name": "mid", "input": {}}, ("outer:a",)))
    live.feed(RunEvent("tasks", {"id": "c", "name": "inner", "input": {}}, ("outer:a", "mid:b")))
    assert [s.node for s in live.all_steps()] == ["outer", "mid", "inner"]


# --- a run started by a plain langgraph-sdk client (values only): its steps from the saved checkpoints --------------

def _saved(name: str) -> tuple[list, list]:
    import json

    from lgconsole.console.model.checkpoint_steps import SavedCheckpoint, SavedWrite
    from livefixtures import FIXTURES

    raw = json.loads((FIXTURES / f"{name}.json").read_text())
    return [SavedCheckpoint(**{**c, "namespace": tuple(c["namespace"]),
                               "writes": [SavedWrite(**w) for w in c["writes"]]}) for c in raw["checkpoints"]], \
        raw["history"]


def _named(live: LiveRun) -> list[tuple[str, str]]:
    return [("/".join(n.split(":")[0] for n in s.namespace), s.node) for s in live.all_steps()]


def test_saved_checkpoints_give_named_nested_steps_in_order_with_real_durations():
    from lgconsole.console.model.checkpoint_steps import CheckpointFold

    checkpoints, history = _saved("team_saved")
    live = LiveRun()
    CheckpointFold(live).update(checkpoints, now=max(c.created for c in checkpoints))
    assert _named(live) == [("", "supervisor"), ("supervisor", "model"), ("", "researcher"),
                            ("researcher", "model"), ("researcher", "tools"), ("researcher", "model")]
    assert [s.superstep for s in live.steps] == [1, 2]
    tools = live.steps[1].children[1]
    assert 0.4 < tools.duration < 2.0  # the tool sleeps 3 x 0.15 s
    assert all(s.status == "done" for s in live.all_steps())
    assert live.state == history[0]["values"]  # LangGraph's own get_history, the oracle
    # the researcher's writes hold the whole conversation: its diff shows only what it added
    assert [line.split(":")[1].strip() for line in live.steps[1].diff.lines()] == ["appended ai"] + \
        ["appended tool (slow_search)", "appended ai"]


def test_saved_checkpoints_fold_once_whatever_the_reads():
    from lgconsole.console.model.checkpoint_steps import CheckpointFold

    checkpoints, _ = _saved("team_saved")
    live = LiveRun()
    fold = CheckpointFold(live)
    end = max(c.created for c in checkpoints)
    for upto in range(1, len(checkpoints) + 1):  # as they land, one read per checkpoint
        fold.update(checkpoints[:upto], now=checkpoints[upto - 1].created)
    fold.update(checkpoints, now=end + 5, final=True)
    assert len(_named(live)) == 6 and [s.node for s in live.steps] == ["supervisor", "researcher"]
    assert all(s.duration is not None and s.duration < 2.0 for s in live.all_steps())


def test_saved_checkpoints_of_an_errored_run_name_the_failed_tool():
    from lgconsole.console.model.checkpoint_steps import CheckpointFold

    checkpoints, _ = _saved("team_saved_error")
    live = LiveRun()
    CheckpointFold(live).update(checkpoints, now=max(c.created for c in checkpoints))
    live.finish("error")
    failed = [(n, s.error) for n, s in zip(_named(live), live.all_steps()) if s.status == "error"]
    assert failed == [(("", "researcher"), "RuntimeError: search backend refused the query"),
                      (("researcher", "tools"), "RuntimeError: search backend refused the query")]
    assert not [s for s in live.all_steps() if s.status in ("cancelled", "running") or s.closed_by]


def test_saved_interrupt_waits_on_the_newest_checkpoint_and_is_answered_once_the_super_step_ended():
    from lgconsole.console.model.checkpoint_steps import CheckpointFold, SavedCheckpoint, SavedWrite

    start = SavedCheckpoint((), "c0", None, 0, "loop", 10.0, ["__start__"], {"ok": None},
                            [SavedWrite("t1", "approval", "__interrupt__", [{"value": "approve?", "id": "i1"}])])
    live = LiveRun()
    fold = CheckpointFold(live)
    fold.update([start], now=11.0)
    assert live.steps[0].node == "approval" and live.steps[0].status == "interrupted"
    resumed = SavedCheckpoint((), "c0", None, 0, "loop", 10.0, ["__start__"], {"ok": None},
                              start.writes + [SavedWrite("t1", "approval", "ok", True)])
    fold.update([resumed, SavedCheckpoint((), "c1", "c0", 1, "loop", 20.0, ["approval"], {"ok": True})], now=21.0)
    approval = live.steps[0]
    assert len(live.steps) == 1 and approval.status == "done" and approval.answered


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=12), max_size=8), st.sampled_from(["team_saved",
                                                                                     "team_saved_error"]))
def test_property_saved_steps_are_the_same_however_the_checkpoints_are_read(cuts, name):
    """Read after any checkpoints landed, in any number of reads: the same steps, diffs and statuses as one read."""
    from lgconsole.console.model.checkpoint_steps import CheckpointFold

    checkpoints, _ = _saved(name)
    order = sorted(checkpoints, key=lambda c: c.created)
    end = order[-1].created + 1

    def timeline(reads: list[int]) -> list:
        live = LiveRun()
        fold = CheckpointFold(live)
        for upto in reads:
            fold.update(order[:upto], now=order[upto - 1].created if upto else 0.0)
        fold.update(order, now=end, final=True)
        return [(n, s.status, s.error, s.diff.lines() if s.diff else None) for n, s in zip(_named(live), live.all_steps())]

    assert timeline(sorted(min(c, len(order)) for c in cuts)) == timeline([])
