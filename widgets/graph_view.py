"""A scrollable drawing of a graph's boxes and arrows, with nodes coloured by run state and a node cursor.

It takes plain data: the drawing's rows, each node's box `(x, y, width, height)`, subgraph boxes, and per-node
`NodeStats`. Arrows and h/j/k/l pan; tab / shift+tab move the cursor from node to node and post `NodeSelected`.
Every colour is the theme's (node states from the palette, lines and boxes from theme variables) and the drawing is
painted again when the theme changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lgconsole.widgets.palette import Palette, redraw_on_theme_change

Box = tuple[int, int, int, int]  # x, y, width, height


@dataclass(frozen=True)
class NodeStats:
    """What a run did at one node so far."""

    state: str = "idle"  # idle | running | done | error
    count: int = 0  # how many times it ran
    last_duration_s: float | None = None
    error: str | None = None


BREAK_MARK = "◆"  # a breakpoint, on the border of the node it stops at
STATE_ICONS = {"running": "●", "done": "✓", "error": "✖", "idle": ""}
RUN_STATES = ("idle", "running", "done", "error")
# what is drawn -> (theme variable, attributes); node states are the palette's statuses
DRAWING_COLOURS: dict[str, tuple[str, ...]] = {
    "line": ("foreground-darken-2",),
    "dashed": ("foreground-muted",),  # a conditional edge
    "idle": ("foreground-muted",),  # a node not run yet: its border drawn like the dashed lines, no status colour
    "arrow": ("foreground", "bold"),
    "loop": ("accent", "bold"),
    "group": ("primary",),  # a subgraph's box
    "group-title": ("primary", "bold", "italic"),
    "pill": ("foreground", "bold"),  # START / END
    "selected": ("text-primary", "bold"),  # the cursor's node, when it has not run
}
_SELECTED = Style(reverse=True)
_MESSAGE = Style(dim=True, italic=True)


def format_badge(stats: NodeStats | None, width: int) -> str:
    """`✓3 1.2s`: state icon, run count, last duration; shortened to fit `width` columns."""
    if stats is None or (stats.state == "idle" and not stats.count):
        return ""
    icon = STATE_ICONS.get(stats.state, "?")
    count = f"{icon}{stats.count}" if stats.count else icon
    duration = _short_duration(stats.last_duration_s)
    for text in (f"{count} {duration}" if duration else count, count, icon):
        if len(text) <= width:
            return text
    return ""


def _short_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 600:
        return f"{seconds:.0f}s"
    if seconds < 36000:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


class GraphView(ScrollView, can_focus=True):
    """Shows a drawing; the console hands it rows and boxes, it never fetches anything."""

    DEFAULT_CSS = """
    GraphView { background: $surface; padding-top: 1; }
    GraphView:focus { background-tint: $foreground 3%; }
    """
    BINDINGS = [
        Binding("tab", "cursor(1)", "Node"),
        Binding("shift+tab", "cursor(-1)", "Previous node", show=False),
        Binding("left,h", "pan(-4, 0)", "Pan left", show=False),
        Binding("down,j", "pan(0, 2)", "Pan down", show=False),
        Binding("up,k", "pan(0, -2)", "Pan up", show=False),
        Binding("right,l", "pan(4, 0)", "Pan right", show=False),
    ]

    class NodeSelected(Message):
        """The cursor moved to a node (None: no node)."""

        def __init__(self, view: GraphView, node: str | None) -> None:
            super().__init__()
            self.view = view
            self.node = node

        @property
        def control(self) -> GraphView:
            return self.view

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: tuple[str, ...] = ()
        self._boxes: dict[str, Box] = {}
        self._groups: dict[str, Box] = {}
        self._badge_width = 0
        self._line_roles: list[list[str | None]] = []  # per cell, from the character alone: a DRAWING_COLOURS key
        self._stats: dict[str, NodeStats] = {}
        self._breakpoints: dict[str, str] = {}  # node -> before | after | both
        self._selected: str | None = None
        self._message = ""
        self._strips: list[Strip] = []

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self._rebuild)

    # --- data in ---------------------------------------------------------------------------------------------
    def show_drawing(self, rows: Sequence[str], boxes: Mapping[str, Box], groups: Mapping[str, Box] | None = None,
                     badge_width: int = 0) -> None:
        """A new drawing; the cursor stays on its node if the node is still there."""
        self._rows = tuple(rows)
        self._boxes = {k: tuple(v) for k, v in boxes.items()}
        self._groups = {k: tuple(v) for k, v in (groups or {}).items()}
        self._badge_width = badge_width
        self._line_roles = [[_char_role(ch) for ch in row] for row in self._rows]
        self._message = ""
        if self._selected not in self._boxes:
            self._selected = None
        self._rebuild()
        self.virtual_size = Size(max((len(r) for r in self._rows), default=0), len(self._rows))
        if self._selected:
            self._reveal(self._selected)

    def show_stats(self, stats: Mapping[str, NodeStats]) -> None:
        self._stats = dict(stats)
        self._rebuild()

    def show_breakpoints(self, marks: Mapping[str, str]) -> None:
        """Mark nodes a run stops at: `BREAK_MARK` on the box's top border (before) or bottom border (after)."""
        self._breakpoints = dict(marks)
        self._rebuild()

    def show_message(self, text: str) -> None:
        """No drawing, a line of text instead (connecting, server down, empty graph)."""
        self._rows, self._boxes, self._groups, self._selected = (), {}, {}, None
        self._message = text
        self._rebuild()
        self.virtual_size = Size(len(text) + 2, 1)

    # --- cursor ----------------------------------------------------------------------------------------------
    @property
    def selected(self) -> str | None:
        return self._selected

    @property
    def nodes(self) -> list[str]:
        """Nodes in reading order: top to bottom, left to right."""
        return sorted(self._boxes, key=lambda n: (self._boxes[n][1], self._boxes[n][0], n))

    def select(self, node: str | None) -> None:
        if node is not None and node not in self._boxes:
            return
        changed = node != self._selected
        self._selected = node
        if changed:
            self._rebuild()
            self.post_message(self.NodeSelected(self, node))
        if node:
            self._reveal(node)

    def action_pan(self, dx: int, dy: int) -> None:
        self.scroll_relative(x=dx or None, y=dy or None, animate=False)

    def action_cursor(self, step: int) -> None:
        nodes = self.nodes
        if not nodes:
            return
        if self._selected in nodes:
            index = (nodes.index(self._selected) + step) % len(nodes)
        else:
            index = 0 if step > 0 else len(nodes) - 1
        self.select(nodes[index])

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        x, y = offset.x + round(self.scroll_x) - self._margin, offset.y + round(self.scroll_y)
        for node, (bx, by, bw, bh) in self._boxes.items():
            if bx <= x < bx + bw and by <= y < by + bh:
                self.select(node)
                return

    def _reveal(self, node: str) -> None:
        x, y, w, h = self._boxes[node]
        self.scroll_to_region(Region(x + self._margin, y, w, h), animate=False, force=True)

    # --- painting --------------------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        if not self._rows:
            self._strips = [Strip([Segment(self._message, _MESSAGE)])] if self._message else []
            self.refresh()
            return
        chars = [list(row) for row in self._rows]
        palette = Palette.of(self)
        drawn = {role: Style.parse(palette.drawing(*colour)) for role, colour in DRAWING_COLOURS.items()}
        styles: list[list[Style | None]] = [[drawn[role] if role else None for role in row] for row in self._line_roles]
        border_of = {"idle": drawn["idle"], "running": Style.parse(palette.style("running", "bold")),
                     "done": Style.parse(palette.style("done")), "error": Style.parse(palette.style("error", "bold"))}
        name_of = {"idle": Style(bold=True), **{state: Style.parse(palette.style(state, "bold"))
                                                for state in ("running", "done", "error")}}

        breakpoint_style = Style.parse(palette.style("waiting", "bold"))

        def paint(x: int, y: int, style: Style, text: str | None = None) -> None:
            if 0 <= y < len(chars) and 0 <= x < len(chars[y]):
                if text is not None:
                    chars[y][x] = text
                current = styles[y][x]
                styles[y][x] = current + style if current else style

        for name, (gx, gy, gw, gh) in self._groups.items():
            group_stats = self._stats.get(name)
            border = border_of[group_stats.state] if group_stats and group_stats.state != "idle" else drawn["group"]
            for x in range(gx, gx + gw):
                for y in (gy, gy + gh - 1):
                    ch = chars[y][x]
                    if ch in "─┌┐└┘":
                        paint(x, y, border)
                    elif ch != " " and _char_role(ch) is None:  # the title
                        paint(x, y, drawn["group-title"])
            for y in range(gy + 1, gy + gh - 1):
                for x in (gx, gx + gw - 1):
                    if chars[y][x] == "│":
                        paint(x, y, border)
            where = self._breakpoints.get(name)  # a subgraph node: its mark at the right end of its border
            for y, side in ((gy, "before"), (gy + gh - 1, "after")):
                if where in (side, "both"):
                    paint(gx + gw - 2, y, breakpoint_style, BREAK_MARK)

        for node, (bx, by, bw, bh) in self._boxes.items():
            stats = self._stats.get(node)
            state = stats.state if stats and stats.state in RUN_STATES else "idle"
            selected = node == self._selected
            if bh == 1:  # START / END
                for x in range(bx, bx + bw):
                    paint(x, by, drawn["pill"] + (_SELECTED if selected and chars[by][x] != " " else Style()))
                continue
            border = drawn["selected"] if selected and state == "idle" else border_of[state]
            for x in range(bx, bx + bw):
                paint(x, by, border)
                paint(x, by + bh - 1, border)
            for y in range(by + 1, by + bh - 1):
                paint(bx, y, border)
                paint(bx + bw - 1, y, border)
            middle = by + bh // 2
            label_end = bx + bw - 2 - (self._badge_width + 1 if self._badge_width else 0)
            for x in range(bx + 1, label_end):
                paint(x, middle, name_of[state] + (_SELECTED if selected else Style()))
            where = self._breakpoints.get(node)
            for y, side in ((by, "before"), (by + bh - 1, "after")):
                if where in (side, "both"):
                    for i, ch in enumerate(BREAK_MARK):
                        paint(bx + 1 + i, y, breakpoint_style, ch)
            if self._badge_width:
                badge = format_badge(stats, self._badge_width)
                start = bx + bw - 2 - len(badge)
                for i, ch in enumerate(badge):
                    paint(start + i, middle, border_of[state], ch)
        self._strips = [_strip(row, row_styles) for row, row_styles in zip(chars, styles)]
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.size.width
        base = self.rich_style
        if index >= len(self._strips):
            return Strip.blank(width, base)
        line = self._strips[index]
        if self._margin:
            line = Strip.join([Strip.blank(self._margin), line])
        return line.crop_extend(scroll_x, scroll_x + width, base).apply_style(base)

    @property
    def _margin(self) -> int:
        """Columns left of a drawing narrower than the view, to centre it."""
        if not self._rows:
            return 1
        return max(0, (self.scrollable_content_region.width - self.virtual_size.width) // 2)


def _char_role(ch: str) -> str | None:
    """What a character of the drawing is, for its colour (None: text, a box's border or a space)."""
    if ch in "▼▲":
        return "arrow"
    if ch == "↺":
        return "loop"
    if ch in "┆╌":
        return "dashed"
    if ch in "│─╭╮╰╯├┤┬┴┼":
        return "line"
    return None


def _strip(chars: list[str], styles: list[Style | None]) -> Strip:
    segments: list[Segment] = []
    run, style = "", None
    for ch, st in zip(chars, styles):
        if st != style and run:
            segments.append(Segment(run, style))
            run = ""
        run += ch
        style = st
    if run:
        segments.append(Segment(run, style))
    return Strip(segments, len(chars))
