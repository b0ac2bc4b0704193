"""The checkpoint tree built from a flat history: branches, subgraph namespaces, paths, heads, text rendering."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from lgconsole.console.model.checkpoint_tree import CheckpointTree, namespace_node, parent_namespace, render_tree
from lgconsole.stack.checkpoints.records import CheckpointNode


@dataclass
class Ckpt:
    checkpoint_id: str
    parent_checkpoint_id: str | None = None
    checkpoint_ns: str = ""
    parents: dict = field(default_factory=dict)
    step: int | None = None
    source: str | None = None
    writers: list = field(default_factory=list)


def chain(*ids: str, ns: str = "", parents: dict | None = None, first_parent: str | None = None) -> list[Ckpt]:
    out, parent = [], first_parent
    for cid in ids:
        out.append(Ckpt(cid, parent, ns, dict(parents or {})))
        parent = cid
    return out


def ids(records) -> list[str]:
    return [r.checkpoint_id for r in records]


def test_a_straight_history_is_one_branch():
    tree = CheckpointTree(reversed(chain("a1", "a2", "a3")))  # input order does not matter
    assert ids(r.checkpoint for r in tree.roots) == ["a1"]
    assert ids(tree.heads()) == ["a3"] and tree.forks() == []
    assert ids(tree.path("a3")) == ["a1", "a2", "a3"]
    assert tree.parent("a2").checkpoint_id == "a1" and tree.parent("a1") is None
    assert len(tree) == 3 and "a2" in tree and "zz" not in tree


def test_forks_are_branches_with_children_ordered_by_id():
    records = chain("a1", "a2", "a3", "a4") + chain("b1", "b2", first_parent="a2") + [Ckpt("c1", "a2")]
    tree = CheckpointTree(records)
    assert ids(tree.children("a2")) == ["a3", "b1", "c1"]
    assert ids(tree.forks()) == ["a2"]
    assert ids(tree.heads()) == ["a4", "b2", "c1"]
    assert ids(tree.path("b2")) == ["a1", "a2", "b1", "b2"]
    assert ids(tree.branch_of("a2")) == ["a1", "a2", "c1"]  # on by the newest child
    assert tree.node("a2").is_fork and tree.node("b2").is_head


def test_subgraph_namespaces_hang_under_the_checkpoint_they_started_from():
    root = chain("r1", "r2", "r3", "r4")
    sub = chain("s1", "s2", "s3", ns="review:t1", parents={"": "r3"})
    nested = chain("n1", "n2", ns="review:t1|inner:t2", parents={"": "r3", "review:t1": "s2"})
    tree = CheckpointTree(root + sub + nested)
    assert ids(r.checkpoint for r in tree.roots) == ["r1"]
    assert ids(s.checkpoint for s in tree.node("r3").subgraphs) == ["s1"]
    assert ids(s.checkpoint for s in tree.node("s2").subgraphs) == ["n1"]
    assert tree.parent("s1").checkpoint_id == "r3"
    assert ids(tree.path("n2")) == ["r1", "r2", "r3", "s1", "s2", "n1", "n2"]
    assert ids(tree.heads()) == ["r4"]  # the root graph's heads by default
    assert ids(tree.heads(ns="review:t1")) == ["s3"]
    assert ids(tree.heads(ns=None)) == ["n2", "r4", "s3"]  # ordered by id (time, for real uuid6 ids)
    assert tree.namespaces() == ["", "review:t1", "review:t1|inner:t2"]
    assert tree.node("s1").starts_namespace and not tree.node("s2").starts_namespace


def test_a_subgraph_without_parents_metadata_attaches_to_the_newest_older_checkpoint():
    tree = CheckpointTree(chain("r1", "r3", "r5") + chain("r4a", "r4b", ns="review:t1"))
    assert tree.parent("r4a").checkpoint_id == "r3"


def test_missing_parents_and_cycles_do_not_break_the_tree():
    pruned = CheckpointTree([Ckpt("a5", "a4"), Ckpt("a6", "a5")])  # a4 was pruned
    assert ids(r.checkpoint for r in pruned.roots) == ["a5"]
    looped = CheckpointTree([Ckpt("a1", "a2"), Ckpt("a2", "a1"), Ckpt("a3", "a3")])
    assert ids(looped.path("a1"))  # terminates
    assert "a3" in looped
    orphan_sub = CheckpointTree(chain("s1", ns="review:t9", parents={"": "gone"}))
    assert ids(r.checkpoint for r in orphan_sub.roots) == ["s1"]
    with pytest.raises(KeyError):
        pruned.node("nope")


def test_namespace_helpers():
    assert parent_namespace("review:t1") == ""
    assert parent_namespace("review:t1|inner:t2") == "review:t1"
    assert namespace_node("review:t1|inner:t2") == "inner"


def test_render_keeps_straight_runs_in_one_column_and_draws_forks_and_subgraphs():
    records = (chain("a1", "a2", "a3", "a4") + chain("b1", "b2", first_parent="a2")
               + chain("s1", "s2", ns="review:t1", parents={"": "a3"}))
    lines = render_tree(CheckpointTree(records), label=lambda n: n.checkpoint_id)
    assert lines == [
        "● a1",
        "● a2",
        "├─● a3",
        "│ ┊ ● s1",
        "│ ┊ ● s2",
        "│ ● a4",
        "└─● b1",
        "  ● b2",
    ]


def test_default_label_names_step_source_writers_namespace_error_and_head():
    history = [
        CheckpointNode("c1", None, "", -1, "input", ["__input__"], None),
        CheckpointNode("c2", "c1", "", 0, "loop", ["__start__"], None),
        CheckpointNode("c3", "c2", "", 1, "loop", ["supervisor"], None, error="RuntimeError('boom')",
                       error_node="coder"),
        CheckpointNode("s1", None, "review:t1", -1, "input", ["__input__"], None, parents={"": "c2"}),
        CheckpointNode("c4", "c2", "", 1, "update", [], None, interrupted=True, interrupt_node="approval"),
    ]
    lines = CheckpointTree(history).lines()
    assert lines == [
        "● c1  step -1  input",
        "● c2  step 0  loop  __start__",
        "┊ ● s1  step -1  input  [review:t1]",
        "├─● c3  step 1  loop  supervisor  ✗ coder: RuntimeError('boom')  (head)",
        "└─● c4  step 1  update  ⏸ interrupt at approval  (head)",
    ]


def test_to_json_lists_links():
    tree = CheckpointTree(chain("a1", "a2") + chain("s1", ns="x:1", parents={"": "a1"}))
    data = tree.to_json()
    assert data["roots"] == ["a1"] and data["heads"] == ["a2"]
    nodes = {n["checkpoint_id"]: n for n in data["nodes"]}
    assert nodes["a1"]["children"] == ["a2"] and nodes["a1"]["subgraphs"] == ["s1"]
    assert nodes["s1"]["parent"] == "a1"
