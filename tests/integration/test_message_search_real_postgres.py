"""Thread search by the text of the latest state's messages, on threads written by LangGraph's own PostgresSaver
(add_messages on `messages` and on a custom key, content blocks, words in fields that are not text, a message
removed after it was said, a DeltaChannel of messages). The oracle is the compiled graph's `get_state`."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Sequence

import psycopg
import pytest
from langchain_core.messages import AIMessage, RemoveMessage
from langgraph.channels import DeltaChannel
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from lgconsole.stack.checkpoints.message_search import threads_with_message_text
from lgconsole.stack.checkpoints.reader import CheckpointReader
from stackutil import lgconsole

integration = pytest.mark.integration


@pytest.fixture(scope="module")
def saver_url(live_stack):
    """A database of its own on the stack's Postgres with the saver's tables, dropped afterwards."""
    from lgconsole.stack.services.supervisor import StackSpec, build_services

    pg_url = build_services(StackSpec.load(live_stack.state_path))["postgres"].url()
    name = f"lgc_msgsearch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{pg_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cfg(tid: str) -> dict:
    return {"configurable": {"thread_id": tid}}


def add_message_batches(state: list | None, writes: Sequence[Any]) -> list:
    out = list(state or [])
    for write in writes:
        out = add_messages(out, write)
    return out


class Chat(MessagesState):
    notes: list[str]
    topic: str


class Kept(TypedDict, total=False):
    history: Annotated[list, add_messages]


class Delta(TypedDict, total=False):
    messages: Annotated[list, DeltaChannel(add_message_batches, snapshot_frequency=3)]
    rounds: int


def build_graphs(saver):
    """Three graphs on one saver: a chat with `messages` and a `notes` key, one keeping messages under `history`,
    one keeping them in a DeltaChannel."""
    def answer(s):
        last = s["messages"][-1]
        said = last.content if isinstance(last.content, str) else "blocks"
        reply = AIMessage(content=f"You said: {said}", additional_kwargs={"hidden": "zebra-in-kwargs"},
                          tool_calls=[{"name": "lookup", "args": {"q": "giraffe-in-args"}, "id": "call-1"}])
        update: dict = {"messages": [reply]}
        if "forget" in said:
            update["messages"] = [RemoveMessage(id=m.id) for m in s["messages"]] + [AIMessage(content="forgotten")]
        return update

    chat = StateGraph(Chat)
    chat.add_node("answer", answer)
    chat.add_edge(START, "answer")
    chat.add_edge("answer", END)

    kept = StateGraph(Kept)
    kept.add_node("echo", lambda s: {"history": [AIMessage(content="Noted, Walrus.")]})
    kept.add_edge(START, "echo")
    kept.add_edge("echo", END)

    def tick(s):
        n = s.get("rounds", 0) + 1
        return {"messages": [AIMessage(content=f"round {n}" + (" pelican" if n == 2 else ""))], "rounds": n}

    delta = StateGraph(Delta)
    delta.add_node("tick", tick)
    delta.add_edge(START, "tick")
    delta.add_conditional_edges("tick", lambda s: "tick" if s["rounds"] < 4 else END, ["tick", END])
    return (chat.compile(checkpointer=saver), kept.compile(checkpointer=saver), delta.compile(checkpointer=saver))


@pytest.fixture(scope="module")
def written(saver_url):
    """Threads written by the graphs; {label: (thread id, graph)}."""
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(saver_url) as saver:
        saver.setup()
        chat, kept, delta = build_graphs(saver)
        plans = {
            "plain": (chat, {"messages": [HumanMessage("The Kestrel landed")]}),
            "upper": (chat, {"messages": [HumanMessage("KESTREL sighting, Straße 5")]}),
            "blocks": (chat, {"messages": [HumanMessage(content=[{"type": "text", "text": "a kestrel in blocks"},
                                                                 {"type": "image_url", "image_url": {"url": "x"}}])]}),
            "notes_only": (chat, {"messages": [HumanMessage("nothing here")], "notes": ["kestrel in notes"],
                                  "topic": "kestrel topic"}),
            "forgotten": (chat, {"messages": [HumanMessage("kestrel then forget it")]}),
            "custom_key": (kept, {"history": [HumanMessage("my walrus story")]}),
            "delta": (delta, {"messages": [HumanMessage("start the rounds")]}),
        }
        ids = {}
        for label, (graph, payload) in plans.items():
            tid = f"{label}-{uuid.uuid4().hex[:8]}"
            graph.invoke(payload, cfg(tid))
            ids[label] = (tid, graph)
        yield saver_url, ids


def oracle(ids: dict, word: str) -> set[str]:
    """Threads whose get_state values hold a message whose text has `word`, both lower-cased."""
    from langchain_core.messages import BaseMessage

    found = set()
    for tid, graph in ids.values():
        values = graph.get_state(cfg(tid)).values
        texts = [m.text for v in values.values() if isinstance(v, list) for m in v if isinstance(m, BaseMessage)]
        if any(word.lower() in t.lower() for t in texts):
            found.add(tid)
    return found


@integration
@pytest.mark.parametrize("word", ["kestrel", "KeStReL", "walrus", "pelican", "forget", "zebra-in-kwargs",
                                  "giraffe-in-args", "you said", "straße", "STRASSE", "nothing", "absent-word",
                                  "round 4", "image_url"])
def test_message_search_finds_what_get_state_shows(written, word):
    url, ids = written
    with CheckpointReader(url) as reader:
        assert set(threads_with_message_text(reader.db, [word])) == oracle(ids, word)


@integration
def test_words_are_all_required_and_the_listing_pages_over_the_matches(written):
    url, ids = written
    tid = {label: t for label, (t, _) in ids.items()}
    with CheckpointReader(url) as reader:
        assert set(threads_with_message_text(reader.db, ["kestrel"])) == {tid["plain"], tid["upper"], tid["blocks"]}
        assert threads_with_message_text(reader.db, ["kestrel", "landed"]) == [tid["plain"]]
        assert threads_with_message_text(reader.db, ["kestrel"], thread_ids=[tid["upper"], tid["delta"]]) == \
            [tid["upper"]]
        only = threads_with_message_text(reader.db, ["kestrel"])
        page = reader.list_threads(limit=2, thread_ids=only)
        rest = reader.list_threads(limit=2, offset=2, thread_ids=only)
        assert sorted(s.thread_id for s in page + rest) == sorted(only)
        assert reader.count(thread_ids=only) == 3 and reader.count(thread_ids=[]) == 0
        assert reader.count(text="upper", thread_ids=only) == 1


@integration
def test_the_cli_lists_threads_by_message_text(written):
    url, ids = written
    result = lgconsole("threads", "--text", "kestrel", "--text", "landed", "--json", env={"POSTGRES_URL": url})
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["total"] == 1 and [t["thread_id"] for t in found["threads"]] == [ids["plain"][0]]
    result = lgconsole("threads", "--text", "walrus", env={"POSTGRES_URL": url})
    assert result.returncode == 0 and ids["custom_key"][0] in result.stdout and "1-1 of 1 threads" in result.stdout


@integration
def test_the_threads_screens_source_reads_text_words_from_the_filter(written, tmp_path):
    from lgconsole.console.config import Config, LangGraphConfig, PostgresConfig
    from lgconsole.console.sources.threads import ThreadsSource

    url, ids = written
    config = Config(state_dir=str(tmp_path), postgres=PostgresConfig(url=url),
                    langgraph=LangGraphConfig(url="http://127.0.0.1:9"))  # no server: statuses from the tables
    source = ThreadsSource(config, page_size=2)
    try:
        first = source.read_threads("", 'text:kestrel', "thread_id")
        second = source.read_threads("", 'text:kestrel', "thread_id", offset=2)
        assert sorted(s.thread_id for s in first.summaries + second.summaries) == \
            sorted(ids[k][0] for k in ("plain", "upper", "blocks"))
        assert source.count_threads("", "text:kestrel") == 3
        phrase = source.read_threads("", 'text:"kestrel landed"', "thread_id")  # a phrase, as written
        assert [s.thread_id for s in phrase.summaries] == [ids["plain"][0]]
        nowhere = source.read_threads("", 'text:"landed kestrel"', "thread_id")
        assert nowhere.summaries == [] and nowhere.total == 0
        both = source.read_threads("", "text:kestrel upper", "thread_id")  # and a word of the thread id
        assert [s.thread_id for s in both.summaries] == [ids["upper"][0]]
    finally:
        source.close()
