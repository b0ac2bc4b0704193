"""The Graph screen's layout (console/model/graph_layout.py) timed next to LangGraph's own terminal drawing on the same
topologies: `Graph.draw_ascii()` of langchain_core, which lays graphs out with grandalf's Sugiyama layout.

Run: .venv/bin/python tests/bench/bench_layout.py [--repeat 20]. Prints a table; asserts nothing.

Topologies: the demo graph as the server reports it (xray, 9 nodes with a subgraph), a recorded 20-node graph with
loops and subgraphs, and random agent-shaped graphs of 60 and 120 nodes (tests/graph_shapes.py, fixed seeds). For
each: the full drawing (layout, routing, painting the character grid) and the layout alone, median and p90 over the
repeats after a warm-up, and the drawing's size in cells (columns x rows: what has to fit a terminal). The peer knows
no subgraph boxes and routes no loop lanes, so it does less; a drawing it cannot finish is reported with its error.
`make bench` installs grandalf (pyproject's `bench` extra); without it the peer rows say so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/, for graph_shapes
sys.path.insert(0, str(HERE))  # tests/bench/, for timing
from graph_shapes import random_layered_graph  # noqa: E402
from timing import p90, timed  # noqa: E402

from lgconsole.console.model.graph_layout import draw_graph, layout_graph  # noqa: E402

FIXTURES = HERE.parent / "fixtures" / "graph"


def topologies() -> list[tuple[str, dict]]:
    load = lambda name: json.loads((FIXTURES / name).read_text())  # noqa: E731
    return [("the demo graph (xray: its review subgraph's nodes)", load("demo_xray.json")),
            ("a recorded graph with loops and subgraphs", load("synthetic20.json")),
            ("random agent-shaped (seed 7)", random_layered_graph(60, seed=7)),
            ("random agent-shaped (seed 11)", random_layered_graph(120, seed=11))]


def peer_input(topology: dict):
    """What langchain_core's Graph.draw_ascii() hands to its drawer: node id -> label, (source, target, data, cond)."""
    from langchain_core.runnables.graph import Edge

    vertices = {n["id"]: n["id"] for n in topology["nodes"]}
    edges = [Edge(e["source"], e["target"], None, bool(e.get("conditional"))) for e in topology["edges"]]
    return vertices, edges


def peer_rows(topology: dict, repeat: int) -> list[tuple[str, list[float] | None, str]]:
    try:
        from langchain_core.runnables.graph_ascii import _build_sugiyama_layout, draw_ascii
        import grandalf  # noqa: F401
    except ImportError as exc:
        return [("peer  langchain_core draw_ascii (grandalf)", None, f"not installed: {exc}")]
    vertices, edges = peer_input(topology)
    try:
        samples, text = timed(lambda: draw_ascii(vertices, edges), repeat)
    except Exception as exc:  # the peer's own limits (e.g. its canvas) are a result, not a crash of the benchmark
        why = str(exc).split(" view:")[0]  # grandalf appends object reprs
        return [("peer  draw_ascii: full drawing", None, f"failed: {type(exc).__name__}: {why}")]
    lines = text.splitlines()
    rows = [("peer  draw_ascii: full drawing", samples, f"{max(map(len, lines))}x{len(lines)} cells")]
    samples, _ = timed(lambda: _build_sugiyama_layout(vertices, edges), repeat)
    rows.append(("peer  grandalf Sugiyama layout alone", samples, ""))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per row after two warm-up runs")
    args = parser.parse_args()
    print(f"Graph layout, ms (median, p90 over {args.repeat} runs)\n")
    for name, topology in topologies():
        print(f"{name}: {len(topology['nodes'])} nodes, {len(topology['edges'])} edges")
        samples, drawing = timed(lambda: draw_graph(topology), args.repeat)
        rows = [("ours  draw_graph: full drawing", samples, f"{drawing.width}x{drawing.height} cells")]
        samples, _ = timed(lambda: layout_graph(topology), args.repeat)
        rows.append(("ours  layout_graph: layout and routing", samples, ""))
        rows += peer_rows(topology, args.repeat)
        for label, samples, note in rows:
            if samples is None:
                print(f"  {label:<42} {'-':>9} {'-':>9}   {note}")
            else:
                print(f"  {label:<42} {statistics.median(samples):9.2f} {p90(samples):9.2f}   {note}")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
