"""Rewriting the local paths of a langgraph.json's graphs (made absolute for `langgraph dev`, relative to the build
context for an image), one rule for every spec shape the file allows."""

from __future__ import annotations

from collections.abc import Callable


def map_graph_paths(graphs: dict, rewrite: Callable[[str], str]) -> dict:
    """`graphs` with each graph's spec path rewritten: "./agent.py:graph" or {"path": "./agent.py:graph", ...};
    any other shape is kept as it is (the server reports what it cannot load)."""
    mapped = {}
    for graph_id, spec in graphs.items():
        if isinstance(spec, dict) and isinstance(spec.get("path"), str):
            mapped[graph_id] = {**spec, "path": rewrite(spec["path"])}
        elif isinstance(spec, str):
            mapped[graph_id] = rewrite(spec)
        else:
            mapped[graph_id] = spec
    return mapped
