"""The console on corpus graphs (tests/corpus/), served from their own project dir and driven by a plain
langgraph-sdk client: the Threads screen lists each thread with the status the server gives it, and the checkpoint
tree names the nodes LangGraph's own history says wrote each step."""

from __future__ import annotations

import asyncio

import pytest

from corpus_client import CORPUS, SCENARIOS, SERVER_TO_LGCONSOLE, drive_phase, expected_steps, new_threads, \
    oracle_history
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.screens.threads import ThreadsScreen
from lgconsole.widgets.checkpoint_tree_view import CheckpointTreeView
from pilotwait import pilot_wait
from stackutil import own_stack

pytestmark = pytest.mark.integration

# graph -> how many of its runs to make: a static breakpoint left waiting, an errored parallel step, two clean runs,
# and a supervisor whose agents run as subgraphs
RUNS = {"breakpoints": 1, "parallel_error": 1, "fanout": 2, "supervisor": 2}


@pytest.fixture(scope="module")
def served(request):
    """A corpus project's stack (request.param), with each of its graphs' threads driven; yields
    (config, {graph: (thread, server status, expected steps)})."""
    project = request.param
    with own_stack(f'[project]\npath = "{CORPUS / project}"\n', timeout=900) as config:
        from lgconsole.console.sources.urls import langgraph_url

        url = langgraph_url(config)
        scenarios = [SCENARIOS[g] for g in RUNS if SCENARIOS[g].project == project]
        thread_ids = asyncio.run(new_threads(url, scenarios))
        statuses = {}
        for turn in range(max(RUNS[s.graph_id] for s in scenarios)):
            due = [s for s in scenarios if turn < RUNS[s.graph_id]]
            for graph_id, (_, thread_status) in asyncio.run(drive_phase(url, due, thread_ids, turn)).items():
                statuses[graph_id] = thread_status
        found = {}
        for graph_id, thread_id in thread_ids.items():
            steps = expected_steps(asyncio.run(oracle_history(url, thread_id)))
            found[graph_id] = (thread_id, statuses[graph_id], steps)
        yield config, found


def _tree_labels(tree: CheckpointTreeView) -> list[str]:
    out, stack = [], list(tree.root.children)
    while stack:
        node = stack.pop(0)
        out.append(node.label.plain)
        stack.extend(node.children)
    return out


@pytest.mark.parametrize(("served", "graph_id"), [(SCENARIOS[g].project, g) for g in RUNS],
                         indirect=["served"])
async def test_threads_screen_shows_the_status_and_the_nodes_of_a_corpus_thread(served, graph_id):
    config, found = served
    thread_id, server_status, steps = found[graph_id]
    want = SERVER_TO_LGCONSOLE[server_status]
    app = LgConsoleApp(config, triage_first=False)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = ThreadsScreen()
        await app.push_screen(screen)
        await pilot.press("slash", *thread_id, "enter")
        await pilot_wait(pilot, lambda: screen.view.focus.thread_id == thread_id and screen.view.focus.tree is not None,
                         what="the thread's checkpoint tree")
        status_cell = screen.table.get_cell(thread_id, "status").plain
        assert status_cell.split()[-1] == want, f"table says {status_cell!r}, the server says {server_status}"
        tree = screen.query_one(CheckpointTreeView)
        await pilot_wait(pilot, lambda: len(_tree_labels(tree)) >= len(steps), what="the tree's items")
        text = "\n".join(_tree_labels(tree))
        nodes = {w for _, source, writers in steps if source == "loop" for w in writers if w != "__start__"}
        missing = sorted(n for n in nodes if n not in text)
        assert not missing, f"the tree does not name {missing}:\n{text}"


@pytest.mark.parametrize("served", ["core"], indirect=True)
async def test_attached_to_a_chat_graphs_run_the_live_screen_goes_on_with_the_conversation(served):
    """A client's run of a MessagesState graph, attached from the Live screen: chat mode follows the attach (the
    graph's input is a message list), and a message typed there continues the same thread, as LangGraph's
    get_state shows."""
    from lgconsole.stack.server.credentials import sdk_client

    from corpus_client import user
    from lgconsole.console.screens.live import LiveScreen
    from lgconsole.console.sources.urls import langgraph_url

    config, _ = served
    client = sdk_client(langgraph_url(config))
    thread_id = (await client.threads.create(metadata={"graph_id": "chat"}))["thread_id"]
    await client.runs.create(thread_id, "chat", input=user("hello"), after_seconds=12)  # pending: to attach to
    app = LgConsoleApp(config, triage_first=False)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.press("3")
        await pilot_wait(pilot, lambda: isinstance(app.screen, LiveScreen), what="the Live screen")
        screen = app.screen
        await pilot.press("a", *thread_id, "enter")
        await pilot_wait(pilot, lambda: screen.follower is not None and screen.follower.outcome is not None,
                         timeout=30, what="the attached run's end")
        assert screen.chat_key == "messages" and screen.assistant == "chat"
        assert screen.query_one("#chat-box").display
        await pilot.press("m", *"how are you", "enter")

        async def turns() -> int:
            return sum(1 for m in (await client.threads.get_state(thread_id))["values"]["messages"]
                       if m["type"] == "human")

        for _ in range(150):
            if await turns() == 2 and screen.follower.outcome is not None:
                break
            await pilot.pause(0.2)
        state = (await client.threads.get_state(thread_id))["values"]["messages"]
        assert [m["content"] for m in state] == ["hello", "turn 1: you said 'hello'", "how are you",
                                                 "turn 2: you said 'how are you'"]
        assert "turn 2: you said 'how are you'" in str(screen.query_one("#chat-log").render())
