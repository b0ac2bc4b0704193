"""What every managed service has in common: a spec, a state, a health probe, a version, a URL.

The supervisor owns processes; a Service only knows how to prepare, launch and probe one kind of server.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from lgconsole.stack.dataclass_methods import DataclassMethods
from lgconsole.stack.services.file_modes import make_private

if TYPE_CHECKING:  # (the process module and its log rotation: not for a command that only reads a URL)
    from lgconsole.stack.services.process import LaunchSpec

# Every service lgconsole runs, in start order (the supervisor's SERVICE_TYPES has one Service class per name).
SERVICE_NAMES = ("postgres", "redis", "vllm", "langgraph")


class ServiceState(str, Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    HEALTHY = "healthy"
    DEGRADED = "degraded"  # process alive, health probe failing
    CRASHED = "crashed"  # exited; a restart is scheduled (backoff)
    WAITING = "waiting"  # waits for a dependency to become healthy
    FAILED = "failed"  # could not be started (configuration, binaries, ports); see last_error
    DISABLED = "disabled"  # not configured (vLLM without a model), or not used (Redis: redis.py redis_use)
    DOWN = "down"  # an external service that does not answer its probe (external.py)


@dataclass(repr=False, eq=False)
class ServiceStatus(DataclassMethods):
    """One row of `lgconsole status`: plain data, safe to print (the URL is redacted)."""

    name: str
    state: ServiceState
    managed: bool = True
    pid: int | None = None
    port: int | None = None
    url: str | None = None
    version: str | None = None
    started_at: float | None = None  # wall clock, seconds
    healthy_at: float | None = None
    restarts: int = 0
    last_error: str | None = None
    detail: str | None = None  # e.g. the last log line while starting
    log_path: str | None = None
    # a service of the spec that answers on its port while no lgconsole supervisor runs it (the exported systemd
    # units, another manager): probed like an external one, never started, adopted or stopped by lgconsole
    run_elsewhere: bool = False

    def uptime(self, now: float | None = None) -> float | None:
        if self.started_at is None or self.state not in (ServiceState.HEALTHY, ServiceState.DEGRADED, ServiceState.STARTING):
            return None
        return max(0.0, (now or time.time()) - self.started_at)

    def to_json(self, now: float | None = None) -> dict:
        data = asdict(self)
        data["state"] = self.state.value
        data["uptime_s"] = None if (up := self.uptime(now)) is None else round(up, 1)
        return data

    @classmethod
    def from_json(cls, data: dict) -> ServiceStatus:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["state"] = ServiceState(known.get("state", "stopped"))
        return cls(**known)


@dataclass(repr=False, eq=False)
class Health(DataclassMethods):
    """What a health check found: ok or not, why not (`detail`, one line), the version it reports."""

    ok: bool
    detail: str = ""
    version: str | None = None


@dataclass(repr=False, eq=False)
class StackPaths(DataclassMethods):
    """Where a stack keeps its files: one state directory per stack."""

    state_dir: Path

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    @property
    def spec_file(self) -> Path:
        return self.state_dir / "spec.json"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.json"

    @property
    def control_socket(self) -> Path:
        return self.state_dir / "control.sock"

    @property
    def supervisor_logger_file(self) -> Path:
        """The PID and start time of the process that writes the supervisor's own log (`down` waits for it)."""
        return self.state_dir / "supervisor-logger.json"

    def service_dir(self, service: str) -> Path:
        return self.state_dir / service


class Secrets:
    """Generated passwords for the managed Postgres and Redis, kept in a 0600 file, never printed."""

    def __init__(self, path: Path):
        self.path = path
        from lgconsole.stack.services.state_files import corrupt, read_json_object

        self._data: dict[str, str] = read_json_object(path) or {}
        if not all(isinstance(v, str) for v in self._data.values()):
            raise corrupt(path, "holds values that are not the passwords lgconsole writes")
        # the supervisor prepares Postgres in a thread while it builds the server's environment: one password each
        self._lock = threading.Lock()

    def get(self, key: str) -> str:
        with self._lock:
            if key not in self._data:
                import secrets

                self._data[key] = secrets.token_urlsafe(24)
                self._write()
            return self._data[key]

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self._data, fh)
        os.replace(tmp, self.path)

    def spec_secrets(self) -> dict[str, str]:
        """The spec's secret values (external URLs with passwords, server credentials) by "service.field"."""
        return {k.removeprefix(_SPEC_PREFIX): v for k, v in self._data.items() if k.startswith(_SPEC_PREFIX)}

    def set_spec_secrets(self, values: dict[str, str]) -> None:
        """Replace the spec's secret values with `values` (what an earlier spec held and this one does not goes)."""
        data = {k: v for k, v in self._data.items() if not k.startswith(_SPEC_PREFIX)}
        data.update({_SPEC_PREFIX + k: v for k, v in values.items()})
        if data != self._data or not self.path.exists():
            self._data = data
            self._write()


_SPEC_PREFIX = "spec:"
# spec fields that are secrets wherever they are set; a `url` is one when it carries a password
SECRET_SPEC_FIELDS = ("api_key", "bearer_token", "headers")


def split_spec_secrets(services: dict[str, dict]) -> tuple[dict[str, dict], dict[str, str]]:
    """The services' specs without their secrets (URLs redacted), and the secrets as JSON texts by "service.field"."""
    public: dict[str, dict] = {}
    hidden: dict[str, str] = {}
    for name, section in services.items():
        section = dict(section)
        for key in SECRET_SPEC_FIELDS:
            value = section.pop(key, None)
            if value:
                hidden[f"{name}.{key}"] = json.dumps(value)
        url = section.get("url")
        if url and redact_url(url) != url:
            hidden[f"{name}.url"] = json.dumps(url)
            section["url"] = redact_url(url)
        public[name] = section
    return public, hidden


def join_spec_secrets(services: dict[str, dict], hidden: dict[str, str]) -> dict[str, dict]:
    joined = {name: dict(section) for name, section in services.items()}
    for key, text in hidden.items():
        name, _, field_name = key.partition(".")
        if name in joined:
            joined[name][field_name] = json.loads(text)
    return joined


# Patterns compiled on first use (re caches them): importing this module is part of every cold command.
_ANSI = r"\x1b\[[0-9;?]*[A-Za-z]"


def strip_ansi(text: str) -> str:
    """Log lines of some servers carry colour codes; panes and error messages want plain text."""
    return re.sub(_ANSI, "", text)


_USERINFO = r"//([^:/@]*)(:[^@/]*)?@"


def redact_url(url: str | None) -> str | None:
    """The URL with any password replaced by ***, safe for panes, logs and --json."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(_USERINFO, lambda m: f"//{m.group(1)}{':***' if m.group(2) else ''}@", url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def scrub_password(text: str, url: str | None) -> str:
    """`text` (a driver's error message) without the URL's password, raw or percent-decoded, where it stands as a word
    of its own: a password "p" hides "user:p@host", never the p of "port 1" (the rule of console/model/masking.py's
    mask_known, which stack/ may not import)."""
    import re
    from urllib.parse import unquote

    try:
        password = urlsplit(url).password if url else None
    except ValueError:
        password = None
    secrets = sorted({password, unquote(password) if password else None} - {None, ""}, key=len, reverse=True)
    if not secrets:
        return text
    return re.sub(r"(?<!\w)(?:" + "|".join(map(re.escape, secrets)) + r")(?!\w)", "***", text)


def one_line(exc: BaseException) -> str:
    """First line of an exception's message, for status panes and one-line CLI errors."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def find_program(name: str, extra_dirs: list[Path] | None = None) -> str | None:
    """Look in extra_dirs first (the venv's bin, a configured bin dir), then on PATH."""
    for d in extra_dirs or []:
        candidate = Path(d) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    import shutil

    return shutil.which(name)


class Service(ABC):
    """One service of the stack. Subclasses define how to launch and probe it."""

    name: str = ""
    default_startup_timeout: float = 60.0

    def __init__(self, spec: dict, paths: StackPaths, secrets_store: Secrets):
        self.spec = spec
        self.paths = paths
        self.secrets = secrets_store

    # --- identity -------------------------------------------------------------------------------------
    @property
    def external(self) -> bool:
        return bool(self.spec.get("url"))

    @property
    def enabled(self) -> bool:
        return bool(self.spec.get("enabled", True))

    @property
    def port(self) -> int | None:
        if self.external:
            return urlsplit(self.spec["url"]).port
        return self.spec.get("port")

    @property
    def startup_timeout(self) -> float:
        return float(self.spec.get("startup_timeout") or self.default_startup_timeout)

    @abstractmethod
    def url(self) -> str:
        """The URL clients use, with credentials."""

    def public_url(self) -> str:
        return redact_url(self.url()) or ""

    def client_env(self) -> dict[str, str]:
        """Environment for the LangGraph server process so graphs can reach this service."""
        return {}

    # --- bring-up order ----------------------------------------------------------------------------------
    def needs(self) -> tuple[str, ...]:
        """The services that must be healthy before this one is launched."""
        return ()

    def waits_for_itself(self) -> tuple[str, ...]:
        """Those of `needs()` this service's process waits for on its own: the supervisor launches it alongside them
        while they start (a managed one, being brought up), not after."""
        return ()

    def probe_modules(self) -> tuple[str, ...]:
        """The modules `health` imports (psycopg, httpx: 0.1-0.2 s of CPU each)."""
        return ()

    def warm_up(self) -> None:
        """Import (and build) what `health` needs; the supervisor calls it in a thread while the services start, so
        that its first probe of each does not hold the loop up. A missing module is left to the probe to report."""
        import importlib

        for name in self.probe_modules():
            try:
                importlib.import_module(name)
            except ImportError:
                pass

    def slow_setup(self) -> bool:
        """Whether `preflight` + `prepare` and `after_healthy` can take seconds (initdb, CREATE DATABASE): the
        supervisor then runs them in a thread, and starts and probes the other services meanwhile."""
        return False

    # --- lifecycle ------------------------------------------------------------------------------------
    def preflight(self) -> None:
        """Cheap checks that fail fast with a clear message (binaries installed, ports free)."""

    def prepare(self) -> None:
        """One-off set-up before launch (initdb, config files). May take a few seconds."""

    @abstractmethod
    def launch_spec(self, dependency_env: dict[str, str]) -> LaunchSpec:
        """The process to run."""

    def after_healthy(self) -> None:
        """Set-up that needs the server running (create a database)."""

    def after_stop(self) -> None:
        """Clean-up once its process is gone, stopped or crashed (a container its killed client left running)."""

    @abstractmethod
    def health(self, timeout: float = 2.0) -> Health:
        """Probe the service once; never raises."""

    def startup_failure(self) -> str | None:
        """A reason found in the log why start-up cannot succeed (checked while starting)."""
        return None


@dataclass(repr=False, eq=False)
class StackSpec(DataclassMethods):
    """Everything the supervisor needs, as plain JSON (built by the console from its config)."""

    state_dir: str
    services: dict[str, dict] = field(default_factory=dict)  # name -> service spec, in start order
    restart_backoff_max: float = 30.0
    stop_grace: float = 10.0
    log_max_bytes: int = 10_000_000  # a service log past this is rotated (log_rotation.py); 0: never
    log_keep: int = 5  # rotated files kept per service

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> StackSpec:
        return cls(**data)

    def save(self) -> None:
        """spec.json holds no secret: passwords in URLs and server credentials go to the 0600 secrets file. Saving
        (at `up`) also makes the state dir private (file_modes.py)."""
        paths = StackPaths(Path(self.state_dir))
        make_private(paths.state_dir)
        public, hidden = split_spec_secrets(self.services)
        Secrets(paths.secrets_file).set_spec_secrets(hidden)
        path = paths.spec_file
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps({**self.to_json(), "services": public}, indent=2))
        os.replace(tmp, path)

    @classmethod
    def load(cls, state_dir: Path) -> StackSpec:
        """The spec `up` saved, its secrets joined back from the secrets file; FileNotFoundError before the first
        `up`, StateFileCorrupt for a damaged file."""
        from lgconsole.stack.services.state_files import corrupt, read_json_object, table

        paths = StackPaths(Path(state_dir))
        path = paths.spec_file
        data = read_json_object(path)
        if data is None:
            raise FileNotFoundError(2, "no spec.json: the stack was never brought up", str(path))
        table(data, "services", path)
        hidden = Secrets(paths.secrets_file).spec_secrets() if paths.secrets_file.exists() else {}
        if hidden:
            data["services"] = join_spec_secrets(data.get("services", {}), hidden)
        try:
            return cls.from_json(data)
        except TypeError:
            raise corrupt(path, f"has keys lgconsole does not write ({', '.join(sorted(data)[:5])})") from None


_ERROR_LINE = r"^\s*([\w.]+(Error|Exception)\b:|FATAL:|.*\bFATAL\b|.*Error: )"


def failure_line(path: Path | str | None, n: int = 80) -> str | None:
    """The most telling line of a crashed service's log: the last exception or FATAL line, else the last line."""
    lines = tail_lines(path, n)
    for line in reversed(lines):
        if re.match(_ERROR_LINE, line):
            return line.strip()
    return lines[-1].strip() if lines else None


def tail_lines(path: Path | str | None, n: int = 5, max_bytes: int = 64 * 1024) -> list[str]:
    """Last n non-empty lines of a log file, read from its end (logs can be large); a log rotated a moment ago
    (log_rotation.py) gives the rest from its newest rotated file."""
    if not path:
        return []
    lines = _tail(path, max_bytes)
    if lines is None:
        return []
    if len(lines) < n:
        lines = (_tail(f"{path}.1", max_bytes) or []) + lines
    return lines[-n:]


def _tail(path: Path | str, max_bytes: int) -> list[str] | None:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return None
    return [strip_ansi(ln) for ln in data.decode(errors="replace").splitlines() if ln.strip()]
