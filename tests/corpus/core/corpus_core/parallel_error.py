"""Two branches in one super-step; `enrich` raises when asked to, while `fetch` succeeds beside it."""

from typing_extensions import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    query: str
    fail: bool
    fetched: str
    enriched: str
    answer: str


def plan(state: State) -> dict:
    return {"query": state["query"].strip()}


def fetch(state: State) -> dict:
    return {"fetched": f"rows for {state['query']}"}


def enrich(state: State) -> dict:
    if state.get("fail"):
        raise RuntimeError(f"enrichment service refused {state['query']!r}")
    return {"enriched": f"context for {state['query']}"}


def answer(state: State) -> dict:
    return {"answer": f"{state['fetched']} + {state['enriched']}"}


builder = StateGraph(State)
builder.add_node("plan", plan)
builder.add_node("fetch", fetch)
builder.add_node("enrich", enrich)
builder.add_node("answer", answer)
builder.add_edge(START, "plan")
builder.add_edge("plan", "fetch")
builder.add_edge("plan", "enrich")
builder.add_edge(["fetch", "enrich"], "answer")
builder.add_edge("answer", END)
graph = builder.compile()
