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
