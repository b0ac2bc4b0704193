"""A plain langgraph-sdk client for the corpus tests (tests/corpus/): starts two consecutive runs per graph the way
an application would, and reads LangGraph's own view of the thread (the oracle). Deliberately none of lgconsole's
code: only `langgraph_sdk`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lgconsole.stack.server.credentials import sdk_client

CORPUS = Path(__file__).resolve().parent / "corpus"
# the server's thread status -> the status lgconsole shows for it
SERVER_TO_LGCONSOLE = {"idle": "idle", "interrupted": "waiting", "error": "errored", "busy": "running"}


def user(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


@dataclass
class Turn:
    """One run: new input, a resume value (`Command(resume=...)`), or neither (continue past a breakpoint)."""

    input: Any = None
    resume: Any = None
    has_resume: bool = False
    # what the server says after the run: the run's status and the thread's status
    run_status: str = "success"
    thread_status: str = "idle"


def resume(value: Any, **kw: Any) -> Turn:
    return Turn(resume=value, has_resume=True, **kw)


@dataclass
class Scenario:
    project: str  # directory under tests/corpus/
    graph_id: str
    turns: list[Turn]
    subgraphs: bool = False  # checkpoints in subgraph namespaces to compare too
    attach: bool = False  # a second client (lgconsole watch) attaches to its first run while it runs


SCENARIOS: dict[str, Scenario] = {s.graph_id: s for s in [
    Scenario("core", "functional", [Turn({"text": "Hello   World"}), Turn({"text": "three more words"})]),
    Scenario("core", "pydantic_state", [Turn({"topic": "graphs in python"}), Turn({"topic": "pydantic"})]),
    Scenario("core", "breakpoints", [Turn({"title": "corpus"}, thread_status="interrupted"), Turn(None)]),
    Scenario("core", "fanout", [Turn({"items": ["b", "a", "c"]}), Turn({"items": ["d", "e"]})]),
    Scenario("core", "subgraph_interrupt", [Turn({"request": "deploy"}, thread_status="interrupted"),
                                            resume("yes")], subgraphs=True),
    Scenario("core", "delta", [Turn({}), Turn({})]),
    Scenario("core", "chat", [Turn(user("hi there")), Turn(user("how are you"))]),
    Scenario("core", "parallel_error", [Turn({"query": " sales ", "fail": True}, run_status="error",
                                             thread_status="error"),
                                        Turn({"query": "sales", "fail": False})]),
    Scenario("core", "slow_steps", [Turn({"topic": "attach"}), Turn({"topic": "again"})], attach=True),
    Scenario("agents", "agent", [Turn(user("plan a trip to Paris"), thread_status="interrupted"),
                                 resume("approve")]),
    Scenario("agents", "supervisor", [Turn(user("what is langgraph")), Turn(user("and pregel"))]),
    Scenario("agents", "swarm", [Turn(user("multiply me")), Turn(user("again please"))]),
]}


async def new_threads(url: str, scenarios: list[Scenario]) -> dict[str, str]:
    """graph id -> a new thread for it (with the graph id in its metadata, as applications often do)."""
    client = sdk_client(url=url)
    return {s.graph_id: (await client.threads.create(metadata={"corpus": s.graph_id}))["thread_id"]
            for s in scenarios}


async def run_turn(url: str, scenario: Scenario, thread_id: str, turn: Turn) -> tuple[str, str]:
    """One run on the thread, awaited to its end: (the run's status, the thread's status after it)."""
    client = sdk_client(url=url)
    kwargs: dict[str, Any] = {"command": {"resume": turn.resume}} if turn.has_resume else {"input": turn.input}
    run = await client.runs.create(thread_id, scenario.graph_id, **kwargs)
    try:
        await client.runs.join(thread_id, run["run_id"])
    except Exception:  # an errored run's join may raise: its status says what happened
        pass
    run = await client.runs.get(thread_id, run["run_id"])
    return run["status"], (await client.threads.get(thread_id))["status"]


async def drive_phase(url: str, scenarios: list[Scenario], thread_ids: dict[str, str],
                      turn: int) -> dict[str, tuple[str, str]]:
    """The turn-th run of every scenario that has one, all at once (one per thread)."""
    due = [s for s in scenarios if turn < len(s.turns)]
    done = await asyncio.gather(*(run_turn(url, s, thread_ids[s.graph_id], s.turns[turn]) for s in due))
    return {s.graph_id: result for s, result in zip(due, done)}


async def oracle_history(url: str, thread_id: str, namespaces: list[str] = ("",)) -> list[dict]:
    """Every checkpoint of the thread as the server's LangGraph reads it (get_history), oldest first, root namespace
    and the given subgraph namespaces."""
    client = sdk_client(url=url)
    found: list[dict] = []
    for ns in namespaces:
        checkpoint = {"checkpoint_ns": ns} if ns else None
        history = await client.threads.get_history(thread_id, limit=1000, checkpoint=checkpoint)
        found.extend(reversed(history))
    return found


async def oracle_graph(url: str, graph_id: str) -> dict:
    return await sdk_client(url=url).assistants.get_graph(graph_id)


async def oracle_thread(url: str, thread_id: str) -> dict:
    return await sdk_client(url=url).threads.get(thread_id)


async def oracle_state(url: str, thread_id: str, checkpoint_id: str | None, checkpoint_ns: str = "") -> dict | None:
    """LangGraph's get_state at one checkpoint (of the root graph or of a subgraph namespace); with no id, the
    thread's state now."""
    client = sdk_client(url=url)
    try:
        if checkpoint_id is None:
            return await client.threads.get_state(thread_id)
        return await client.threads.get_state(
            thread_id, checkpoint={"checkpoint_id": checkpoint_id, "checkpoint_ns": checkpoint_ns})
    except Exception as exc:  # noqa: BLE001 - a checkpoint the server cannot read is reported as missing
        if "404" in str(exc):
            return None
        raise


def expected_steps(history: list[dict]) -> list[tuple]:
    """(step, source, writers) of each root checkpoint, oldest first, from the oracle's history: an input checkpoint
    is written by the input; any other by the tasks its parent lists, less the ones that failed."""
    by_id = {cp["checkpoint"]["checkpoint_id"]: cp for cp in history}
    out = []
    for cp in history:
        meta = cp["metadata"]
        parent = by_id.get((cp.get("parent_checkpoint") or {}).get("checkpoint_id"))
        if meta.get("source") == "input":
            writers = ["__input__"]
        else:
            writers = sorted({t["name"] for t in (parent or {}).get("tasks", []) if not t.get("error")})
        out.append((meta.get("step"), meta.get("source"), writers))
    return out


def wait_for_steps(url: str, thread_id: str, steps: int, timeout: float = 60.0) -> bool:
    """Wait (blocking) until the thread's history has this many checkpoints: the run is under way."""
    import time

    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(url=url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(client.threads.get_history(thread_id, limit=steps + 1)) >= steps:
            return True
        time.sleep(0.1)
    return False
