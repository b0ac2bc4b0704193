"""The LangGraph server: `langgraph dev` serving a graph project with a Postgres checkpointer and store.

The user's project is never edited: lgconsole writes its own `langgraph.json` into the state dir with the user's
graphs (paths made absolute) plus the `checkpointer`/`store` factories of `persistence.py`, and runs the server
with that directory as its working dir, so the dev runtime's `.langgraph_api/` files stay out of the project.

A user's project is served from its own environment (project_env.py): built from its `langgraph.json` dependencies
by the supervisor before the first launch (`build()`, in a thread, with progress), or an existing interpreter named
by `[project] python`. The bundled demo runs in lgconsole's own environment.

`[langgraph] runtime` picks the server: `dev` (`langgraph dev`, above), `pg` (langgraph-runtime-pg's `langhost serve`,
always from an environment of its own, pg_runtime.py) or `image` (LangChain's server image, container_runtime.py).
The `pg` and `image` runtimes keep runs, threads and checkpoints in the stack's Postgres themselves: lgconsole's
checkpointer and store are left out of their langgraph.json.

The server is guarded by a token (stack/server/token_auth.py, wired in as the config's `auth`) unless the spec says
`auth = "none"` or the project brings its own `auth`; then clients send the configured credentials instead.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lgconsole.stack.errors import BinaryNotFound, PortInUse, StackError
from lgconsole.stack.server import credentials
from lgconsole.stack.server.credentials import ServerCredentials
from lgconsole.stack.services import graph_spec, pg_runtime
from lgconsole.stack.services.langgraph_json import map_graph_paths, read_langgraph_json
from lgconsole.stack.services.ports import LOOPBACK, listening, port_is_free
from lgconsole.stack.services.service import Health, Service, find_program, one_line, strip_ansi

if TYPE_CHECKING:
    from lgconsole.stack.services import project_env
    from lgconsole.stack.services.process import LaunchSpec

# The project's environment (project_env.py), the image runtime, the health probes and the process module (with its
# log rotation) are imported where they are used: a command that only resolves the server's URL and token
# (`lgconsole threads`, console/sources/urls.py) builds a LangGraphService and would pay ~6 ms for them.

DEMO_PROJECT = Path(__file__).resolve().parents[1] / "demo"
PERSISTENCE_MODULE = Path(__file__).resolve().parent / "persistence.py"
TOKEN_AUTH_MODULE = Path(__file__).resolve().parents[1] / "server" / "token_auth.py"
TOKEN_FILE_ENV = "LGCONSOLE_TOKEN_FILE"  # token_auth.py reads it (that module imports nothing of lgconsole)
POSTGRES_WAIT_ENV = "LGCONSOLE_POSTGRES_WAIT_S"  # persistence.py reads it (it imports nothing of lgconsole either)
AUTH_MODES = ("token", "none")
_PORT_MOVED = re.compile(r"Port (\d+) is already in use, using port (\d+) instead")


def load_project_config(project_dir: Path) -> dict:
    config_file = project_dir / "langgraph.json"
    data = read_langgraph_json(project_dir)
    if not isinstance(data.get("graphs"), dict) or not data["graphs"]:
        raise StackError(f"langgraph: {config_file} has no \"graphs\" mapping")
    return data


def _absolute_spec(spec: str, project_dir: Path) -> str:
    """'./agent.py:graph' -> '/abs/agent.py:graph'; module specs ('pkg.mod:graph') stay as they are."""
    path, sep, variable = spec.partition(":")
    if path.endswith(".py") or "/" in path:
        path = str((project_dir / path).resolve())
    return f"{path}{sep}{variable}"


def overlay_config(project_dir: Path, token_auth: bool = False, persistence: bool = True) -> dict:
    """The user's langgraph.json with absolute paths and the Postgres checkpointer/store added (unless not
    `persistence`: a runtime that keeps them in Postgres itself); with `token_auth` (and no `auth` of the project's
    own) the token hook, Studio's unauthenticated bypass turned off."""
    data = dict(load_project_config(project_dir))
    data["graphs"] = map_graph_paths(data["graphs"], lambda spec: _absolute_spec(spec, project_dir))
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
        elif persistence:
            data[key] = {**(existing or {}), "path": f"{PERSISTENCE_MODULE}:{factory}"}
    if token_auth and not data.get("auth"):
        # under `langgraph dev`, a request saying `x-auth-scheme: langsmith` would pass as the Studio user
        data["auth"] = {"path": f"{TOKEN_AUTH_MODULE}:auth", "disable_studio_auth": True}
    return data


class LangGraphService(Service):
    name = "langgraph"
    default_startup_timeout = 90.0

    def url(self) -> str:
        if self.external:
            return self.spec["url"].rstrip("/")
        return f"http://{LOOPBACK}:{self.port}"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.env: project_env.ProjectEnv | None = None  # the user project's environment, once built or checked
        self._builder: project_env.EnvBuilder | None = None
        self._failed: tuple[str, str] | None = None  # (plan key, error) of the last failed build
        self.image = None
        if self.runtime == "image":
            from lgconsole.stack.services.container_runtime import ImageRuntime

            self.image = ImageRuntime(self.spec, self.project_dir, self.workdir(), self.port or 0,
                                      self.paths.secrets_file)

    @property
    def runtime(self) -> str:
        return self.spec.get("runtime") or "dev"

    @property
    def own_env(self) -> bool:
        """Served from an environment of its own: a user's project, or any project under the `pg` runtime."""
        return not self.external and (bool(self.spec.get("project")) or self.runtime == "pg")

    @property
    def project_dir(self) -> Path:
        return Path(self.spec.get("project") or DEMO_PROJECT).resolve()

    @property
    def own_project(self) -> bool:
        """A user's project (served from its own environment), not the bundled demo."""
        return bool(self.spec.get("project")) and not self.external

    def workdir(self) -> Path:
        return self.paths.service_dir("langgraph")

    # --- bring-up order -------------------------------------------------------------------------------
    def needs(self) -> tuple[str, ...]:
        """Postgres (the checkpoints); under the `pg` and `image` runtimes Redis too (their run queue). Never vLLM:
        graphs call the model at run time and its health is its own; nor Redis under `dev`, which does not use it
        (a graph's tool cache reaches it at run time)."""
        if self.external:
            return ()
        return ("postgres",) if self.runtime == "dev" else ("postgres", "redis")

    def probe_modules(self) -> tuple[str, ...]:
        return ("httpx",)

    def warm_up(self) -> None:
        super().warm_up()
        import httpx

        from lgconsole.stack.server.health import tls_context

        httpx.Client(verify=tls_context()).close()  # the certificate store, and httpcore, which a first client imports

    def waits_for_itself(self) -> tuple[str, ...]:
        """Under `dev` with lgconsole's checkpointer and store, the server's start waits until Postgres accepts
        connections (persistence.py), so the supervisor launches it alongside Postgres: it imports while initdb
        runs. A project's own checkpointer or store may not wait: then the server starts once Postgres is healthy."""
        if self.external or self.runtime != "dev":
            return ()
        try:
            data = load_project_config(self.project_dir)
        except StackError:
            return ()
        own = [key for key in ("checkpointer", "store") if isinstance(data.get(key), dict) and data[key].get("path")]
        return () if own else ("postgres",)

    # --- auth -----------------------------------------------------------------------------------------
    @property
    def token_file(self) -> Path:
        return credentials.token_path(self.paths.state_dir)

    def token_guarded(self) -> bool:
        """The managed server requires lgconsole's token (not with `auth = "none"`, nor for a project that brings
        its own `auth`)."""
        if self.external or self.spec.get("auth", "token") == "none":
            return False
        try:
            return not load_project_config(self.project_dir).get("auth")
        except StackError:
            return True  # the project cannot be read: it will not start either; never downgrade to no auth

    def client_credentials(self) -> ServerCredentials:
        """What every client sends to this server: the token, or the configured api_key / bearer_token / headers
        (external servers, `auth = "none"` behind the user's own gateway, a project's own auth)."""
        headers = {str(k): str(v) for k, v in (self.spec.get("headers") or {}).items()}
        if self.token_guarded():
            return ServerCredentials.managed(credentials.read_token(self.token_file), headers)
        return ServerCredentials(api_key=self.spec.get("api_key") or None,
                                 bearer_token=self.spec.get("bearer_token") or None, headers=headers)

    def env_root(self) -> Path:
        from lgconsole.stack.services import project_env

        return Path(self.spec["env_dir"]).expanduser() if self.spec.get("env_dir") else project_env.env_cache_root()

    def plan(self) -> project_env.EnvPlan:
        from lgconsole.stack.services import project_env

        return project_env.plan_env(self.project_dir, pins=pg_runtime.PG_PINS if self.runtime == "pg" else None)

    def binary(self) -> str:
        if self.own_env and self.env is not None:
            return str(self.env.python)
        found = find_program("langgraph", [Path(sys.executable).parent])
        if not found:
            raise BinaryNotFound("langgraph: the `langgraph` CLI is not installed; pip install 'langgraph-cli[inmem]'")
        return found

    def needs_build(self) -> bool:
        """True when the project's environment has to be built first (slow: the supervisor runs `build` in a thread).
        Raises ProjectEnvError for a bad project, or for a build that failed on these same inputs before (so the
        supervisor's retries do not rebuild in vain; changing langgraph.json or a requirement file builds again)."""
        from lgconsole.stack.services import project_env

        if self.image is not None:
            self.preflight()  # nothing is built while the engine, the CLI or the license key is missing
            return not self.image.built
        if not self.own_env:
            return False
        if self.spec.get("python"):
            self.env = project_env.check_interpreter(self.spec["python"])
            return False
        plan = self.plan()
        if self._failed and self._failed[0] == plan.key:
            raise project_env.ProjectEnvError(self._failed[1])
        self.env = project_env.ready_env(plan, self.env_root())
        return self.env is None

    def build(self, progress: project_env.Progress) -> None:
        from lgconsole.stack.services import project_env

        if self.image is not None:
            self.image.build(self._overlay(), self.token_guarded(), TOKEN_AUTH_MODULE, self.paths.log(self.name),
                             progress)
            return
        plan = self.plan()
        self._builder = project_env.EnvBuilder(plan, self.env_root(), progress)
        try:
            self.env = self._builder.ensure()
        except project_env.ProjectEnvError as exc:
            if "cancelled" not in str(exc):
                self._failed = (plan.key, str(exc))
            raise
        finally:
            self._builder = None
        self._failed = None

    def cancel_build(self) -> None:
        if self.image is not None:
            self.image.cancel_build()
        if self._builder is not None:
            self._builder.cancel()

    def preflight(self) -> None:
        if self.external:
            return
        from lgconsole.stack.services import project_env
        load_project_config(self.project_dir)
        if self.image is not None:
            self.image.preflight()
        elif self.own_env:
            # a bad dependency path or [project] python fails here, before anything starts
            if self.spec.get("python"):
                self.env = project_env.check_interpreter(self.spec["python"])
            else:
                self.plan()
        else:
            self.binary()
        # `langgraph dev` silently moves to a random port when its port is busy: refuse instead.
        if not port_is_free(self.port):
            raise PortInUse(f"langgraph: port {self.port} on {LOOPBACK} is already in use by another process; "
                            "set langgraph.port to a free port or 0 to pick one")

    def prepare(self) -> None:
        if self.external:
            return
        workdir = self.workdir()
        workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        guarded = self.token_guarded()
        if guarded:
            credentials.ensure_token(self.token_file)
        (workdir / "langgraph.json").write_text(json.dumps(self._overlay(), indent=2))

    def _overlay(self) -> dict:
        return overlay_config(self.project_dir, self.token_guarded(), persistence=self.runtime == "dev")

    def after_stop(self) -> None:
        """A SIGKILLed `docker run` client leaves its container running: remove it. A graph description still
        loading is stopped and waited for: the server it describes is gone, and it must not write into a state dir
        after `down` (a test, or the user, may remove the dir next)."""
        if self.image is not None:
            self.image.remove()
        dump, self._spec_dump = getattr(self, "_spec_dump", None), None
        if dump is not None and dump.poll() is None:
            from lgconsole.stack.services import process

            process.stop(process.ref_for(dump.pid), group=False, grace=5.0, child=dump)

    def _image_launch(self, dependency_env: dict[str, str]) -> LaunchSpec:
        token = self.token_file if self.token_guarded() else None
        log = self.paths.log(self.name)
        self._log_offset = log.stat().st_size if log.exists() else 0
        from lgconsole.stack.services.process import LaunchSpec

        return LaunchSpec(argv=self.image.launch_argv(dependency_env, token), log_path=log, cwd=self.workdir())

    def launch_spec(self, dependency_env: dict[str, str]) -> LaunchSpec:
        if self.image is not None:
            return self._image_launch(dependency_env)
        if self.own_env and self.env is None:
            self.needs_build()  # [project] python is checked here; a built env is found again
            if self.env is None:
                raise StackError("langgraph: the project's environment is not built yet")
        config = self.workdir() / "langgraph.json"
        n_jobs = int(self.spec.get("n_jobs_per_worker", 4))
        if self.runtime == "pg":
            argv = pg_runtime.serve_argv(self.binary(), self.port, config, n_jobs,
                                         bool(self.spec.get("allow_blocking")))
        else:
            command = [self.binary(), "-m", "langgraph_cli"] if self.own_env else [self.binary()]
            argv = [*command, "dev", "--no-browser", "--no-reload", "--host", LOOPBACK, "--port", str(self.port),
                    "--n-jobs-per-worker", str(n_jobs), "--config", str(config)]
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
            TOKEN_FILE_ENV: str(self.token_file),
            POSTGRES_WAIT_ENV: f"{self.startup_timeout:g}",  # persistence.py waits this long for Postgres
        }
        if self.runtime == "pg":  # what [langgraph] env sets (the heartbeat, say) stays
            env.update({k: v for k, v in pg_runtime.server_env(dependency_env).items()
                        if k not in (self.spec.get("env") or {})})
        if self.own_env and self.env is not None:
            extra = [str(p) for p in (self.plan().extra_paths if not self.spec.get("python") else ())]
            if not self.own_project:  # the demo imports lgconsole.stack, which that environment does not have
                extra.append(str(pg_runtime.lgconsole_import_path(self.workdir())))
            env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(self.project_dir), *extra]))
            env["VIRTUAL_ENV"] = str(self.env.path)
            env["PATH"] = os.pathsep.join([str(self.env.python.parent), os.environ.get("PATH", "")])
        log = self.paths.log(self.name)
        self._log_offset = log.stat().st_size if log.exists() else 0
        self._launched_env = env
        from lgconsole.stack.services.process import LaunchSpec

        return LaunchSpec(argv=argv, log_path=log, env=env, cwd=self.workdir())

    def after_healthy(self) -> None:
        """Describe the served graphs for the checkpoint readers (graph_spec.py), in the background."""
        if self.external or self.image is not None:  # the image's graphs are inside the container
            return
        python = str(self.env.python) if self.own_env and self.env is not None else sys.executable
        try:  # optional: without it the readers read as before, so it never holds the server back
            self._spec_dump = graph_spec.start_dump(python, self.workdir() / "langgraph.json", self.paths.state_dir,
                                                    getattr(self, "_launched_env", {}), self.workdir(),
                                                    self.paths.log(self.name))
        except OSError:
            pass

    def _lines_since_launch(self) -> list[str]:
        """The log lines this launch wrote (the log file is appended across restarts)."""
        path = self.paths.log(self.name)
        try:
            with open(path, "rb") as fh:
                end = fh.seek(0, os.SEEK_END)
                offset = getattr(self, "_log_offset", 0)
                fh.seek(max(offset if offset <= end else 0, end - 256 * 1024))  # smaller: rotated since the launch
                data = fh.read()
        except OSError:
            return []
        return [strip_ansi(ln) for ln in data.decode(errors="replace").splitlines() if ln.strip()]

    def startup_failure(self) -> str | None:
        from lgconsole.stack.services import project_env

        lines = self._lines_since_launch()
        for line in lines[-40:]:
            if m := _PORT_MOVED.search(line):
                return f"langgraph: port {m.group(1)} was taken while starting (the server moved to {m.group(2)})"
        where = self.env.path if self.env is not None else Path(sys.executable).parent.parent
        if self.image is not None:
            where = Path("/")  # the traceback's paths are the container's
        return project_env.graph_load_failure(lines, where)

    def health(self, timeout: float = 2.0) -> Health:
        if not self.external and self.port and not listening(self.port):
            # uvicorn listens once the server's start-up is done: until then a socket says so in microseconds,
            # without an HTTP client (the supervisor probes every 50 ms of a bring-up)
            return Health(False, "connection refused")
        import httpx

        from lgconsole.stack.server.health import probe_server, tls_context

        headers = self.client_credentials().http_headers()  # /ok and /info are open; a gateway in front may not be
        probe = probe_server(self.url(), timeout, headers)
        if not probe.ok:
            return Health(False, probe.reason)
        try:
            info = httpx.get(f"{probe.url}/info", timeout=timeout, trust_env=False, headers=headers,
                             verify=tls_context()).json()
        except Exception as exc:
            return Health(False, one_line(exc))
        runtime = f" ({self.runtime} runtime)" if self.runtime != "dev" and not self.external else ""
        return Health(True, "GET /ok", f"langgraph-api {info.get('version', '?')}{runtime}")
