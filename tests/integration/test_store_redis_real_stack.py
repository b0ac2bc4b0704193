"""The LangGraph store and the stack's Redis on the real stack after the demo runs: what the demo graph wrote shows
(store items with timestamps, Redis tool-cache keys with their TTL) and deletes, through `lgconsole store`/`redis`
and the Store/Redis screen; an item deleted meanwhile, Redis down and a server without a store are one line each."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lgconsole.console.app import LgConsoleApp
from lgconsole.console.screens.store import StoreScreen
from lgconsole.console.sources.urls import langgraph_url
from lgconsole.stack.demo.runs import start_demo_runs
from pilotwait import pilot_wait, settled
from stackutil import lgconsole

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo_ran(live_stack):
    """The demo's three showcase runs (waiting, approved, failed) on the session's stack."""
    runs = start_demo_runs(langgraph_url(live_stack))
    return live_stack, {run.label: run.thread_id for run in runs}


def _cli(config, *args, **kw):
    return lgconsole(*args, config=config.state_path / "lgconsole.toml", **kw)


def _json_lines(result) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _one_line_error(result, *needles: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_the_demo_runs_memories_show_in_the_store_and_delete(demo_ran):
    config, threads = demo_ran
    tree = _json_lines(_cli(config, "store", "ls", "--json"))
    paths = {tuple(row["namespace"]) for row in tree}
    assert {("demo",), ("demo", "tasks"), ("demo", "memories")} <= paths
    # memories are kept per user: the server's authenticated user (the stack's token), as LangGraph passes it
    [user] = [p[2] for p in paths if len(p) == 3 and p[:2] == ("demo", "memories")]
    assert user == "lgconsole-token"

    items = _json_lines(_cli(config, "store", "search", "demo", "--json"))
    tasks = {i["value"]["task"]: i for i in items if i["namespace"] == ["demo", "tasks"]}
    assert {"Summarise last night's failed batch jobs", "Draft the on-call handover",
            "Refactor the retry loop"} <= set(tasks)
    assert all(i["created_at"] and i["updated_at"] for i in items)
    approved = threads["approved and finished"]
    memory = next(i for i in items if i["namespace"] == ["demo", "memories", user] and i["key"] == approved)
    assert memory["value"]["outcome"] == "approved" and memory["value"]["note"] == "ship it"

    found = _json_lines(_cli(config, "store", "search", "demo", "--query", "on-call handover", "--json"))
    assert {i["key"] for i in found} >= {approved} and all("handover" in json.dumps(i["value"]) for i in found)

    shown = _cli(config, "store", "get", f"demo/memories/{user}", approved)
    assert shown.returncode == 0 and '"outcome": "approved"' in shown.stdout, shown.stderr

    asked = _cli(config, "store", "rm", f"demo/memories/{user}", approved)  # no terminal, no --yes: kept
    assert asked.returncode == 1 and "add --yes" in asked.stderr
    deleted = _cli(config, "store", "rm", f"demo/memories/{user}", approved, "--yes")
    assert deleted.returncode == 0 and f"deleted demo/memories/{user}:{approved}" in deleted.stdout
    _one_line_error(_cli(config, "store", "get", f"demo/memories/{user}", approved), "no store item")
    # deleted meanwhile (here: already): one line, and nothing else goes
    _one_line_error(_cli(config, "store", "rm", f"demo/memories/{user}", approved, "--yes"), "no store item")
    after = _json_lines(_cli(config, "store", "search", "demo", "--json"))
    assert len(after) == len(items) - 1


def test_the_demo_tool_cache_shows_in_redis_with_its_ttl_and_deletes(demo_ran):
    config, _ = demo_ran
    keys = _json_lines(_cli(config, "redis", "keys", "lgconsole:demo:tool:", "--json"))
    assert keys, "the researcher's search results are cached in Redis"
    for key in keys:
        assert key["type"] == "string" and key["size_bytes"] > 0 and 0 < key["ttl_s"] <= 300, key
    text = _cli(config, "redis", "keys", "lgconsole:demo:tool:")
    assert text.returncode == 0 and text.stdout.splitlines()[0].split() == ["KEY", "TYPE", "SIZE", "TTL"]

    target = keys[0]["key"]
    value = _json_lines(_cli(config, "redis", "get", target, "--json"))[0]
    assert value["value"][0].startswith("Result 1 for") and 0 < value["ttl_s"] <= 300
    deleted = _cli(config, "redis", "rm", target, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    left = {k["key"] for k in _json_lines(_cli(config, "redis", "keys", "lgconsole:demo:tool:", "--json"))}
    assert target not in left and left == {k["key"] for k in keys[1:]}
    _one_line_error(_cli(config, "redis", "get", target), "no key", "expired or deleted")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_down_is_one_line_without_the_password(live_stack):
    port = _closed_port()
    result = _cli(live_stack, "redis", "keys", env={"REDIS_URL": f"redis://:s3cretpw@127.0.0.1:{port}/0"})
    line = _one_line_error(result, f"127.0.0.1:{port}", "not answering")
    assert "s3cretpw" not in line


class _NoStoreHandler(BaseHTTPRequestHandler):
    """A server that is up but serves no store API: 404 for everything, as a plain HTTP server does."""

    def do_GET(self):
        self._not_found()

    def do_POST(self):
        self._not_found()

    def _not_found(self):
        body = b'{"detail":"Not Found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_server_without_a_store_is_one_line(live_stack):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoStoreHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        _one_line_error(_cli(live_stack, "store", "ls", env={"LANGGRAPH_URL": url}), "has no store", url)
    finally:
        server.shutdown()
        server.server_close()


async def test_the_screen_shows_the_demo_store_and_deletes_with_the_keyboard(demo_ran):
    config, threads = demo_ran
    app = LgConsoleApp(config, poll=False, triage_first=False)
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.press("7")
        await pilot_wait(pilot, lambda: isinstance(app.screen, StoreScreen) and app.screen.store_listing is not None,
                         timeout=30, what="the store read")
        screen = app.screen
        assert screen.store_listing.error is None
        tasks = [i for i in screen.store_listing.items if i.namespace == ("demo", "tasks")]
        assert tasks, screen.store_listing
        first = screen.store_listing.items[0]
        await pilot.press("d", "y")
        await pilot_wait(pilot, lambda: first.key not in {i.key for i in screen.store_listing.items
                                                           if i.namespace == first.namespace},
                         timeout=30, what="the item gone")
        await pilot.press("k")
        await pilot_wait(pilot, lambda: screen.redis_listing is not None, timeout=30, what="the Redis keys")
        assert screen.redis_listing.error is None
        await settled(pilot)
    gone = _cli(config, "store", "get", "/".join(first.namespace), first.key)
    assert gone.returncode == 1 and "no store item" in gone.stderr
