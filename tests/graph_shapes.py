"""Graph topologies in the LangGraph server's get_graph JSON shape, for the layout tests and tests/bench/bench_layout.py:
one from names and edges, and a repeatable random graph shaped like a real agent graph."""

from __future__ import annotations

import random

from lgconsole.console.model.graph_layout import END, START


def graph(nodes, edges) -> dict:
    """get_graph's JSON shape from names and (source, target, conditional) triples."""
    return {"nodes": [{"id": n, "type": "runnable", "data": {"name": n}} for n in nodes],
            "edges": [{"source": s, "target": t, **({"conditional": True} if c else {})} for s, t, c in edges]}


def random_layered_graph(n: int, seed: int) -> dict:
    """A repeatable graph shaped like a real agent graph: mostly forward edges, some fan-out, a few loops."""
    rng = random.Random(seed)
    names = [f"node_{i:02d}" for i in range(n - 2)]
    nodes = [START, *names, END]
    edges = [(START, names[0], False)]
    for i, name in enumerate(names[1:], start=1):
        for parent in rng.sample(names[:i], k=min(i, rng.choice([1, 1, 1, 2]))):
            edges.append((parent, name, rng.random() < 0.3))
    for name in names[-3:]:
        edges.append((name, END, False))
    for _ in range(n // 10):
        a, b = sorted(rng.sample(range(len(names)), 2))
        edges.append((names[b], names[a], True))
    return graph(nodes, list(dict.fromkeys(edges)))


def fan_out_subgraph_topology(xray: bool = True) -> dict:
    """LangGraph's own get_graph JSON of a graph written as users write them: a subgraph whose START fans out to two
    nodes that both go to its END, then a node `c`. Under xray LangGraph keeps `inner:__start__` and `inner:__end__`
    (it trims a subgraph's START/END only when one edge leaves/enters them): 3 real nodes, 4 more markers."""
    import operator
    from typing import Annotated, TypedDict

    from langgraph.graph import StateGraph

    State = TypedDict("State", {"seen": Annotated[list, operator.add]})  # not a class: no string annotations

    inner = StateGraph(State)
    inner.add_node("a", lambda s: {"seen": ["a"]})
    inner.add_node("b", lambda s: {"seen": ["b"]})
    for node in ("a", "b"):
        inner.add_edge(START, node)
        inner.add_edge(node, END)
    outer = StateGraph(State)
    outer.add_node("inner", inner.compile())
    outer.add_node("c", lambda s: {"seen": ["c"]})
    outer.add_edge(START, "inner")
    outer.add_edge("inner", "c")
    outer.add_edge("c", END)
    return outer.compile().get_graph(xray=xray).to_json()
