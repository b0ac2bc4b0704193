"""The demo graph, run in-process with an in-memory checkpointer and (for the tool cache) a real redis-server."""

import asyncio
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from lgconsole.stack.demo import graph as demo
from lgconsole.stack.demo.chat_model import ScriptedChatModel, get_chat_model, model_backend
from lgconsole.stack.demo.tool_cache import KEY_PREFIX, cache_key

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
WORKERS = {"researcher", "coder", "reviewer"}


@pytest.fixture(autouse=True)
def no_services(monkeypatch):
    """Each test starts with no vLLM and no Redis configured; tests opt in."""
    for name in ("LGCONSOLE_VLLM_URL", "LGCONSOLE_VLLM_MODEL", "LGCONSOLE_VLLM_API_KEY", "LGCONSOLE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LGCONSOLE_TOOL_CACHE_TTL_S", raising=False)


@pytest.fixture
def app():
    return demo.build_graph(checkpointer=InMemorySaver())


def new_thread() -> dict:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on a free loopback port, stopped by its PID afterwards (also when the test fails)."""
    if not shutil.which(REDIS_SERVER):
        pytest.skip(f"{REDIS_SERVER} not installed")
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def run_to_approval(app, config, **inputs) -> dict:
    await app.ainvoke({"task": "Write a haiku about checkpoints", **inputs}, config)
    return (await app.aget_state(config)).values


# --- shape -----------------------------------------------------------------------------------------------------------


def test_graph_shape_with_xray_shows_the_review_subgraph():
    drawn = demo.graph.get_graph(xray=True)
    assert set(drawn.nodes) == {
        "__start__", "supervisor", "researcher", "coder", "reviewer", "join",
        "review:critique", "review:score", "approval", "finalize", "__end__",
    }
    edges = {(edge.source, edge.target): edge.conditional for edge in drawn.edges}
    assert all(edges[("supervisor", worker)] for worker in WORKERS)  # the Send fan-out
    assert all((worker, "join") in edges for worker in WORKERS)
    assert ("join", "review:critique") in edges and ("review:score", "approval") in edges
    assert demo.graph.checkpointer is None  # the server brings its own


# --- interrupt, parallel workers, resume ------------------------------------------------------------------------


async def test_run_stops_at_approval_interrupt_with_payload(app):
    config = new_thread()
    result = await app.ainvoke({"task": "Write a haiku about checkpoints"}, config)
    [pending] = result["__interrupt__"]
    assert pending.value["question"] == "Approve the team's result for 'Write a haiku about checkpoints'?"
    assert pending.value["summary"].splitlines()[0].startswith("researcher: ")
    assert pending.value["review"]["score"] in range(6, 11)

    state = await app.aget_state(config)
    assert state.next == ("approval",)
    assert state.values["results"].keys() == WORKERS
    assert state.values["model_backend"] == "scripted (no vLLM configured)"
    assert state.values["review"]["critique"].startswith("Critic on 'Write a haiku about checkpoints'")
    worker_messages = [m for m in state.values["messages"] if m.name in WORKERS and m.text]
    assert {m.name for m in worker_messages} == WORKERS


async def test_workers_run_in_one_super_step(app):
    steps: dict[str, list[int]] = {}
    updates: list[str] = []
    async for mode, data in app.astream({"task": "t"}, new_thread(), stream_mode=["debug", "updates"]):
        if mode == "debug" and data["type"] == "task":
            steps.setdefault(data["payload"]["name"], []).append(data["step"])
        elif mode == "updates":
            updates.extend(data)
    worker_steps = {steps[worker][0] for worker in WORKERS}
    assert len(worker_steps) == 1, steps  # all three in the same super-step
    [step] = worker_steps
    assert steps["supervisor"] == [step - 1]
    assert steps["join"] == [step + 1]  # join runs once, after all three
    assert sorted(name for name in updates if name in WORKERS) == sorted(WORKERS)  # one update event per worker


@pytest.mark.parametrize(
    ("answer", "approved", "note"),
    [
        (True, True, ""),
        ("yes", True, ""),
        ({"approved": True, "note": "lgtm"}, True, "lgtm"),
        (False, False, ""),
        ("No", False, ""),
        ({"approved": False, "note": "needs tests"}, False, "needs tests"),
    ],
)
async def test_resume_records_the_answer(app, answer, approved, note):
    config = new_thread()
    await run_to_approval(app, config)
    final = await app.ainvoke(Command(resume=answer), config)
    assert final["approved"] is approved
    assert final["approval_note"] == note
    assert final["outcome"] == ("approved" if approved else "rejected")
    assert final["messages"][-1].name == "finalize"
    assert final["messages"][-1].text.startswith("Approved" if approved else "Rejected")
    assert (await app.aget_state(config)).next == ()


async def test_unreadable_answer_asks_again(app):
    config = new_thread()
    await run_to_approval(app, config)
    again = await app.ainvoke(Command(resume="maybe"), config)
    [pending] = again["__interrupt__"]
    assert pending.value["question"].startswith("Could not read 'maybe' as an answer.")
    final = await app.ainvoke(Command(resume="yes"), config)
    assert final["approved"] is True


# --- failing on demand ------------------------------------------------------------------------------------------


async def test_fail_at_coder_raises_and_cancels_the_parallel_siblings(app):
    config = new_thread()
    with pytest.raises(RuntimeError, match="demo failure requested at coder"):
        await app.ainvoke({"task": "t", "fail_at": "coder", "delay": 0.5}, config)
    state = await app.aget_state(config)
    # LangGraph's behaviour: the first error cancels the still-running tasks of the super-step; none of their
    # writes are kept and the checkpoint still has all three workers to run.
    assert set(state.next) == WORKERS
    errors = {task.name: str(task.error) for task in state.tasks}  # the checkpointer keeps errors as repr() text
    assert errors == {
        "coder": "RuntimeError('demo failure requested at coder')",
        "researcher": "CancelledError()",
        "reviewer": "CancelledError()",
    }
    assert state.values["results"] == {}

    # Clearing fail_at and resuming re-runs the whole super-step, then goes on to the approval.
    await app.aupdate_state(config, {"fail_at": None})
    resumed = await app.ainvoke(None, config)
    assert "__interrupt__" in resumed
    assert resumed["results"].keys() == WORKERS


@pytest.mark.parametrize("node", ["supervisor", "researcher", "reviewer", "join", "critique", "review", "score",
                                  "approval"])
async def test_fail_at_any_node_before_the_approval(app, node):
    with pytest.raises(RuntimeError) as raised:
        await app.ainvoke({"task": "t", "fail_at": node}, new_thread())
    assert raised.value.args == (f"demo failure requested at {node}",)  # LangGraph adds a note naming the task


async def test_fail_at_finalize_raises_after_the_approval(app):
    config = new_thread()
    await run_to_approval(app, config, fail_at="finalize")
    with pytest.raises(RuntimeError, match="demo failure requested at finalize"):
        await app.ainvoke(Command(resume=True), config)


async def test_delay_lets_a_run_be_stopped_mid_node(app):
    config = new_thread()
    started = asyncio.Event()

    async def consume():
        async for event in app.astream({"task": "t", "delay": 30}, config, stream_mode="custom"):
            if event["progress"] == 0.0:
                started.set()

    run = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), timeout=10)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    state = await app.aget_state(config)
    assert set(state.next) == WORKERS  # stopped inside the workers' super-step


# --- streams the console shows ----------------------------------------------------------------------------------


async def test_workers_emit_progress_as_custom_events(app):
    events = [event async for event in app.astream({"task": "t"}, new_thread(), stream_mode="custom")]
    coder_progress = [event["progress"] for event in events if event["node"] == "coder"]
    assert coder_progress == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert {event["node"] for event in events} == WORKERS


async def test_model_tokens_stream_in_several_chunks(app):
    chunks_by_node: dict[str, list] = {}
    async for chunk, metadata in app.astream({"task": "t"}, new_thread(), stream_mode="messages"):
        if isinstance(chunk, AIMessageChunk) and chunk.text:
            chunks_by_node.setdefault(metadata["langgraph_node"], []).append(chunk)
    assert WORKERS <= chunks_by_node.keys()
    assert len(chunks_by_node["coder"]) > 1
    assert len({chunk.id for chunk in chunks_by_node["coder"]}) == 1


# --- chat model ---------------------------------------------------------------------------------------------------


async def test_scripted_model_is_deterministic_and_streams_tokens():
    model = ScriptedChatModel()
    prompt = [SystemMessage("You are the coder of a small team."), HumanMessage("Sort a list\n\nmore context")]
    first, second = model.invoke(prompt), await ScriptedChatModel().ainvoke(prompt)
    assert (first.text, first.id) == (second.text, second.id)
    assert first.text.startswith("Coder on 'Sort a list': ")
    other = model.invoke([SystemMessage("You are the coder of a small team."), HumanMessage("Sort a dict")])
    assert other.text != first.text and other.id != first.id

    sync_chunks = list(model.stream(prompt))
    async_chunks = [chunk async for chunk in model.astream(prompt)]
    for chunks in (sync_chunks, async_chunks):
        assert len(chunks) > 1
        assert "".join(chunk.text for chunk in chunks) == first.text
        assert {chunk.id for chunk in chunks} == {first.id}


def test_chat_model_selection(monkeypatch):
    assert isinstance(get_chat_model(), ScriptedChatModel)
    assert model_backend() == "scripted (no vLLM configured)"

    monkeypatch.setenv("LGCONSOLE_VLLM_URL", "http://127.0.0.1:8000/")
    monkeypatch.setenv("LGCONSOLE_VLLM_MODEL", "tiny-llama")
    model = get_chat_model()
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:8000/v1"
    assert model.model_name == "tiny-llama"
    assert model_backend() == "vLLM at http://127.0.0.1:8000 (model tiny-llama, random weights: its text is noise)"

    monkeypatch.setenv("LGCONSOLE_VLLM_API_KEY", "sk-secret")
    assert "sk-secret" not in model_backend()


# --- Redis tool cache ---------------------------------------------------------------------------------------------


async def test_tool_cache_misses_then_hits(app, redis_url, monkeypatch):
    monkeypatch.setenv("LGCONSOLE_REDIS_URL", redis_url)
    task = f"cache me {uuid.uuid4()}"
    first = await run_to_approval(app, new_thread(), task=task)
    second_thread = new_thread()
    second = await run_to_approval(app, second_thread, task=task)

    key = cache_key("search", {"query": task})
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 64
    assert first["cache"]["key"] == key
    assert (first["cache"]["status"], first["cache"]["last"], first["cache"]["hit"]) == ("enabled", "miss", False)
    assert (second["cache"]["status"], second["cache"]["last"], second["cache"]["hit"]) == ("enabled", "hit", True)
    assert 0 < second["cache"]["ttl_left_s"] <= 300
    assert first["results"]["researcher"] == second["results"]["researcher"]  # same cached search, same reply

    client = redis.Redis.from_url(redis_url)
    try:
        assert 0 < client.ttl(key) <= 300
    finally:
        client.close()

    # A second run on the same thread counts both runs, and its messages are new ones, not replacements.
    await app.ainvoke(Command(resume=True), second_thread)
    third = await run_to_approval(app, second_thread, task=task)
    assert (third["cache"]["hits"], third["cache"]["misses"]) == (2, 0)
    worker_ids = [m.id for m in third["messages"] if m.name == "coder"]
    assert len(worker_ids) == 2 and len(set(worker_ids)) == 2


async def test_unreachable_redis_still_completes_with_an_error_status(app, monkeypatch):
    monkeypatch.setenv("LGCONSOLE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    config = new_thread()
    values = await run_to_approval(app, config)
    assert values["cache"]["status"].startswith("error: ")
    assert values["cache"]["last"] == "uncached"
    assert values["results"]["researcher"]
    final = await app.ainvoke(Command(resume=True), config)
    assert final["outcome"] == "approved"


async def test_no_redis_url_disables_the_cache(app):
    values = await run_to_approval(app, new_thread())
    assert values["cache"]["status"] == "disabled"
    assert (values["cache"]["hits"], values["cache"]["misses"]) == (0, 0)


# --- long-term memory in the store ----------------------------------------------------------------------------------


async def test_runs_keep_task_counts_and_outcomes_in_the_store():
    """With a store the graph remembers each task (how often it ran) and each finished thread's outcome, per user;
    state and steps are the same as without one."""
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()
    app = demo.build_graph(checkpointer=InMemorySaver())
    app.store = store
    config = {"configurable": {"thread_id": str(uuid.uuid4()), "user_id": "ana"}}
    await run_to_approval(app, config)
    await app.ainvoke(Command(resume={"approved": True, "note": "ship it"}), config)
    await app.ainvoke({"task": "Write a haiku about checkpoints"}, {"configurable": {"thread_id": "second"}})

    [task] = store.search(("demo", "tasks"))
    assert task.value["task"] == "Write a haiku about checkpoints" and task.value["runs"] == 2
    [memory] = store.search(("demo", "memories", "ana"))
    assert memory.key == config["configurable"]["thread_id"]
    assert memory.value["outcome"] == "approved" and memory.value["note"] == "ship it"
    assert memory.value["score"] in range(6, 11)
    assert store.search(("demo", "memories", demo.DEMO_USER)) == []  # the second run waits: no outcome yet

    without = demo.build_graph(checkpointer=InMemorySaver())
    plain = {"configurable": {"thread_id": str(uuid.uuid4())}}
    await run_to_approval(without, plain)
    stored_steps = [s.metadata["step"] async for s in app.aget_state_history({"configurable": {"thread_id": "second"}})]
    plain_steps = [s.metadata["step"] async for s in without.aget_state_history(plain)]
    assert stored_steps == plain_steps


def test_a_model_reply_with_a_nul_is_stored_without_it():
    """The tiny CPU model's byte tokens can make a NUL; a string channel is stored inline in the checkpoint's jsonb,
    which refuses \\u0000 (the server failed the whole run: `make screenshots` did, on a newly built model)."""
    from lgconsole.stack.demo.graph import short

    assert short("draft\x00 ready\x00") == "draft ready"
    assert "\x00" not in short("\x00" * 500)
