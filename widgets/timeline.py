"""A run's node steps as a tree (subgraph steps nested under their parent node), updated in place as they stream;
status colours come from the theme (widgets/palette.py) and follow a theme switch."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.text import Text
from textual.message import Message
from textual.widgets import Tree

from lgconsole.widgets.palette import Palette, redraw_on_theme_change

# step status -> (palette status, attributes); an interrupted step waits for a person
STATUS_STYLES: dict[str, tuple[str, ...]] = {"running": ("running", "bold"), "done": ("done",),
                                             "error": ("error", "bold"), "interrupted": ("interrupted", "bold"),
                                             "cancelled": ("cancelled", "dim")}
STATUS_ICONS = {"running": "▶", "done": "✓", "error": "✖", "interrupted": "◆", "cancelled": "■"}


@dataclass(frozen=True)
class StepItem:
    """Plain data for one row: `key` is stable for the life of the step."""

    key: Hashable  # unique across every run the timeline shows
    node: str
    status: str
    superstep: int
    took: str = ""  # how long the step took, formatted by the caller ("" while it runs)
    summary: str = ""
    children: tuple[StepItem, ...] = field(default=())


class Timeline(Tree):
    """Rows are added and relabelled, never rebuilt: a long run stays cheap to repaint."""

    class StepSelected(Message):
        def __init__(self, key: Hashable) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs) -> None:
        super().__init__("run", **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self._step_nodes: dict[Hashable, object] = {}
        self._step_labels: dict[Hashable, str] = {}
        self._items: list[StepItem] = []
        self._shown: dict[Hashable, StepItem] = {}  # the item each row was last drawn from
        self.follow = True

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self._restyle)

    def show(self, items: list[StepItem]) -> bool:
        """The rows as `items` says; an item that is the very object shown last time is skipped with its subtree
        (callers hand back unchanged rows as the same objects: a paint of a long run touches only what moved).
        True when the cursor followed a row added now to the newest one."""
        wanted = {item.key for item in items}
        for item in self._items:
            if item.key not in wanted and item.key in self._step_nodes:
                self._drop(item)  # dropped from the ring buffer
        self._items = list(items)
        newest = None
        palette = Palette.of(self)
        for item in items:
            newest = self._upsert(self.root, item, palette) or newest
        if self.follow and newest is not None:
            # a node added in this call has no line number until the tree has laid its lines out: asking for a line
            # lays them out now, so the cursor moves in this frame (not one more frame after it)
            self.get_node_at_line(0)
            self.move_cursor(newest)
            return True
        return False

    def _drop(self, item: StepItem) -> None:
        self._step_nodes.pop(item.key).remove()
        self._forget(item)

    def _forget(self, item: StepItem) -> None:
        self._step_nodes.pop(item.key, None)
        self._step_labels.pop(item.key, None)
        self._shown.pop(item.key, None)
        for child in item.children:
            self._forget(child)

    def _upsert(self, parent, item: StepItem, palette: Palette):
        if self._shown.get(item.key) is item:
            return None  # this row and its subtree as shown
        self._shown[item.key] = item
        label = self._label(item, palette)
        node = self._step_nodes.get(item.key)
        added = None
        if node is None:
            node = parent.add(label, data=item.key, expand=True, allow_expand=bool(item.children))
            self._step_nodes[item.key] = node
            self._step_labels[item.key] = label.plain
            added = node
        elif self._step_labels.get(item.key) != label.plain:
            node.set_label(label)
            self._step_labels[item.key] = label.plain
        for child in item.children:
            added = self._upsert(node, child, palette) or added
        if item.children:
            node.allow_expand = True
        return added

    def _restyle(self) -> None:
        """Label every row again in the new theme's colours (an unchanged row is otherwise never relabelled)."""
        palette = Palette.of(self)

        def relabel(item: StepItem) -> None:
            node = self._step_nodes.get(item.key)
            if node is not None:
                node.set_label(self._label(item, palette))
            for child in item.children:
                relabel(child)

        for item in self._items:
            relabel(item)

    def get_label_width(self, node) -> int:
        """A row's width without rendering it (Tree measures every row whenever one is added: at 2,000 steps that
        rendering was most of a paint)."""
        if not node.allow_expand:
            return node.label.cell_len
        return cell_len(self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE) + node.label.cell_len

    @staticmethod
    def _label(item: StepItem, palette: Palette) -> Text:
        status, *attributes = STATUS_STYLES.get(item.status, ("",))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{STATUS_ICONS.get(item.status, '?')} ", style=palette.style(status, *attributes))
        text.append(f"{item.superstep:>3} ", style="dim")
        text.append(item.node, style="bold")
        if item.took:
            text.append(f"  {item.took}", style=palette.drawing("text-primary"))
        if item.summary:
            text.append(f"  {item.summary}", style="dim")
        return text

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None:
            self.post_message(self.StepSelected(event.node.data))
