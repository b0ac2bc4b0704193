"""A slow graph another client attaches to while it runs: async nodes that sleep and report progress as custom
stream events, two of them in parallel."""

import asyncio

from typing_extensions import TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    topic: str
    notes: str
    draft: str
    summary: str


async def gather(state: State) -> dict:
    await asyncio.sleep(1.5)
    return {"notes": f"notes on {state['topic']}"}


async def research(state: State) -> dict:
    write = get_stream_writer()
    for part in range(4):
        write({"progress": f"research {part + 1}/4"})
        await asyncio.sleep(0.75)
    return {"notes": f"{state['notes']} + sources"}


async def outline(state: State) -> dict:
    await asyncio.sleep(0.8)
    return {"draft": f"outline of {state['topic']}"}


async def finish(state: State) -> dict:
    await asyncio.sleep(1.0)
    return {"summary": f"{state['draft']} from {state['notes']}"}


builder = StateGraph(State)
builder.add_node("gather", gather)
builder.add_node("research", research)
builder.add_node("outline", outline)
builder.add_node("finish", finish)
builder.add_edge(START, "gather")
builder.add_edge("gather", "research")
builder.add_edge("gather", "outline")
builder.add_edge(["research", "outline"], "finish")
builder.add_edge("finish", END)
graph = builder.compile()
