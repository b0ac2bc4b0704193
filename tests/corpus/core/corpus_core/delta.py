"""An event log in a DeltaChannel (beta in langgraph 1.2): only every 2nd update stores a snapshot blob, the
checkpoints in between hold a sentinel and the state is rebuilt from the writes."""

from typing import Annotated, Any, Sequence

from typing_extensions import TypedDict

from langgraph.channels import DeltaChannel
from langgraph.graph import END, START, StateGraph


def append_events(state: list | None, writes: Sequence[Any]) -> list:
    out = list(state or [])
    for write in writes:
        out.extend(write if isinstance(write, list) else [write])
    return out


class State(TypedDict, total=False):
    events: Annotated[list, DeltaChannel(append_events, snapshot_frequency=2)]
    rounds: int


def start(state: State) -> dict:
    return {"events": ["start"], "rounds": 0}


def tick(state: State) -> dict:
    n = state.get("rounds", 0) + 1
    return {"events": [f"tick {n}"], "rounds": n}


def more(state: State) -> str:
    return "tick" if state["rounds"] < 3 else END


builder = StateGraph(State)
builder.add_node("start", start)
builder.add_node("tick", tick)
builder.add_edge(START, "start")
builder.add_edge("start", "tick")
builder.add_conditional_edges("tick", more, ["tick", END])
graph = builder.compile()
