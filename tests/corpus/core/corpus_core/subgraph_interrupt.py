"""A parent graph with a compiled subgraph as a node; the subgraph asks for approval with interrupt()."""

from typing_extensions import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    request: str
    plan: str
    approved: bool
    outcome: str


def ask(state: State) -> dict:
    answer = interrupt({"question": f"approve the plan '{state['plan']}'?"})
    return {"approved": answer == "yes"}


def apply(state: State) -> dict:
    return {"outcome": "applied" if state["approved"] else "rejected"}


sub = StateGraph(State)
sub.add_node("ask", ask)
sub.add_node("apply", apply)
sub.add_edge(START, "ask")
sub.add_edge("ask", "apply")
sub.add_edge("apply", END)
approval = sub.compile()


def prepare(state: State) -> dict:
    return {"plan": f"do {state['request']}"}


def report(state: State) -> dict:
    return {"outcome": f"{state['outcome']}: {state['plan']}"}


builder = StateGraph(State)
builder.add_node("prepare", prepare)
builder.add_node("approval", approval)
builder.add_node("report", report)
builder.add_edge(START, "prepare")
builder.add_edge("prepare", "approval")
builder.add_edge("approval", "report")
builder.add_edge("report", END)
graph = builder.compile()
