"""The `image` server runtime: LangChain's LangGraph server image (the Postgres+Redis runtime, which is not on PyPI),
built from the project with `langgraph build` and run by docker or podman against the stack's Postgres and Redis.

The command lines, the env file and the preflight are plain functions so they can be checked without a container
engine; `ImageRuntime` ties them to one LangGraph service (langgraph_server.py delegates to it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.langgraph_json import map_graph_paths
from lgconsole.stack.services.ports import LOOPBACK
from lgconsole.stack.services.service import find_program, one_line
from lgconsole.stack.services.state_files import StateFileCorrupt, read_json_object

ENGINES = ("docker", "podman")
NETWORKS = ("bridge", "host")
LICENSE_VARS = ("LANGGRAPH_CLOUD_LICENSE_KEY", "LANGSMITH_API_KEY")
CONTAINER_PORT = 8000  # the image's server listens here (its PORT default)
HOST_ALIAS = "host.docker.internal"  # added with --add-host ...:host-gateway; docker and podman both accept it
CONTAINER_TOKEN_FILE = "/run/lgconsole/token"
AUTH_GLUE_DIR = "lgconsole_auth"  # copied into the build context: the token hook the image imports
ENGINE_PROBE_TIMEOUT_S = 10.0
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


# --- preflight -------------------------------------------------------------------------------------------

def find_engine(preferred: str = "") -> str | None:
    """The container engine's path: the configured one, else docker, else podman."""
    for name in ([preferred] if preferred else ENGINES):
        if found := shutil.which(name):
            return found
    return None


def engine_unreachable(engine: str) -> str | None:
    """Why the engine cannot run containers (its own first line of complaint), or None when its daemon answers."""
    try:
        done = subprocess.run([engine, "info", "--format", "{{json .ServerVersion}}"], capture_output=True,
                              text=True, timeout=ENGINE_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"{Path(engine).name} info did not answer in {ENGINE_PROBE_TIMEOUT_S:.0f}s"
    except OSError as exc:
        return one_line(exc)
    if done.returncode == 0:
        return None
    lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
    # docker prints the client half first; the daemon's complaint is the line that says why
    reason = next((ln for ln in lines if "daemon" in ln.lower() or "connect" in ln.lower()), lines[-1] if lines else "")
    return reason or f"{Path(engine).name} info exited with code {done.returncode}"


def buildx_missing(docker: str) -> str | None:
    """Why `docker build --build-context` cannot work (no BuildKit's buildx plugin), or None. langgraph build passes
    the project that way: the image's langgraph.json lives in lgconsole's state dir, outside the project."""
    try:
        done = subprocess.run([docker, "buildx", "version"], capture_output=True, text=True,
                              timeout=ENGINE_PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return one_line(exc)
    if done.returncode == 0:
        return None
    lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
    return lines[0] if lines else f"docker buildx version exited with code {done.returncode}"


def read_secrets_file(path: Path) -> dict[str, str]:
    """The stack's 0600 secrets file as a mapping (the license keys may be kept there by their variable names)."""
    try:
        data = read_json_object(path) or {}
    except StateFileCorrupt:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)}


def license_env(environ: dict[str, str], secrets: dict[str, str]) -> dict[str, str]:
    """LANGGRAPH_CLOUD_LICENSE_KEY / LANGSMITH_API_KEY: from the environment, else from the secrets file."""
    found = {}
    for var in LICENSE_VARS:
        value = (environ.get(var) or secrets.get(var) or "").strip()
        if value:
            found[var] = value
    return found


def _loopback_urls(urls: dict[str, str]) -> list[str]:
    return [name for name, url in urls.items() if url and (urlsplit(url).hostname or "") in _LOOPBACK_HOSTS]


@dataclass
class PreflightInputs:
    """What the image runtime's preflight looks at; gathered by `gather_preflight`, plain for tests."""

    engine: str | None  # its path, or None when none is on PATH
    wanted_engine: str  # [langgraph] engine ("" = docker, else podman)
    engine_problem: str | None  # None when its daemon answered (or when not asked: no engine)
    langgraph_cli: str | None
    docker_on_path: bool  # `langgraph build` calls `docker` itself, also when podman runs the container
    buildx_problem: str | None  # None when `docker buildx` answers (or when not asked: no docker)
    licensed: bool
    network: str
    loopback_services: list[str]  # services whose URL the container would reach on the host's loopback


def preflight_problems(inputs: PreflightInputs) -> list[str]:
    """What is missing before the image runtime can start, one line each (empty: nothing)."""
    problems = []
    if inputs.engine is None:
        problems.append(f"container engine: {inputs.wanted_engine} is not on PATH" if inputs.wanted_engine
                        else "container engine: neither docker nor podman is on PATH")
    elif inputs.engine_problem:
        problems.append(f"container engine: {Path(inputs.engine).name} cannot reach its daemon: "
                        f"{inputs.engine_problem}")
    if inputs.langgraph_cli is None:
        problems.append("langgraph CLI: `langgraph` is not installed (pip install langgraph-cli); "
                        "it builds the image")
    elif not inputs.docker_on_path:
        problems.append("langgraph CLI: `langgraph build` calls `docker`, which is not on PATH "
                        "(with podman, install podman-docker)")
    elif inputs.buildx_problem:
        problems.append(f"buildx: `langgraph build` passes the project with --build-context, which needs docker's "
                        f"buildx plugin (docker-buildx): {inputs.buildx_problem}")
    if not inputs.licensed:
        problems.append("license key: set LANGGRAPH_CLOUD_LICENSE_KEY or LANGSMITH_API_KEY (environment, or the "
                        "same names in the state dir's secrets.json)")
    if inputs.network == "bridge" and inputs.loopback_services:
        problems.append(f"network: {' and '.join(inputs.loopback_services)} on 127.0.0.1 are out of a bridged "
                        "container's reach; set [langgraph] container_network = \"host\"")
    return problems


def gather_preflight(spec: dict, environ: dict[str, str], secrets: dict[str, str],
                     service_urls: dict[str, str], ask_daemon: bool = True) -> PreflightInputs:
    engine = find_engine(spec.get("engine") or "")
    import sys

    return PreflightInputs(
        engine=engine,
        wanted_engine=spec.get("engine") or "",
        engine_problem=engine_unreachable(engine) if engine and ask_daemon else None,
        langgraph_cli=find_program("langgraph", [Path(sys.executable).parent]),
        docker_on_path=(docker := shutil.which("docker")) is not None,
        buildx_problem=buildx_missing(docker) if docker and ask_daemon else None,
        licensed=bool(license_env(environ, secrets)),
        network=spec.get("container_network") or "bridge",
        loopback_services=_loopback_urls(service_urls),
    )


# --- build -----------------------------------------------------------------------------------------------

def _relative_spec(spec: str, build_dir: Path) -> str:
    """'/abs/agent.py:graph' -> '../../abs/agent.py:graph' from the build dir (langgraph build maps only relative
    paths into the image); module specs stay as they are."""
    path, sep, variable = spec.partition(":")
    if path.startswith("/"):
        path = _dot_relative(Path(path), build_dir)
    return f"{path}{sep}{variable}"


def _dot_relative(path: Path, build_dir: Path) -> str:
    rel = os.path.relpath(path, build_dir)
    return rel if rel.startswith(".") else f"./{rel}"


def image_config(overlay: dict, build_dir: Path, token_guarded: bool) -> dict:
    """The image's langgraph.json, from the dev overlay (absolute paths): every local path relative to the build
    dir, lgconsole's checkpointer and store left out (the image's runtime keeps both in DATABASE_URI's Postgres),
    lgconsole's token hook taken from the build context's copy."""
    data = {k: v for k, v in overlay.items() if k not in ("checkpointer", "store", "auth")}
    for key in ("checkpointer", "store"):  # a project's own factories stay
        own = overlay.get(key)
        if isinstance(own, dict) and own.get("path") and "persistence.py:" not in own["path"]:
            data[key] = {**own, "path": _relative_spec(own["path"], build_dir)}
    data["graphs"] = map_graph_paths(overlay["graphs"], lambda spec: _relative_spec(spec, build_dir))
    data["dependencies"] = [_dot_relative(Path(d), build_dir) if str(d).startswith("/") else d
                            for d in overlay.get("dependencies", [])]
    if isinstance(data.get("env"), str) and data["env"].startswith("/"):
        data["env"] = _dot_relative(Path(data["env"]), build_dir)
    auth = overlay.get("auth")
    if token_guarded and isinstance(auth, dict) and str(auth.get("path", "")).endswith("token_auth.py:auth"):
        data["dependencies"].append(f"./{AUTH_GLUE_DIR}")
        data["auth"] = {**auth, "path": f"./{AUTH_GLUE_DIR}/token_auth.py:auth"}
    elif isinstance(auth, dict) and isinstance(auth.get("path"), str):
        data["auth"] = {**auth, "path": _relative_spec(auth["path"], build_dir)}
    return data


def build_argv(langgraph_cli: str, config_path: Path, tag: str, base_image: str = "", pull: bool = True) -> list[str]:
    argv = [langgraph_cli, "build", "--config", str(config_path), "--tag", tag]
    if base_image:
        argv += ["--base-image", base_image]
    if not pull:
        argv.append("--no-pull")
    return argv


def image_tag(spec: dict, project_dir: Path) -> str:
    """The configured tag, else lgconsole-langgraph-<project dir name>:local (a name docker accepts)."""
    if spec.get("image_tag"):
        return spec["image_tag"]
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in project_dir.name.lower()).strip("-._") or "project"
    return f"lgconsole-langgraph-{name}:local"


_FAILURE_WORDS = ("error", "unknown", "failed", "denied", "not found", "cannot", "no such")


def _build_failure(tail: list[str]) -> str:
    """The line of a failed build's output that says why: the last one naming an error, else the last one."""
    return next((ln for ln in reversed(tail) if any(w in ln.lower() for w in _FAILURE_WORDS)),
                tail[-1] if tail else "no output")


# --- run -------------------------------------------------------------------------------------------------

def container_name(port: int) -> str:
    return f"lgconsole-langgraph-{port}"


def reachable_url(url: str, network: str) -> str:
    """A service URL as the container reaches it: on a bridge, the host's loopback is the host alias."""
    if network != "bridge" or not url:
        return url
    parts = urlsplit(url)
    if (parts.hostname or "") not in _LOOPBACK_HOSTS:
        return url
    userinfo, _, _ = parts.netloc.rpartition("@")
    host = HOST_ALIAS + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}" if userinfo else host))


def container_env(database_uri: str, redis_uri: str, licenses: dict[str, str], network: str, port: int,
                  extra: dict[str, str] | None = None, token_guarded: bool = False) -> dict[str, str]:
    """The container's environment (written to the env file, never onto the command line)."""
    env = {
        "DATABASE_URI": reachable_url(database_uri, network),
        "REDIS_URI": reachable_url(redis_uri, network),
        **licenses,
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TRACING": "false",
        "LOG_COLOR": "false",
        **{k: str(v) for k, v in (extra or {}).items()},
    }
    if network == "host":  # the server binds the image's PORT on the host itself
        env["PORT"] = str(port)
    if token_guarded:
        env["LGCONSOLE_TOKEN_FILE"] = CONTAINER_TOKEN_FILE
    return env


def write_env_file(path: Path, env: dict[str, str]) -> Path:
    """KEY=VALUE lines for `--env-file`, created 0600 (it holds passwords and the license key)."""
    for key, value in env.items():
        if "\n" in value or "\r" in value or "\n" in key or "=" in key:
            raise StackError(f"langgraph: environment variable {key.splitlines()[0]!r} cannot be passed to the "
                             "container: an env file holds one line per variable")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.writelines(f"{k}={v}\n" for k, v in env.items())
    os.chmod(tmp, 0o600)  # O_CREAT's mode is cut by the umask only; an old file kept its own
    os.replace(tmp, path)
    return path


def run_argv(engine: str, name: str, tag: str, port: int, env_file: Path, network: str,
             token_file: Path | None = None) -> list[str]:
    """`docker run` in the foreground (its output is the service log; SIGTERM is passed on to the container)."""
    argv = [engine, "run", "--rm", "--name", name, "--env-file", str(env_file), "--init"]
    if network == "host":
        argv += ["--network", "host"]
    else:
        argv += ["--publish", f"{LOOPBACK}:{port}:{CONTAINER_PORT}", "--add-host", f"{HOST_ALIAS}:host-gateway"]
    if token_file is not None:
        argv += ["--volume", f"{token_file}:{CONTAINER_TOKEN_FILE}:ro"]
    return [*argv, tag]


def remove_container_argv(engine: str, name: str) -> list[str]:
    return [engine, "rm", "--force", name]


def remove_container(engine: str, name: str) -> None:
    """Remove a container left by a killed `docker run` client (the --rm of a SIGKILLed client never runs)."""
    try:
        subprocess.run(remove_container_argv(engine, name), capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        pass


def write_build_context(build_dir: Path, overlay: dict, token_guarded: bool, token_auth_module: Path) -> Path:
    """The image's langgraph.json (and the token hook's copy) in lgconsole's state dir; the project is untouched."""
    build_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = image_config(overlay, build_dir, token_guarded)
    if token_guarded and "auth" in config and AUTH_GLUE_DIR in config["auth"]["path"]:
        glue = build_dir / AUTH_GLUE_DIR
        glue.mkdir(exist_ok=True)
        shutil.copyfile(token_auth_module, glue / "token_auth.py")
    path = build_dir / "langgraph.json"
    path.write_text(json.dumps(config, indent=2))
    return path


# --- one service's image -----------------------------------------------------------------------------------

class ImageRuntime:
    """The image runtime of one LangGraph service: preflight, `langgraph build` (once per supervisor: docker's layer
    cache makes an unchanged project quick), `docker run` in the foreground, and removal of a left container."""

    def __init__(self, spec: dict, project_dir: Path, workdir: Path, port: int, secrets_file: Path):
        self.spec = spec
        self.project_dir = project_dir
        self.workdir = workdir
        self.port = port
        self.secrets_file = secrets_file
        self.built = False
        self._proc: subprocess.Popen | None = None

    @property
    def network(self) -> str:
        return self.spec.get("container_network") or "bridge"

    @property
    def tag(self) -> str:
        return image_tag(self.spec, self.project_dir)

    @property
    def name(self) -> str:
        return container_name(self.port)

    def engine(self) -> str:
        found = find_engine(self.spec.get("engine") or "")
        if not found:
            raise StackError("langgraph: container engine: neither docker nor podman is on PATH")
        return found

    def problems(self, service_urls: dict[str, str] | None = None, ask_daemon: bool = True) -> list[str]:
        inputs = gather_preflight(self.spec, dict(os.environ), read_secrets_file(self.secrets_file),
                                  service_urls or {}, ask_daemon=ask_daemon)
        return preflight_problems(inputs)

    def preflight(self) -> None:
        if problems := self.problems():
            raise StackError("langgraph (image runtime): " + "; ".join(problems))

    def build(self, overlay: dict, token_guarded: bool, token_auth_module: Path, log_path: Path,
              progress) -> None:
        """`langgraph build` of the image's langgraph.json; its output goes to the service log and the progress."""
        import sys

        config = write_build_context(self.workdir / "image", overlay, token_guarded, token_auth_module)
        cli = find_program("langgraph", [Path(sys.executable).parent])
        if not cli:
            raise StackError("langgraph: the `langgraph` CLI is not installed; pip install langgraph-cli")
        argv = build_argv(cli, config, self.tag, self.spec.get("base_image") or "", pull=self.spec.get("pull", True))
        progress("langgraph build", f"{self.tag} from {config}")
        tail: list[str] = []  # the last lines: the reason is rarely the very last (usage text follows it)
        with open(log_path, "ab") as log:
            self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=config.parent,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
            assert self._proc.stdout is not None
            for raw in self._proc.stdout:
                log.write(raw)
                line = raw.decode(errors="replace").strip()
                if line:
                    tail = [*tail[-11:], line]
                    progress("langgraph build", line)
            code = self._proc.wait()
        self._proc = None
        if code != 0:
            raise StackError(f"langgraph: `langgraph build` failed (exit {code}): {_build_failure(tail)[:300]}")
        self.built = True

    def cancel_build(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            import signal

            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def launch_argv(self, dependency_env: dict[str, str], token_file: Path | None) -> list[str]:
        """Writes the env file (0600) and returns the `docker run` command line, which holds no secret."""
        database, redis = dependency_env.get("LGCONSOLE_POSTGRES_URL"), dependency_env.get("LGCONSOLE_REDIS_URL")
        if not database or not redis:
            missing = " and ".join(n for n, u in (("Postgres", database), ("Redis", redis)) if not u)
            raise StackError(f"langgraph: the image runtime needs the stack's {missing} (DATABASE_URI, REDIS_URI)")
        if self.network == "bridge" and (loopback := _loopback_urls({"postgres": database, "redis": redis})):
            raise StackError(f"langgraph: {' and '.join(loopback)} on 127.0.0.1 are out of a bridged container's "
                             "reach; set [langgraph] container_network = \"host\"")
        env = container_env(database, redis, license_env(dict(os.environ), read_secrets_file(self.secrets_file)),
                            self.network, self.port, self.spec.get("env"), token_guarded=token_file is not None)
        env_file = write_env_file(self.workdir / "container.env", env)
        engine = self.engine()
        remove_container(engine, self.name)  # one a SIGKILLed client left behind holds the name and the port
        return run_argv(engine, self.name, self.tag, self.port, env_file, self.network, token_file)

    def remove(self) -> None:
        if engine := find_engine(self.spec.get("engine") or ""):
            remove_container(engine, self.name)
