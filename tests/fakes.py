"""Every stand-in the tests and benchmarks use for a source or a service: fixed stack snapshots and the stack source
that serves them, the fixed Threads and Triage sources, a recorded run session for the RunFollower, and a real
loopback HTTP server serving recorded vLLM metrics. Recorded data itself stays in the *fixtures modules; this module only serves it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gpu_fixtures import FIXTURES as VLLM_FIXTURES
from gpu_fixtures import T0, fixture_text
from livefixtures import recorded
from threadfixtures import Recorded, load
from lgconsole.console.sources.stack import StackSnapshot
from lgconsole.console.model.thread_browser import checkpoint_key
from lgconsole.console.sources.threads import ServerState, ThreadsPage
from lgconsole.stack.checkpoints.records import CheckpointNode, CheckpointState, UnknownCheckpoint, UnknownThread
from lgconsole.stack.services.service import ServiceState, ServiceStatus

NOW = 1_790_000_000.0  # the fixed wall clock of the stack snapshots: stable frames


# --- the Stack source ---------------------------------------------------------------------------------------------

def fixed_stack_snapshot(all_healthy: bool) -> StackSnapshot:
    """The demo stack on a box with vLLM: all four services healthy, or vLLM still loading and the LangGraph server
    crashed in a restart loop (its last log line has Rich markup that must print literally)."""

    def svc(name, state, **kw):
        return ServiceStatus(name=name, state=state, log_path=f"/srv/lgc/logs/{name}.log", **kw)

    services = [
        svc("postgres", ServiceState.HEALTHY, pid=4101, port=54011, version="PostgreSQL 15.18",
            url="postgresql://lgconsole:***@127.0.0.1:54011/lgconsole", started_at=NOW - 7260, healthy_at=NOW - 7258,
            detail="accepting connections"),
        svc("redis", ServiceState.HEALTHY, pid=4102, port=54012, version="Redis 7.0.15",
            url="redis://:***@127.0.0.1:54012/0", started_at=NOW - 7260, healthy_at=NOW - 7259, detail="PONG"),
        svc("vllm", ServiceState.HEALTHY if all_healthy else ServiceState.STARTING, pid=4150, port=54013,
            version="vLLM 0.32.0" if all_healthy else None, url="http://127.0.0.1:54013",
            started_at=NOW - 95, healthy_at=NOW - 2 if all_healthy else None,
            detail="GET /health" if all_healthy else
            "starting 95s: INFO Loading safetensors checkpoint shards: 75% Completed | 3/4"),
        svc("langgraph", ServiceState.HEALTHY if all_healthy else ServiceState.CRASHED,
            pid=4188 if all_healthy else None, port=54014, version="langgraph-api 0.16.7", url="http://127.0.0.1:54014",
            started_at=NOW - 40, healthy_at=NOW - 38 if all_healthy else None, restarts=0 if all_healthy else 2,
            last_error=None if all_healthy else "langgraph: killed by signal 9 (SIGKILL); last log line: Starting background run [bracketed] [/unclosed]",
            detail="GET /ok" if all_healthy else "restarting in 4s"),
    ]
    tails = {
        "postgres": ["2026-11-24 05:53:12 UTC LOG:  database system is ready to accept connections"],
        "vllm": ["INFO Loading weights took 41.2 s", "INFO Loading safetensors checkpoint shards: 75% Completed | 3/4"],
        "langgraph": ["Starting background run [bracketed] [/unclosed]", "Background run succeeded"],
    }
    return StackSnapshot(services, 4100, True, tails, "vLLM (llama-3.1-8b)", taken_at=NOW)


def gpu_box_snapshot() -> StackSnapshot:
    """The stack behind the GPU screen's fixed readings: every service healthy, vLLM (tiny-llama) on port 8000, at the
    GPU fixtures' clock (gpu_fixtures.T0)."""
    services = [
        ServiceStatus(name="postgres", state=ServiceState.HEALTHY, pid=4101, port=54011, started_at=T0 - 600),
        ServiceStatus(name="redis", state=ServiceState.HEALTHY, pid=4102, port=54012, started_at=T0 - 600),
        ServiceStatus(name="vllm", state=ServiceState.HEALTHY, pid=4242, port=8000, started_at=T0 - 300,
                      url="http://127.0.0.1:8000"),
        ServiceStatus(name="langgraph", state=ServiceState.HEALTHY, pid=4188, port=54014, started_at=T0 - 60),
    ]
    return StackSnapshot(services, 4100, True, {}, "vLLM (tiny-llama)", taken_at=T0)


class FixedStack:
    """What the real LiveStack would read from a stack in a fixed state; commands are recorded, not sent."""

    def __init__(self, snapshot: StackSnapshot):
        self._snapshot = snapshot
        self.commands: list[tuple[str, str | None]] = []

    def snapshot(self) -> StackSnapshot:
        return self._snapshot

    def command(self, cmd: str, service: str | None = None) -> str:
        self.commands.append((cmd, service))
        return f"{cmd} {service}"

    def bring_up(self) -> str:
        return "stack already running"

    def shut_down(self) -> str:
        self.commands.append(("down", None))
        return "stack stopped"

    def log_path(self, service: str) -> Path:
        return Path(f"/srv/lgc/logs/{service}.log")


# --- the Threads source -------------------------------------------------------------------------------------------

class FixedThreads:
    """What ThreadsSource would read from a stack in the recorded state (threadfixtures.load()); time-travel actions
    are recorded, not sent."""

    def __init__(self, recorded: Recorded | None = None, server_up: bool = True, page_size: int | None = None):
        self.data = recorded or load()
        self.page_size = page_size  # None: every thread on one page
        self.server = ServerState(True, "http://127.0.0.1:54014") if server_up else ServerState(
            False, "http://127.0.0.1:54014 does not answer (All connection attempts failed)")
        self.actions: list[tuple] = []

    def server_state(self) -> ServerState:
        return self.server

    def read_threads(self, status: str | None, text: str | None, sort: str, offset: int = 0) -> ThreadsPage:
        from lgconsole.console.model.thread_filter import parse_filter

        wanted = parse_filter(text)
        found = [s for s in self.data.summaries
                 if (not status or s.status.value == status)
                 and (not wanted.text or wanted.text.lower() in s.thread_id.lower())
                 and all(s.metadata.get(k) == v for k, v in wanted.metadata.items())]
        key = sort.lstrip("-")
        attr = {"last_activity": lambda s: s.last_activity, "checkpoint_count": lambda s: s.checkpoint_count,
                "step": lambda s: s.latest_step or -2, "status": lambda s: s.status.value,
                "thread_id": lambda s: s.thread_id}[key]
        found.sort(key=lambda s: (attr(s), s.thread_id), reverse=sort.startswith("-"))
        total = len(found)
        if self.page_size:
            found = found[offset:offset + self.page_size]
        return ThreadsPage(found, total, self.data.schema, self.server, now=self.data.now)

    def count_threads(self, status: str | None, text: str | None) -> int:
        return len(self.read_threads(status, text, "thread_id").summaries)

    def read_history(self, thread_id: str) -> list[CheckpointNode]:
        if thread_id not in self.data.histories:
            raise UnknownThread(f"unknown thread {thread_id!r}: no checkpoint has this thread id")
        return self.data.histories[thread_id]

    def read_state(self, thread_id: str, checkpoint_id: str, ns: str = "") -> CheckpointState:
        try:
            return self.data.states[thread_id][checkpoint_key(checkpoint_id, ns)]
        except KeyError:
            raise UnknownCheckpoint(f"unknown checkpoint {checkpoint_id!r} in thread {thread_id!r}") from None

    def read_state_with_parent(self, thread_id: str, checkpoint_id: str, ns: str = "",
                               parent: tuple[str, str] | None = None) -> tuple[CheckpointState, CheckpointState | None]:
        return self.read_state(thread_id, checkpoint_id, ns), self.read_state(thread_id, *parent) if parent else None

    def close(self) -> None:
        pass

    async def replay(self, thread_id: str, checkpoint_id: str) -> Any:
        self.actions.append(("replay", thread_id, checkpoint_id))
        raise _not_sent()

    async def fork(self, thread_id: str, checkpoint_id: str, update: dict, as_node: str | None = None) -> Any:
        self.actions.append(("fork", thread_id, checkpoint_id, update, as_node))
        raise _not_sent()

    async def resume(self, thread_id: str, value: Any) -> Any:
        self.actions.append(("resume", thread_id, value))
        raise _not_sent()

    async def copy(self, thread_id: str) -> Any:
        self.actions.append(("copy", thread_id))
        raise _not_sent()


def _not_sent():
    from lgconsole.stack.server.time_travel import TimeTravelError

    return TimeTravelError("fixed data: nothing is sent from a snapshot test")


# --- the Triage source --------------------------------------------------------------------------------------------

class FixedTriage:
    """A triage source that always finds the same findings."""

    def __init__(self, findings):
        self._findings = findings

    def findings(self):
        return self._findings


# --- a run on the LangGraph server ---------------------------------------------------------------------------------

class RecordedSession:
    """A `RunSession` stand-in that streams a recorded run and ends as told (for the RunFollower without a server)."""

    url = "http://127.0.0.1:9"

    def __init__(self, name: str | list, status: str = "success", thread_status: str = "idle",
                 thread_id: str = "recorded-thread", run_id: str | None = None, interrupts: list | None = None):
        self.events_ = recorded(name) if isinstance(name, str) else list(name)  # a recording's name, or events
        self.thread_id, self.run_id = thread_id, run_id or f"run-{name if isinstance(name, str) else 'events'}"
        if interrupts is None and thread_status == "interrupted":  # what the server's thread says: the stream's
            interrupts = [i for e in self.events_ if e.mode == "updates" and isinstance(e.data, dict)
                          for i in e.data.get("__interrupt__") or []]
        self.status, self.thread_status, self.interrupts = status, thread_status, interrupts or []
        self.closed = False

    async def events(self):
        for event in self.events_:
            yield event

    async def outcome(self):
        from lgconsole.stack.server.runs import RunOutcome

        return RunOutcome(self.run_id, self.thread_id, self.status, self.thread_status, None, self.interrupts)

    async def close(self) -> None:
        self.closed = True


class ScriptedFollower:
    """Makes a `RunFollower` start recorded sessions instead of runs on a server: each `start` or `resume` is noted
    (assistant, input or answer, thread, config, context) and follows the next of `sessions` (RecordedSessions) on
    the thread asked; an answer on the thread followed continues its timeline, as the real `resume` does."""

    def __init__(self, follower, sessions: list):
        self.follower, self.sessions, self.started = follower, list(sessions), []

        async def start(assistant, *, input=None, thread_id=None, **kwargs):
            self.started.append({"assistant": assistant, "input": input, "thread_id": thread_id, **kwargs})
            session = self.sessions.pop(0)
            session.thread_id = thread_id or session.thread_id
            follower.assistant = assistant
            follower.adopt(session)
            return session

        async def resume(value, thread_id=None, assistant=None, **kwargs):
            self.started.append({"resume": value, "assistant": assistant, "thread_id": thread_id, **kwargs})
            session = self.sessions.pop(0)
            session.thread_id = thread_id or follower.thread_id
            follower.adopt(session, new_run=session.thread_id != follower.thread_id)
            return session

        follower.start, follower.resume = start, resume


# --- the server's assistants ---------------------------------------------------------------------------------------

class FixedCatalog:
    """The New-run form's `AssistantCatalog` on recorded schemas (tests/fixtures/assistants/<graph>.schemas.json,
    from langgraph-api's own schema code) and a RememberedInputs file of the test's."""

    def __init__(self, graphs: list[str], remembered_path: Path, error: str | None = None):
        from lgconsole.stack.server.assistants import Assistant

        self.graphs, self.path, self.error = graphs, remembered_path, error
        self.assistants_ = [Assistant(assistant_id=f"00000000-0000-4000-8000-00000000000{i}", graph_id=g, name=g,
                                      version=1, updated_at="2026-11-24T05:53:12+00:00") for i, g in enumerate(graphs)]
        self.schema_reads: list[str] = []

    async def assistants(self):
        from lgconsole.console.sources.assistants import AssistantList

        return AssistantList((), self.error) if self.error else AssistantList(tuple(self.assistants_))

    async def schemas(self, assistant_id: str):
        import json

        from lgconsole.stack.server.assistants import AssistantSchemas

        self.schema_reads.append(assistant_id)
        path = Path(__file__).parent / "fixtures" / "assistants" / f"{assistant_id}.schemas.json"
        return AssistantSchemas.from_api(json.loads(path.read_text()))

    def remembered(self):
        from lgconsole.console.sources.assistants import RememberedInputs

        return RememberedInputs(self.path)

    async def check_breakpoints(self, assistant_id: str, breakpoints) -> None:
        """Breakpoints are checked against the recorded demo topology (tests/fixtures/graph/demo.json)."""
        import json

        from lgconsole.console.model.breakpoints import check_nodes
        from lgconsole.console.sources.assistant_admin import AssistantRefused

        graph = json.loads((Path(__file__).parent / "fixtures" / "graph" / "demo.json").read_text())
        nodes = [n["id"] for n in graph["nodes"] if n["id"] not in ("__start__", "__end__")]
        error = check_nodes(breakpoints, nodes, assistant_id)
        if error:
            raise AssistantRefused(error)


# --- a vLLM /metrics endpoint -------------------------------------------------------------------------------------

class MetricsServer:
    """A tiny real HTTP server on loopback answering `/<name>/metrics` with fixture scrapes (busy, idle, ...),
    `/garbage/metrics` with HTML, `/inf/metrics` with a running count of +Inf, `/down/metrics` with 503 like a dead vLLM engine, and `.../v1/models`."""

    def __init__(self):
        texts = {name: fixture_text(name) for name in ("idle", "after_load", "busy", "starved")}
        texts["garbage"] = "<html>hello</html>"
        texts["inf"] = texts["busy"].replace('vllm:num_requests_running{engine="0",model_name="tiny-llama"} 7.0',
                                             'vllm:num_requests_running{engine="0",model_name="tiny-llama"} +Inf')
        models = (VLLM_FIXTURES / "vllm_v1_models.json").read_text()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                name = self.path.strip("/").removesuffix("/metrics")
                if self.path.endswith("/v1/models"):
                    status, body = 200, models
                elif name in texts:
                    status, body = 200, texts[name]
                else:
                    status, body = (503, "engine dead") if name == "down" else (404, "not found")
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MetricsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# --- the Trace source ----------------------------------------------------------------------------------------------

class FixedTrace:
    """A trace source that always reports the same demo run (a fixed trace, state growth and ranking), and records
    what it was asked for."""

    def __init__(self, report=None):
        from tracefixtures import demo_report

        self._report = report or demo_report()
        self.asked: list[str] = []

    def report(self, ref, first_token_by_task=None, status=None):
        self.asked.append(ref)
        return self._report

    def growth(self, thread_id):
        self.asked.append(thread_id)
        return self._report.growth

    def close(self) -> None:
        pass


# --- the Store/Redis source ---------------------------------------------------------------------------------------

class FixedStore:
    """The Store/Redis screen's source on fixed items and keys, searched as a store without a vector index is;
    `redis_error` stands for a Redis that is down; `vanish(key)` deletes an item behind the screen's back."""

    def __init__(self, items, keys, values, redis_error: str | None = None):
        self.items, self.keys, self.values, self.redis_error = list(items), list(keys), dict(values), redis_error
        self.deleted: list[str] = []

    def store_listing(self, prefix=(), query=""):
        from lgconsole.console.model.store_browse import text_matches
        from lgconsole.console.sources.store import StoreListing, masked_item

        found = [masked_item(i) for i in self.items if i.namespace[:len(prefix)] == tuple(prefix)
                 and text_matches(query, i.key, i.value)]
        return StoreListing(tuple(sorted({i.namespace for i in self.items})), tuple(found), tuple(prefix), query,
                            bool(query))

    def vanish(self, key: str) -> None:
        self.items = [i for i in self.items if i.key != key]

    def delete_store_item(self, namespace, key):
        from lgconsole.stack.server.store import StoreItemNotFound

        found = next((i for i in self.items if i.namespace == tuple(namespace) and i.key == key), None)
        if found is None:
            raise StoreItemNotFound(f"no store item {'/'.join(namespace)}:{key} on the LangGraph server at "
                                    "http://127.0.0.1:8123")
        self.items.remove(found)
        self.deleted.append(found.path)
        return found

    def redis_listing(self, prefix=""):
        from lgconsole.console.sources.store import RedisListing
        from lgconsole.stack.services.redis_browse import KeyListing

        if self.redis_error:
            return RedisListing(error=self.redis_error)
        keys = tuple(k for k in self.keys if k.key.startswith(prefix))
        return RedisListing(KeyListing(keys, prefix, False, len(self.keys)))

    def redis_value(self, key):
        from lgconsole.console.sources.store import masked_value

        return masked_value(self.values[key])

    def delete_redis_key(self, key):
        found = next(k for k in self.keys if k.key == key)
        self.keys.remove(found)
        self.deleted.append(key)
        return found

    def close(self):
        pass
