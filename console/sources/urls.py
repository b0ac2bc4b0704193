"""Where the configured stack's services answer: the external URL from the config, else the managed one. Resolving
the LangGraph server's URL also records what every client sends it (stack/server/credentials.py)."""

from __future__ import annotations

from lgconsole.stack.errors import StackError
from lgconsole.stack.server import credentials
from lgconsole.stack.server.credentials import ServerCredentials
from lgconsole.stack.services.langgraph_server import LangGraphService
from lgconsole.stack.services.service import StackSpec
from lgconsole.stack.services.supervisor import build_services

from lgconsole.console.config import Config


def service_url(config: Config, name: str) -> str:
    """The URL (with credentials: never print it) of a service; one-line error when the stack was never up."""
    external = getattr(config, name).url
    if external:
        url = external.rstrip("/") if name in ("langgraph", "vllm") else external
        if name == "langgraph":
            credentials.remember(url, external_credentials(config))
        return url
    try:
        spec = StackSpec.load(config.state_path)
    except FileNotFoundError:
        raise StackError(f"no stack in {config.state_path}: it was never brought up (run `lgconsole up`), "
                         f"or set {name}.url / {name.upper()}_URL to use another server") from None
    service = build_services(spec).get(name)
    if service is None or not service.enabled:
        raise StackError(f"{name} is not configured in this stack")
    if isinstance(service, LangGraphService):
        credentials.remember(service.url(), managed_credentials(config, service))
    return service.url()


def external_credentials(config: Config) -> ServerCredentials:
    """What lgconsole sends to a LangGraph server it does not run: [langgraph] api_key, bearer_token, headers (and
    LANGGRAPH_API_KEY / LANGGRAPH_BEARER_TOKEN)."""
    lg = config.langgraph
    return ServerCredentials(api_key=lg.api_key or None, bearer_token=lg.bearer_token or None,
                             headers={str(k): str(v) for k, v in lg.headers.items()})


def managed_credentials(config: Config, service: LangGraphService) -> ServerCredentials:
    """The managed server's token; with no token of ours (auth = "none", the project's own auth), the configured
    credentials as they are now (the spec keeps those of the last `up`)."""
    if service.token_guarded():
        return service.client_credentials()
    return external_credentials(config)


def langgraph_url(config: Config) -> str:
    return service_url(config, "langgraph")


def langgraph_credentials(config: Config) -> ServerCredentials:
    """The credentials lgconsole sends to the configured LangGraph server (after resolving its URL)."""
    return credentials.credentials_for(langgraph_url(config))


def postgres_url(config: Config) -> str:
    return service_url(config, "postgres")
