"""Breakpoints from the keyboard (the Graph screen's b / B, the New-run form's field, the Live screen's stop with r
to continue) on recorded topologies and runs, and the Assistants view on fixed assistants: snapshots of each new
view, and Pilot tests of their keys. On a real stack: tests/integration/test_breakpoints_assistants_real_stack.py."""

from __future__ import annotations

from assistantfixtures import FixedAssistants
from fakes import FixedCatalog, FixedStack, RecordedSession, ScriptedFollower, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.model.breakpoints import Breakpoints
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.screens.assistants import AssistantsScreen
from lgconsole.console.screens.graph import GraphScreen
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.sources.run_follower import RunFollower
from lgconsole.stack.server.runs import RunOutcome
from livefixtures import recorded
from pilotwait import pilot_wait, settled
from test_graph_screen import DEMO_ID, recorded as recorded_graphs

BEFORE_APPROVAL = 111  # demo_interrupt's events up to the approval node's start: a run stopped before it
THREAD = "01a20c2c-3fd8-716a-834d-e034487e38c4"


def _app(tmp_path=None) -> LgConsoleApp:
    return LgConsoleApp(Config(state_dir=str(tmp_path or "/srv/lgc")), source=FixedStack(fixed_stack_snapshot(True)),
                        poll=False)


class StoppedSession(RecordedSession):
    """A recorded run that ends stopped at a breakpoint: its thread waits with no interrupt, `next` due."""

    def __init__(self, events, next_nodes, **kw):
        super().__init__(events, status="success", thread_status="interrupted", interrupts=[], **kw)
        self.next_nodes = next_nodes

    async def outcome(self):
        return RunOutcome(self.run_id, self.thread_id, "success", "interrupted", None, [], list(self.next_nodes),
                          "1f0c9a6e-0000-6000-8000-000000000042")


def _stopped_live() -> LiveRun:
    live = LiveRun()
    for event in recorded("demo_interrupt")[:BEFORE_APPROVAL]:
        live.feed(event)
    live.finish("waiting", interrupts=[])
    live.outcome = RunOutcome("run-1", THREAD, "success", "interrupted", None, [], ["approval"], "cp-1")
    return live


# --- snapshots -------------------------------------------------------------------------------------------------------

def test_graph_with_breakpoints_before_and_after(snap_compare):
    """◆ on the top border of a node stopped before, on the bottom border of one stopped after; the status line and
    the side panel say them."""
    async def run_before(pilot) -> None:
        screen = GraphScreen(source=recorded_graphs())
        await pilot.app.push_screen(screen)
        await settled(pilot)
        screen.view.select("join")
        await pilot.press("B")
        screen.view.select("approval")
        await pilot.press("b")
        await settled(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=(120, 40), run_before=run_before)


def test_live_screen_stopped_at_a_breakpoint(snap_compare):
    async def run_before(pilot) -> None:
        screen = LiveScreen(_stopped_live(), assistant="demo")
        screen.thread_id = THREAD
        screen.run_breakpoints = Breakpoints(("approval",))
        await pilot.app.push_screen(screen)
        await settled(pilot)

    assert snap_compare(_app(), terminal_size=(130, 36), run_before=run_before)


def test_assistants_view_with_versions(snap_compare):
    async def run_before(pilot) -> None:
        screen = AssistantsScreen(FixedAssistants(), graph="report")
        await pilot.app.push_screen(screen)
        await pilot_wait(pilot, lambda: screen.versions, timeout=10, what="the versions")
        await pilot.press("down")  # from the graph's own assistant to `tight`
        await pilot_wait(pilot, lambda: len(screen.versions) == 3, timeout=10, what="tight's three versions")
        await settled(pilot)

    assert snap_compare(_app(), terminal_size=(120, 36), run_before=run_before)


def test_assistant_editor_refusing_a_config(snap_compare):
    async def run_before(pilot) -> None:
        screen = AssistantsScreen(FixedAssistants(), graph="report")
        await pilot.app.push_screen(screen)
        await pilot_wait(pilot, lambda: screen.versions, timeout=10, what="the versions")
        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(pilot.app.screen).__name__ == "AssistantEditScreen", timeout=5)
        editor = pilot.app.screen
        editor.query_one("#assistant-name").value = "fast"
        editor.query_one("#assistant-config").text = '{"recursion": 5}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: "not a run config key" in str(editor.query_one(".modal-error").render()),
                         timeout=5, what="the refusal")
        await settled(pilot)

    assert snap_compare(_app(), terminal_size=(110, 36), run_before=run_before)


# --- Pilot -----------------------------------------------------------------------------------------------------------

async def test_a_breakpoint_set_from_the_keyboard_stops_the_run_and_r_continues(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        graph = GraphScreen(source=recorded_graphs())
        await app.push_screen(graph)
        await settled(pilot)
        await pilot.press("x")  # xray off: the review subgraph is one node
        await settled(pilot)
        for _ in range(12):
            if graph.view.selected == "approval":
                break
            await pilot.press("tab")
        assert graph.view.selected == "approval"
        await pilot.press("b")
        await pilot.pause()
        assert app.breakpoints.get(DEMO_ID) == Breakpoints(("approval",))
        box = graph.drawing.boxes["approval"]
        assert "◆" in graph.view.render_line(box.y).text, "the mark on the node's top border"
        assert "◆ before approval" in str(graph.query_one("#graph-status").render())

        catalog = FixedCatalog(["demo"], tmp_path / "console-inputs.json")
        live = LiveScreen(catalog=catalog)
        await app.push_screen(live)
        live.follower = RunFollower(RecordedSession.url, on_change=lambda _live: live.schedule_paint())
        events = recorded("demo_interrupt")
        scripted = ScriptedFollower(live.follower, [
            StoppedSession(events[:BEFORE_APPROVAL], ["approval"], thread_id=THREAD)])
        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10)
        form = app.screen
        await pilot_wait(pilot, lambda: form.query_one("#new-run-breaks").value == "before approval", timeout=10,
                         what="the Graph screen's pick in the form")
        form.query_one("#new-run-input").text = '{"task": "stop before approval"}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: live.live.status == "waiting", timeout=10, what="the stop")
        assert scripted.started[0]["interrupt_before"] == ["approval"]
        panel = live.query_one("#breakpoint-panel")
        await pilot_wait(pilot, lambda: panel.display, timeout=5)
        assert "stopped at a breakpoint before approval" in str(panel.render())
        assert [s.node for s in live.live.steps][-1] == "review"

        continued = []

        async def proceed(thread_id=None, assistant=None, **kwargs):
            continued.append({"thread_id": thread_id, "assistant": assistant, **kwargs})
            session = RecordedSession(events[BEFORE_APPROVAL:], thread_status="interrupted", thread_id=THREAD)
            live.follower.adopt(session, new_run=False)
            return session

        live.follower.proceed = proceed
        await pilot.press("r")
        await pilot_wait(pilot, lambda: live.live.status == "waiting" and live.live.interrupts, timeout=10,
                         what="the run going on to the approval interrupt")
        assert continued == [{"thread_id": THREAD, "assistant": "demo", "interrupt_before": ["approval"]}]
        assert [s.node for s in live.live.steps][-2:] == ["review", "approval"], "the same timeline goes on"
        await pilot_wait(pilot, lambda: not panel.display, timeout=5)


async def test_a_breakpoint_at_a_node_the_graph_lacks_is_refused_in_one_line(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        catalog = FixedCatalog(["demo"], tmp_path / "console-inputs.json")
        live = LiveScreen(catalog=catalog)
        await app.push_screen(live)
        live.follower = RunFollower(RecordedSession.url, on_change=lambda _live: live.schedule_paint())
        scripted = ScriptedFollower(live.follower, [])
        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10)
        app.screen.query_one("#new-run-breaks").value = "before nope"
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: app.screen is live and live.live.status == "error", timeout=10)
        assert "no node 'nope' to break at" in live.live.error and "approval" in live.live.error
        assert not scripted.started, "nothing was started"

        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10)
        form = app.screen
        form.query_one("#new-run-breaks").value = "approval"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form and "should start with 'before' or 'after'" in str(
            form.query_one("#new-run-error").render())


async def test_assistants_view_creates_edits_activates_and_deletes_with_confirmation():
    admin = FixedAssistants()
    app = _app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = AssistantsScreen(admin, graph="report")
        await app.push_screen(screen)
        await pilot_wait(pilot, lambda: screen.versions, timeout=10)
        assert screen.selected.name == "report", "the graph's own assistant first"

        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "AssistantEditScreen", timeout=5)
        editor = app.screen
        editor.query_one("#assistant-name").value = "fast"
        editor.query_one("#assistant-config").text = '{"recursion_limit": '
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is editor and "config is not valid JSON" in str(editor.query_one(".modal-error").render())
        editor.query_one("#assistant-config").text = '{"recursion_limit": 3}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: app.screen is screen and screen.selected and screen.selected.name == "fast",
                         timeout=10, what="the new assistant highlighted")
        assert admin.calls[0] == ("create", "report", {"config": {"recursion_limit": 3}, "context": None,
                                                        "name": "fast", "description": None})

        await pilot.press("e")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "AssistantEditScreen", timeout=5)
        app.screen.query_one("#assistant-config").text = '{"recursion_limit": 9}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: app.screen is screen and screen.selected.version == 2, timeout=10)
        await pilot_wait(pilot, lambda: len(screen.versions) == 2, timeout=10)

        versions = screen.query_one("#assistant-versions")
        versions.focus()
        versions.highlighted = 1  # v1
        await pilot.press("v")
        await pilot_wait(pilot, lambda: screen.selected.version == 1, timeout=10, what="v1 active")
        assert admin.current[screen.selected.assistant_id].config == {"recursion_limit": 3}

        fast = screen.selected
        await pilot.press("ctrl+d")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", timeout=5)
        await pilot.press("n")
        await pilot_wait(pilot, lambda: app.screen is screen, timeout=5)
        assert fast.assistant_id in admin.current, "No keeps it"
        screen.query_one("#assistants-list").focus()
        await pilot.press("ctrl+d")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", timeout=5)
        await pilot.press("y")
        await pilot_wait(pilot, lambda: all(a.assistant_id != fast.assistant_id for a in screen.assistants),
                         timeout=10, what="the list without it")
        assert ("delete", fast.assistant_id) in admin.calls
