"""A graph whose state is a pydantic model, with defaults and a reducer."""

import operator
from typing import Annotated

from pydantic import BaseModel, Field

from langgraph.graph import END, START, StateGraph


class Article(BaseModel):
    topic: str
    words: list[str] = Field(default_factory=list)
    history: Annotated[list[str], operator.add] = Field(default_factory=list)
    score: int = 0


def split(state: Article) -> dict:
    return {"words": state.topic.split(), "history": [f"split:{state.topic}"]}


def score(state: Article) -> dict:
    return {"score": sum(len(w) for w in state.words), "history": ["scored"]}


builder = StateGraph(Article)
builder.add_node("split", split)
builder.add_node("score", score)
builder.add_edge(START, "split")
builder.add_edge("split", "score")
builder.add_edge("score", END)
graph = builder.compile()
