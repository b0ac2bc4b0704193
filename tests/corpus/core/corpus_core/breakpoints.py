"""Static breakpoints compiled in: the graph stops before `publish` every time (no interrupt() call)."""

from typing_extensions import TypedDict

from langgraph.graph import END, START, StateGraph


class Post(TypedDict, total=False):
    title: str
    draft: str
    reviewed: bool
    published: bool


def draft(state: Post) -> dict:
    return {"draft": f"About {state['title']}", "published": False}


def review(state: Post) -> dict:
    return {"reviewed": True}


def publish(state: Post) -> dict:
    return {"published": True}


builder = StateGraph(Post)
builder.add_node("draft", draft)
builder.add_node("review", review)
builder.add_node("publish", publish)
builder.add_edge(START, "draft")
builder.add_edge("draft", "review")
builder.add_edge("review", "publish")
builder.add_edge("publish", END)
graph = builder.compile(interrupt_before=["publish"])
