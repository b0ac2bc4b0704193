"""The demo graph that ships with lgconsole: a small supervisor team, so every pane of the console has something to show.

    START -> supervisor --Send x3--> researcher | coder | reviewer  (one super-step, in parallel)
          -> join -> review (subgraph: critique -> score) -> approval (interrupt) -> finalize -> END

- `supervisor` records which chat model is in use (`model_backend`) and fans out to the three workers with `Send`.
- Each worker calls the chat model with its own system prompt, appends an AIMessage named after itself and puts a
  short result in `results[worker]`; workers report progress as custom stream events and sleep `delay` seconds.
- `researcher` calls a "search" tool whose result is cached in Redis (see `tool_cache`); `cache` shows hit/miss.
- `approval` stops the run with `interrupt()`; resume with True/False, "yes"/"no" or {"approved": bool, "note": str}.
- Long-term memory in the server's store (when it has one): `supervisor` counts each task under ("demo", "tasks"),
  `finalize` keeps the outcome under ("demo", "memories", <configurable user_id (the authenticated user under auth), else "demo-user">) keyed by thread.
- Any node named in `fail_at` raises `RuntimeError("demo failure requested at <node>")` (`fail_at="review"` fails
  the review subgraph's first node).

Input: `{"task": "...", "fail_at": "coder", "delay": 2.0}` (only `task` matters; a chat-style `messages` input works
too); `"node_delays": {"researcher": 5.0}` makes the named workers sleep that long instead of `delay`.
The module-level `graph` has no checkpointer: the LangGraph server adds its own. Nodes are async and do no blocking I/O.
"""

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_config, get_store, get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send, interrupt
from typing_extensions import TypedDict  # typing.TypedDict on 3.11 makes the server's schemas null

# Absolute imports: the LangGraph server loads this file by path, not as part of the package.
from lgconsole.stack.demo.chat_model import get_chat_model, model_backend
from lgconsole.stack.demo.tool_cache import cached_tool_call

WORKERS = ("researcher", "coder", "reviewer")
DEFAULT_TASK = "Write a haiku about checkpoints"
SEARCH_LATENCY_S = 0.2  # the simulated search is slow on purpose, so a cache hit is visibly faster
PROGRESS_SLICES = 4
RESULT_CHARS = 200
DEMO_USER = "demo-user"  # whose memories the store keeps when a run's config names no user_id

SYSTEM_PROMPTS = {
    "researcher": "You are the researcher of a small team. Summarise what the search results say about the task.",
    "coder": "You are the coder of a small team. Sketch the code that solves the task, in a few lines.",
    "reviewer": "You are the reviewer of a small team. List the main risks of the task, briefly.",
    "critique": "You are the critic of a small team. Judge whether the team's answers fit together, in one sentence.",
}

YES_ANSWERS = {"yes", "y", "true", "approve", "approved", "ok", "accept"}
NO_ANSWERS = {"no", "n", "false", "reject", "rejected", "deny"}


def merge_dicts(left: dict | None, right: dict | None) -> dict:
    """Reducer: later keys win, so parallel workers can each add their own entry."""
    return {**(left or {}), **(right or {})}


class DemoState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    task: str
    fail_at: str | None  # name of the node that must raise
    delay: float  # seconds each worker sleeps (asyncio.sleep), so a run can be stopped mid-node
    node_delays: dict[str, float]  # per worker, instead of `delay`: the drill keeps one worker running after the others
    model_backend: str  # which chat model answered, in words
    results: Annotated[dict[str, str], merge_dicts]  # one entry per worker
    cache: dict[str, Any]  # the search tool's Redis cache: status, key, hit, hits, misses, ttl
    summary: str  # the workers' results, joined
    review: dict[str, Any]  # {"critique": str, "score": int, "verdict": str}
    approved: bool | None
    approval_note: str
    outcome: str  # "approved" or "rejected"


class ReviewState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    task: str
    summary: str
    fail_at: str | None
    review: Annotated[dict[str, Any], merge_dicts]


class ReviewOutput(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    review: Annotated[dict[str, Any], merge_dicts]


# --- helpers -------------------------------------------------------------------------------------------------------


def fail_if_requested(state: dict, node: str, *aliases: str) -> None:
    """Raise the demo failure when `fail_at` names this node (or one of its aliases)."""
    if state.get("fail_at") in (node, *aliases):
        raise RuntimeError(f"demo failure requested at {state['fail_at']}")


def task_of(state: dict) -> str:
    """The task: the `task` input, else the last human message, else a default."""
    if state.get("task"):
        return state["task"]
    for message in reversed(state.get("messages") or []):
        if isinstance(message, HumanMessage) and message.text.strip():
            return message.text.strip()
    return DEFAULT_TASK


def request_number(state: dict) -> int:
    """How many human requests the thread has seen: keeps replies (and their ids) distinct across runs."""
    return max(1, sum(isinstance(message, HumanMessage) for message in state.get("messages") or []))


async def work_with_progress(node: str, state: dict) -> None:
    """Sleep `delay` seconds (this node's `node_delays` entry if any) in slices, reporting progress as custom stream
    events."""
    write = get_stream_writer()
    delay = (state.get("node_delays") or {}).get(node, state.get("delay"))
    delay = max(float(delay or 0.0), 0.0)
    write({"node": node, "progress": 0.0})
    for done in range(1, PROGRESS_SLICES + 1):
        if delay:
            await asyncio.sleep(delay / PROGRESS_SLICES)
        write({"node": node, "progress": done / PROGRESS_SLICES})


async def ask_model(role: str, request: str) -> AIMessage:
    """One async chat-model call with the role's system prompt; the reply is named after the role."""
    reply = await get_chat_model().ainvoke([SystemMessage(SYSTEM_PROMPTS[role]), HumanMessage(request)])
    return reply.model_copy(update={"name": role})


async def remember(namespace: tuple[str, ...], key: str, update: Callable[[dict], dict]) -> None:
    """Write `update(old value)` over a store item; nothing when the graph runs without a store. State is untouched,
    so the demo's checkpoints are the same with or without a store."""
    store = get_store()
    if store is None:
        return
    found = await store.aget(namespace, key)
    await store.aput(namespace, key, update(found.value if found else {}))


def memory_owner() -> str:
    return str((get_config().get("configurable") or {}).get("user_id") or DEMO_USER)


def short(text: Any) -> str:
    # without NUL: a string channel is stored inline in the checkpoint's jsonb, which refuses \u0000 (the server then
    # fails the run with "UntranslatableCharacter"); the tiny CPU model's byte tokens can produce one
    text = " ".join(str(text).replace("\x00", "").split())
    return text if len(text) <= RESULT_CHARS else text[: RESULT_CHARS - 1] + "…"


@tool("search")
async def search_tool(query: str) -> list[str]:
    """Search the (simulated) web and return three result snippets."""
    await asyncio.sleep(SEARCH_LATENCY_S)
    digest = hashlib.sha256(query.encode("utf-8")).hexdigest()
    return [f"Result {n + 1} for {query!r} (doc {digest[n * 6:(n + 1) * 6]})" for n in range(3)]


# --- nodes ---------------------------------------------------------------------------------------------------------


async def supervisor(state: DemoState) -> dict:
    fail_if_requested(state, "supervisor")
    task = task_of(state)
    backend = model_backend()
    messages: list[BaseMessage] = []
    last = (state.get("messages") or [None])[-1]
    if not (isinstance(last, HumanMessage) and last.text.strip() == task):
        messages.append(HumanMessage(task))
    messages.append(
        AIMessage(f"Dispatching researcher, coder and reviewer in parallel. Model: {backend}.", name="supervisor")
    )
    task_key = hashlib.sha256(task.encode("utf-8")).hexdigest()[:16]
    await remember(("demo", "tasks"), task_key,
                   lambda old: {"task": task, "runs": old.get("runs", 0) + 1, "model_backend": backend})
    # Per-run keys start empty, so a second run on a thread does not show the first run's verdict.
    return {
        "task": task,
        "model_backend": backend,
        "messages": messages,
        "summary": "",
        "review": {},
        "approved": None,
        "approval_note": "",
        "outcome": "",
    }


def fan_out_to_workers(state: DemoState) -> list[Send]:
    """All three workers get the same state and run in one super-step."""
    return [Send(worker, state) for worker in WORKERS]


async def researcher(state: DemoState) -> dict:
    fail_if_requested(state, "researcher")
    await work_with_progress("researcher", state)
    task = task_of(state)
    args = {"query": task}
    hits, cache_info = await cached_tool_call("search", args, lambda: search_tool.ainvoke(args))

    previous = state.get("cache") or {}
    counted = cache_info["status"] == "enabled"
    cache = {
        **cache_info,
        "last": ("hit" if cache_info["hit"] else "miss") if counted else "uncached",
        "hits": previous.get("hits", 0) + int(counted and cache_info["hit"]),
        "misses": previous.get("misses", 0) + int(counted and not cache_info["hit"]),
    }
    call_id = f"call_{uuid.uuid4().hex[:16]}"
    tool_call = AIMessage("", name="researcher", tool_calls=[{"name": "search", "args": args, "id": call_id}])
    tool_result = ToolMessage(json.dumps(hits), tool_call_id=call_id, name="search", artifact={"cache": cache_info})
    sources = "\n".join(f"- {hit}" for hit in hits)
    reply = await ask_model("researcher", f"{task}\n\nSearch results:\n{sources}\n\n(request {request_number(state)})")
    return {
        "messages": [tool_call, tool_result, reply],
        "results": {"researcher": short(reply.text)},
        "cache": cache,
    }


async def coder(state: DemoState) -> dict:
    fail_if_requested(state, "coder")
    await work_with_progress("coder", state)
    reply = await ask_model("coder", f"{task_of(state)}\n\n(request {request_number(state)})")
    return {"messages": [reply], "results": {"coder": short(reply.text)}}


async def reviewer(state: DemoState) -> dict:
    fail_if_requested(state, "reviewer")
    await work_with_progress("reviewer", state)
    reply = await ask_model("reviewer", f"{task_of(state)}\n\n(request {request_number(state)})")
    return {"messages": [reply], "results": {"reviewer": short(reply.text)}}


async def join(state: DemoState) -> dict:
    fail_if_requested(state, "join")
    results = state.get("results") or {}
    summary = "\n".join(f"{worker}: {results[worker]}" for worker in WORKERS if worker in results)
    return {"summary": summary}


async def critique(state: ReviewState) -> dict:
    fail_if_requested(state, "critique", "review")
    reply = await ask_model("critique", f"{state.get('task', '')}\n\n{state.get('summary', '')}")
    return {"messages": [reply], "review": {"critique": short(reply.text)}}


async def score(state: ReviewState) -> dict:
    fail_if_requested(state, "score")
    digest = hashlib.sha256((state.get("summary") or "").encode("utf-8")).hexdigest()
    points = 6 + int(digest[:4], 16) % 5  # deterministic, 6..10
    verdict = "ready for approval" if points >= 7 else "approve with care"
    return {"review": {"score": points, "verdict": verdict}}


def parse_approval(answer: Any) -> tuple[bool, str] | None:
    """(approved, note) from True/False, "yes"/"no" or {"approved": bool, "note": str}; None if unreadable."""
    if isinstance(answer, bool):
        return answer, ""
    if isinstance(answer, str):
        word = answer.strip().lower()
        if word in YES_ANSWERS:
            return True, ""
        if word in NO_ANSWERS:
            return False, ""
        return None
    if isinstance(answer, dict) and "approved" in answer:
        parsed = parse_approval(answer["approved"])
        if parsed is None:
            return None
        return parsed[0], str(answer.get("note") or "")
    return None


async def approval(state: DemoState) -> dict:
    fail_if_requested(state, "approval")
    review = state.get("review") or {}
    payload = {
        "question": f"Approve the team's result for {task_of(state)!r}?",
        "summary": state.get("summary", ""),
        "review": review,
        "answers": 'true/false, "yes"/"no", or {"approved": bool, "note": str}',
    }
    answer = interrupt(payload)
    # An unreadable answer asks again (a second interrupt in the same node) instead of failing the run.
    while (parsed := parse_approval(answer)) is None:
        answer = interrupt({**payload, "question": f"Could not read {answer!r} as an answer. " + payload["question"]})
    approved, note = parsed
    return {"approved": approved, "approval_note": note}


async def finalize(state: DemoState) -> dict:
    fail_if_requested(state, "finalize")
    note = f" Note: {state['approval_note']}" if state.get("approval_note") else ""
    if state.get("approved"):
        outcome, text = "approved", f"Approved: the team's result for {task_of(state)!r} is final.{note}"
    else:
        outcome, text = "rejected", f"Rejected: the team's result for {task_of(state)!r} was not approved.{note}"
    thread_id = str((get_config().get("configurable") or {}).get("thread_id") or "")
    review = state.get("review") or {}
    await remember(("demo", "memories", memory_owner()), thread_id or "no-thread",
                   lambda old: {"task": task_of(state), "outcome": outcome, "note": state.get("approval_note") or "",
                                "score": review.get("score"), "verdict": review.get("verdict")})
    return {"outcome": outcome, "messages": [AIMessage(text, name="finalize")]}


# --- wiring --------------------------------------------------------------------------------------------------------


def build_review_graph() -> CompiledStateGraph:
    builder = StateGraph(ReviewState, output_schema=ReviewOutput)
    builder.add_node("critique", critique)
    builder.add_node("score", score)
    builder.add_edge(START, "critique")
    builder.add_edge("critique", "score")
    builder.add_edge("score", END)
    return builder.compile(name="review")


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    """The demo graph; `checkpointer=None` for the LangGraph server, which brings its own."""
    builder = StateGraph(DemoState)
    builder.add_node("supervisor", supervisor)
    builder.add_node("researcher", researcher)
    builder.add_node("coder", coder)
    builder.add_node("reviewer", reviewer)
    builder.add_node("join", join)
    builder.add_node("review", build_review_graph())
    builder.add_node("approval", approval)
    builder.add_node("finalize", finalize)

    builder.add_edge(START, "supervisor")
    builder.add_conditional_edges("supervisor", fan_out_to_workers, list(WORKERS))
    for worker in WORKERS:
        # Separate edges, not add_edge([...], "join"): the Send fan-out already puts the workers in one
        # super-step, so join runs once, after all three (and the in-memory server's `next` stays correct).
        builder.add_edge(worker, "join")
    builder.add_edge("join", "review")
    builder.add_edge("review", "approval")
    builder.add_edge("approval", "finalize")
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer, name="demo")


graph = build_graph()
