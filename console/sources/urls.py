"""Where the configured stack's services answer: the external URL from the config, else the managed one."""

from __future__ import annotations

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import StackSpec
from lgconsole.stack.services.supervisor import build_services

from lgconsole.console.config import Config


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
    service = build_services(spec).get(name)
    if service is None or not service.enabled:
        raise StackError(f"{name} is not configured in this stack")
    return service.url()


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
