"""Map-reduce with Send: one `summarise` task per item, then `combine`."""

import operator
from typing import Annotated

from typing_extensions import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send


class State(TypedDict, total=False):
    items: list[str]
    summaries: Annotated[list[str], operator.add]
    combined: str


class ItemState(TypedDict):
    item: str


def plan(state: State) -> dict:
    return {"items": sorted(state["items"])}


def fan_out(state: State) -> list[Send]:
    return [Send("summarise", {"item": item}) for item in state["items"]]


def summarise(state: ItemState) -> dict:
    return {"summaries": [state["item"].upper()]}


def combine(state: State) -> dict:
    return {"combined": ", ".join(sorted(state["summaries"]))}


builder = StateGraph(State)
builder.add_node("plan", plan)
builder.add_node("summarise", summarise)
builder.add_node("combine", combine)
builder.add_edge(START, "plan")
builder.add_conditional_edges("plan", fan_out, ["summarise"])
builder.add_edge("summarise", "combine")
builder.add_edge("combine", END)
graph = builder.compile()
