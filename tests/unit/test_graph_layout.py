"""The layered graph drawing: invariants on hand-made graphs of 2 to 60 nodes and on random graphs (hypothesis).

Every drawing must show each node once, START on the first layer and END on the last, boxes that never overlap,
and every edge as a connected line from its source box to an arrow at its target box.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lgconsole.console.model.graph_layout import (ARROW_DOWN, ARROW_UP, END, LINE_CHARS, LOOP_MARK, START, GraphDrawing,
                                            Topology, draw_graph, layout_graph, render)
from graph_shapes import graph, random_layered_graph
from lgconsole.widgets.graph_view import NodeStats, format_badge

FIXTURES = Path(__file__).parents[1] / "fixtures" / "graph"


def chain(n: int) -> dict:
    names = [f"step_{i}" for i in range(n - 2)]
    path = [START, *names, END]
    return graph(path, [(a, b, False) for a, b in zip(path, path[1:])])


def check(drawing: GraphDrawing, topology: dict) -> None:
    """The invariants every drawing keeps."""
    topo = Topology.from_json(topology)
    layout = drawing.layout
    rows = drawing.rows
    assert len(rows) == layout.height and all(len(r) == layout.width for r in rows)

    # every node exactly once, its label written in its box
    assert sorted(layout.boxes) == sorted(topo.nodes)
    flat = [n for layer in layout.layers for n in layer]
    assert sorted(flat) == sorted(topo.nodes) and len(flat) == len(set(flat))
    for node, box in layout.boxes.items():
        row = rows[box.y + box.height // 2][box.x:box.right]
        assert layout.labels[node] in row, (node, row)

    # START on the first layer, END alone on the last; START's box on top, END's at the bottom
    if START in layout.boxes:
        assert START in layout.layers[0]
        assert layout.boxes[START].y == min(b.y for b in layout.boxes.values())
    if END in layout.boxes:
        assert layout.layers[-1] == (END,)
        assert layout.boxes[END].bottom == max(b.bottom for b in layout.boxes.values())

    # boxes never overlap; a subgraph box holds exactly its members' boxes
    boxes = list(layout.boxes.items())
    for i, (a, ra) in enumerate(boxes):
        for b, rb in boxes[i + 1:]:
            assert not ra.overlaps(rb), (a, ra, b, rb)
    for name, group in layout.groups.items():
        assert layout.grouped
        for node, box in layout.boxes.items():
            member = node.startswith(name + ":")
            inside = group.x < box.x and box.right < group.right and group.y < box.y and box.bottom < group.bottom
            assert inside if member else not group.overlaps(box), (name, group, node, box)
    for name, group in layout.groups.items():
        assert f" {name.rsplit(':', 1)[-1]} " in rows[group.y][group.x:group.right], (name, rows[group.y])
    names = list(layout.groups)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ra, rb = layout.groups[a], layout.groups[b]
            nested = b.startswith(a + ":") or a.startswith(b + ":")
            assert nested or not ra.overlaps(rb), (a, ra, b, rb)

    # every edge drawn: connected cells from under its source to an arrow at its target, never through a box
    drawn = {(r.source, r.target) for r in layout.edges}
    assert drawn == {(e.source, e.target) for e in topo.edges}
    for route in layout.edges:
        source, target = layout.boxes[route.source], layout.boxes[route.target]
        if route.self_loop:
            assert rows[source.y + source.height // 2][source.right] == LOOP_MARK
            continue
        cells = route.cells
        assert cells, route
        for (x0, y0), (x1, y1) in zip(cells, cells[1:]):
            assert abs(x0 - x1) + abs(y0 - y1) == 1, (route.source, route.target, (x0, y0), (x1, y1))
        for x, y in cells:
            assert rows[y][x] in LINE_CHARS, (route.source, route.target, x, y, rows[y][x])
            assert not any(box.contains(x, y) for box in layout.boxes.values()), (route, x, y)
        (x0, y0), (x1, y1) = cells[0], cells[-1]
        assert y0 == source.bottom and source.x <= x0 < source.right, (route, cells[0], source)
        if source.height > 1:
            assert rows[source.bottom - 1][x0] == "┬"
        assert target.x <= x1 < target.right
        if route.back:
            assert y1 == target.bottom and rows[y1][x1] == ARROW_UP, (route, cells[-1], target)
        else:
            assert y1 == target.y - 1 and rows[y1][x1] == ARROW_DOWN, (route, cells[-1], target)


def assert_draws(topology: dict, **kwargs) -> GraphDrawing:
    drawing = draw_graph(topology, **kwargs)
    check(drawing, topology)
    assert draw_graph(topology, **kwargs).rows == drawing.rows  # deterministic
    return drawing


# --- hand-made graphs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3, 5, 10, 30, 60])
def test_chains_are_one_straight_column(n):
    drawing = assert_draws(chain(n))
    assert len(drawing.layout.layers) == n
    centres = {box.x + (box.width - 1) // 2 for box in drawing.boxes.values()}
    assert len(centres) == 1, "a chain is drawn as one straight column"
    assert drawing.width <= 24


def test_two_nodes_only():
    drawing = assert_draws(graph([START, END], [(START, END, False)]))
    assert drawing.text() == "( START )\n    ▼\n ( END )"


def test_diamond_puts_the_branches_side_by_side():
    topo = graph([START, "split", "left", "right", "join", END],
                 [(START, "split", False), ("split", "left", False), ("split", "right", False),
                  ("left", "join", False), ("right", "join", False), ("join", END, False)])
    drawing = assert_draws(topo)
    left, right = drawing.boxes["left"], drawing.boxes["right"]
    assert left.y == right.y and left.right < right.x
    assert ("left", "right") in {tuple(layer) for layer in drawing.layout.layers}


def test_send_fan_out_is_dashed():
    workers = [f"worker_{i}" for i in range(5)]
    topo = graph([START, "map", *workers, "reduce", END],
                 [(START, "map", False)] + [("map", w, True) for w in workers]
                 + [(w, "reduce", False) for w in workers] + [("reduce", END, False)])
    drawing = assert_draws(topo)
    assert set(drawing.layout.layers[2]) == set(workers)
    below_map = drawing.rows[drawing.boxes["map"].bottom]
    assert "╌" in below_map or "┆" in below_map, "conditional edges are dashed"
    above_reduce = drawing.rows[drawing.boxes["reduce"].y - 2]
    assert "╌" not in above_reduce, "plain edges are solid"


def test_agent_loop_goes_round_the_side():
    topo = graph([START, "agent", "tools", END],
                 [(START, "agent", False), ("agent", "tools", True), ("agent", END, True), ("tools", "agent", False)])
    drawing = assert_draws(topo)
    back = [r for r in drawing.layout.edges if r.back]
    assert [(r.source, r.target) for r in back] == [("tools", "agent")]
    agent, tools = drawing.boxes["agent"], drawing.boxes["tools"]
    assert agent.bottom <= tools.y, "the loop's target stays above its source"
    lane = max(x for x, _ in back[0].cells)
    assert lane >= tools.right, "the loop climbs to the right of the boxes it passes"
    assert LOOP_MARK in drawing.text()


def test_supervisor_loops_share_one_lane():
    agents = ["research", "math", "writer"]
    topo = graph([START, "supervisor", *agents, END],
                 [(START, "supervisor", False)] + [("supervisor", a, True) for a in agents]
                 + [("supervisor", END, True)] + [(a, "supervisor", False) for a in agents])
    drawing = assert_draws(topo)
    lanes = {max(x for x, _ in r.cells) for r in drawing.layout.edges if r.back}
    assert len(lanes) == 1
    assert drawing.text().count(ARROW_UP) == 1, "loops into one node share one arrow"


def test_cycles_without_start_or_end():
    topo = graph(["a", "b", "c"], [("a", "b", False), ("b", "c", False), ("c", "a", True)])
    drawing = assert_draws(topo)
    assert sum(r.back for r in drawing.layout.edges) == 1


def test_self_loop_is_marked_beside_its_box():
    topo = graph([START, "poll", END], [(START, "poll", False), ("poll", "poll", True), ("poll", END, True)])
    drawing = assert_draws(topo)
    poll = drawing.boxes["poll"]
    assert drawing.rows[poll.y + 1][poll.right] == LOOP_MARK


def test_edges_into_start_and_out_of_end_still_keep_them_first_and_last():
    topo = graph([START, "a", END], [(START, "a", False), ("a", END, False), ("a", START, True), (END, "a", True)])
    assert_draws(topo)


def test_subgraph_nodes_are_boxed_under_their_parent_name():
    topo = json.loads((FIXTURES / "demo_xray.json").read_text())
    drawing = assert_draws(topo)
    box = drawing.groups["review"]
    assert "review" in drawing.rows[box.y]
    assert drawing.layout.labels["review:critique"] == "critique"
    for node in ("review:critique", "review:score"):
        inner = drawing.boxes[node]
        assert box.x < inner.x and inner.right < box.right


def test_nested_and_sibling_subgraphs():
    topo = graph([START, "plan", "exec:step", "exec:check", "exec:inner:x", "exec:inner:y", "a:one", "a:two",
                  "b:one", "report", END],
                 [(START, "plan", False), ("plan", "exec:step", False), ("exec:step", "exec:inner:x", False),
                  ("exec:inner:x", "exec:inner:y", False), ("exec:inner:y", "exec:check", False),
                  ("exec:check", "exec:step", True), ("exec:check", "report", True), ("plan", "a:one", True),
                  ("a:one", "a:two", False), ("a:two", "report", False), ("plan", "b:one", True),
                  ("b:one", "report", False), ("report", END, False)])
    drawing = assert_draws(topo)
    assert set(drawing.groups) == {"exec", "exec:inner", "a", "b"}


# Found by hypothesis: sibling subgraphs "other" (layers 1-2) and "sub" (layers 2-3) were only kept apart by their
# members on the shared layer, so sub:n18 one layer lower could pull the "sub" box left into the "other" box.
SIBLING_BOXES_ACROSS_LAYERS = graph(
    [START, *[f"n{i}" for i in range(7)], "other:n7", "n8", "other:n9", *[f"n{i}" for i in range(10, 18)], "sub:n18",
     "sub:n19", END],
    [(START, "n0", False), ("n0", "n8", False), ("n0", "other:n9", False), ("n8", "sub:n18", False),
     ("n0", "sub:n19", False)])


def test_sibling_subgraph_boxes_never_overlap_across_layers():
    drawing = assert_draws(SIBLING_BOXES_ACROSS_LAYERS)
    other, sub = drawing.groups["other"], drawing.groups["sub"]
    assert other.right <= sub.x or sub.right <= other.x


def test_disconnected_nodes_and_islands():
    topo = graph([START, "a", "lonely", "island_1", "island_2", END],
                 [(START, "a", False), ("a", END, False), ("island_1", "island_2", False)])
    drawing = assert_draws(topo)
    assert drawing.boxes["island_1"].bottom <= drawing.boxes["island_2"].y


def test_long_names_are_cut_with_an_ellipsis():
    long = "summarise_every_document_in_the_corpus_twice"
    drawing = assert_draws(graph([START, long, END], [(START, long, False), (long, END, False)]))
    label = drawing.layout.labels[long]
    assert label.endswith("…") and len(label) == 24
    assert drawing.boxes[long].width == 28


def test_messy_input_is_tolerated():
    topo = {"nodes": [{"id": START}, {"id": "a"}, {"id": END}, {"id": "a"}],
            "edges": [{"source": START, "target": "a"}, {"source": "a", "target": "ghost", "conditional": True},
                      {"source": "a", "target": END}, {"source": "a", "target": END, "conditional": True},
                      {"source": None, "target": "a"}]}
    drawing = draw_graph(topo)
    assert set(drawing.boxes) == {START, "a", "ghost", END}
    assert [r.conditional for r in drawing.layout.edges if r.target == END] == [False]


def test_empty_graph():
    drawing = draw_graph({"nodes": [], "edges": []})
    assert drawing.rows == () and drawing.text() == ""


def test_badges_widen_boxes_without_moving_names():
    topo = json.loads((FIXTURES / "demo_xray.json").read_text())
    plain, badged = layout_graph(topo), layout_graph(topo, badge_width=8)
    assert badged.boxes["coder"].width == plain.boxes["coder"].width + 9
    check(render(badged), topo)


def test_synthetic_20_node_graph_with_loops_and_subgraphs():
    topo = json.loads((FIXTURES / "synthetic20.json").read_text())
    drawing = assert_draws(topo)
    assert len(drawing.boxes) == 21
    assert {"plan", "tools"} <= set(drawing.groups)
    assert sum(r.back for r in drawing.layout.edges) >= 2


def test_demo_topology_reads_top_to_bottom():
    drawing = assert_draws(json.loads((FIXTURES / "demo_xray.json").read_text()))
    order = [n for layer in drawing.layout.layers for n in layer]
    assert order.index("supervisor") < order.index("coder") < order.index("join") < order.index("review:critique")
    assert drawing.width <= 80, "the demo graph fits an 80-column terminal"


def test_a_60_node_agent_shaped_graph_draws_correctly():
    """The size tests/bench/bench_layout.py times: every invariant holds."""
    topo = random_layered_graph(60, seed=7)
    check(draw_graph(topo), topo)


# --- random graphs ---------------------------------------------------------------------------------------------------

@st.composite
def random_graphs(draw) -> dict:
    """Random DAGs up to 60 nodes (names from a few subgraphs) plus random back edges and self-loops."""
    count = draw(st.integers(min_value=0, max_value=58))
    groups = draw(st.lists(st.sampled_from(["", "", "", "sub:", "sub:deep:", "other:"]), min_size=count,
                           max_size=count))
    names = [f"{g}n{i}" for i, g in enumerate(groups)]
    nodes = [START, *names, END]
    edges = []
    for i, name in enumerate(names):
        parents = draw(st.lists(st.integers(min_value=-1, max_value=i - 1), min_size=0 if i else 1, max_size=3,
                                unique=True)) if i else [-1]
        for p in parents:
            edges.append((START if p < 0 else names[p], name, draw(st.booleans())))
    sinks = draw(st.lists(st.sampled_from(names), max_size=4, unique=True)) if names else []
    edges += [(s, END, draw(st.booleans())) for s in sinks] or [(START, END, False)] * (not names)
    if len(names) >= 2:
        for _ in range(draw(st.integers(min_value=0, max_value=6))):
            a, b = sorted(draw(st.lists(st.integers(0, len(names) - 1), min_size=2, max_size=2, unique=True)))
            edges.append((names[b], names[a], draw(st.booleans())))
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            n = draw(st.sampled_from(names))
            edges.append((n, n, True))
    return graph(nodes, edges)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_graphs(), st.sampled_from([0, 8]))
@example(SIBLING_BOXES_ACROSS_LAYERS, 0)
def test_random_graphs_keep_every_invariant(topology, badge_width):
    assert_draws(topology, badge_width=badge_width)


# --- node badges (the Graph screen's run counts and durations in the boxes) -------------------------------------------

def test_badges_fit_their_width():
    assert format_badge(None, 8) == ""
    assert format_badge(NodeStats(), 8) == ""
    assert format_badge(NodeStats("done", 3, 1.23), 8) == "✓3 1.2s"
    assert format_badge(NodeStats("running", 12, 0.02), 8) == "●12 20ms"
    assert format_badge(NodeStats("error", 123, 4000.0), 8) == "✖123 67m"
    assert format_badge(NodeStats("error", 12345, 4000.0), 5) == "✖"
