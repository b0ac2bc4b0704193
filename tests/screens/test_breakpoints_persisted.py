"""Breakpoints outlive the console: picked from the keyboard on the Graph screen, they are in the state dir's
breakpoints.json (0600) and the next console starts with them; a file that cannot be read is said in one line and
left as it is; a node inside a subgraph cannot have one (the server's run breakpoints name root-graph nodes)."""

from __future__ import annotations

import json
import stat

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.breakpoints import Breakpoints
from lgconsole.console.screens.graph import GraphScreen
from pilotwait import pilot_wait, settled
from test_graph_screen import DEMO_ID, recorded as recorded_graphs


def _app(state_dir) -> LgConsoleApp:
    return LgConsoleApp(Config(state_dir=str(state_dir)), source=FixedStack(fixed_stack_snapshot(True)), poll=False)


async def _graph(app, pilot, xray: bool = False) -> GraphScreen:
    graph = GraphScreen(source=recorded_graphs())
    await app.push_screen(graph)
    await settled(pilot)
    if not xray:
        await pilot.press("x")  # xray off: the review subgraph is one node
        await settled(pilot)
    return graph


async def _select(pilot, graph: GraphScreen, node: str) -> None:
    for _ in range(20):
        if graph.view.selected == node:
            return
        await pilot.press("tab")
    raise AssertionError(f"{node} never selected")


async def test_breakpoints_picked_are_there_in_the_next_console(tmp_path):
    first = _app(tmp_path)
    async with first.run_test(size=(120, 40)) as pilot:
        graph = await _graph(first, pilot)
        await _select(pilot, graph, "approval")
        await pilot.press("b")
        await _select(pilot, graph, "join")
        await pilot.press("B")
        await pilot.pause()
    saved = tmp_path / "breakpoints.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["breakpoints"][DEMO_ID] == {"before": ["approval"], "after": ["join"]}

    second = _app(tmp_path)
    assert second.breakpoints.get(DEMO_ID) == Breakpoints(("approval",), ("join",))
    async with second.run_test(size=(120, 40)) as pilot:
        graph = await _graph(second, pilot)
        assert "◆ before approval; after join" in str(graph.query_one("#graph-status").render())
        await _select(pilot, graph, "approval")
        await pilot.press("b")  # cleared, and saved so
        await pilot.pause()
    assert json.loads(saved.read_text())["breakpoints"][DEMO_ID] == {"before": [], "after": ["join"]}


async def test_an_unreadable_file_is_one_line_and_left_as_it_is(tmp_path):
    saved = tmp_path / "breakpoints.json"
    saved.write_text('{"breakpoints": {"demo": {"before": "approval"}}}')
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        graph = await _graph(app, pilot)
        await pilot_wait(pilot, lambda: any("breakpoints.json" in n.message for n in app._notifications), timeout=5)
        said = next(n.message for n in app._notifications if "breakpoints.json" in n.message)
        assert "'demo'.before is not a list of node names" in said and "session only" in said
        assert "\n" not in said.strip()
        await _select(pilot, graph, "approval")
        await pilot.press("b")
        await pilot.pause()
        assert app.breakpoints.get(DEMO_ID) == Breakpoints(("approval",))  # kept for the session
    assert saved.read_text() == '{"breakpoints": {"demo": {"before": "approval"}}}'  # nothing lost


async def test_no_state_dir_keeps_them_for_the_session_and_says_so(tmp_path):
    app = _app(tmp_path / "never-made")
    async with app.run_test(size=(120, 40)) as pilot:
        graph = await _graph(app, pilot)
        await _select(pilot, graph, "approval")
        await pilot.press("b")
        await pilot.pause()
        assert app.breakpoints.get(DEMO_ID) == Breakpoints(("approval",))
        assert any("kept for this session only" in n.message and "does not exist" in n.message
                   for n in app._notifications)
    assert not (tmp_path / "never-made").exists()


async def test_a_node_inside_a_subgraph_stops_its_subgraph_node_and_says_why(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        graph = await _graph(app, pilot, xray=True)
        inner = next(n for n in graph.drawing.boxes if n.startswith("review:"))
        await _select(pilot, graph, inner)
        assert "breakpoints here: unavailable" in str(graph.query_one("#graph-node").render())
        await pilot.press("b")
        await pilot.pause()
        assert app.breakpoints.get(DEMO_ID) == Breakpoints(("review",))
        assert any("inside subgraph review is not available" in n.message for n in app._notifications)
