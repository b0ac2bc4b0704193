"""The Threads screen's plain-data layer: rows for the thread table, the checkpoint tree's items, a state's entries
and the diff sections, from threads recorded on a real stack (no services)."""

from __future__ import annotations

from lgconsole.console.model.checkpoint_tree import CheckpointTree
from lgconsole.console.model.thread_browser import checkpoint_key, latest_checkpoint, split_key
from lgconsole.console.rows.threads import diff_sections, short_id, state_entries, thread_rows, tree_items
from lgconsole.stack.checkpoints.decoder import placeholder
from threadfixtures import load

DATA = load()
FORKED = DATA.labels["forked"]


def _flatten(items, depth=0):
    for item in items:
        yield depth, item
        yield from _flatten(item.children, depth + 1)


def test_thread_rows_name_the_node_once_and_fit_the_detail():
    rows = {r.thread_id: r for r in thread_rows(DATA.summaries, DATA.now, detail_chars=30)}
    errored = rows[DATA.labels["errored"]]
    assert (errored.status, errored.last_node, errored.step) == ("errored", "coder", "1")
    assert errored.detail.startswith("RuntimeError('demo failure") and len(errored.detail) <= 30
    waiting = rows[DATA.labels["waiting"]]
    assert waiting.last_node == "approval" and waiting.detail.startswith("Approve the team's result")
    assert rows[FORKED].last_activity == "2m00s ago" and rows[FORKED].checkpoints == 27


def test_tree_items_forks_are_branches_and_subgraph_calls_are_collapsed_groups():
    nodes = DATA.histories[FORKED]
    items = tree_items(CheckpointTree(nodes), latest=latest_checkpoint(nodes))
    flat = list(_flatten(items))
    assert [i.step for d, i in flat if d == 0] == ["-1", "0", "1"]  # one straight run, then the fork
    step1 = next(i for d, i in flat if d == 0 and i.step == "1")
    branches = [c for c in step1.children if c.kind == "branch"]
    assert [b.title.split(" · ")[0] for b in branches] == ["original", "edited state"]
    assert branches[1].title == "edited state · 8 checkpoints → step 5 ◆"
    nested = [c for c in branches[0].children[0].children if c.kind == "branch"]  # the replay from step 2
    assert [b.title.split(" · ")[0] for b in nested] == ["original", "replayed"]
    subgraphs = [i for _, i in flat if i.kind == "subgraph"]
    assert len(subgraphs) == 3 and all(not s.expanded and s.title == "review subgraph · 4 checkpoints"
                                       for s in subgraphs)
    marks = {i.key: dict(i.marks) for _, i in flat if i.kind == "checkpoint"}
    head = latest_checkpoint(nodes)
    assert marks[head] == {"interrupted": "◆ waits at approval", "head": "head"}
    answered = [m for m in marks.values() if "answered" in m]
    assert answered == [{"answered": "◇ asked at approval, answered"}]  # the original branch went on
    update = next(n for n in nodes if n.source == "update")
    assert next(i for _, i in flat if i.key == update.checkpoint_id).title == "update_state"
    # items added since a write are marked new
    new = tree_items(CheckpointTree(nodes), new={checkpoint_key(update.checkpoint_id)}, latest=head)
    assert ("new", "new") in next(i for _, i in _flatten(new) if i.key == update.checkpoint_id).marks


def test_keys_and_short_ids():
    assert split_key(checkpoint_key("1f1e-a", "review:t1")) == ("1f1e-a", "review:t1")
    assert split_key(checkpoint_key("1f1e-a")) == ("1f1e-a", "")
    assert short_id("1f1e7d10-9441-656a-8001-4f45c6fdb22a") == "9441-656a"
    assert short_id("not-a-uuid-at-all") == "not-a-uui"


def test_state_entries_summarise_messages_and_name_placeholders():
    state = DATA.states[FORKED][latest_checkpoint(DATA.histories[FORKED])]
    entries = {e.key: e for e in state_entries(state.values, max_messages=3)}
    messages = entries["messages"]
    assert messages.note.endswith("messages") and messages.lines[0].startswith("… ")
    assert messages.lines[-1].startswith(f"[{len(state.values['messages']) - 1}] ai (critique): ")
    assert list(entries)[-1] == "messages"  # after the other keys
    assert entries["task"].lines == ('"Write the release notes for 1.4"',)
    odd = state_entries({"blob": placeholder("app.models.Secret", "blocked", fields={"token": "x"}),
                         "text": "line one\nline two", "big": list(range(40))}, max_lines=5)
    by_key = {e.key: e for e in odd}
    assert by_key["blob"].warn and by_key["blob"].lines == ("<app.models.Secret> not decoded (reason=blocked)",)
    assert by_key["text"].lines == ("line one", "line two")
    assert len(by_key["big"].lines) == 5 and by_key["big"].lines[-1] == "… 38 more lines"
    assert "token" not in " ".join(by_key["blob"].lines)  # a blocked value's fields are not shown


def test_diff_sections_against_the_parent_and_what_waits():
    nodes = DATA.histories[FORKED]
    update = next(n for n in nodes if n.source == "update")
    states = DATA.states[FORKED]
    sections = diff_sections(states[update.checkpoint_id], states[update.parent_checkpoint_id], 200)
    assert sections == [(f"diff to parent {short_id(update.parent_checkpoint_id)} · step 1", [
        "~ task: 'Write the release notes for 1.4' -> 'Write the release notes for 1.4, in French'"])]
    head = latest_checkpoint(nodes)
    waiting = diff_sections(states[head], None, 200)
    assert waiting[0][0].startswith("diff: the thread's first checkpoint")
    assert waiting[1] == ("pending at this checkpoint",
                          ["? waits for input: Approve the team's result for 'Write the release notes for 1.4'?"])


def test_secrets_in_state_are_masked_in_views_and_never_sent_back():
    from lgconsole.console.model.masking import mask_secrets, secret_key
    from lgconsole.console.rows.threads import fork_update, values_json

    assert [secret_key(k) for k in ("api_key", "OPENAI_API_KEY", "access_token", "password", "private_key")] == [
        True] * 5
    assert [secret_key(k) for k in ("input_tokens", "tokenizer", "max_tokens", "key", "summary")] == [False] * 5
    state = {"task": "t", "config": {"api_key": "sk-live-123", "model": "m"}, "messages": [],
             "usage": {"input_tokens": 5}, "password": ""}
    assert mask_secrets(state)["config"] == {"api_key": "***", "model": "m"}
    assert mask_secrets(state)["usage"] == {"input_tokens": 5} and mask_secrets(state)["password"] == ""
    assert "sk-live" not in values_json(state)
    assert "sk-live" not in str([e.lines for e in state_entries(state)])
    edited = values_json(state).replace('"task": "t"', '"task": "u"')
    assert fork_update(state, edited) == {"task": "u"}  # the masked key stays out of the update


def test_the_screen_state_picks_the_cursor_and_marks_what_a_write_added():
    from lgconsole.console.model.thread_browser import LATEST, ListQuery, ThreadFocus

    query = ListQuery()
    assert query.key == ("", "", "-last_activity") and query.sort_title == "last activity ↓"
    query.toggle_status("waiting")
    query.toggle_status("waiting")  # the same key twice: all again
    query.next_sort()
    assert query.key == ("", "", "-checkpoint_count")
    for _ in range(3):
        query.next_sort()
    assert query.key == ("", "", "thread_id")  # ids ascending
    nodes = DATA.histories[FORKED]
    head = latest_checkpoint(nodes)
    focus = ThreadFocus()
    focus.open(FORKED)
    assert focus.history_read(nodes) == (head, head)  # nothing selected yet: the head
    focus.checkpoint = head
    assert focus.to_read()[0] == head and focus.node_at(head).checkpoint_id == head
    focus.expect_new(FORKED, LATEST)  # a write is coming: what it adds is new, the cursor goes to the new head
    older, newest = nodes[:-3], nodes
    focus.before = {checkpoint_key(n.checkpoint_id, n.checkpoint_ns) for n in older}
    latest, select = focus.history_read(newest)
    assert select == latest and focus.pending is None and len(focus.new) == 3
    assert "coder" in focus.writers() and not any(w.startswith("__") for w in focus.writers())


def test_history_and_diff_text_mask_secrets(monkeypatch, capsys):
    """`lgconsole diff` and `history` print through the one masking policy (their --json is issue 17's)."""
    import argparse
    import contextlib
    import dataclasses

    from lgconsole.console.cli import threads as cli_threads

    nodes = DATA.histories[FORKED]
    head = latest_checkpoint(nodes)
    state = DATA.states[FORKED][head]
    before = dataclasses.replace(state, values={**state.values, "api_key": "sk-old-1", "note": "x"})
    after = dataclasses.replace(state, values={**state.values, "api_key": "sk-new-2",
                                               "note": "call with Bearer abc.def123456"})
    errored = [dataclasses.replace(n, error="401 for Bearer abc.def123456") if n.checkpoint_id == head else n
               for n in nodes]

    class Reader:
        def find_checkpoint(self, thread, prefix):
            return "", prefix

        def state_with_parent(self, thread, cid, ns, parent=None):
            return after, before

        def history(self, thread, include_subgraphs=True):
            return errored

    monkeypatch.setattr(cli_threads, "open_reader", lambda config: contextlib.nullcontext(Reader()))
    assert cli_threads.cmd_diff(None, argparse.Namespace(thread=FORKED, checkpoint_a="a", checkpoint_b="b")) == 0
    assert cli_threads.cmd_history(None, argparse.Namespace(thread=FORKED)) == 0
    out = capsys.readouterr().out
    assert "sk-old" not in out and "sk-new" not in out and "abc.def123456" not in out
    assert out.count("Bearer ***") == 2 and "~ api_key" not in out  # (a masked key's change shows no change)


# --- the filter's metadata words and paging --------------------------------------------------------------------------

def test_filter_words_split_into_metadata_and_thread_id_text():
    from lgconsole.console.model.thread_filter import parse_filter

    wanted = parse_filter("user_id=ana 01a2 step:=3 urgent:=true note=a=b")
    assert wanted.text == "01a2"
    assert wanted.metadata == {"user_id": "ana", "step": 3, "urgent": True, "note": "a=b"}
    assert parse_filter("").metadata_filter is None and parse_filter("  01a2 ").text == "01a2"


def test_a_typed_value_that_is_not_json_is_refused_in_one_line():
    import pytest

    from lgconsole.console.model.thread_filter import FilterError, parse_filter

    with pytest.raises(FilterError, match="must be JSON"):
        parse_filter("step:=three")


def test_pages_move_by_what_was_shown_and_any_filter_change_starts_over():
    from lgconsole.console.model.thread_browser import ListQuery

    query = ListQuery()
    assert not query.next_page(shown=150, page_size=200, total=None)  # a short page is the last
    assert query.next_page(shown=200, page_size=200, total=None) and query.offset == 200
    assert not query.next_page(shown=200, page_size=200, total=400)  # 201-400 of 400: the last
    assert query.previous_page(200) and query.offset == 0 and not query.previous_page(200)
    query.next_page(200, 200, 1000)
    query.set_text("graph_id=demo")
    assert query.offset == 0
    for change in (lambda: query.toggle_status("errored"), query.next_sort, query.reverse):
        query.next_page(200, 200, 1000)
        change()
        assert query.offset == 0
