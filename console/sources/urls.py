"""Where the configured stack's services answer: the external URL from the config, else the managed one."""

from __future__ import annotations

from pathlib import Path

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import Secrets, Service, StackPaths, StackSpec

from lgconsole.console.config import Config

# Each managed service's module (stack/services/) and class, as stack/services/supervisor.py's SERVICE_TYPES has
# them: a command asking for one URL imports that service's module only, not the supervisor and every service.
SERVICE_CLASSES = {"postgres": ("postgres", "PostgresService"), "redis": ("redis", "RedisService"),
                   "vllm": ("vllm", "VllmService"), "langgraph": ("langgraph_server", "LangGraphService")}


def service_url(config: Config, name: str) -> str:
    """The URL (with credentials: never print it) of a service; one-line error when the stack was never up."""
    external = getattr(config, name).url
    if external:
        return external.rstrip("/") if name in ("langgraph", "vllm") else external
    try:
        spec = StackSpec.load(config.state_path)
    except FileNotFoundError:
        raise StackError(f"no stack in {config.state_path}: it was never brought up (run `lgconsole up`), "
                         f"or set {name}.url / {name.upper()}_URL to use another server") from None
    service = _managed_service(spec, name)
    if service is None or not service.enabled:
        raise StackError(f"{name} is not configured in this stack")
    return service.url()


def _managed_service(spec: StackSpec, name: str) -> Service | None:
    """The one service `name` of the spec, built as supervisor.build_services builds it; None when not in it."""
    from importlib import import_module

    if name not in spec.services or name not in SERVICE_CLASSES:
        return None
    module, class_name = SERVICE_CLASSES[name]
    paths = StackPaths(Path(spec.state_dir))
    service_type = getattr(import_module(f"lgconsole.stack.services.{module}"), class_name)
    return service_type(spec.services.get(name, {}), paths, Secrets(paths.secrets_file))


def langgraph_url(config: Config) -> str:
    return service_url(config, "langgraph")


def postgres_url(config: Config) -> str:
    return service_url(config, "postgres")


def graph_spec(config: Config) -> dict | None:
    """What the managed LangGraph server's graphs say of their channels (stack/services/graph_spec.py), for the
    checkpoint readers; None for an external server (its graphs are not loaded here) or before it was described."""
    if config.langgraph.url:
        return None
    from lgconsole.stack.services.graph_spec import read_spec

    return read_spec(config.state_path)
