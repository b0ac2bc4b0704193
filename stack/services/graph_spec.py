"""What the checkpoint tables cannot say about a served graph, asked of the graph itself once its server is up: per
graph and per subgraph namespace, the channels `get_state` reads its values from, the value each channel has before
anything wrote it (`[]` for an `operator.add` or `add_messages` list, none for a plain key), and the node the input
starts (the entrypoint's name for a Functional API workflow).

The graphs are loaded by a short process in the server's own environment (the user's code, which lgconsole's
process never imports), started in the background after the server turns healthy; it writes
`<state dir>/graph_spec.json` (0600). Readers use the file when it is there and read as before when it is not
(an external server, a graph built by a factory)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

SPEC_FILE = "graph_spec.json"
SPEC_VERSION = 1

# Run by the server's interpreter: argv = [langgraph.json, output path]. Loads each graph as the server does
# ("./file.py:attr" or "package.module:attr"), compiles a StateGraph, describes it and its subgraphs. One graph
# that fails is recorded with its error line; the others are still described.
_DUMP = r'''
import importlib, importlib.util, json, os, sys
from pathlib import Path

config_path, out_path = Path(sys.argv[1]), Path(sys.argv[2])
config = json.loads(config_path.read_text())
if isinstance(config.get("env"), dict):
    os.environ.update({k: str(v) for k, v in config["env"].items()})
elif isinstance(config.get("env"), str):
    try:
        from dotenv import load_dotenv
        load_dotenv(config["env"])
    except ImportError:
        pass

def load(spec):
    if isinstance(spec, dict):
        spec = spec.get("path", "")
    where, _, attr = spec.rpartition(":")
    if where.endswith(".py") or "/" in where:
        path = (config_path.parent / where).resolve()
        sys.path.insert(0, str(path.parent))
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[path.stem] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    return getattr(module, attr)

def jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return None

def describe(graph):
    from langgraph.errors import EmptyChannelError
    selected = graph.stream_channels_asis
    names = [selected] if isinstance(selected, str) else list(selected)
    empty = {}
    for name in names:
        channel = graph.channels.get(name)
        if channel is None:
            continue
        try:
            value = channel.get()  # the graph's own channels are templates: never written, their empty value
        except (EmptyChannelError, Exception):
            continue
        value = jsonable(value)
        if value is not None:
            empty[name] = value
    start = sorted(n for n, node in graph.nodes.items() if "__start__" in (node.triggers or ()))
    return {"values": selected, "empty": empty, "start": start}

out = {"version": %(version)d, "graphs": {}, "errors": {}}
for graph_id, spec in (config.get("graphs") or {}).items():
    try:
        graph = load(spec)
        if hasattr(graph, "compile") and not hasattr(graph, "stream_channels_asis"):
            graph = graph.compile()
        if not hasattr(graph, "stream_channels_asis"):
            out["errors"][graph_id] = "built by a factory at run time: described only when it is a graph"
            continue
        described = {"": describe(graph)}
        for namespace, sub in graph.get_subgraphs(recurse=True):
            if hasattr(sub, "stream_channels_asis"):
                described[namespace] = describe(sub)
        out["graphs"][graph_id] = described
    except BaseException as exc:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        out["errors"][graph_id] = f"{type(exc).__name__}: {text}"[:300]

tmp = out_path.with_name(out_path.name + ".tmp")
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(out, f)
os.replace(tmp, out_path)
''' % {"version": SPEC_VERSION}


def spec_path(state_dir: Path) -> Path:
    return Path(state_dir) / SPEC_FILE


def start_dump(python: str, langgraph_json: Path, state_dir: Path, env: dict[str, str], cwd: Path,
               log_path: Path | None = None) -> subprocess.Popen:
    """Describe the served graphs in the background (a second or a few: the user's modules are imported); the file
    appears when it is done. A stale file from before is removed first, so no reader uses an old graph's shape."""
    out = spec_path(state_dir)
    out.unlink(missing_ok=True)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen([python, "-c", _DUMP, str(langgraph_json), str(out)], env={**os.environ, **env},
                                cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                preexec_fn=_die_with_parent)
    finally:
        if log is not subprocess.DEVNULL:
            log.close()


def _die_with_parent() -> None:
    """In the child before it runs: a SIGTERM when the process that started it (the supervisor) ends, so a
    description still loading when the stack goes down does not outlive it (Linux; elsewhere it just finishes)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def read_spec(state_dir: Path | None) -> dict | None:
    """The served graphs' description (see the module docstring), or None when there is none (yet) or it is not
    one this version writes."""
    if state_dir is None:
        return None
    try:
        data = json.loads(spec_path(state_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != SPEC_VERSION or not isinstance(data.get("graphs"), dict):
        return None
    return data
