"""A thread's checkpoints as a tree: forks are branches, subgraph calls hang under the checkpoint they started from.

Built from the flat list a history read gives (Postgres or the server's `get_history`): anything with
`checkpoint_id`, `parent_checkpoint_id`, `checkpoint_ns` and optionally `parents` ({namespace: checkpoint id} of the
enclosing graphs, from the checkpoint metadata). Also renders the tree as text lines for the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


class CheckpointLike(Protocol):
    checkpoint_id: str
    parent_checkpoint_id: str | None
    checkpoint_ns: str


def parent_namespace(ns: str) -> str:
    """`a:<t1>|b:<t2>` -> `a:<t1>`; a top-level subgraph's parent namespace is the root graph's `""`."""
    return ns.rsplit("|", 1)[0] if "|" in ns else ""


def namespace_node(ns: str) -> str:
    """The node a subgraph namespace belongs to: `review:<task_id>` -> `review`."""
    return ns.rsplit("|", 1)[-1].split(":", 1)[0]


@dataclass(eq=False)
class TreeNode:
    checkpoint: Any  # a CheckpointLike record
    parent: TreeNode | None = None  # same-namespace parent; for a subgraph call's first checkpoint, where it started
    children: list[TreeNode] = field(default_factory=list)  # same namespace, ordered by id; >1 is a fork
    subgraphs: list[TreeNode] = field(default_factory=list)  # first checkpoints of subgraph calls started here

    @property
    def checkpoint_id(self) -> str:
        return self.checkpoint.checkpoint_id

    @property
    def ns(self) -> str:
        return self.checkpoint.checkpoint_ns

    @property
    def is_head(self) -> bool:
        return not self.children

    @property
    def is_fork(self) -> bool:
        return len(self.children) > 1

    @property
    def starts_namespace(self) -> bool:
        return self.parent is None or self.parent.ns != self.ns


class CheckpointTree:
    """The tree of one thread. Lookups take a checkpoint id (ids are unique across namespaces in practice; when
    one is not, the root namespace's wins unless `ns` is given)."""

    def __init__(self, checkpoints: Iterable[Any]):
        records = sorted(checkpoints, key=lambda c: (c.checkpoint_id, c.checkpoint_ns))
        self._nodes: dict[tuple[str, str], TreeNode] = {}
        self._by_id: dict[str, list[TreeNode]] = {}
        for record in records:
            key = (record.checkpoint_ns, record.checkpoint_id)
            if key in self._nodes:
                continue
            node = TreeNode(record)
            self._nodes[key] = node
            self._by_id.setdefault(record.checkpoint_id, []).append(node)
        self.roots: list[TreeNode] = []
        by_ns: dict[str, list[TreeNode]] = {}
        for node in self._nodes.values():
            by_ns.setdefault(node.ns, []).append(node)
        for node in self._nodes.values():  # in id order, so children come out ordered by id
            parent_id = node.checkpoint.parent_checkpoint_id
            parent = self._nodes.get((node.ns, parent_id)) if parent_id else None
            if parent is not None and parent is not node:
                node.parent = parent
                parent.children.append(node)
            elif node.ns:
                anchor = self._anchor(node, by_ns)
                if anchor is not None:
                    node.parent = anchor
                    anchor.subgraphs.append(node)
                else:
                    self.roots.append(node)
            else:
                self.roots.append(node)

    def _anchor(self, node: TreeNode, by_ns: dict[str, list[TreeNode]]) -> TreeNode | None:
        """The checkpoint of the enclosing graph a subgraph call started from: metadata `parents`, else the newest
        checkpoint of the enclosing namespace older than the call."""
        outer = parent_namespace(node.ns)
        parents = getattr(node.checkpoint, "parents", None) or {}
        anchor_id = parents.get(outer)
        if anchor_id and (outer, anchor_id) in self._nodes:
            return self._nodes[(outer, anchor_id)]
        older = [n for n in by_ns.get(outer, []) if n.checkpoint_id < node.checkpoint_id]
        return older[-1] if older else None

    # --- lookups ------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, checkpoint_id: str) -> bool:
        return checkpoint_id in self._by_id

    def __iter__(self):
        return iter(self._nodes.values())

    def node(self, checkpoint_id: str, ns: str | None = None) -> TreeNode:
        """The tree node of a checkpoint; KeyError when the tree has none."""
        if ns is not None:
            return self._nodes[(ns, checkpoint_id)]
        found = self._by_id[checkpoint_id]
        return next((n for n in found if n.ns == ""), found[0])

    def parent(self, checkpoint_id: str, ns: str | None = None) -> Any | None:
        """The checkpoint before this one (for a subgraph call's first checkpoint, the one the call started from)."""
        parent = self.node(checkpoint_id, ns).parent
        return parent.checkpoint if parent else None

    def children(self, checkpoint_id: str, ns: str | None = None) -> list[Any]:
        return [c.checkpoint for c in self.node(checkpoint_id, ns).children]

    def path(self, checkpoint_id: str, ns: str | None = None) -> list[Any]:
        """The checkpoints from the thread's first one to this one, entering subgraph namespaces on the way."""
        out: list[Any] = []
        seen: set[int] = set()
        node: TreeNode | None = self.node(checkpoint_id, ns)
        while node is not None and id(node) not in seen:
            seen.add(id(node))
            out.append(node.checkpoint)
            node = node.parent
        return out[::-1]

    def heads(self, ns: str | None = "") -> list[Any]:
        """The leaves (the newest checkpoint of each branch) of one namespace, root by default; `None`: all."""
        return [n.checkpoint for n in self._nodes.values() if n.is_head and (ns is None or n.ns == ns)]

    def forks(self) -> list[Any]:
        """Checkpoints with more than one child: where the thread branched (time travel, update_state)."""
        return [n.checkpoint for n in self._nodes.values() if n.is_fork]

    def namespaces(self) -> list[str]:
        return sorted({n.ns for n in self._nodes.values()})

    def branch_of(self, checkpoint_id: str, ns: str | None = None) -> list[Any]:
        """The checkpoints of the branch through this one: its path, then on to a head by the newest children."""
        node = self.node(checkpoint_id, ns)
        out = self.path(checkpoint_id, ns)
        while node.children:
            node = node.children[-1]
            out.append(node.checkpoint)
        return out

    # --- text ---------------------------------------------------------------------------------------------------
    def lines(self, label: Callable[[TreeNode], str] | None = None) -> list[str]:
        return render_tree(self, label)

    def to_json(self) -> dict:
        return {
            "roots": [r.checkpoint_id for r in self.roots],
            "heads": [c.checkpoint_id for c in self.heads()],
            "forks": [c.checkpoint_id for c in self.forks()],
            "namespaces": self.namespaces(),
            "nodes": [{"checkpoint_id": n.checkpoint_id, "checkpoint_ns": n.ns,
                       "parent": n.parent.checkpoint_id if n.parent else None,
                       "children": [c.checkpoint_id for c in n.children],
                       "subgraphs": [s.checkpoint_id for s in n.subgraphs]} for n in self._nodes.values()],
        }


LABEL_ERROR_CHARS = 160  # an error's traceback-sized text is cut in a tree line (the head mark stays in sight)


def default_label(node: TreeNode) -> str:
    """`<id>  step 3  loop  join  [review:…]  ✗ review: RuntimeError(...)  (head)`."""
    c = node.checkpoint
    parts = [c.checkpoint_id]
    step = getattr(c, "step", None)
    if step is not None:
        parts.append(f"step {step}")
    source = getattr(c, "source", None)
    if source:
        parts.append(source)
    writers = [w for w in getattr(c, "writers", None) or [] if w != "__input__"]
    if writers:
        parts.append(", ".join(writers))
    if node.ns and node.starts_namespace:
        parts.append(f"[{node.ns}]")
    error = getattr(c, "error", None)
    if error:
        where = getattr(c, "error_node", None)
        error = " ".join(str(error).split())
        error = error if len(error) <= LABEL_ERROR_CHARS else error[: LABEL_ERROR_CHARS - 1] + "…"
        parts.append(f"✗ {where + ': ' if where else ''}{error}")
    if getattr(c, "interrupted", False):
        where = getattr(c, "interrupt_node", None)
        parts.append(f"⏸ interrupt{' at ' + where if where else ''}")
    if node.is_head and not node.ns:
        parts.append("(head)")
    return "  ".join(parts)


def render_tree(tree: CheckpointTree, label: Callable[[TreeNode], str] | None = None) -> list[str]:
    """Text lines with tree glyphs. A straight run of checkpoints stays in one column; a fork opens branches
    (`├─`, `└─`); a subgraph call is drawn under the checkpoint it started from, behind `┊`."""
    label = label or default_label
    lines: list[str] = []
    for root in tree.roots:
        _render_chain(root, "", "", lines, label)
    return lines


def _render_chain(node: TreeNode, first: str, rest: str, lines: list[str], label: Callable[[TreeNode], str]) -> None:
    prefix = first
    while True:
        lines.append(f"{prefix}● {label(node)}")
        prefix = rest
        for sub in node.subgraphs:
            _render_chain(sub, rest + "┊ ", rest + "┊ ", lines, label)
        if len(node.children) == 1:
            node = node.children[0]
            continue
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            _render_chain(child, rest + ("└─" if last else "├─"), rest + ("  " if last else "│ "), lines, label)
        return
