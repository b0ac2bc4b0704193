"""`--context` points the CLI at another deployment: two real Postgres servers the test starts itself (initdb and
postgres, not lgconsole), each holding one thread a real LangGraph graph checkpointed there; `threads` and `status`
read the one of the context named (flag or LGCONSOLE_CONTEXT), never the other."""

from __future__ import annotations

import json
import subprocess
from typing import TypedDict

import pytest

from lgconsole.stack.services.ports import free_port
from stackutil import bare_postgres, lgconsole, new_state_dir, processes_mentioning, remove_state_dir

pytestmark = pytest.mark.integration


class Note(TypedDict):
    text: str


def checkpoint_a_thread(url: str, thread_id: str) -> None:
    """One run of a one-node graph with the official Postgres checkpointer: real checkpoint tables and rows."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(Note)
    graph.add_node("write", lambda state: {"text": state["text"] + " written"})
    graph.add_edge(START, "write")
    graph.add_edge("write", END)
    with PostgresSaver.from_conn_string(url) as saver:
        saver.setup()
        graph.compile(checkpointer=saver).invoke({"text": thread_id}, {"configurable": {"thread_id": thread_id}})


@pytest.fixture(scope="module")
def two_deployments():
    """(config file, the local Postgres's URL, the other context's Postgres's URL); a thread in each."""
    root = new_state_dir()
    (root / "a").mkdir()
    (root / "b").mkdir()
    try:
        with bare_postgres(root / "a") as (_, local_url), bare_postgres(root / "b") as (_, other_url):
            checkpoint_a_thread(local_url, "thread-of-local")
            checkpoint_a_thread(other_url, "thread-of-other")
            config = root / "lgconsole.toml"
            nobody = f"http://127.0.0.1:{free_port()}"  # no server answers: threads are read from Postgres alone
            config.write_text(f'state_dir = "{root / "state"}"\n[postgres]\nurl = "{local_url}"\n'
                              f'[langgraph]\nurl = "{nobody}"\n'
                              f'[contexts.other.postgres]\nurl = "{other_url}"\n')
            yield config, local_url, other_url
    finally:
        left = processes_mentioning(str(root))
        remove_state_dir(root)
        assert not left, f"processes left: {left}"


def thread_ids(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [t["thread_id"] for t in json.loads(result.stdout)["threads"]]


def test_threads_reads_the_postgres_of_the_context_named(two_deployments):
    config, _, _ = two_deployments
    assert thread_ids(lgconsole("threads", "--json", config=config)) == ["thread-of-local"]
    assert thread_ids(lgconsole("--context", "other", "threads", "--json", config=config)) == ["thread-of-other"]
    assert thread_ids(lgconsole("threads", "--json", config=config, env={"LGCONSOLE_CONTEXT": "other"})) == [
        "thread-of-other"]
    assert thread_ids(lgconsole("--context", "local", "threads", "--json", config=config,
                                env={"LGCONSOLE_CONTEXT": "other"})) == ["thread-of-local"]  # the flag wins


def test_status_of_a_context_is_its_own_state_dir_not_the_local_stacks(two_deployments):
    config, local_url, other_url = two_deployments
    result = lgconsole("--context", "other", "status", "--json", config=config)
    data = json.loads(result.stdout)
    assert data["state_dir"] == str(config.parent / "state" / "contexts" / "other")
    assert local_url.rsplit(":", 1)[1] not in result.stdout  # nothing of the local deployment
    listed = json.loads(lgconsole("--context", "other", "contexts", "--json", config=config).stdout)
    assert listed["current"] == "other"
    assert [c["services"]["postgres"] for c in listed["contexts"]] == [local_url, other_url]
