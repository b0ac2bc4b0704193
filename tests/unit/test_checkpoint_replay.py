"""Writes folded as LangGraph's common reducers fold them (stack/checkpoints/replay.py), and the thread text that
names a thread's node and why it stopped (console/rows/thread_text.py): plain functions, no database."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console.rows.thread_text import last_node, thread_detail
from lgconsole.stack.checkpoints.records import ThreadStatus
from lgconsole.stack.checkpoints.replay import MISSING, apply_writes, finished_writes, fold
from lgconsole.stack.checkpoints.writes import WriteRow

items = st.one_of(st.text(max_size=5), st.integers(), st.fixed_dictionaries({"id": st.sampled_from("abc"),
                                                                             "content": st.text(max_size=3)}))
writes = st.lists(st.one_of(items, st.lists(items, max_size=3)), max_size=6)


def fold_all(base, ws):
    for w in ws:
        base = fold(base, w)
    return base


@given(st.lists(items, max_size=4), writes, writes)
def test_folding_is_the_same_in_any_batches(base, first, second):
    # what DeltaChannel asks of its reducer, so a value rebuilt from saved writes equals the one the run had
    assert fold_all(fold_all(base, first), second) == fold_all(base, first + second)


@given(writes)
def test_an_appended_event_is_never_lost(ws):
    out = fold_all([], ws)
    flat = [i for w in ws for i in (w if isinstance(w, list) else [w])]
    plain = [i for i in flat if not isinstance(i, dict)]
    assert [i for i in out if not isinstance(i, dict)] == plain
    ids = {i["id"] for i in flat if isinstance(i, dict)}
    assert sorted(i["id"] for i in out if isinstance(i, dict)) == sorted(ids)  # a message id once, its last version


def test_overwrite_resets_and_scalars_replace():
    assert fold(["a"], {"__overwrite__": ["z"]}) == ["z"]
    assert fold(["a"], {"type": "__overwrite__", "value": []}) == []
    assert fold(MISSING, ["a"]) == ["a"] and fold("old", "new") == "new"
    assert fold({"a": 1}, {"b": 2}) == {"a": 1, "b": 2}


def test_finished_tasks_writes_apply_and_a_failed_task_has_none():
    rows = [WriteRow("", "c", "t2", "~__pregel_pull, enrich", 0, "__error__", "msgpack", None, None),
            WriteRow("", "c", "t1", "~__pregel_pull, fetch", 0, "fetched", "msgpack", None, None),
            WriteRow("", "c", "t1", "~__pregel_pull, fetch", 1, "notes", "msgpack", None, None),
            WriteRow("", "c", "t1", "~__pregel_pull, fetch", 2, "branch:to:answer", "null", None, None)]
    decoded = {"fetched": "rows", "notes": ["fetched"], "branch:to:answer": None}
    found, paths = finished_writes(rows, lambda w: decoded[w.channel])
    assert found == [("fetched", "rows"), ("notes", ["fetched"])] and paths == ["~__pregel_pull, fetch"]
    values = {"query": "q", "notes": ["planned"]}
    apply_writes(values, found)
    assert values == {"query": "q", "notes": ["planned", "fetched"], "fetched": "rows"}


def summary(status: ThreadStatus, **kw):
    base = dict(status=status, status_node=None, latest_nodes=["plan"], latest_source="loop", error=None,
                interrupts=[])
    return SimpleNamespace(**{**base, **kw})


def test_one_last_node_and_a_reason_for_every_status():
    errored = summary(ThreadStatus.ERRORED, status_node="enrich", error="RuntimeError('x')")
    assert last_node(errored) == "enrich" and thread_detail(errored) == "enrich: RuntimeError('x')"
    paused = summary(ThreadStatus.WAITING, status_node="publish")
    assert last_node(paused) == "publish" and thread_detail(paused).startswith("publish: paused before it")
    assert thread_detail(summary(ThreadStatus.UNKNOWN, status_node="tick")).startswith("tick: due")
    assert last_node(summary(ThreadStatus.IDLE)) == "plan" and thread_detail(summary(ThreadStatus.IDLE)) == ""
    assert last_node(summary(ThreadStatus.IDLE, latest_nodes=[], latest_source="update")) == "update"
