"""Breakpoints as the Graph screen, the New-run form and the CLI pick them (console/model/breakpoints.py), and which
assistant a name, id or graph id means (console/sources/assistant_admin.py's `pick`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console.model.breakpoints import BreakpointBook, BreakpointError, Breakpoints, book_of, check_nodes, \
    stop_text
from lgconsole.console.sources.assistant_admin import AssistantRefused, pick
from lgconsole.stack.server.assistants import Assistant

NODE = st.from_regex(r"[a-z_][a-z0-9_:]{0,12}", fullmatch=True).filter(lambda n: n not in ("before", "after"))


@given(st.lists(NODE, unique=True, max_size=4), st.lists(NODE, unique=True, max_size=4))
def test_the_forms_text_reads_back_as_the_same_breakpoints(before, after):
    picked = Breakpoints(tuple(before), tuple(after))
    assert Breakpoints.parse(picked.text()) == picked


def test_parse_takes_commas_spaces_and_repeats_once():
    assert Breakpoints.parse(" before approval,join  review; after: supervisor ; before join") == \
        Breakpoints(("approval", "join", "review"), ("supervisor",))
    assert Breakpoints.parse("") == Breakpoints() and not Breakpoints.parse("  ;  ")


@pytest.mark.parametrize("text, message", [
    ("approval", "'approval' should start with 'before' or 'after'"),
    ("before", "'before' names no node"),
    ("during x", "should start with 'before' or 'after'"),
])
def test_unreadable_breakpoints_are_one_line(text, message):
    with pytest.raises(BreakpointError, match=message) as caught:
        Breakpoints.parse(text)
    assert "\n" not in str(caught.value)


def test_toggle_marks_and_run_kwargs():
    picked = Breakpoints().toggle("approval", "before").toggle("join", "after").toggle("approval", "after")
    assert picked.marks() == {"approval": "both", "join": "after"}
    assert picked.run_kwargs() == {"interrupt_before": ["approval"], "interrupt_after": ["join", "approval"]}
    cleared = picked.toggle("approval", "before").toggle("approval", "after").toggle("join", "after")
    assert not cleared and cleared.run_kwargs() == {}


def test_unknown_nodes_are_named_with_the_graphs_nodes():
    nodes = ["gather", "draft", "publish"]
    assert check_nodes(Breakpoints(("publish",), ("gather",)), nodes, "report") is None
    assert check_nodes(Breakpoints(("nope",), ("draft:write",)), nodes, "report") == (
        "report: no node 'nope', 'draft:write' to break at (breakpoints stop at nodes of the root graph: gather, "
        "draft, publish)")


@pytest.mark.parametrize("next_nodes, picked, last, said", [
    (["publish"], Breakpoints(("publish",)), "draft", "before publish"),
    (["draft"], Breakpoints((), ("gather",)), "gather", "after gather (next: draft)"),
    (["draft"], Breakpoints(), None, "at draft"),
    ([], Breakpoints(), None, "at a breakpoint"),
])
def test_where_a_run_stopped(next_nodes, picked, last, said):
    assert stop_text(next_nodes, picked, last) == said


def test_the_book_keeps_breakpoints_per_assistant_on_its_holder():
    class Holder:
        pass

    holder = Holder()
    book = book_of(holder)
    assert book_of(holder) is book and isinstance(book, BreakpointBook)
    book.put("a-1", Breakpoints(("x",)))
    assert book.get(None, "graph", "a-1") == Breakpoints(("x",)) and book.get("b") == Breakpoints()
    book.put("a-1", Breakpoints())
    assert book.get("a-1") == Breakpoints()


def _a(n: int, graph: str, name: str, system: bool = False) -> Assistant:
    return Assistant(f"id-{n}", graph, name, metadata={"created_by": "system"} if system else {})


def test_an_assistant_by_id_name_or_graph():
    own, tight, other = _a(1, "report", "report", system=True), _a(2, "report", "tight"), _a(3, "demo", "demo", True)
    listed = [tight, own, other]
    assert pick(listed, "id-2") is tight and pick(listed, "tight") is tight
    assert pick(listed, "report") is own, "a graph id means the graph's own assistant, not one made from it"
    assert pick(listed, "nothing") is None
    with pytest.raises(AssistantRefused, match="2 assistants are named 'same'"):
        pick([_a(4, "demo", "same"), _a(5, "report", "same")], "same")


def test_secrets_left_masked_in_the_editor_keep_their_values():
    from lgconsole.console.sources.assistant_admin import restore_masked

    original = {"configurable": {"api_key": "sk-real", "model": "m1"}, "recursion_limit": 5}
    edited = {"configurable": {"api_key": "***", "model": "m2"}, "tags": ["x"]}
    assert restore_masked(edited, original) == {"configurable": {"api_key": "sk-real", "model": "m2"}, "tags": ["x"]}
    assert restore_masked({"token": "***"}, {}) == {"token": "***"}, "nothing to restore: sent as typed"
