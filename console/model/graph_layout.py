"""A LangGraph topology (`assistants.get_graph`) drawn as layered boxes and arrows on a character grid.

Sugiyama style: reverse back edges (graphs loop), layer (START on top, END at the bottom), order each layer by
barycenter sweeps with subgraph members kept together, place boxes on columns, route edges through the gaps between
layers on horizontal tracks (loops climb a lane on the right), then paint. Pure and deterministic: the Graph screen,
the CLI and the tests share it.
"""

from __future__ import annotations

import heapq
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple

START = "__start__"
END = "__end__"
GAP = 2  # blank columns between neighbouring boxes
MAX_LABEL = 24  # longer node names are cut with an ellipsis
MAX_SWEEPS = 24  # barycenter sweeps; the best ordering seen is kept
PLACE_ROUNDS = 12  # sweeps that pull boxes toward their neighbours
SNAP = 2  # a box this close to lining up with a neighbour lines up exactly

# Directions a line leaves a cell by; a cell's set of directions picks its box-drawing character.
UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
_LINES = {
    UP: "│", DOWN: "│", UP | DOWN: "│", LEFT: "─", RIGHT: "─", LEFT | RIGHT: "─",
    DOWN | RIGHT: "╭", DOWN | LEFT: "╮", UP | RIGHT: "╰", UP | LEFT: "╯",
    UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤", LEFT | RIGHT | DOWN: "┬", LEFT | RIGHT | UP: "┴",
    UP | DOWN | LEFT | RIGHT: "┼",
}
_DASHED = {UP: "┆", DOWN: "┆", UP | DOWN: "┆", LEFT: "╌", RIGHT: "╌", LEFT | RIGHT: "╌"}
ARROW_DOWN, ARROW_UP, LOOP_MARK = "▼", "▲", "↺"
LINE_CHARS = frozenset("".join(_LINES.values()) + "".join(_DASHED.values()) + ARROW_DOWN + ARROW_UP)


class Rect(NamedTuple):
    """Cells x..x+width-1, y..y+height-1 of the drawing."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.right and self.y <= y < self.bottom

    def overlaps(self, other: Rect) -> bool:
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    conditional: bool = False


@dataclass(frozen=True)
class Topology:
    """Nodes and edges of one graph, as `assistants.get_graph` returns them (xray ids read `parent:child`)."""

    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]

    @classmethod
    def from_json(cls, data: Mapping) -> Topology:
        """Tolerant of what a server may send: nodes named only by edges are added, duplicate edges merged
        (conditional only if every copy is)."""
        nodes: dict[str, None] = {}
        for node in data.get("nodes") or ():
            node_id = node.get("id") if isinstance(node, Mapping) else node
            if node_id is not None:
                nodes.setdefault(str(node_id))
        edges: dict[tuple[str, str], Edge] = {}
        for edge in data.get("edges") or ():
            source, target = edge.get("source"), edge.get("target")
            if source is None or target is None:
                continue
            source, target = str(source), str(target)
            nodes.setdefault(source)
            nodes.setdefault(target)
            conditional = bool(edge.get("conditional"))
            if (source, target) in edges:
                conditional = conditional and edges[source, target].conditional
            edges[source, target] = Edge(source, target, conditional)
        return cls(tuple(nodes), tuple(edges.values()))

    @property
    def real_nodes(self) -> tuple[str, ...]:
        """The graph's own nodes, without the START/END markers (a subgraph's too, which xray keeps as
        `sub:__start__` when the subgraph fans out from its start or into its end): what "N nodes" counts."""
        return tuple(n for n in self.nodes if not is_marker(n))


def is_marker(node_id: str) -> bool:
    """START or END of the graph or of an xray subgraph (`review:__start__`)."""
    return node_id.rsplit(":", 1)[-1] in (START, END)


@dataclass(frozen=True)
class EdgeRoute:
    """Where one edge runs: the cells from the one next to its source box to its arrow next to the target box."""

    source: str
    target: str
    conditional: bool
    back: bool  # runs against the flow: the edge closes a loop to an earlier layer
    cells: tuple[tuple[int, int], ...]  # empty for a self-loop, which is a mark beside its box

    @property
    def self_loop(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True)
class GraphLayout:
    width: int
    height: int
    boxes: dict[str, Rect]  # node id -> its box (START and END are one-row pills)
    labels: dict[str, str]  # node id -> the name written in its box
    groups: dict[str, Rect]  # subgraph ("review", "outer:inner") -> the box around its nodes
    layers: tuple[tuple[str, ...], ...]  # node ids per layer, left to right
    edges: tuple[EdgeRoute, ...]
    badge_width: int  # columns kept free at the right end of each box's name row (for run stats)
    grouped: bool  # False when subgraphs could not be boxed and ids are written in full


@dataclass(frozen=True)
class GraphDrawing:
    rows: tuple[str, ...]
    layout: GraphLayout

    @property
    def boxes(self) -> dict[str, Rect]:
        return self.layout.boxes

    @property
    def groups(self) -> dict[str, Rect]:
        return self.layout.groups

    @property
    def width(self) -> int:
        return self.layout.width

    @property
    def height(self) -> int:
        return self.layout.height

    def text(self) -> str:
        return "\n".join(row.rstrip() for row in self.rows)


def draw_graph(topology: Topology | Mapping, *, badge_width: int = 0, max_label: int = MAX_LABEL) -> GraphDrawing:
    """Lay out and paint a topology (a `Topology` or `get_graph`'s JSON)."""
    return render(layout_graph(topology, badge_width=badge_width, max_label=max_label))


def layout_graph(topology: Topology | Mapping, *, badge_width: int = 0, max_label: int = MAX_LABEL) -> GraphLayout:
    topo = topology if isinstance(topology, Topology) else Topology.from_json(topology)
    try:
        return _Layout(topo, badge_width, max_label, grouped=True).run()
    except _Infeasible:  # subgraph boxes that cannot all be kept apart: draw the nodes ungrouped
        return _Layout(topo, badge_width, max_label, grouped=False).run()


def node_label(node_id: str, grouped: bool = True, max_label: int = MAX_LABEL) -> str:
    if node_id == START:
        return "START"
    if node_id == END:
        return "END"
    if is_marker(node_id):  # a subgraph's own START/END, kept by xray: `review:START`
        node_id = f"{node_id.rsplit(':', 1)[0]}:{'START' if node_id.endswith(START) else 'END'}"
    name = _clean(node_id.rsplit(":", 1)[-1] if grouped else node_id)
    return name if len(name) <= max_label else name[: max_label - 1] + "…"


def _clean(name: str) -> str:
    """One cell per character: control and double-width characters become a dot."""
    name = name[:MAX_LABEL * 4]
    return "".join(ch if ch.isprintable() and unicodedata.east_asian_width(ch) not in "WF" else "·"
                   for ch in name) or "·"


def group_of(node_id: str) -> tuple[str, ...]:
    """The subgraph path of an xray node id: `outer:inner:node` -> ("outer", "inner")."""
    if node_id in (START, END):
        return ()
    return tuple(node_id.split(":")[:-1])


# --- layout ----------------------------------------------------------------------------------------------------------

class _Infeasible(Exception):
    pass


FWD, IN, OUT = "fwd", "in", "out"  # port kinds: the flow; a loop arriving (from below); a loop leaving (U-turn)


@dataclass
class _Vertex:
    key: str  # node id, or a dummy's private key
    real: bool
    group: tuple[str, ...]
    width: int
    height: int
    index: int  # creation order, the last tie-break everywhere
    reserve: int = 0  # columns kept free to the right (the self-loop mark)
    layer: int = 0
    lane: tuple[int, int] | None = None  # for a loop's lane dummy: its sort key (inner loops nearer the boxes)
    x: int = 0
    y: int = 0


@dataclass
class _Hop:
    """A piece of one or more edges between adjacent layers (upper above lower)."""

    upper: int
    lower: int
    upper_kind: str
    lower_kind: str
    edges: list[int]


def _pill(label: str) -> str:
    return f"( {label} )"


class _Layout:
    """One layout run. Loops (back edges) leave their source at the bottom, turn on a track below it, climb a lane
    to the right of the boxes in between and arrive at the target's bottom with ▲; the lane is shared by every loop
    into the same target."""

    def __init__(self, topo: Topology, badge_width: int, max_label: int, grouped: bool):
        self.topo = topo
        self.badge_width = max(0, badge_width)
        self.max_label = max_label
        self.grouped = grouped
        self.edges = list(topo.edges)
        self.back = [False] * len(self.edges)
        self.vertices: list[_Vertex] = []
        self.vid: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.chains: dict[int, list[int]] = {}  # edge -> vertex ids from its source to its target
        self.hops: dict[tuple[int, int], _Hop] = {}
        self.uturns: list[tuple[int, int, int]] = []  # (source vertex, lane vertex, edge) in the gap below the source
        self.lanes: list[list[int]] = []  # lane dummies of each loop target, top to bottom
        # subgraph -> (first vertex on its top layer, extra columns left of it for the title)
        self.title_pad: dict[tuple[str, ...], tuple[int, int]] = {}
        self.layers: list[list[int]] = []

    def run(self) -> GraphLayout:
        self._break_cycles()
        self._make_vertices()
        self._assign_layers()
        self._add_chains()
        self._order()
        self._place_x()
        return self._route()

    # 1. loops and vertices -------------------------------------------------------------------------------------
    def _break_cycles(self) -> None:
        """Depth-first from START in input order; an edge to a node still on the stack closes a loop."""
        out: dict[str, list[int]] = {n: [] for n in self.topo.nodes}
        for i, e in enumerate(self.edges):
            if e.source == e.target:
                continue
            if e.target == START or e.source == END:
                self.back[i] = True
            else:
                out[e.source].append(i)
        roots = [START] if START in out else []
        roots += [n for n in self.topo.nodes if n not in (START, END)] + ([END] if END in out else [])
        state: dict[str, int] = {}
        for root in roots:
            if root in state:
                continue
            state[root] = 1
            stack = [(root, iter(out[root]))]
            while stack:
                node, todo = stack[-1]
                for i in todo:
                    target = self.edges[i].target
                    seen = state.get(target)
                    if seen == 1:
                        self.back[i] = True
                    elif seen is None:
                        state[target] = 1
                        stack.append((target, iter(out[target])))
                        break
                else:
                    state[node] = 2
                    stack.pop()

    def _make_vertices(self) -> None:
        for node in self.topo.nodes:
            label = node_label(node, self.grouped, self.max_label)
            self.labels[node] = label
            kinds = sum((any(e.source == node != e.target and not b for e, b in zip(self.edges, self.back)),
                         any(e.target == node != e.source and b for e, b in zip(self.edges, self.back)),
                         any(e.source == node != e.target and b for e, b in zip(self.edges, self.back))))
            least = (0, 0, 8, 12)[kinds]  # room for a loop port or two beside the flow's port
            if node in (START, END):
                width, height = max(len(_pill(label)), least), 1
            else:
                width = max(len(label) + 4 + (self.badge_width + 1 if self.badge_width else 0), least)
                height = 3
            loops = any(e.source == node == e.target for e in self.edges)
            self.vid[node] = len(self.vertices)
            self.vertices.append(_Vertex(node, True, group_of(node) if self.grouped else (), width, height,
                                         len(self.vertices), reserve=2 if loops else 0))

    def _dag(self):
        """(upper, lower) per non-loop edge, in flow direction after reversing back edges."""
        for i, e in enumerate(self.edges):
            if e.source != e.target:
                yield i, (e.target, e.source) if self.back[i] else (e.source, e.target)

    # 2. layers -------------------------------------------------------------------------------------------------
    def _assign_layers(self) -> None:
        nodes = self.topo.nodes
        preds: dict[str, list[str]] = {n: [] for n in nodes}
        succs: dict[str, list[str]] = {n: [] for n in nodes}
        for _, (upper, lower) in self._dag():
            succs[upper].append(lower)
            preds[lower].append(upper)
        index = {n: i for i, n in enumerate(nodes)}
        indeg = {n: len(preds[n]) for n in nodes}
        heap = [(index[n], n) for n in nodes if not indeg[n]]
        heapq.heapify(heap)
        order = []
        while heap:
            _, n = heapq.heappop(heap)
            order.append(n)
            for s in succs[n]:
                indeg[s] -= 1
                if not indeg[s]:
                    heapq.heappush(heap, (index[s], s))
        has_start = START in index
        layer: dict[str, int] = {}
        for n in order:  # longest path from the top
            if preds[n]:
                layer[n] = max(layer[p] for p in preds[n]) + 1
            else:
                layer[n] = 0 if (n == START or not has_start) else 1
        for n in reversed(order):  # a node that feeds more edges than it takes moves down toward its successors
            if n in (START, END) or not succs[n] or len(succs[n]) <= len(preds[n]):
                continue
            layer[n] = max(layer[n], min(layer[s] for s in succs[n]) - 1)
        if END in layer:
            layer[END] = max((v for n, v in layer.items() if n != END), default=-1) + 1
        ranks = {v: i for i, v in enumerate(sorted(set(layer.values())))}
        for n in nodes:
            self.vertices[self.vid[n]].layer = ranks[layer[n]]

    # 3. long edges and loops through dummy vertices ------------------------------------------------------------
    def _dummy(self, key: str, group: tuple[str, ...], layer: int, lane: tuple[int, int] | None = None) -> int:
        self.vertices.append(_Vertex(key, False, group, 1, 1, len(self.vertices), layer=layer, lane=lane))
        return len(self.vertices) - 1

    def _hop(self, upper: int, lower: int, upper_kind: str, lower_kind: str, edge: int) -> None:
        hop = self.hops.setdefault((upper, lower), _Hop(upper, lower, upper_kind, lower_kind, []))
        hop.edges.append(edge)

    def _add_chains(self) -> None:
        loops_into: dict[str, list[int]] = {}
        for i, e in enumerate(self.edges):
            if e.source == e.target:
                continue
            if self.back[i]:
                loops_into.setdefault(e.target, []).append(i)
                continue
            top, bottom = self.vertices[self.vid[e.source]], self.vertices[self.vid[e.target]]
            shared = top.group[: _common(top.group, bottom.group)]
            chain = [self.vid[e.source]]
            chain += [self._dummy(f"\0edge{i}:{n}", shared, n) for n in range(top.layer + 1, bottom.layer)]
            chain.append(self.vid[e.target])
            self.chains[i] = chain
            for k, (a, b) in enumerate(zip(chain, chain[1:])):
                self._hop(a, b, FWD, FWD, i)
        for target, edges in loops_into.items():
            v = self.vid[target]
            top = self.vertices[v]
            sources = [self.vertices[self.vid[self.edges[i].source]] for i in edges]
            group = top.group
            for s in sources:
                group = group[: _common(group, s.group)]
            lane = {n: self._dummy(f"\0lane:{target}:{n}", group, n, lane=(-top.layer, top.index))
                    for n in range(top.layer + 1, max(s.layer for s in sources) + 1)}
            self.lanes.append([lane[n] for n in sorted(lane)])
            for i, source in zip(edges, sources):
                u = self.vid[source.key]
                self.chains[i] = [u] + [lane[n] for n in range(source.layer, top.layer, -1)] + [v]
                self.uturns.append((u, lane[source.layer], i))
                for n in range(source.layer, top.layer + 1, -1):
                    self._hop(lane[n - 1], lane[n], FWD, FWD, i)
                self._hop(v, lane[top.layer + 1], IN, FWD, i)
        # a subgraph with no vertex on some layer of its span gets a blank stand-in there, so that every layer
        # it spans shows where its box is, and the boxes of sibling subgraphs keep one order
        stand_ins = []
        for group, inside in self._group_members().items():
            layers = {self.vertices[m].layer for m in inside}
            for n in range(min(layers) + 1, max(layers)):
                if n not in layers:
                    stand_ins.append((self._dummy(f"\0blank:{':'.join(group)}:{n}", group, n), inside))
        depth = max((v.layer for v in self.vertices), default=-1) + 1
        self.layers = [[] for _ in range(depth)]
        for v_id, v in enumerate(self.vertices):
            self.layers[v.layer].append(v_id)
        self.up: list[list[int]] = [[] for _ in self.vertices]
        self.down: list[list[int]] = [[] for _ in self.vertices]
        for upper, lower in self.hops:
            self.down[upper].append(lower)
            self.up[lower].append(upper)
        for blank, inside in stand_ins:  # placed after the subgraph's vertices on the layers next to it
            layer = self.vertices[blank].layer
            self.up[blank] = [m for m in inside if self.vertices[m].layer == layer - 1]
            self.down[blank] = [m for m in inside if self.vertices[m].layer == layer + 1]

    # 4. order within layers ------------------------------------------------------------------------------------
    def _order(self) -> None:
        pos = [0.0] * len(self.vertices)
        for layer in self.layers:
            for p, v in enumerate(layer):
                pos[v] = float(p)
        group_keys = self._group_keys(pos)
        for n, layer in enumerate(self.layers):  # first guess: each layer under its parents
            keys = {v: _mean(pos[u] for u in self.up[v]) if self.up[v] else pos[v] for v in layer}
            self._sort_into(n, keys, pos, group_keys)
        best, best_crossings, stale = [list(l) for l in self.layers], self._crossings(), 0
        for sweep in range(MAX_SWEEPS):
            if best_crossings == 0 or stale >= 6:
                break
            downward = sweep % 2 == 0
            neighbours = self.up if downward else self.down
            span = range(1, len(self.layers)) if downward else range(len(self.layers) - 2, -1, -1)
            group_keys = self._group_keys(pos)
            for n in span:
                keys = {v: _mean(pos[u] for u in neighbours[v]) if neighbours[v] else pos[v] for v in self.layers[n]}
                self._sort_into(n, keys, pos, group_keys)
            crossings = self._crossings()
            if crossings < best_crossings:
                best, best_crossings, stale = [list(l) for l in self.layers], crossings, 0
            else:
                stale += 1
        self.layers = best
        self.pos = {v: p for layer in self.layers for p, v in enumerate(layer)}

    def _sort_into(self, n: int, keys: dict[int, float], pos: list[float], group_keys) -> None:
        self.layers[n] = self._sort_layer(self.layers[n], keys, pos, group_keys)
        for p, v in enumerate(self.layers[n]):
            pos[v] = float(p)

    def _group_keys(self, pos: list[float]) -> dict[tuple[str, ...], float]:
        """One key per subgraph for all layers, so sibling subgraphs keep one left-to-right order everywhere."""
        total: dict[tuple[str, ...], list[float]] = {}
        for layer in self.layers:
            for v in layer:
                group = self.vertices[v].group
                for depth in range(1, len(group) + 1):
                    total.setdefault(group[:depth], []).append((pos[v] + 0.5) / len(layer))
        return {g: _mean(values) for g, values in total.items()}

    def _sort_layer(self, layer: list[int], keys: dict[int, float], pos: list[float],
                    group_keys: dict[tuple[str, ...], float]) -> list[int]:
        """Sort by key with each subgraph's members kept together (recursively) and loop lanes last."""
        def key_of(v: int) -> tuple:
            lane = self.vertices[v].lane
            return (1, *lane) if lane else (0, keys[v], 0)

        def arrange(items: list[int], depth: int) -> list[int]:
            entries: list[tuple[tuple, float, list[int], tuple[str, ...] | None]] = []
            nested: dict[str, list[int]] = {}
            for v in items:
                group = self.vertices[v].group
                if len(group) > depth:
                    nested.setdefault(group[depth], []).append(v)
                else:
                    entries.append((key_of(v), pos[v], [v], None))
            for members in nested.values():
                path = self.vertices[members[0]].group[: depth + 1]
                flow = [keys[m] for m in members if not self.vertices[m].lane]
                key = (0, _mean(flow), 0) if flow else min(key_of(m) for m in members)
                entries.append((key, min(pos[m] for m in members), arrange(members, depth + 1), path))
            entries.sort(key=lambda e: (e[0], e[1]))
            slots = [i for i, e in enumerate(entries) if e[3] is not None]
            groups = sorted((entries[i] for i in slots), key=lambda e: (group_keys.get(e[3], 0.0), e[3]))
            for i, entry in zip(slots, groups):
                entries[i] = entry
            return [v for e in entries for v in e[2]]

        return arrange(layer, 0)

    def _crossings(self) -> int:
        index = {v: p for layer in self.layers for p, v in enumerate(layer)}
        by_gap: dict[int, list[tuple[int, int]]] = {}
        for upper, lower in self.hops:
            by_gap.setdefault(self.vertices[upper].layer, []).append((index[upper], index[lower]))
        return sum(_inversions(sorted(pairs)) for pairs in by_gap.values())

    # 5. columns ------------------------------------------------------------------------------------------------
    def _separation(self, a: int, b: int) -> int:
        """Least x[b] - x[a] when a stands left of b: room for the subgraph borders between them."""
        va, vb = self.vertices[a], self.vertices[b]
        shared = _common(va.group, vb.group)
        borders = (len(va.group) - shared) + (len(vb.group) - shared)
        return va.width + va.reserve + (2 * borders + 1 if borders else GAP)

    def _place_x(self) -> None:
        """Columns: the tightest packing the separations allow, then sweeps that pull each vertex toward the
        centre of its neighbours (above, then below), straight one-to-one hops and straight loop lanes."""
        n = len(self.vertices)
        constraints: dict[tuple[int, int], int] = {}  # (a, b) -> least x[b] - x[a]

        def need(a: int, b: int, d: int) -> None:
            if constraints.get((a, b), -10**9) < d:
                constraints[a, b] = d

        for layer in self.layers:
            for a, b in zip(layer, layer[1:]):
                need(a, b, self._separation(a, b))
        if self.grouped:
            self._group_constraints(need)
        into: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        out: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for (a, b), d in constraints.items():
            out[a].append((b, d))
            into[b].append((a, d))
        indeg = [len(into[v]) for v in range(n)]
        heap = [(self.vertices[v].index, v) for v in range(n) if not indeg[v]]
        heapq.heapify(heap)
        topo = []
        while heap:
            _, v = heapq.heappop(heap)
            topo.append(v)
            for b, _ in out[v]:
                indeg[b] -= 1
                if not indeg[b]:
                    heapq.heappush(heap, (self.vertices[b].index, b))
        if len(topo) != n:
            raise _Infeasible
        x = [0] * n
        centre = [(v.width - 1) // 2 for v in self.vertices]

        def push_apart() -> None:
            for v in topo:
                for b, d in out[v]:
                    x[b] = max(x[b], x[v] + d)

        def bounds(v: int) -> tuple[float, float]:
            return (max((x[a] + d for a, d in into[v]), default=-float("inf")),
                    min((x[b] - d for b, d in out[v]), default=float("inf")))

        def sweep(layers, follow_up: bool) -> bool:
            """Move vertices toward the centre of their neighbours above (or below, or the other side when they
            have none there), as far as the constraints let them; vertices moving right move right-most first."""
            moved = False
            for layer in layers:
                targets = {}
                for v in layer:
                    ups = [x[u] + centre[u] for u in self.up[v]]
                    downs = [x[u] + centre[u] for u in self.down[v]]
                    side = (ups or downs) if follow_up else (downs or ups)
                    if not side:
                        continue
                    wanted = _mean(side)
                    near = min(side, key=lambda c: (abs(c - wanted), c))
                    if abs(near - wanted) <= SNAP:  # nearly straight: make it straight
                        wanted = near
                    targets[v] = _round(wanted - centre[v])
                rightward = sorted((v for v in targets if targets[v] > x[v]), key=lambda v: -x[v])
                leftward = sorted((v for v in targets if targets[v] < x[v]), key=lambda v: x[v])
                for v in rightward + leftward:
                    low, high = bounds(v)
                    target = int(min(max(targets[v], low), high))
                    if target != x[v]:
                        x[v], moved = target, True
            return moved

        push_apart()
        for _ in range(PLACE_ROUNDS):
            if not (sweep(self.layers[::-1], follow_up=False) | sweep(self.layers, follow_up=True)):
                break
        for _ in range(3):  # a one-to-one hop a column or two off: move either end to make it straight
            for upper, lower in self.hops:
                if len(self.down[upper]) != 1 or len(self.up[lower]) != 1:
                    continue
                shift = (x[upper] + centre[upper]) - (x[lower] + centre[lower])
                if not shift or abs(shift) > SNAP:
                    continue
                for v, move in ((lower, shift), (upper, -shift)):
                    low, high = bounds(v)
                    if low <= x[v] + move <= high:
                        x[v] += move
                        break
        for lane in self.lanes:  # a loop's lane runs straight
            column = max(x[d] for d in lane)
            for d in lane:
                x[d] = column
        push_apart()
        for v, vertex in enumerate(self.vertices):
            vertex.x = x[v]

    def _group_constraints(self, need) -> None:
        """Keep every vertex that is not in a subgraph out of the subgraph's box, on the side it sorted to."""
        members = self._group_members()
        for group, inside in members.items():  # room for the title left of where the first edge comes in
            top = min(self.vertices[m].layer for m in inside)
            first = min((m for m in inside if self.vertices[m].layer == top and self.vertices[m].real),
                        key=lambda m: self.pos[m], default=None)
            if first is not None:
                pad = 5 + len(_clean(group[-1])) - self._border_offset(first, group)
                pad -= (self.vertices[first].width - 1) // 2
                self.title_pad[group] = (first, max(pad, 0))
        siblings: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()  # (left box, right box)
        for group, inside in members.items():
            parent = group[:-1]
            layers = [self.vertices[m].layer for m in inside]
            for n in range(min(layers), max(layers) + 1):
                layer = self.layers[n]
                here = [self.pos[m] for m in inside if self.vertices[m].layer == n]
                for c in layer:
                    vc = self.vertices[c]
                    if vc.group[: len(group)] == group or vc.group[: len(parent)] != parent:
                        continue
                    left = self.pos[c] < min(here)
                    own = vc.group[: len(parent) + 1] if len(vc.group) > len(parent) else None  # c's own box
                    if own:  # a sibling box: all of it stays on its side, not just its members on this layer
                        siblings.add((own, group) if left else (group, own))
                    if left:
                        reach = self._right_reach(c, own) if own else vc.width + vc.reserve - 1
                        for m in inside:
                            need(c, m, reach + 2 + self._left_reach(m, group))
                    else:
                        reach = self._left_reach(c, own) if own else 0
                        for m in inside:
                            need(m, c, self._right_reach(m, group) + 2 + reach)
        for left_box, right_box in sorted(siblings):  # sibling boxes whose layers meet get disjoint columns
            for a in members[left_box]:
                reach = self._right_reach(a, left_box)
                for b in members[right_box]:
                    need(a, b, reach + 2 + self._left_reach(b, right_box))

    def _group_members(self) -> dict[tuple[str, ...], list[int]]:
        members: dict[tuple[str, ...], list[int]] = {}
        for v, vertex in enumerate(self.vertices):
            for depth in range(1, len(vertex.group) + 1):
                members.setdefault(vertex.group[:depth], []).append(v)
        return members

    def _border_offset(self, m: int, group: tuple[str, ...]) -> int:
        """Columns from member m's left edge back to the group's border, without title room: a space and a
        border per subgraph level."""
        return 2 * (len(self.vertices[m].group) - len(group) + 1)

    def _left_reach(self, m: int, group: tuple[str, ...]) -> int:
        """How far left of member m the group's box begins, with room for its (and inner boxes') titles."""
        pads = [pad for inner, (first, pad) in self.title_pad.items() if first == m and inner[: len(group)] == group]
        return self._border_offset(m, group) + max(pads, default=0)

    def _right_reach(self, m: int, group: tuple[str, ...]) -> int:
        """How far right of member m's left edge the group's box ends: past m, and wide enough for the titles of
        the group and of the inner groups holding m."""
        vertex = self.vertices[m]
        reach = vertex.width + vertex.reserve - 1 + self._border_offset(m, group)
        for depth in range(len(group), len(vertex.group) + 1):
            inner = vertex.group[:depth]
            if self.title_pad.get(inner, (None,))[0] == m:  # the title starts left of this member
                title_end = _group_title_width(inner) - 1 - self._left_reach(m, inner)
                reach = max(reach, title_end + 2 * (depth - len(group)))
        return reach

    # 6. ports, tracks, rows ------------------------------------------------------------------------------------
    def _ports(self) -> dict[tuple[int, str, str], int]:
        """Column of each port, keyed (vertex, "top"|"bottom", kind). The flow enters at the top centre and leaves
        at the bottom centre; loop ports sit to the right of it on the bottom border."""
        kinds: dict[tuple[int, str], set[str]] = {}
        for hop in self.hops.values():
            kinds.setdefault((hop.upper, "bottom"), set()).add(hop.upper_kind)
            kinds.setdefault((hop.lower, "top"), set()).add(hop.lower_kind)
        for u, _, _ in self.uturns:
            kinds.setdefault((u, "bottom"), set()).add(OUT)
        ports = {}
        for (v, side), present in kinds.items():
            vertex = self.vertices[v]
            ordered = [k for k in (FWD, IN, OUT) if k in present]
            ports[v, side, ordered[0]] = vertex.x + (vertex.width - 1) // 2
            right = vertex.x + vertex.width - 3
            for n, kind in enumerate(ordered[1:]):
                ports[v, side, kind] = right - 2 * (len(ordered) - 2 - n)
        return ports

    def _route(self) -> GraphLayout:
        ports = self._ports()
        group_members = self._group_members() if self.grouped else {}
        starts: dict[int, list[tuple[str, ...]]] = {}
        ends: dict[int, list[tuple[str, ...]]] = {}
        for group, inside in sorted(group_members.items()):
            layers = [self.vertices[m].layer for m in inside]
            starts.setdefault(min(layers), []).append(group)
            ends.setdefault(max(layers), []).append(group)

        count = len(self.layers)
        hops_below: dict[int, list[_Hop]] = {}
        for hop in self.hops.values():
            hops_below.setdefault(self.vertices[hop.upper].layer, []).append(hop)
        uturns_below: dict[int, list[tuple[int, int, int]]] = {}
        for turn in self.uturns:
            uturns_below.setdefault(self.vertices[turn[0]].layer, []).append(turn)
        gaps = [self._plan_gap(hops_below.get(n, []), uturns_below.get(n, []), ports, ends.get(n, []),
                               starts.get(n + 1, []), trailing=n == count - 1) for n in range(count)]

        # rows: a margin for the borders of subgraphs that open at the first layer, then layer, gap, layer, gap...
        top_margin = _border_rows(starts.get(0, []), top=True)
        border_row = {("top", g): offset for g, offset in top_margin.items()}
        y = max(top_margin.values(), default=-1) + 1
        layer_h = []
        for n, layer in enumerate(self.layers):
            layer_h.append(max(self.vertices[v].height for v in layer))
            for v in layer:
                self.vertices[v].y = y
            y += layer_h[n]
            gap = gaps[n]
            gap.top = y
            for group, offset in gap.bottom_borders.items():
                border_row["bottom", group] = y + offset
            for group, offset in gap.top_borders.items():
                border_row["top", group] = y + offset
            y += gap.height
        height = y

        routes = []
        for i, edge in enumerate(self.edges):
            if edge.source == edge.target:
                routes.append(EdgeRoute(edge.source, edge.target, edge.conditional, False, ()))
                continue
            cells: list[tuple[int, int]] = []
            chain = self.chains[i]
            for a, b in zip(chain, chain[1:]):
                va, vb = self.vertices[a], self.vertices[b]
                if va.layer == vb.layer:  # U-turn below the loop's source into its lane
                    gap = gaps[va.layer]
                    cells += [(ports[a, "bottom", OUT], r) for r in range(va.y + va.height, gap.top)]
                    cells += gap.uturn(ports[a, "bottom", OUT], vb.x, gap.track(("turn", a, b, i)))
                elif vb.layer > va.layer:  # down with the flow
                    hop = self.hops[a, b]
                    gap = gaps[va.layer]
                    x_top = ports[a, "bottom", hop.upper_kind]
                    if va.real:
                        cells += [(x_top, r) for r in range(va.y + va.height, gap.top)]
                    cells += gap.path(x_top, ports[b, "top", hop.lower_kind], gap.track(("hop", a, b)))
                else:  # up a lane, or into the loop's target
                    hop = self.hops[b, a]
                    gap = gaps[vb.layer]
                    x_top = ports[b, "bottom", hop.upper_kind]
                    cells += gap.path(x_top, ports[a, "top", hop.lower_kind], gap.track(("hop", b, a)))[::-1]
                    if vb.real:
                        cells += [(x_top, r) for r in range(gap.top - 1, vb.y + vb.height - 1, -1)]
                if not vb.real:
                    rows = range(vb.y, vb.y + layer_h[vb.layer])
                    cells += [(vb.x, r) for r in (rows if vb.layer > va.layer else reversed(rows))]
            routes.append(EdgeRoute(edge.source, edge.target, edge.conditional, self.back[i], tuple(cells)))

        boxes = {v.key: Rect(v.x, v.y, v.width, v.height) for v in self.vertices if v.real}
        groups = {}
        for group, inside in sorted(group_members.items()):
            left = min(self.vertices[m].x - self._left_reach(m, group) for m in inside)
            right = max(self.vertices[m].x + self._right_reach(m, group) for m in inside)
            top, bottom = border_row["top", group], border_row["bottom", group]
            groups[":".join(group)] = Rect(left, top, right - left + 1, bottom - top + 1)

        # shift so that the leftmost box, border or line sits in column 0
        lefts = [r.x for r in boxes.values()] + [r.x for r in groups.values()]
        lefts += [x for route in routes for x, _ in route.cells]
        dx = -min(lefts, default=0)
        boxes = {k: r._replace(x=r.x + dx) for k, r in boxes.items()}
        groups = {k: r._replace(x=r.x + dx) for k, r in groups.items()}
        routes = [EdgeRoute(r.source, r.target, r.conditional, r.back, tuple((x + dx, yy) for x, yy in r.cells))
                  for r in routes]
        width = max([r.right + self.vertices[self.vid[k]].reserve for k, r in boxes.items()]
                    + [r.right for r in groups.values()]
                    + [x + 2 for route in routes for x, _ in route.cells] + [0])
        layers = tuple(tuple(self.vertices[v].key for v in layer if self.vertices[v].real) for layer in self.layers)
        return GraphLayout(width, height, boxes, dict(self.labels), groups, layers, tuple(routes), self.badge_width,
                           self.grouped)

    def _plan_gap(self, hops: list[_Hop], uturns, ports, ending, starting, trailing: bool) -> _Gap:
        gap = _Gap()
        # (net key candidates, top pins, bottom pins, route key) per piece; pieces sharing a port share a net
        pieces = []
        for hop in hops:
            up_port, low_port = (hop.upper, "bottom", hop.upper_kind), (hop.lower, "top", hop.lower_kind)
            pieces.append((up_port, low_port, [ports[up_port]], [ports[low_port]], ("hop", hop.upper, hop.lower),
                           len(hop.edges)))
            if hop.upper_kind == IN:
                gap.arrows_up = True
        for u, lane, i in uturns:
            up_port, lane_port = (u, "bottom", OUT), (lane, "turn", OUT)
            pieces.append((up_port, lane_port, [ports[up_port], self.vertices[lane].x], [], ("turn", u, lane, i), 1))
        uses: dict[tuple, int] = {}
        for up_port, low_port, _, _, _, weight in pieces:
            uses[up_port] = uses.get(up_port, 0) + weight
            uses[low_port] = uses.get(low_port, 0) + weight
        nets: dict[tuple, _Net] = {}
        for up_port, low_port, tops, bottoms, key, _ in sorted(pieces, key=lambda p: (p[2], p[3], p[4])):
            shared = up_port if uses[up_port] > 1 else low_port if uses[low_port] > 1 else key
            net = nets.setdefault(shared, _Net(len(nets)))
            net.uppers.update(tops)
            net.lowers.update(bottoms)
            gap.net_of[key] = net
        gap.assign_tracks([n for n in nets.values() if n.needs_track])
        gap.layout_rows(_border_rows(ending, top=False), _border_rows(starting, top=True), trailing)
        return gap


class _Net:
    """The pieces of edges in one gap drawn as one bus: those sharing a port."""

    def __init__(self, seq: int):
        self.seq = seq
        self.uppers: set[int] = set()  # columns where it meets the layer above
        self.lowers: set[int] = set()  # ... and the layer below
        self.track = -1

    @property
    def low(self) -> int:
        return min(self.uppers | self.lowers)

    @property
    def high(self) -> int:
        return max(self.uppers | self.lowers)

    @property
    def needs_track(self) -> bool:
        return self.low != self.high


class _Gap:
    """The rows below a layer: a row for ▲ arrows, bottom borders of subgraphs closing, horizontal tracks, top
    borders of subgraphs opening, and the row of ▼ arrows into the next layer."""

    def __init__(self):
        self.net_of: dict[tuple, _Net] = {}
        self.tracks = 0
        self.arrows_up = False
        self.bottom_borders: dict[tuple[str, ...], int] = {}
        self.top_borders: dict[tuple[str, ...], int] = {}
        self.top = 0
        self.height = 1
        self.first_track = 0

    def assign_tracks(self, nets: list[_Net]) -> None:
        """Nets whose spans touch get different tracks. A net must run above another whose drop to the lower layer
        shares a column with its own rise from the upper layer. Fan-ins go high, fan-outs low."""
        below: dict[int, list[_Net]] = {n.seq: [] for n in nets}
        indeg = {n.seq: 0 for n in nets}
        for a in nets:
            for b in nets:
                if a is not b and a.uppers & b.lowers:
                    below[a.seq].append(b)
                    indeg[b.seq] += 1

        def priority(n: _Net):
            return (len(n.lowers) - len(n.uppers), n.low, n.high, n.seq)

        remaining = {n.seq: n for n in nets}
        placed: list[_Net] = []
        while remaining:
            ready = [n for n in remaining.values() if indeg[n.seq] == 0] or list(remaining.values())
            net = min(ready, key=priority)
            del remaining[net.seq]
            for b in below[net.seq]:
                indeg[b.seq] -= 1
            net.track = max([p.track + 1 for p in placed
                             if (p.low <= net.high + 1 and net.low <= p.high + 1) or net in below[p.seq]] + [0])
            placed.append(net)
        self.tracks = max((n.track for n in nets), default=-1) + 1

    def layout_rows(self, bottom_borders: dict, top_borders: dict, trailing: bool) -> None:
        bottoms = max(bottom_borders.values(), default=-1) + 1
        tops = max(top_borders.values(), default=-1) + 1
        if not (self.tracks or bottoms or tops):
            self.height = 0 if trailing else 1
            return
        up = 1 if self.arrows_up else 0
        self.first_track = up + bottoms
        self.bottom_borders = {g: up + offset for g, offset in bottom_borders.items()}
        self.top_borders = {g: self.first_track + self.tracks + offset for g, offset in top_borders.items()}
        self.height = up + bottoms + self.tracks + tops + (0 if trailing else 1)

    def track(self, key: tuple) -> int | None:
        net = self.net_of[key]
        return net.track if net.needs_track else None

    def path(self, x_top: int, x_bottom: int, track: int | None) -> list[tuple[int, int]]:
        """Cells from the gap's first row to its last: down, along the net's track, down again."""
        first, last = self.top, self.top + self.height - 1
        if x_top == x_bottom or track is None:
            return [(x_top, row) for row in range(first, last + 1)]
        row = self.top + self.first_track + track
        return ([(x_top, r) for r in range(first, row)] + _across(x_top, x_bottom, row)
                + [(x_bottom, r) for r in range(row + 1, last + 1)])

    def uturn(self, x_from: int, x_to: int, track: int | None) -> list[tuple[int, int]]:
        """Down from a box, along the track, and back up into a lane of the same layer."""
        row = self.top + self.first_track + (track or 0)
        return ([(x_from, r) for r in range(self.top, row)] + _across(x_from, x_to, row)
                + [(x_to, r) for r in range(row - 1, self.top - 1, -1)])


def _group_title_width(group: tuple[str, ...]) -> int:
    """Columns a subgraph box needs for its title: `┌─ name ─┐`."""
    return len(_clean(group[-1])) + 6


def _across(x_from: int, x_to: int, row: int) -> list[tuple[int, int]]:
    step = 1 if x_to >= x_from else -1
    return [(x, row) for x in range(x_from, x_to + step, step)]


def _round(value: float) -> int:
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def _border_rows(groups: Iterable[tuple[str, ...]], top: bool) -> dict[tuple[str, ...], int]:
    """Row offsets of the borders of subgraphs that open (top) or close (bottom) at one layer: outer borders are
    farther from the boxes."""
    groups = list(groups)
    if not groups:
        return {}
    deepest, shallowest = max(len(g) for g in groups), min(len(g) for g in groups)
    return {g: (len(g) - shallowest) if top else (deepest - len(g)) for g in groups}


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _inversions(pairs: list[tuple[int, int]]) -> int:
    """Pairs (a, b) sorted by a then b: how many pairs cross (a_i < a_j and b_i > b_j)."""
    size = max((b for _, b in pairs), default=0) + 2
    tree = [0] * (size + 1)
    crossings = 0
    for seen, (_, b) in enumerate(pairs):
        i, not_above = b + 1, 0
        while i > 0:
            not_above += tree[i]
            i -= i & -i
        crossings += seen - not_above
        i = b + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return crossings


# --- paint ------------------------------------------------------------------------------------------------------------

def render(layout: GraphLayout) -> GraphDrawing:
    """Paint a layout: subgraph boxes, node boxes, then edges (lines, junctions, arrows, loop marks)."""
    grid = [[" "] * layout.width for _ in range(layout.height)]

    def put(x: int, y: int, ch: str) -> None:
        if 0 <= y < layout.height and 0 <= x < layout.width:
            grid[y][x] = ch

    for name, r in sorted(layout.groups.items(), key=lambda item: item[0].count(":")):
        for x in range(r.x + 1, r.right - 1):
            put(x, r.y, "─")
            put(x, r.bottom - 1, "─")
        for y in range(r.y + 1, r.bottom - 1):
            put(r.x, y, "│")
            put(r.right - 1, y, "│")
        put(r.x, r.y, "┌")
        put(r.right - 1, r.y, "┐")
        put(r.x, r.bottom - 1, "└")
        put(r.right - 1, r.bottom - 1, "┘")

    for node, r in layout.boxes.items():
        label = layout.labels[node]
        if r.height == 1:
            for i, ch in enumerate(_pill(label).center(r.width)):
                put(r.x + i, r.y, ch)
            continue
        put(r.x, r.y, "╭")
        put(r.right - 1, r.y, "╮")
        put(r.x, r.bottom - 1, "╰")
        put(r.right - 1, r.bottom - 1, "╯")
        for x in range(r.x + 1, r.right - 1):
            put(x, r.y, "─")
            put(x, r.bottom - 1, "─")
        for y in range(r.y + 1, r.bottom - 1):
            put(r.x, y, "│")
            put(r.right - 1, y, "│")
            for x in range(r.x + 1, r.right - 1):
                put(x, y, " ")
        for i, ch in enumerate(label):
            put(r.x + 2 + i, r.y + r.height // 2, ch)

    dirs: dict[tuple[int, int], int] = {}
    solid: dict[tuple[int, int], bool] = {}
    arrows: dict[tuple[int, int], str] = {}
    marks: list[tuple[int, int]] = []
    for route in layout.edges:
        if route.self_loop:
            r = layout.boxes[route.source]
            put(r.right, r.y + r.height // 2, LOOP_MARK)
            continue
        cells = route.cells
        if not cells:
            continue
        source = layout.boxes[route.source]
        for n, cell in enumerate(cells):
            mask = 0
            for other in (cells[n - 1] if n else None, cells[n + 1] if n + 1 < len(cells) else None):
                if other is not None:
                    mask |= _direction(cell, other)
            if n == 0:  # the first cell hangs off its source box
                mask |= UP if cell[1] >= source.bottom else DOWN
            dirs[cell] = dirs.get(cell, 0) | mask
            solid[cell] = solid.get(cell, False) or not route.conditional
        x0, y0 = cells[0]
        if source.height > 1:
            border_y = source.bottom - 1 if y0 >= source.bottom else source.y
            put(x0, border_y, "┬" if y0 >= source.bottom else "┴")
        arrows[cells[-1]] = ARROW_UP if route.back else ARROW_DOWN
        if route.back and cells[-1] not in marks:
            marks.append(cells[-1])
    for (x, y), mask in dirs.items():
        put(x, y, (_LINES if solid[x, y] else {**_LINES, **_DASHED})[mask])
    for (x, y), ch in arrows.items():
        put(x, y, ch)
    for name, r in layout.groups.items():  # titles go where no line crosses the border
        title = f" {_clean(name.rsplit(':', 1)[-1])} "
        for y in (r.y, r.bottom - 1):
            spot = next((x for x in range(r.x + 2, r.right - 1 - len(title))
                         if all((x + i, y) not in dirs for i in range(len(title)))), None)
            if spot is not None:
                for i, ch in enumerate(title):
                    put(spot + i, y, ch)
                break
    for x, y in marks:  # a loop-back arrow gets a ↺ beside it where there is room
        for dx in (1, -1):
            if 0 <= x + dx < layout.width and grid[y][x + dx] == " ":
                put(x + dx, y, LOOP_MARK)
                break
    return GraphDrawing(tuple("".join(row) for row in grid), layout)


def _direction(cell: tuple[int, int], other: tuple[int, int]) -> int:
    dx, dy = other[0] - cell[0], other[1] - cell[1]
    if dy < 0:
        return UP
    if dy > 0:
        return DOWN
    return LEFT if dx < 0 else RIGHT
