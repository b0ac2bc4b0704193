"""The Graph screen: an assistant's topology as boxes and arrows, its schemas, and per-node run state.

Data comes from a `GraphSource` in workers (the first frame says "connecting…"); the drawing is laid out by
`graph_layout` off the event loop. The run the Live screen follows arrives as `FollowedRunChanged` messages (the app
forwards them) and lights nodes up through `set_node_stats`.
"""

from __future__ import annotations

import asyncio

from rich.console import Group
from rich.json import JSON
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Select, Static

from lgconsole.stack.server.assistants import Assistant, AssistantSchemas
from lgconsole.stack.errors import StackError
from lgconsole.widgets.graph_view import STATE_ICONS, GraphView, NodeStats
from lgconsole.widgets.palette import Palette

from lgconsole.console.model.breakpoints import BEFORE, Breakpoints, book_of
from lgconsole.console.model.graph_layout import END, START, GraphDrawing, Topology, draw_graph, node_label
from lgconsole.console.sources.graph import GraphSource, LiveGraphSource
from lgconsole.console.model.text import format_step_duration
from lgconsole.console.rows.shown import shown as shown_text, shown_data
from lgconsole.console.screens.base import ConsoleScreen
from lgconsole.console.screens.run_messages import FollowedRunChanged

BADGE_WIDTH = 8  # "✓12 3.4s" inside each box
NARROW = 100  # below this many columns the side panel starts hidden


# a node's run state -> (palette status, attributes) in the side panel
STATE_STYLES: dict[str, tuple[str, ...]] = {"running": ("running", "bold"), "done": ("done",),
                                            "error": ("error", "bold")}


class GraphScreen(ConsoleScreen):
    """An assistant's drawing, its status line and a side panel with the selected node and the schemas (styled in
    screens/graph.tcss)."""

    BINDINGS = [
        Binding("x", "toggle_xray", "X-ray"),
        Binding("r", "reload", "Reload"),
        Binding("a", "pick_assistant", "Assistant"),
        Binding("i", "toggle_side", "Info"),
        Binding("b", "toggle_break('before')", "Break before"),
        Binding("B", "toggle_break('after')", "Break after", show=False),
        Binding("A", "assistants", "Assistants"),
    ]

    def __init__(self, source: GraphSource | None = None, assistant: str | None = None, xray: bool = True):
        super().__init__()
        self._source = source
        self.wanted_assistant = assistant
        self.xray = xray
        self.assistants: list[Assistant] = []
        self.assistant: Assistant | None = None
        self.topology: dict | None = None
        self.drawing: GraphDrawing | None = None
        self.schemas: AssistantSchemas | None = None
        self.stats: dict[str, NodeStats] = {}
        self.error: str | None = None
        self._graphs: dict[tuple[str, bool], tuple[dict, GraphDrawing]] = {}
        self._schemas: dict[str, AssistantSchemas] = {}
        self._side_shown: bool | None = None  # None: by terminal width
        self._followed = None  # the LiveRun the Live screen follows
        self._live_version = -1  # its version the nodes show

    @property
    def source(self) -> GraphSource:
        if self._source is None:
            self._source = LiveGraphSource(self.app.config)
        return self._source

    def compose_body(self) -> ComposeResult:
        with Vertical(id="graph-body"):
            with Horizontal(id="graph-bar"):
                yield Select([], prompt="assistant", allow_blank=True, compact=True, id="graph-assistant")
                yield Static("", id="graph-status")
            yield Static("connecting to the LangGraph server…", id="graph-notice", classes="-connecting")
            with Horizontal(id="graph-main"):
                yield GraphView(id="graph-view")
                with VerticalScroll(id="graph-side"):
                    yield Static(id="graph-node")
                    yield Static(id="graph-schemas")

    @property
    def view(self) -> GraphView:
        return self.query_one(GraphView)

    def on_mount(self) -> None:  # (ConsoleScreen.on_mount is called by Textual too: handlers run along the MRO)
        book = book_of(self.app)
        if book.load_error and not book.load_error_told:  # the saved breakpoints could not be read: said once
            book.load_error_told = True
            self.notify(book.load_error, severity="error", timeout=10)
        self.view.focus()
        self._show_node_info()
        self.load(reload_assistants=True)
        self._followed = getattr(self.app, "latest_live", None)  # a run followed before this screen existed
        self._sync_live_run()

    def on_followed_run_changed(self, message: FollowedRunChanged) -> None:
        message.stop()
        self._followed = message.live
        self._sync_live_run()

    def on_screen_resume(self) -> None:
        self._sync_live_run()

    def _sync_live_run(self) -> None:
        """Light up the nodes of the run the Live screen follows (only when shown: a hidden screen catches up when
        it is shown again)."""
        live = self._followed
        if live is None or live.version == self._live_version or not self.is_current:
            return
        self._live_version = live.version
        states = {"interrupted": "running", "cancelled": "idle"}
        self.set_node_stats({node: NodeStats(states.get(st["state"], st["state"]), st["count"], st["last_duration_s"],
                                             st["error"]) for node, st in live.node_stats().items()})

    def on_resize(self, event) -> None:
        self._apply_side()

    # --- loading ---------------------------------------------------------------------------------------------
    @work(exclusive=True, group="graph-load", exit_on_error=False)
    async def load(self, reload_assistants: bool = False) -> None:
        notice = self.query_one("#graph-notice", Static)
        try:
            url = await self.source.url()
            if reload_assistants or not self.assistants:
                notice.update(Text(f"connecting to the LangGraph server at {shown_text(url)}…"))
                self._notice("-connecting")
                self.assistants = await self.source.assistants()
                self._fill_assistants()
            if self.assistant is None:
                self._notice("-down")
                notice.update(Text.assemble(("no assistants", "bold"),
                                            f" on the LangGraph server at {shown_text(url)}: "
                                            "its langgraph.json names no graph"))
                return
            assistant = self.assistant
            key = (assistant.assistant_id, self.xray)
            if key not in self._graphs:
                topology = await self.source.graph(assistant.assistant_id, self.xray)
                drawing = await asyncio.to_thread(draw_graph, topology, badge_width=BADGE_WIDTH)
                self._graphs[key] = (topology, drawing)
            if assistant.assistant_id not in self._schemas:
                self._schemas[assistant.assistant_id] = await self.source.schemas(assistant.assistant_id)
        except StackError as exc:
            self._show_down(str(exc))
            return
        self.error = None
        self._notice(None)
        self.topology, self.drawing = self._graphs[key]
        self.schemas = self._schemas[assistant.assistant_id]
        self._show_drawing()

    def _fill_assistants(self) -> None:
        select = self.query_one("#graph-assistant", Select)
        wanted = self.wanted_assistant
        chosen = next((a for a in self.assistants if wanted in (a.assistant_id, a.graph_id, a.name)), None) \
            if wanted else None
        if self.assistant is not None and chosen is None:
            chosen = next((a for a in self.assistants if a.assistant_id == self.assistant.assistant_id), None)
        self.assistant = chosen or (self.assistants[0] if self.assistants else None)
        with self.prevent(Select.Changed):
            select.set_options([(a.name if a.name == a.graph_id else f"{a.name} ({a.graph_id})", a.assistant_id)
                                for a in self.assistants])
            if self.assistant is not None:
                select.value = self.assistant.assistant_id

    def _notice(self, kind: str | None) -> None:
        notice = self.query_one("#graph-notice", Static)
        notice.set_class(kind == "-connecting", "-connecting")
        notice.set_class(kind == "-down", "-down")

    def _show_down(self, message: str) -> None:
        self.error = message
        self.log.error(f"graph: {message}")
        notice = self.query_one("#graph-notice", Static)
        notice.border_title = "LangGraph server unavailable"
        self._paint_down()
        self._notice("-down")
        if self.drawing is None:
            self.view.show_message("no graph to show while the server is down")

    def _paint_down(self) -> None:
        """The notice and the status line saying the server is down, in the theme's error colour."""
        error = Palette.of(self).style("error", "bold")
        self.query_one("#graph-notice", Static).update(
            Text.assemble(("✖ ", error), (shown_text(self.error or "", multiline=True), ""), "\n",
                          ("press r to retry", "dim")))
        self.query_one("#graph-status", Static).update(Text("server down", style=error))

    def restyle(self) -> None:
        """A theme switch: the side panel's and the server-down lines' colours (the drawing redraws itself)."""
        if self.error is not None:
            self._paint_down()
        self._show_node_info()

    def _show_drawing(self) -> None:
        drawing = self.drawing
        if drawing.rows:
            self.view.show_drawing(drawing.rows, drawing.boxes, drawing.groups, drawing.layout.badge_width)
        else:
            self.view.show_message(shown_text(f"the graph {self.assistant.graph_id!r} has no nodes"))
        self.view.show_stats(self.stats)
        self.view.show_breakpoints(self.breakpoints.marks())
        topo = Topology.from_json(self.topology)
        nodes = topo.real_nodes
        conditional = sum(e.conditional for e in topo.edges)
        loops = sum(r.back or r.self_loop for r in drawing.layout.edges)
        status = Text()
        status.append(f"graph {shown_text(self.assistant.graph_id)}", style="bold")
        if self.breakpoints:
            status.append(f" · ◆ {shown_text(self.breakpoints.text())}", style=Palette.of(self).style("waiting"))
        status.append(f" · xray {'on' if self.xray else 'off'}")
        if drawing.groups:
            status.append(f" ({shown_text(', '.join(drawing.groups))})")
        status.append(f" · {len(nodes)} nodes · {len(topo.edges)} edges, {conditional} conditional")
        if loops:
            status.append(f", {loops} loop{'s' if loops != 1 else ''}")
        self.query_one("#graph-status", Static).update(status)
        self._show_node_info()
        self._show_schemas()

    # --- side panel ------------------------------------------------------------------------------------------
    def _apply_side(self) -> None:
        side = self.query_one("#graph-side")
        shown = self._side_shown if self._side_shown is not None else self.size.width >= NARROW
        side.set_class(not shown, "-hidden")

    def _show_node_info(self) -> None:
        panel = self.query_one("#graph-node", Static)
        node = self.view.selected
        if node is None or self.topology is None:
            panel.update(Text("tab: select a node", style="dim"))
            return
        topo = Topology.from_json(self.topology)
        text = Text()
        text.append(node_label(node, grouped=False), style="bold")
        if ":" in node and node not in (START, END):
            text.append(f"\nin subgraph {shown_text(node.rsplit(':', 1)[0])}", style="dim")
            text.append(f"\nbreakpoints here: unavailable (runs stop at root-graph nodes only; b / B stop at "
                        f"{shown_text(node.split(':')[0])})", style="dim")
        where = self.breakpoints.marks().get(node.split(":")[0])
        if where:
            text.append(f"\n◆ breakpoint {'before and after' if where == 'both' else where}"
                        + (f" {shown_text(node.split(':')[0])}" if ":" in node else ""),
                        style=Palette.of(self).style("waiting"))
        stats = self.stats.get(node)
        if stats is not None:
            palette = Palette.of(self)
            status, *attributes = STATE_STYLES.get(stats.state, ("",))
            style = palette.style(status, *attributes)
            text.append(f"\n{STATE_ICONS.get(stats.state, '') or '○'} {stats.state}", style=style)
            text.append(f" · ran {stats.count}×")
            if stats.last_duration_s is not None:
                text.append(f" · last took {format_step_duration(stats.last_duration_s)}")
            if stats.error:
                text.append(f"\n{shown_text(stats.error, multiline=True)}", style=palette.style("error"))
        for title, edges, other in (("from", [e for e in topo.edges if e.target == node], "source"),
                                    ("to", [e for e in topo.edges if e.source == node], "target")):
            for n, edge in enumerate(edges):
                text.append(f"\n{title if not n else '':<5} ", style="dim")
                text.append(node_label(getattr(edge, other), grouped=False))
                if edge.conditional:
                    text.append("  conditional", style="dim italic")
        panel.update(text)

    def _show_schemas(self) -> None:
        panel = self.query_one("#graph-schemas", Static)
        assistant, schemas = self.assistant, self.schemas
        if assistant is None or schemas is None:
            panel.update("")
            return
        parts: list = []
        head = Text()
        head.append("assistant ", style="dim")
        head.append(shown_text(assistant.name), style="bold")
        if assistant.version is not None:
            head.append(f" v{assistant.version}", style="dim")
        head.append(f"\n{shown_text(assistant.assistant_id)}", style="dim")
        inputs = list((schemas.input_schema or {}).get("properties", {}))
        if inputs:
            head.append("\ninput ", style="dim")
            head.append(shown_text(", ".join(map(str, inputs))))
        parts.append(head)
        for title, schema in (("config schema", schemas.config_schema), ("context schema", schemas.context_schema)):
            parts.append(Text(f"\n{title}", style="bold"))
            if schema:
                parts.append(JSON.from_data(shown_data(_schema_outline(schema)), indent=1))
            else:
                parts.append(Text("none", style="dim"))
        panel.update(Group(*parts))

    # --- events and actions ----------------------------------------------------------------------------------
    def on_graph_view_node_selected(self, event: GraphView.NodeSelected) -> None:
        self._show_node_info()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "graph-assistant" or event.value is Select.BLANK:
            return
        chosen = next((a for a in self.assistants if a.assistant_id == event.value), None)
        if chosen is not None and chosen != self.assistant:
            self.assistant = chosen
            self.wanted_assistant = chosen.assistant_id
            self.load()
            self.view.focus()

    def action_toggle_xray(self) -> None:
        self.xray = not self.xray
        self.load()

    def action_reload(self) -> None:
        self._graphs.clear()
        self._schemas.clear()
        self.load(reload_assistants=True)

    def action_pick_assistant(self) -> None:
        select = self.query_one("#graph-assistant", Select)
        select.focus()
        select.expanded = True

    def action_toggle_side(self) -> None:
        self._side_shown = not (self._side_shown if self._side_shown is not None else self.size.width >= NARROW)
        self._apply_side()

    # --- breakpoints and assistants ---------------------------------------------------------------------------
    @property
    def breakpoints(self) -> Breakpoints:
        """The breakpoints picked for the assistant shown (kept on the app for the session)."""
        if self.assistant is None:
            return Breakpoints()
        return book_of(self.app).get(self.assistant.assistant_id)

    def action_toggle_break(self, where: str) -> None:
        """Set or clear a breakpoint before or after the selected node. A node inside a subgraph (xray) cannot have
        one: a run's interrupt_before/after name root-graph nodes only (LangGraph checks them in the root graph's
        loop; a subgraph's own are fixed when its code compiles it), so the breakpoint goes on its subgraph node."""
        node = self.view.selected
        if self.assistant is None or node is None or node in (START, END):
            self.notify("select a node first (tab)", severity="warning")
            return
        root = node.split(":")[0]
        book = book_of(self.app)
        picked = self.breakpoints.toggle(root, where)
        book.put(self.assistant.assistant_id, picked)
        if self.assistant.system:  # the graph's own assistant: a run of the graph id stops there too
            book.put(self.assistant.graph_id, picked)
        now = root in (picked.before if where == BEFORE else picked.after)
        self.notify(f"breakpoint {where} {root} {'set' if now else 'cleared'}"
                    + (f" (a breakpoint inside subgraph {root} is not available: the server's "
                       f"interrupt_{where} names root-graph nodes only, so it stops {where} the whole of {root})"
                       if root != node else ""))
        if book.save_note:
            self.notify(book.save_note, severity="warning")
        if self.drawing is not None:
            self._show_drawing()

    def action_assistants(self) -> None:
        from lgconsole.console.screens.assistants import open_assistants

        def closed(chosen: dict) -> None:
            self.show_assistant(chosen.get("show") or chosen.get("run") or self.wanted_assistant)

        open_assistants(self, self.assistant.graph_id if self.assistant is not None else None, closed)

    def show_assistant(self, assistant: str | None) -> None:
        """Draw this assistant's graph, the server's list read again (new, changed or deleted assistants show)."""
        self.wanted_assistant = assistant
        self.action_reload()

    # --- for the Live screen ---------------------------------------------------------------------------------
    def set_node_stats(self, stats: dict[str, NodeStats]) -> None:
        """Light nodes up: running highlighted, errors in the error colour, run counts and last durations in the
        boxes. Keys are node ids as drawn (`review:critique` under xray); a subgraph's own name colours its box."""
        self.stats = dict(stats)
        self.view.show_stats(self.stats)
        self._show_node_info()


def _schema_outline(schema: dict) -> dict:
    """A schema without its long descriptions and shared definitions: what a person reads in a side panel."""
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("$defs", "definitions", "description"):
            continue
        if isinstance(value, dict):
            out[key] = _schema_outline(value)
        elif isinstance(value, list):
            out[key] = [_schema_outline(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out
