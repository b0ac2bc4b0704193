"""The Graph screen: snapshots with recorded topologies, Pilot tests of its keys, a followed run lighting it."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from rich.console import Console

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.graph import GraphScreen
from lgconsole.console.sources.graph import RecordedGraphSource
from lgconsole.stack.server.assistants import Assistant, AssistantSchemas, LangGraphUnavailable
from lgconsole.widgets.graph_view import GraphView, NodeStats
from pilotwait import pilot_wait

FIXTURES = Path(__file__).parents[1] / "fixtures" / "graph"
DEMO_ID = "fcb1d0d2-a4d7-5bb4-b10a-57c00fdcb684"  # the demo graph's system assistant, as the server named it
RAG_ID = "5d0e7c1a-0000-4000-8000-000000000020"

DEMO = Assistant(DEMO_ID, "demo", "demo", version=1, metadata={"created_by": "system"})
RAG = Assistant(RAG_ID, "rag", "rag", version=3)
DEMO_SCHEMAS = AssistantSchemas(
    "demo", input_schema={"properties": {"messages": {}, "task": {}, "fail_at": {}, "delay": {}}},
    config_schema={}, context_schema=None)
RAG_SCHEMAS = AssistantSchemas(
    "rag", input_schema={"properties": {"question": {"type": "string"}}},
    config_schema={"properties": {"thread_id": {"type": "string"}}, "type": "object"},
    context_schema={"title": "Context", "type": "object", "required": ["model"],
                    "properties": {"model": {"type": "string", "default": "llama-3.1-8b"},
                                   "max_retries": {"type": "integer", "default": 2},
                                   "temperature": {"type": "number", "description": "sampling temperature"}}})

DEMO_STATS = {
    "supervisor": NodeStats("done", 1, 0.02),
    "researcher": NodeStats("running", 2, 2.5),
    "coder": NodeStats("error", 1, 1.31, "RuntimeError: demo failure requested at coder"),
    "reviewer": NodeStats("done", 1, 2.04),
}
RAG_STATS = {
    "router": NodeStats("done", 3, 0.4),
    "retrieve": NodeStats("done", 5, 1.2),
    "rerank": NodeStats("done", 5, 0.08),
    "grade_docs": NodeStats("done", 5, 3.9),
    "rewrite_query": NodeStats("done", 2, 0.7),
    "generate": NodeStats("running", 3, 14.0),
    "tools:call": NodeStats("error", 1, 30.0, "TimeoutError: search API did not answer in 30 s"),
    "plan": NodeStats("done", 1, 0.0),
}


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def recorded(error=None) -> RecordedGraphSource:
    graphs = {(DEMO_ID, True): _load("demo_xray.json"), (DEMO_ID, False): _load("demo.json"),
              (RAG_ID, True): _load("synthetic20.json"), (RAG_ID, False): _load("synthetic20.json")}
    return RecordedGraphSource([DEMO, RAG], graphs, {DEMO_ID: DEMO_SCHEMAS, RAG_ID: RAG_SCHEMAS}, error=error,
                               url="http://127.0.0.1:52024")


def _app() -> LgConsoleApp:
    return LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def show(source, assistant=None, stats=None, keys=(), select=None):
    async def run_before(pilot) -> None:
        screen = GraphScreen(source=source, assistant=assistant)
        await pilot.app.push_screen(screen)
        await _settle(pilot)
        if stats:
            screen.set_node_stats(stats)
        if select:
            screen.view.select(select)
        if keys:
            await pilot.press(*keys)
        await _settle(pilot)

    return run_before


# --- snapshots -------------------------------------------------------------------------------------------------------

def test_demo_graph_mid_run(snap_compare):
    """The demo's real topology (xray): one worker running, one failed, counts and durations in the boxes."""
    assert snap_compare(_app(), terminal_size=(120, 40),
                        run_before=show(recorded(), stats=DEMO_STATS, keys=("tab", "tab", "tab", "tab")))


def test_demo_graph_at_80x24(snap_compare):
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=show(recorded(), stats=DEMO_STATS))


def test_twenty_node_graph_with_loops_and_subgraphs(snap_compare):
    assert snap_compare(_app(), terminal_size=(120, 40),
                        run_before=show(recorded(), assistant="rag", stats=RAG_STATS, select="tools:call"))


def test_twenty_node_graph_at_80x24_panned(snap_compare):
    assert snap_compare(_app(), terminal_size=(80, 24),
                        run_before=show(recorded(), assistant="rag", stats=RAG_STATS, keys=("j",) * 6 + ("l",) * 2))


def test_server_down(snap_compare):
    down = LangGraphUnavailable("the LangGraph server at http://127.0.0.1:52024 is not reachable (connection refused)")
    assert snap_compare(_app(), terminal_size=(100, 24), run_before=show(recorded(error=down)))


# --- Pilot -----------------------------------------------------------------------------------------------------------

async def test_x_toggles_xray_and_tab_selects_a_node():
    app = _app()
    source = recorded()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GraphScreen(source=source)
        await app.push_screen(screen)
        await _settle(pilot)
        view = screen.query_one(GraphView)
        assert "review:critique" in view.nodes and "review" not in view.nodes
        assert "review" in screen.drawing.groups

        await pilot.press("x")
        await _settle(pilot)
        assert screen.xray is False
        assert "review" in view.nodes and "review:critique" not in view.nodes
        assert "xray off" in str(screen.query_one("#graph-status").render())

        await pilot.press("tab", "tab")  # START, then supervisor
        await pilot.pause()
        assert view.selected == "supervisor"
        side = str(screen.query_one("#graph-node").render())
        assert "supervisor" in side and "researcher" in side and "conditional" in side

        await pilot.press("shift+tab")
        assert view.selected == "__start__"
        await pilot.press("x")
        await _settle(pilot)
        assert screen.xray is True and view.selected == "__start__", "the cursor stays on a node that is still there"
        assert source.calls.count(("graph", DEMO_ID, True)) == 1, "topologies are cached per assistant and xray"


async def test_node_stats_show_in_the_boxes_and_the_side_panel():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GraphScreen(source=recorded())
        await app.push_screen(screen)
        await _settle(pilot)
        screen.set_node_stats(DEMO_STATS)
        view = screen.query_one(GraphView)
        view.select("coder")
        await pilot.pause()
        for node, badge in (("coder", "✖1 1.3s"), ("researcher", "●2 2.5s"), ("supervisor", "✓1 20ms")):
            box = screen.drawing.boxes[node]
            assert badge in view.render_line(box.y + 1).text, node
        side = str(screen.query_one("#graph-node").render())
        assert "error" in side and "demo failure requested at coder" in side and "1.31s" in side


async def test_first_frame_says_connecting_then_the_graph_arrives():
    release = asyncio.Event()

    class SlowSource(RecordedGraphSource):
        async def assistants(self):
            await release.wait()
            return await super().assistants()

    base = recorded()
    source = SlowSource([DEMO], base._graphs, base._schemas, url="http://127.0.0.1:52024")
    app = _app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = GraphScreen(source=source)
        await app.push_screen(screen)
        await pilot.pause()
        notice = screen.query_one("#graph-notice")
        assert notice.has_class("-connecting")
        assert "connecting to the LangGraph server at http://127.0.0.1:52024" in str(notice.render())
        release.set()
        await _settle(pilot)
        assert not notice.has_class("-connecting") and screen.drawing is not None


async def test_server_down_then_r_retries():
    source = recorded(error=LangGraphUnavailable("the LangGraph server at http://127.0.0.1:52024 is not reachable"))
    app = _app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = GraphScreen(source=source)
        await app.push_screen(screen)
        await _settle(pilot)
        notice = screen.query_one("#graph-notice")
        assert notice.has_class("-down") and "not reachable" in str(notice.render())
        assert screen.drawing is None
        source.error = None  # the server comes back
        await pilot.press("r")
        await _settle(pilot)
        assert not notice.has_class("-down") and screen.drawing is not None
        assert screen.error is None


async def test_picking_another_assistant_loads_its_graph_and_schemas():
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GraphScreen(source=recorded())
        await app.push_screen(screen)
        await _settle(pilot)
        assert screen.assistant == DEMO
        screen.query_one("#graph-assistant").value = RAG_ID
        await _settle(pilot)
        assert screen.assistant == RAG and "tools:call" in screen.drawing.boxes
        console = Console(width=40, record=True, file=io.StringIO())
        console.print(screen.query_one("#graph-schemas").content)
        schemas = console.export_text()
        assert "context schema" in schemas and '"max_retries"' in schemas and '"llama-3.1-8b"' in schemas
        assert "sampling temperature" not in schemas, "descriptions are left out of the outline"


async def test_the_run_followed_on_the_live_screen_lights_the_graph():
    from lgconsole.console.model.live_run import LiveRun
    from lgconsole.console.screens.run_messages import FollowedRunChanged
    from livefixtures import recorded as recorded_stream
    from pilotwait import pilot_wait

    app = _app()
    live = LiveRun()
    for event in recorded_stream("demo_error"):
        live.feed(event)
    live.finish("error")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GraphScreen(source=recorded())
        await app.push_screen(screen)
        await _settle(pilot)
        app.post_message(FollowedRunChanged(live))  # what the Live screen posts; the app forwards it
        await pilot_wait(pilot, lambda: "coder" in screen.stats, timeout=5, what="the graph lit from the run")
        assert screen.stats["coder"].state == "error" and "demo failure requested at coder" in screen.stats["coder"].error
        assert screen.stats["supervisor"].state == "done" and screen.stats["supervisor"].count == 1
        assert screen.stats["researcher"].state == "idle"  # cancelled when coder failed


async def test_a_theme_switch_recolours_the_drawing_and_the_side_panel():
    """Node states, lines, arrows and the side panel take the theme's colours: another theme, the drawing and the
    panel are painted again in its colours."""
    from rich.style import Style
    from textual.color import Color

    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GraphScreen(source=recorded())
        await app.push_screen(screen)
        await _settle(pilot)
        screen.set_node_stats(DEMO_STATS)
        view = screen.view
        view.select("coder")
        await pilot.pause()

        def colour_at(x: int, y: int) -> str:
            column = 0
            for segment in view._strips[y]:
                if column + len(segment.text) > x:
                    return segment.style.color.get_truecolor().hex
                column += len(segment.text)
            raise AssertionError(f"nothing drawn at {x},{y}")

        def outside_boxes(x: int, y: int) -> bool:
            return not any(bx <= x < bx + bw and by <= y < by + bh
                           for bx, by, bw, bh in [*view._boxes.values(), *view._groups.values()])

        def cell_colour(role: str) -> str:  # the first cell of an edge drawn as `role` ("line", "arrow")
            return next(colour_at(x, y) for y, row in enumerate(view._line_roles) for x, drawn in enumerate(row)
                        if drawn == role and outside_boxes(x, y))

        def coder_border() -> str:
            x, y, _, _ = view._boxes["coder"]
            return colour_at(x, y)

        def side_error() -> str:
            text = screen.query_one("#graph-node").render()
            return next(Style.parse(str(span.style)).color.get_truecolor().hex for span in text.spans
                        if "✖ error" in text.plain[span.start:span.end])

        def colours() -> dict[str, str]:
            return {"error": coder_border(), "side": side_error(), "arrow": cell_colour("arrow"),
                    "line": cell_colour("line"), "dashed": cell_colour("dashed"),
                    "group": colour_at(*view._groups["review"][:2])}

        def theme(variable: str) -> str:
            value = Color.parse(app.theme_variables[variable])
            return (Color.parse(app.theme_variables["surface"]) + value).rich_color.get_truecolor().hex

        def expected() -> dict[str, str]:
            return {"error": theme("text-error"), "side": theme("text-error"), "arrow": theme("foreground"),
                    "line": theme("foreground-darken-2"), "dashed": theme("foreground-muted"),
                    "group": theme("primary")}

        assert colours() == expected()
        dark = colours()
        app.theme = "nord"
        await pilot_wait(pilot, lambda: colours()["line"] != dark["line"], timeout=10, what="nord's line colour")
        assert colours() == expected() and all(colours()[k] != dark[k] for k in dark)


async def test_node_count_leaves_out_every_start_and_end_as_the_cli_does():
    """A subgraph that fans out from its START keeps `inner:__start__`/`inner:__end__` under xray (LangGraph's own
    get_graph): the status line, the CLI's header and the JSON less its markers all count the 3 real nodes."""
    from graph_shapes import fan_out_subgraph_topology
    from lgconsole.console.cli.graph import graph_text
    from lgconsole.console.model.graph_layout import is_marker

    xray, plain = fan_out_subgraph_topology(xray=True), fan_out_subgraph_topology(xray=False)
    fan_id = "5d0e7c1a-0000-4000-8000-000000000031"
    fan = Assistant(fan_id, "fan", "fan", version=1)
    source = RecordedGraphSource([fan], {(fan_id, True): xray, (fan_id, False): plain},
                                 {fan_id: AssistantSchemas("fan", {}, {}, None)}, url="http://127.0.0.1:52024")
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GraphScreen(source=source)
        await app.push_screen(screen)
        await _settle(pilot)
        assert {"inner:__start__", "inner:__end__"} <= set(screen.drawing.boxes)
        assert " · 3 nodes · 7 edges" in str(screen.query_one("#graph-status").render())
        screen.view.select("inner:__start__")
        await pilot.pause()
        side = str(screen.query_one("#graph-node").render())
        assert side.startswith("inner:START") and "__start__" not in side
        await pilot.press("x")
        await _settle(pilot)
        assert " · 2 nodes · 3 edges" in str(screen.query_one("#graph-status").render())
    assert graph_text("fan", xray, True, "u").startswith("fan: 3 nodes, 7 edges")
    assert graph_text("fan", plain, False, "u").startswith("fan: 2 nodes, 3 edges")
    assert sum(not is_marker(n["id"]) for n in xray["nodes"]) == 3 and len(xray["nodes"]) == 7
