"""Where the configured stack's services answer: the external URL from the config, else the managed one. Resolving
the LangGraph server's URL also records what every client sends it (stack/server/credentials.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import Secrets, Service, StackPaths, StackSpec

from lgconsole.console.config import Config

if TYPE_CHECKING:  # credentials.py: imported when the LangGraph server's URL is resolved, not for Postgres's
    from lgconsole.stack.server.credentials import ServerCredentials

# Each managed service's module (stack/services/) and class, as stack/services/supervisor.py's SERVICE_TYPES has
# them: a command asking for one URL imports that service's module only, not the supervisor and every service.
SERVICE_CLASSES = {"postgres": ("postgres", "PostgresService"), "redis": ("redis", "RedisService"),
                   "vllm": ("vllm", "VllmService"), "langgraph": ("langgraph_server", "LangGraphService")}


def service_url(config: Config, name: str) -> str:
    """The URL (with credentials: never print it) of a service; one-line error when the stack was never up."""
    external = getattr(config, name).url
    if external:
        url = external.rstrip("/") if name in ("langgraph", "vllm") else external
        if name == "langgraph":
            from lgconsole.stack.server import credentials

            credentials.remember(url, external_credentials(config))
        return url
    try:
        spec = StackSpec.load(config.state_path)
    except FileNotFoundError:
        raise StackError(f"no stack in {config.state_path}: it was never brought up (run `lgconsole up`), "
                         f"or set {name}.url / {name.upper()}_URL to use another server") from None
    service = _managed_service(spec, name)
    if service is None or not service.enabled:
        why = service.spec.get("use") if service is not None else None  # Redis says why it is not started
        raise StackError(f"{name}: {why}" if why else f"{name} is not configured in this stack")
    if name == "langgraph":
        from lgconsole.stack.server import credentials

        credentials.remember(service.url(), managed_credentials(config, service))
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


def external_credentials(config: Config) -> ServerCredentials:
    """What lgconsole sends to a LangGraph server it does not run: [langgraph] api_key, bearer_token, headers (and
    LANGGRAPH_API_KEY / LANGGRAPH_BEARER_TOKEN)."""
    from lgconsole.stack.server.credentials import ServerCredentials

    lg = config.langgraph
    return ServerCredentials(api_key=lg.api_key or None, bearer_token=lg.bearer_token or None,
                             headers={str(k): str(v) for k, v in lg.headers.items()})


def managed_credentials(config: Config, service) -> ServerCredentials:
    """The managed server's token (`service`: its LangGraphService); with no token of ours (auth = "none", the
    project's own auth), the configured credentials as they are now (the spec keeps those of the last `up`)."""
    if service.token_guarded():
        return service.client_credentials()
    return external_credentials(config)


def langgraph_url(config: Config) -> str:
    return service_url(config, "langgraph")


def langgraph_credentials(config: Config) -> ServerCredentials:
    """The credentials lgconsole sends to the configured LangGraph server (after resolving its URL)."""
    from lgconsole.stack.server import credentials

    return credentials.credentials_for(langgraph_url(config))


def postgres_url(config: Config) -> str:
    return service_url(config, "postgres")


def graph_spec(config: Config) -> dict | None:
    """What the managed LangGraph server's graphs say of their channels (stack/services/graph_spec.py), for the
    checkpoint readers; None for an external server (its graphs are not loaded here) or before it was described."""
    if config.langgraph.url:
        return None
    from lgconsole.stack.services.graph_spec import read_spec

    return read_spec(config.state_path)
