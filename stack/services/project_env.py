"""The Python environment a user's LangGraph project is served from, built from the project's own `langgraph.json`.

`plan_env(project_dir)` reads `dependencies` the way `langgraph build` does for its image: a local directory with a
`pyproject.toml` or `setup.py` is installed editable (`.` is the project itself), a local directory without one is
put on the path and its `requirements.txt` installed, anything else is a pip requirement as written. The server
packages lgconsole needs are added at the versions lgconsole itself runs. The plan's `key` hashes every input (the
dependency list, the contents of the requirement files, lgconsole's pins, the Python version), so
`ensure_env(plan)` builds once into `<cache>/<key>` (`$LGCONSOLE_ENV_DIR`, else `$XDG_CACHE_HOME/lgconsole/envs`)
and reuses that environment while nothing changed. A build that fails leaves nothing behind and says which
requirement failed with pip's (or uv's) last error line.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lgconsole.stack.services.langgraph_json import ProjectEnvError, read_langgraph_json  # (defined there: light)

ENV_FORMAT = 1  # bump when the layout of a built environment changes: every env is rebuilt
MARKER = "lgconsole-env.json"  # written last: an env dir without it is half-made and is removed
REQUIREMENT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt")

# (distribution, extras) the server needs, pinned to the versions installed next to lgconsole. The server imports
# stack/services/persistence.py by path: psycopg, psycopg_pool and langgraph's Postgres saver and store.
SERVER_DISTRIBUTIONS = (
    ("langgraph-api", ""),
    ("langgraph-cli", "[inmem]"),
    ("langgraph-runtime-inmem", ""),
    ("langgraph", ""),
    ("langgraph-checkpoint-postgres", ""),
    ("psycopg", "[binary,pool]"),
    ("psycopg-pool", ""),
    ("python-dotenv", ""),  # langgraph.json's "env" as a .env file
)
# module the server imports -> the distribution that provides it (for `[project] python` checks)
SERVER_MODULES = {
    "langgraph_api": "langgraph-api",
    "langgraph_cli": "langgraph-cli",
    "langgraph_runtime_inmem": "langgraph-runtime-inmem",
    "langgraph.checkpoint.postgres.aio": "langgraph-checkpoint-postgres",
    "langgraph.store.postgres.aio": "langgraph-checkpoint-postgres",
    "psycopg": "psycopg",
    "psycopg_pool": "psycopg-pool",
    "dotenv": "python-dotenv",
}

Progress = Callable[[str, str], None]  # (phase, last output line)


@dataclass(frozen=True)
class EnvPlan:
    """What goes into a project's environment, and the key that names it."""

    project_dir: Path
    requirements: tuple[str, ...]  # pip arguments, in order: server pins, specs, `-r file`, `-e dir`
    sources: tuple[tuple[str, str], ...]  # (pip argument, the langgraph.json entry it comes from)
    extra_paths: tuple[Path, ...]  # local dirs without packaging, put on the server's PYTHONPATH
    pins: tuple[str, ...]
    python: str  # the base interpreter the venv is made from
    python_version: str
    key: str
    inputs: dict = field(default_factory=dict, compare=False)  # what was hashed, for the marker and messages


@dataclass(frozen=True)
class ProjectEnv:
    """A ready environment: the interpreter and `langgraph` CLI the server runs with."""

    path: Path
    python: Path
    reused: bool
    built_in_s: float | None = None

    def program(self, name: str) -> Path:
        return self.python.parent / name


# --- planning -------------------------------------------------------------------------------------------------

def server_pins() -> tuple[str, ...]:
    """The server packages at the versions installed with lgconsole (`name[extras]==version`)."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for dist, extras in SERVER_DISTRIBUTIONS:
        try:
            pins.append(f"{dist}{extras}=={version(dist)}")
        except PackageNotFoundError:
            pins.append(f"{dist}{extras}")
    return tuple(pins)


def _is_local(entry: str) -> bool:
    return entry.startswith((".", "/", "~"))


def resolve_dependencies(project_dir: Path, dependencies: list) -> tuple[list[tuple[str, str]], list[Path],
                                                                          list[Path]]:
    """langgraph.json `dependencies` -> ([(pip argument, entry)], files to hash, dirs for PYTHONPATH)."""
    args: list[tuple[str, str]] = []
    hashed: list[Path] = []
    paths: list[Path] = []
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise ProjectEnvError(f"langgraph: {project_dir / 'langgraph.json'}: \"dependencies\" must be a list of "
                              "strings (\".\", local paths or pip requirements)")
    for entry in dependencies:
        entry = entry.strip()
        if not entry:
            continue
        if not _is_local(entry):
            args.append((entry, entry))
            continue
        local = (project_dir / Path(entry).expanduser()).resolve()
        if not local.is_dir():
            raise ProjectEnvError(f"langgraph: dependency {entry!r} in {project_dir / 'langgraph.json'} is not a "
                                  f"directory ({local}); fix the path or remove it")
        present = [local / name for name in REQUIREMENT_FILES if (local / name).is_file()]
        hashed += present
        if (local / "pyproject.toml").is_file() or (local / "setup.py").is_file():
            args.append((f"-e{local}", entry))
        else:
            paths.append(local)
            if (local / "requirements.txt").is_file():
                args.append((f"-r{local / 'requirements.txt'}", entry))
    return args, hashed, paths


def base_python() -> str:
    """The interpreter lgconsole's own venv was made from (a venv made from a venv's python works too)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def python_for(wanted: object, project_dir: Path) -> str:
    """The base interpreter for langgraph.json's `python_version` ("3.12"): lgconsole's own when it matches or is
    not given, else `python3.12` from PATH."""
    own = ".".join(map(str, sys.version_info[:2]))
    if not wanted or str(wanted) == own:
        return base_python()
    found = shutil.which(f"python{wanted}")
    if not found:
        raise ProjectEnvError(f"langgraph: {project_dir / 'langgraph.json'} asks for python_version {wanted} and no "
                              f"python{wanted} is on PATH (lgconsole runs {own}); install it, or set [project] python "
                              "to an interpreter that has the project and the server installed")
    return found


def plan_key(dependencies: list, files: dict[str, str], pins: tuple[str, ...], python_version: str) -> str:
    blob = json.dumps({"format": ENV_FORMAT, "dependencies": dependencies, "files": files, "pins": list(pins),
                       "python": python_version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def plan_env(project_dir: Path, pins: tuple[str, ...] | None = None, python: str | None = None) -> EnvPlan:
    project_dir = Path(project_dir).resolve()
    data = read_langgraph_json(project_dir)
    dependencies = data.get("dependencies", ["."])
    sources, hashed, paths = resolve_dependencies(project_dir, dependencies)
    pins = server_pins() if pins is None else tuple(pins)
    python = python or python_for(data.get("python_version"), project_dir)
    python_version = ".".join(map(str, sys.version_info[:3])) if python == base_python() else python
    files = {}
    for path in hashed:
        try:
            files[str(path.relative_to(project_dir))] = hashlib.sha256(path.read_bytes()).hexdigest()
        except ValueError:
            files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    # an editable install points at its directory: the same files elsewhere are another environment
    editable = sorted(arg[2:] for arg, _ in sources if arg.startswith("-e"))
    key = plan_key(dependencies, {**files, **{f"editable:{d}": "" for d in editable}}, pins, python_version)
    # the project's own requirements first: pip stops at the first one it cannot find, before the server's
    return EnvPlan(project_dir, tuple(a for a, _ in sources) + tuple(pins), tuple(sources), tuple(paths), pins,
                   python, python_version, key,
                   {"dependencies": dependencies, "files": files, "pins": list(pins), "python": python_version})


# --- where environments live ------------------------------------------------------------------------------------

def env_cache_root(environ: dict | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get("LGCONSOLE_ENV_DIR"):
        return Path(environ["LGCONSOLE_ENV_DIR"]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lgconsole" / "envs"


def env_path(plan: EnvPlan, root: Path | None = None) -> Path:
    return (root or env_cache_root()) / plan.key[:16]


def ready_env(plan: EnvPlan, root: Path | None = None) -> ProjectEnv | None:
    """The built environment for this plan, or None when it still has to be built."""
    path = env_path(plan, root)
    try:
        marker = json.loads((path / MARKER).read_text())
    except (OSError, ValueError, RecursionError):  # no marker, or a damaged one: (re)build
        return None
    python = path / "bin" / "python"
    if not isinstance(marker, dict) or marker.get("key") != plan.key or not python.exists():
        return None
    return ProjectEnv(path, python, reused=True)


# --- building ---------------------------------------------------------------------------------------------------

_ERROR = re.compile(r"^\s*(?:ERROR\b|error\b|×|╰─▶|cause:|Because\b)"
                    r"|No matching distribution|Could not find a version")
_NAME = re.compile(r"(?:for|requirement|found for|satisfies the requirement)\s+([A-Za-z0-9_.\-\[\]]+)")


def failed_requirement(lines: list[str], plan: EnvPlan) -> tuple[str, str | None]:
    """pip's/uv's most telling error line, and the langgraph.json entry (or server pin) it names, if any."""
    errors = [ln.strip() for ln in lines if _ERROR.search(ln)]
    line = errors[-1] if errors else (lines[-1].strip() if lines else "no output")
    for text in reversed(errors or lines[-5:]):
        for candidate in _NAME.findall(text) + re.findall(r"[A-Za-z0-9_.\-]+", text):
            low = candidate.lower().strip(".")
            for arg, entry in plan.sources:
                if low and low == re.split(r"[\[<>=!~; ]", entry.lower(), maxsplit=1)[0]:
                    return line, entry
            for pin in plan.pins:
                if low and low == re.split(r"[\[<>=!~; ]", pin.lower(), maxsplit=1)[0]:
                    return line, pin
    return line, None


def build_error_line(lines: list[str], plan: EnvPlan, env_dir: Path) -> str:
    line, entry = failed_requirement(lines, plan)
    if entry is None:
        where = "installing the project's dependencies failed"
        fix = "fix langgraph.json's dependencies (or the files they name), then `lgconsole up`"
    elif entry in plan.pins:
        where = f"installing the server package {entry} failed"
        fix = "a project dependency conflicts with it or the package index is unreachable"
    else:
        where = f"installing dependency {entry!r} from langgraph.json failed"
        fix = "fix or remove it in langgraph.json's dependencies, then `lgconsole up`"
    return f"langgraph: {where}: {line[:240]} (environment {env_dir}; {fix})"


def find_uv() -> str | None:
    """uv next to lgconsole's interpreter or on PATH: it builds an environment 3-5 times faster than pip."""
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which("uv")


class EnvBuilder:
    """Builds (or reuses) a plan's environment; `cancel()` from another thread kills the installer."""

    def __init__(self, plan: EnvPlan, root: Path | None = None, progress: Progress | None = None):
        self.plan = plan
        self.root = root or env_cache_root()
        self.progress = progress or (lambda _phase, _line: None)
        self._proc: subprocess.Popen | None = None
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def ensure(self) -> ProjectEnv:
        if env := ready_env(self.plan, self.root):
            self.progress("reusing environment", str(env.path))
            return env
        self.root.mkdir(parents=True, exist_ok=True)
        path = env_path(self.plan, self.root)
        with open(self.root / f"{path.name}.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # two stacks of one project: one builds, the other waits and reuses
                self.progress("waiting for another build of this environment", str(path))
                fcntl.flock(lock, fcntl.LOCK_EX)
            if env := ready_env(self.plan, self.root):
                self.progress("reusing environment", str(env.path))
                return env
            t0 = time.monotonic()
            shutil.rmtree(path, ignore_errors=True)  # a half-made env of a killed build
            try:
                self._build(path)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            return ProjectEnv(path, path / "bin" / "python", reused=False, built_in_s=time.monotonic() - t0)

    def _build(self, path: Path) -> None:
        uv = find_uv()
        self.progress("creating the virtual environment", str(path))
        if uv:
            self._run([uv, "venv", "--quiet", "--python", self.plan.python, str(path)], path)
        else:
            # no pip inside (ensurepip costs ~10 s): lgconsole's own pip installs into it with --python
            self._run([self.plan.python, "-m", "venv", "--without-pip", str(path)], path)
        python = path / "bin" / "python"
        phase = f"installing {len(self.plan.sources)} project requirement(s) + the server packages"
        self.progress(phase, "")
        args = [part for arg in self.plan.requirements
                for part in ((arg[:2], arg[2:]) if arg.startswith(("-e", "-r")) else (arg,))]
        if uv:
            argv = [uv, "pip", "install", "--python", str(python), *args]
        else:
            argv = [sys.executable, "-m", "pip", "--python", str(python), "install", "--disable-pip-version-check",
                    "--progress-bar", "off", *args]
        editable = [Path(arg[2:].strip()) for arg in self.plan.requirements if arg.startswith("-e")]
        with _no_build_leftovers(editable):
            self._run(argv, path, phase)
        self.progress("checking that the server imports", "")
        if missing := missing_modules(str(python)):
            raise ProjectEnvError(f"langgraph: the built environment {path} lacks {', '.join(missing)} "
                                  "(a project dependency replaced a server package?)")
        marker = {"key": self.plan.key, "built_at": time.time(), "project": str(self.plan.project_dir),
                  **self.plan.inputs}
        tmp = path / f"{MARKER}.tmp"
        tmp.write_text(json.dumps(marker, indent=1))
        os.replace(tmp, path / MARKER)

    def _run(self, argv: list[str], path: Path, phase: str = "") -> None:
        if self._cancelled.is_set():
            raise ProjectEnvError("langgraph: environment build cancelled")
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
        env["PIP_NO_INPUT"] = "1"
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      text=True, errors="replace", env=env, start_new_session=True)
        lines: list[str] = []
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.rstrip()
            if line.strip():
                lines = (lines + [line])[-60:]
                if phase and not line.startswith("WARNING:"):  # index warnings of the machine's pip config
                    self.progress(phase, line.strip())
        code = self._proc.wait()
        self._proc = None
        if self._cancelled.is_set():
            raise ProjectEnvError("langgraph: environment build cancelled")
        if code != 0:
            if phase:
                raise ProjectEnvError(build_error_line(lines, self.plan, path))
            raise ProjectEnvError(f"langgraph: could not create a virtual environment at {path}: "
                                  f"{lines[-1].strip() if lines else f'exit code {code}'}")


_BUILD_LEFTOVERS = ("*.egg-info", "build")  # what a setuptools editable build writes into the source tree


@contextlib.contextmanager
def _no_build_leftovers(dirs: list[Path]):
    """The user's project is never edited: what an editable install's build writes into a project directory (a
    `NAME.egg-info`, a `build/`; at its top or under `src/`) and was not there before is removed afterwards (the
    installed metadata lives in the environment; the source tree needs none of it)."""
    def present(d: Path) -> set[Path]:
        found: set[Path] = set()
        for where in (d, d / "src"):
            for pattern in _BUILD_LEFTOVERS:
                found.update(where.glob(pattern))
        return found

    before = {d: present(d) for d in dirs if d.is_dir()}
    try:
        yield
    finally:
        for d, had in before.items():
            for path in present(d) - had:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def ensure_env(plan: EnvPlan, root: Path | None = None, progress: Progress | None = None) -> ProjectEnv:
    """Build the plan's environment, or reuse it when it is already built (blocking; minutes on a cold cache)."""
    return EnvBuilder(plan, root, progress).ensure()


# --- an existing interpreter ([project] python) -----------------------------------------------------------------

_CHECK = """
import importlib, json, sys
missing = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        missing.append(name)
print(json.dumps(missing))
"""


def missing_modules(python: str, modules: tuple[str, ...] = tuple(SERVER_MODULES)) -> list[str]:
    """The distributions whose server modules `python` cannot import (empty: it can serve)."""
    try:
        out = subprocess.run([python, "-c", _CHECK, *modules], capture_output=True, text=True, timeout=120,
                             env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")})
    except (OSError, subprocess.SubprocessError) as exc:
        raise ProjectEnvError(f"langgraph: [project] python {python} cannot run: {exc}") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise ProjectEnvError(f"langgraph: [project] python {python} cannot run: {last}")
    dists: list[str] = []
    for module in json.loads(out.stdout.strip().splitlines()[-1]):
        dist = SERVER_MODULES.get(module, module)
        if dist not in dists:
            dists.append(dist)
    return dists


def check_interpreter(python: str, pins: tuple[str, ...] | None = None) -> ProjectEnv:
    """`[project] python`: use it when it can import the server; else one line with what to install."""
    path = Path(python).expanduser() if "/" in python else Path(shutil.which(python) or python)
    if not path.exists():
        raise ProjectEnvError(f"langgraph: [project] python {python} does not exist; fix the path in lgconsole.toml "
                              "or remove the key to let lgconsole build the project's environment")
    missing = missing_modules(str(path))
    if missing:
        pins = server_pins() if pins is None else pins
        wanted = [p for p in pins if re.split(r"[\[=]", p, maxsplit=1)[0] in missing]
        command = " ".join([str(path), "-m", "pip", "install", *(f"'{p}'" for p in wanted)])
        raise ProjectEnvError(f"langgraph: [project] python {path} lacks {', '.join(missing)}; add them with: "
                              f"{command}")
    return ProjectEnv(path.parent.parent, path, reused=True)


# --- a graph that fails to load -------------------------------------------------------------------------------

_GRAPH_FAILED = re.compile(r"Failed to load graph '([^']+)'|Graph '([^']+)' failed to load")
_MISSING = re.compile(r"No module named '([^']+)'")
_LOAD_ERROR = re.compile(r"(\w+(?:Error|Exception)): (.+)$")


def graph_load_failure(lines: list[str], env_path: str | Path) -> str | None:
    """One line from the server log when a graph failed to import: the graph, the cause, the env it looked in."""
    graph = None
    for line in lines:
        if m := _GRAPH_FAILED.search(line):
            graph = m.group(1) or m.group(2)
    if graph is None and not any("GraphLoadError" in ln or "ModuleNotFoundError" in ln for ln in lines):
        return None
    for line in reversed(lines):
        if m := _MISSING.search(line):
            return (f"langgraph: graph {graph or '?'!r} failed to load: No module named {m.group(1)!r} (in env "
                    f"{env_path}; add it to langgraph.json dependencies)")
    for line in reversed(lines):
        m = _LOAD_ERROR.search(line)
        if m and m.group(1) != "GraphLoadError":
            return (f"langgraph: graph {graph or '?'!r} failed to load: {m.group(1)}: {m.group(2).strip()[:200]} "
                    f"(in env {env_path}; fix the graph's module)")
    return None if graph is None else f"langgraph: graph {graph!r} failed to load (in env {env_path}; see its log)"
