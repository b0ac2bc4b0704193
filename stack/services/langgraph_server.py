"""The LangGraph server: `langgraph dev` serving a graph project with a Postgres checkpointer and store.

The user's project is never edited: lgconsole writes its own `langgraph.json` into the state dir with the user's
graphs (paths made absolute) plus the `checkpointer`/`store` factories of `persistence.py`, and runs the server
with that directory as its working dir, so the dev runtime's `.langgraph_api/` files stay out of the project.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from lgconsole.stack.errors import BinaryNotFound, PortInUse, StackError
from lgconsole.stack.server.health import probe_server
from lgconsole.stack.services.ports import LOOPBACK, port_is_free
from lgconsole.stack.services.process import LaunchSpec
from lgconsole.stack.services.service import Health, Service, find_program, one_line, tail_lines

DEMO_PROJECT = Path(__file__).resolve().parents[1] / "demo"
PERSISTENCE_MODULE = Path(__file__).resolve().parent / "persistence.py"
_PORT_MOVED = re.compile(r"Port (\d+) is already in use, using port (\d+) instead")


def load_project_config(project_dir: Path) -> dict:
    config_file = project_dir / "langgraph.json"
    if not config_file.is_file():
        raise StackError(f"langgraph: no langgraph.json in {project_dir} (project.path must be a LangGraph project dir)")
    try:
        data = json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise StackError(f"langgraph: {config_file} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or not isinstance(data.get("graphs"), dict) or not data["graphs"]:
        raise StackError(f"langgraph: {config_file} has no \"graphs\" mapping")
    return data


def _absolute_spec(spec: str, project_dir: Path) -> str:
    """'./agent.py:graph' -> '/abs/agent.py:graph'; module specs ('pkg.mod:graph') stay as they are."""
    path, sep, variable = spec.partition(":")
    if path.endswith(".py") or "/" in path:
        path = str((project_dir / path).resolve())
    return f"{path}{sep}{variable}"


def overlay_config(project_dir: Path) -> dict:
    """The user's langgraph.json with absolute paths and the Postgres checkpointer/store added."""
    data = dict(load_project_config(project_dir))
    graphs = {}
    for graph_id, spec in data["graphs"].items():
        if isinstance(spec, dict) and "path" in spec:
            graphs[graph_id] = {**spec, "path": _absolute_spec(spec["path"], project_dir)}
        elif isinstance(spec, str):
            graphs[graph_id] = _absolute_spec(spec, project_dir)
        else:
            graphs[graph_id] = spec
    data["graphs"] = graphs
    data["dependencies"] = [str((project_dir / d).resolve()) if not str(d).startswith(("http", "git+")) else d
                            for d in data.get("dependencies", ["."])]
    if isinstance(data.get("env"), str):
        data["env"] = str((project_dir / data["env"]).resolve())
    if isinstance(data.get("auth"), dict) and isinstance(data["auth"].get("path"), str):
        data["auth"] = {**data["auth"], "path": _absolute_spec(data["auth"]["path"], project_dir)}
    for key, factory in (("checkpointer", "make_checkpointer"), ("store", "make_store")):
        existing = data.get(key)
        if isinstance(existing, dict) and existing.get("path"):
            # The project brings its own: respect it (path made absolute) and say so in the status detail.
            data[key] = {**existing, "path": _absolute_spec(existing["path"], project_dir)}
        else:
            data[key] = {**(existing or {}), "path": f"{PERSISTENCE_MODULE}:{factory}"}
    return data


class LangGraphService(Service):
    name = "langgraph"
    default_startup_timeout = 90.0

    def url(self) -> str:
        if self.external:
            return self.spec["url"].rstrip("/")
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def project_dir(self) -> Path:
        return Path(self.spec.get("project") or DEMO_PROJECT).resolve()

    def workdir(self) -> Path:
        return self.paths.service_dir("langgraph")

    def binary(self) -> str:
        found = find_program("langgraph", [Path(sys.executable).parent])
        if not found:
            raise BinaryNotFound("langgraph: the `langgraph` CLI is not installed; pip install 'langgraph-cli[inmem]'")
        return found

    def preflight(self) -> None:
        if self.external:
            return
        self.binary()
        load_project_config(self.project_dir)
        # `langgraph dev` silently moves to a random port when its port is busy: refuse instead.
        if not port_is_free(self.port):
            raise PortInUse(f"langgraph: port {self.port} on {LOOPBACK} is already in use by another process; "
                            "set langgraph.port to a free port or 0 to pick one")

    def prepare(self) -> None:
        if self.external:
            return
        workdir = self.workdir()
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "langgraph.json").write_text(json.dumps(overlay_config(self.project_dir), indent=2))

    def launch_spec(self, dependency_env: dict[str, str]) -> LaunchSpec:
        argv = [self.binary(), "dev", "--no-browser", "--no-reload", "--host", LOOPBACK, "--port", str(self.port),
                "--n-jobs-per-worker", str(self.spec.get("n_jobs_per_worker", 4)),
                "--config", str(self.workdir() / "langgraph.json")]
        if self.spec.get("allow_blocking"):
            argv.append("--allow-blocking")
        env = {
            **dependency_env,
            "LANGGRAPH_NO_VERSION_CHECK": "true",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONUNBUFFERED": "1",
            "LOG_COLOR": "false",
            "PYTHONPATH": str(self.project_dir),
            **{k: str(v) for k, v in (self.spec.get("env") or {}).items()},
        }
        return LaunchSpec(argv=argv, log_path=self.paths.log(self.name), env=env, cwd=self.workdir())

    def startup_failure(self) -> str | None:
        for line in tail_lines(self.paths.log(self.name), 40):
            if m := _PORT_MOVED.search(line):
                return f"langgraph: port {m.group(1)} was taken while starting (the server moved to {m.group(2)})"
        return None

    def health(self, timeout: float = 2.0) -> Health:
        import httpx

        probe = probe_server(self.url(), timeout)
        if not probe.ok:
            return Health(False, probe.reason)
        try:
            info = httpx.get(f"{probe.url}/info", timeout=timeout, trust_env=False).json()
        except Exception as exc:
            return Health(False, one_line(exc))
        return Health(True, "GET /ok", f"langgraph-api {info.get('version', '?')}")
