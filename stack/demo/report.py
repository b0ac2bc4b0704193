"""A second, small demo graph, so the console has two graphs to show and switch between (the Graph screen's
assistant list, runs of two graphs back to back on the Live screen). No chat model, no interrupt:

    START -> gather -> draft (subgraph: outline -> write) -> publish -> END

Input: `{"topic": "...", "delay": 0.1}`; each node sleeps `delay` seconds so a run can be watched.
"""

import asyncio

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict  # typing.TypedDict on 3.11 makes the server's schemas null


class ReportState(TypedDict, total=False):
    topic: str
    delay: float
    facts: list[str]
    outline: list[str]
    report: str
    published: str


async def _pause(state: dict) -> None:
    await asyncio.sleep(max(float(state.get("delay") or 0.0), 0.0))


async def gather(state: ReportState) -> dict:
    await _pause(state)
    topic = state.get("topic") or "checkpoints"
    return {"facts": [f"{topic}: fact {i}" for i in (1, 2, 3)]}


async def outline(state: ReportState) -> dict:
    await _pause(state)
    return {"outline": [f"section on {fact}" for fact in state.get("facts") or []]}


async def write(state: ReportState) -> dict:
    await _pause(state)
    return {"report": "; ".join(state.get("outline") or [])}


async def publish(state: ReportState) -> dict:
    await _pause(state)
    return {"published": f"{len(state.get('report') or '')} characters"}


def build_draft_graph() -> CompiledStateGraph:
    builder = StateGraph(ReportState)
    builder.add_node("outline", outline)
    builder.add_node("write", write)
    builder.add_edge(START, "outline")
    builder.add_edge("outline", "write")
    builder.add_edge("write", END)
    return builder.compile(name="draft")


def build_graph() -> CompiledStateGraph:
    builder = StateGraph(ReportState)
    builder.add_node("gather", gather)
    builder.add_node("draft", build_draft_graph())
    builder.add_node("publish", publish)
    builder.add_edge(START, "gather")
    builder.add_edge("gather", "draft")
    builder.add_edge("draft", "publish")
    builder.add_edge("publish", END)
    return builder.compile(name="report")


graph = build_graph()
