"""The Graph screen's reads on a real LangGraph server: topology (plain and xray), schemas, the errors a missing
assistant or a down server give, the screen drawing it, and `lgconsole graph` as text and JSON."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import socket
import time
from pathlib import Path

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.cli.graph import add_graph_command, cmd_graph
from lgconsole.console.screens.graph import GraphScreen
from lgconsole.console.sources.graph import LiveGraphSource
from lgconsole.stack.server.assistants import (AssistantNotFound, LangGraphUnavailable, get_graph, get_schemas,
                                               list_assistants)
from pilotwait import pilot_wait

FIXTURES = Path(__file__).parents[1] / "fixtures" / "graph"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
async def test_real_server_topology_schemas_and_screen(live_stack):
    url = await LiveGraphSource(live_stack).url()
    assistants = await list_assistants(url)
    demo = next(a for a in assistants if a.graph_id == "demo")

    plain = await get_graph(url, demo.assistant_id)
    ids = {n["id"] for n in plain["nodes"]}
    assert {"supervisor", "researcher", "coder", "reviewer", "join", "review", "approval", "finalize"} <= ids
    conditional = {(e["source"], e["target"]) for e in plain["edges"] if e.get("conditional")}
    assert {("supervisor", w) for w in ("researcher", "coder", "reviewer")} <= conditional

    xray = await get_graph(url, "demo", xray=True)  # the graph id works as an assistant id
    ids = {n["id"] for n in xray["nodes"]}
    assert {"review:critique", "review:score"} <= ids and "review" not in ids
    assert ("review:critique", "review:score") in {(e["source"], e["target"]) for e in xray["edges"]}
    assert xray == _load("demo_xray.json"), "the recorded fixture is what the server says"

    schemas = await get_schemas(url, demo.assistant_id)
    assert schemas.graph_id == "demo" and "task" in schemas.input_schema["properties"]

    with pytest.raises(AssistantNotFound):
        await get_graph(url, "no-such-graph")  # not a UUID: the server answers 422
    with pytest.raises(AssistantNotFound):
        await get_graph(url, "00000000-0000-4000-8000-000000000000")  # 404
    t0 = time.monotonic()
    with pytest.raises(LangGraphUnavailable, match="is not answering"):
        await list_assistants(f"http://127.0.0.1:{_closed_port()}")
    assert time.monotonic() - t0 < 3, "a server that is down is reported at once, not after retries"

    # the screen, reading the real server through the URL of the stack's config
    app = LgConsoleApp(live_stack, triage_first=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GraphScreen()
        await app.push_screen(screen)
        await pilot_wait(pilot, lambda: screen.drawing is not None or screen.error, timeout=10,
                         what="the graph drawn (or an error)")
        assert screen.error is None
        assert {"supervisor", "review:critique", "review:score"} <= set(screen.drawing.boxes)
        await pilot.press("x")
        await pilot_wait(pilot, lambda: "review" in screen.drawing.boxes, timeout=10,
                         what="the plain graph after x (its review subgraph one box)")
        assert "review" in screen.drawing.boxes

    # the CLI: text drawing and JSON
    parser = argparse.ArgumentParser()
    add_graph_command(parser.add_subparsers(dest="command"))
    out = io.StringIO()
    assert await asyncio.to_thread(cmd_graph, live_stack, parser.parse_args(["graph", "--xray"]), out) == 0
    text = out.getvalue()
    assert "demo: 9 nodes" in text and "critique" in text and "┌─ review" in text
    out = io.StringIO()
    assert await asyncio.to_thread(cmd_graph, live_stack, parser.parse_args(["graph", "demo", "--json"]), out) == 0
    assert {n["id"] for n in json.loads(out.getvalue())["nodes"]} >= {"supervisor", "review"}
