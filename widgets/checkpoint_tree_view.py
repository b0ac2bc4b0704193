"""A thread's checkpoints as a Textual tree: a straight run of checkpoints stays in one column, a fork opens one
expandable branch per child, a subgraph call hangs (collapsed) under the checkpoint it started from."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree

from lgconsole.widgets.palette import Palette, redraw_on_theme_change

# a mark's kind -> (palette status, attributes); any other mark is dim
MARK_STATUSES = {"error": ("error", "bold"), "interrupted": ("interrupted", "bold"), "answered": ("answered",),
                 "head": ("head", "bold"), "new": ("new", "bold")}
BRANCH_STATUS = "info"  # a fork's alternative: something to read, not a state


@dataclass(frozen=True)
class CheckpointItem:
    """Plain data for one row. `kind`: checkpoint | branch (a fork's alternative) | subgraph (a call's
    checkpoints). Checkpoint rows have a `key` the screen selects by; group rows carry a key too, so their
    expanded state survives a refresh."""

    key: str
    kind: str = "checkpoint"
    step: str = ""  # "3", "-1"
    title: str = ""  # writers or the group's name ("join", "branch 2 · update · 4 checkpoints")
    source: str = ""  # input | loop | update | fork
    short_id: str = ""
    marks: tuple[tuple[str, str], ...] = ()  # (kind, text): ("error", "✖ coder: RuntimeError(...)")
    children: tuple[CheckpointItem, ...] = field(default=())
    expanded: bool = True


class CheckpointTreeView(Tree):
    """Rebuilt when the items change; the cursor and the groups' expanded state are kept by key."""

    class CheckpointSelected(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs) -> None:
        super().__init__("checkpoints", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._items: tuple[CheckpointItem, ...] | None = None
        self._item_nodes: dict[str, object] = {}
        self._item_by_key: dict[str, CheckpointItem] = {}
        self._toggled: dict[str, bool] = {}  # groups the user expanded or collapsed
        self._checkpoint_keys: set[str] = set()

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self._redraw)

    @property
    def selected_key(self) -> str | None:
        node = self.cursor_node
        return node.data if node is not None and node.data in self._checkpoint_keys else None

    def show(self, items: list[CheckpointItem], select: str | None = None) -> None:
        """Show these rows; the cursor goes to `select` when given, else stays on its checkpoint."""
        items_t = tuple(items)
        if items_t == self._items:
            if select is not None:
                self.select_key(select)
            return
        keep = select or (self.cursor_node.data if self.cursor_node is not None else None)
        self._items = items_t
        self._checkpoint_keys = set()
        self.clear()
        self._item_nodes = {}
        self._item_by_key = {}
        for item in items_t:
            self._add(self.root, item)
        if keep and keep in self._item_nodes:
            self.select_key(keep)

    def show_message(self, text: str) -> None:
        """No tree: a one-line reason instead (no thread selected, reading, an error)."""
        self._items = None
        self._item_nodes = {}
        self._item_by_key = {}
        self._checkpoint_keys = set()
        self.clear()
        self.root.add_leaf(Text(text, style="dim italic"))

    def _add(self, parent, item: CheckpointItem) -> None:
        label = self._label(item)
        if item.kind == "checkpoint":
            self._checkpoint_keys.add(item.key)
        if item.children:
            expand = self._toggled.get(item.key, item.expanded)
            node = parent.add(label, data=item.key, expand=expand)
            for child in item.children:
                self._add(node, child)
        else:
            node = parent.add_leaf(label, data=item.key)
        self._item_nodes[item.key] = node
        self._item_by_key[item.key] = item

    def _redraw(self) -> None:
        """Label every row again in the new theme (mark colours are resolved when a label is built)."""
        for key, node in self._item_nodes.items():
            node.set_label(self._label(self._item_by_key[key]))

    def select_key(self, key: str) -> None:
        node = self._item_nodes.get(key)
        if node is None:
            return
        parent = node.parent
        while parent is not None and parent is not self.root:
            parent.expand()
            parent = parent.parent
        # a node added in this call has no line number until the tree has laid it out
        self.call_after_refresh(self._move_to, node)

    def _move_to(self, node) -> None:
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)

    def _label(self, item: CheckpointItem) -> Text:
        palette = Palette.of(self)
        styles = {mark: palette.style(*status) for mark, status in MARK_STATUSES.items()}
        text = Text(no_wrap=True, overflow="ellipsis")
        if item.kind == "branch":
            text.append("↳ ", style=palette.style(BRANCH_STATUS, "bold"))
            text.append(item.title, style=palette.style(BRANCH_STATUS))
        elif item.kind == "subgraph":
            text.append("┊ ", style="dim")
            text.append(item.title, style="italic")
        else:
            icon, style = "●", ""
            for mark, _ in item.marks:
                if mark in ("error", "interrupted"):
                    icon, style = ("✖" if mark == "error" else "◆"), styles[mark]
                    break
            text.append(f"{icon} ", style=style or "dim")
            text.append(f"{item.step:>3} ", style="dim")
            text.append(item.title or item.source or "-", style="bold")
            if item.source and item.title and item.source != "loop" and item.source not in item.title:
                text.append(f" ({item.source})", style="dim")
        for mark, mark_text in item.marks:
            text.append(f"  {mark_text}", style=styles.get(mark, "dim"))
        if item.short_id:
            text.append(f"  {item.short_id}", style="dim")
        return text

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.CheckpointSelected(event.node.data))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        if event.node.data:
            self._toggled[event.node.data] = True

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed) -> None:
        if event.node.data:
            self._toggled[event.node.data] = False
