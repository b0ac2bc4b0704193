"""A project's langgraph.json: reading it (`read_langgraph_json`: the managed server's URL and token resolution need
it, without project_env.py's environment machinery), and rewriting the local paths of its graphs (made absolute for
`langgraph dev`, relative to the build context for an image), one rule for every spec shape the file allows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from lgconsole.stack.errors import StackError


class ProjectEnvError(StackError):
    """The project's environment cannot be planned, built or used; str() is one line with the cause and the fix."""


def read_langgraph_json(project_dir: Path) -> dict:
    config_file = Path(project_dir) / "langgraph.json"
    if not config_file.is_file():
        raise ProjectEnvError(f"langgraph: no langgraph.json in {project_dir}: set [project] path in lgconsole.toml "
                              "to the directory that holds your langgraph.json")
    try:
        data = json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise ProjectEnvError(f"langgraph: {config_file} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except (UnicodeDecodeError, RecursionError):
        raise ProjectEnvError(f"langgraph: {config_file} is not JSON text (binary, or nested too deeply)") from None
    if not isinstance(data, dict):
        raise ProjectEnvError(f"langgraph: {config_file} must hold a JSON object")
    return data


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
