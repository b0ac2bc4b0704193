"""What the configured LangGraph server runtime lacks before anything starts, for `up` (which then starts nothing)
and `doctor` (critical findings): the `image` runtime's container engine, its daemon, the `langgraph` CLI, the
license key, and a network the container can reach the stack's Postgres and Redis on."""

from __future__ import annotations

import os

from lgconsole.stack.services import container_runtime

from lgconsole.console.config import Config
from lgconsole.console.model.triage import Finding

# the managed Postgres and Redis listen on loopback only (stack/services/postgres.py, redis.py)
_MANAGED_URLS = {"postgres": "postgresql://127.0.0.1", "redis": "redis://127.0.0.1"}


def runtime_problems(config: Config, environ: dict[str, str] | None = None, ask_daemon: bool = True) -> list[str]:
    """One line per missing piece; empty when the runtime needs nothing more (dev, pg, or an external server)."""
    lg = config.langgraph
    if lg.url or lg.runtime != "image":
        return []
    spec = {"engine": lg.engine, "container_network": lg.container_network}
    urls = {name: getattr(config, name).url or managed for name, managed in _MANAGED_URLS.items()}
    inputs = container_runtime.gather_preflight(
        spec, dict(os.environ if environ is None else environ),
        container_runtime.read_secrets_file(config.paths.secrets_file), urls, ask_daemon=ask_daemon)
    return container_runtime.preflight_problems(inputs)


def runtime_findings(config: Config) -> list[Finding]:
    """The problems as doctor's critical findings (the server cannot start until each is fixed)."""
    return [Finding("critical", "runtime-preflight", f"langgraph runtime \"image\": {problem}",
                    "The LangGraph server image cannot be built or started until this is fixed; `up` starts nothing "
                    "meanwhile.", action="Fix it, or set [langgraph] runtime = \"dev\" or \"pg\".")
            for problem in runtime_problems(config)]
