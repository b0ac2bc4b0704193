"""`lgconsole export compose`: a Docker Compose file for the stack, as text, and the `.env` it reads its secrets from.

The LangGraph server is the official image built from the project (`langgraph build -t TAG`), started with
DATABASE_URI, REDIS_URI and the license key; vLLM is `vllm/vllm-openai` with a GPU reservation. Every service has a
healthcheck, the server starts once its dependencies are healthy, ports are bound to 127.0.0.1 only, Postgres keeps
its data in a named volume. Passwords and keys come from the environment (`.env`, 0600), never from the file.
"""

from __future__ import annotations

import yaml

from lgconsole.console.model.export_stack import (
    POSTGRES_DB,
    POSTGRES_USER,
    SERVER_CONTAINER_PORT,
    VLLM_CONTAINER_PORT,
    ContainerStack,
)
from lgconsole.console.model.export_systemd import ExportFile

PG_VOLUME = "pgdata"


def _required(var: str) -> str:
    return f"${{{var}:?set {var} in .env (lgconsole export compose --out DIR writes it)}}"


def _http_check(url: str, start_period_s: float) -> dict:
    probe = f"import urllib.request; urllib.request.urlopen('{url}', timeout=4)"
    return {"test": ["CMD", "python3", "-c", probe], "interval": "10s", "timeout": "5s", "retries": 6,
            "start_period": f"{int(start_period_s)}s"}


def compose_document(stack: ContainerStack) -> dict:
    services: dict[str, dict] = {
        "postgres": {
            "image": stack.postgres_image,
            "restart": "unless-stopped",
            "environment": {"POSTGRES_USER": POSTGRES_USER, "POSTGRES_DB": POSTGRES_DB,
                            "POSTGRES_PASSWORD": _required("POSTGRES_PASSWORD")},
            "volumes": [f"{PG_VOLUME}:/var/lib/postgresql/data"],
            "ports": [f"127.0.0.1:{stack.postgres_host_port}:5432"],
            "healthcheck": {"test": ["CMD-SHELL", f"pg_isready -U {POSTGRES_USER} -d {POSTGRES_DB}"],
                            "interval": "5s", "timeout": "5s", "retries": 12, "start_period": "10s"},
        },
        "redis": {
            "image": stack.redis_image,
            "restart": "unless-stopped",
            "environment": {"REDIS_PASSWORD": _required("REDIS_PASSWORD")},
            # $$: the container's shell expands the password, compose leaves it alone
            "command": ["sh", "-c", 'exec redis-server --requirepass "$$REDIS_PASSWORD" --appendonly no'],
            "ports": [f"127.0.0.1:{stack.redis_host_port}:6379"],
            "healthcheck": {"test": ["CMD-SHELL", 'REDISCLI_AUTH="$$REDIS_PASSWORD" redis-cli ping | grep -q PONG'],
                            "interval": "5s", "timeout": "5s", "retries": 12},
        },
    }
    server_env = {
        "DATABASE_URI": f"postgres://{POSTGRES_USER}:${{POSTGRES_PASSWORD}}@postgres:5432/{POSTGRES_DB}",
        "REDIS_URI": "redis://:${REDIS_PASSWORD}@redis:6379/0",
        "LANGGRAPH_CLOUD_LICENSE_KEY": _required("LANGGRAPH_CLOUD_LICENSE_KEY"),
        "LANGSMITH_API_KEY": "${LANGSMITH_API_KEY:-}",
        # what graphs served by lgconsole read (the demo graph's tool cache and model)
        "LGCONSOLE_POSTGRES_URL": f"postgresql://{POSTGRES_USER}:${{POSTGRES_PASSWORD}}@postgres:5432/{POSTGRES_DB}",
        "LGCONSOLE_REDIS_URL": "redis://:${REDIS_PASSWORD}@redis:6379/0",
    }
    depends = {"postgres": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    if stack.vllm is not None:
        services["vllm"] = _vllm_service(stack)
        server_env["LGCONSOLE_VLLM_URL"] = f"http://vllm:{VLLM_CONTAINER_PORT}"
        if stack.served_model:
            server_env["LGCONSOLE_VLLM_MODEL"] = stack.served_model
        depends["vllm"] = {"condition": "service_healthy"}
    services["langgraph"] = {
        "image": f"${{LANGGRAPH_IMAGE:-{stack.server_image}}}",
        "restart": "unless-stopped",
        "environment": server_env,
        "depends_on": depends,
        "ports": [f"127.0.0.1:{stack.server_host_port}:{SERVER_CONTAINER_PORT}"],
        "healthcheck": _http_check(f"http://127.0.0.1:{SERVER_CONTAINER_PORT}/ok", 60),
    }
    return {"name": stack.name, "services": services, "volumes": {PG_VOLUME: {}}}


def _vllm_service(stack: ContainerStack) -> dict:
    v = stack.vllm
    assert v is not None
    volumes = []
    if v.hf_cache:
        volumes.append(f"{v.hf_cache}:/root/.cache/huggingface")
    if v.model_mount:
        volumes.append(f"{v.model_mount[0]}:{v.model_mount[1]}:ro")
    service = {
        "image": v.image,
        "restart": "unless-stopped",
        "command": list(v.args),
        "ipc": "host",  # PyTorch's shared memory between workers
        "ports": [f"127.0.0.1:{v.host_port}:{VLLM_CONTAINER_PORT}"],
        "deploy": {"resources": {"reservations": {"devices": [
            {"driver": "nvidia", "count": v.gpus, "capabilities": ["gpu"]}]}}},
        # weights and CUDA graphs take minutes: the start period covers the supervisor's startup timeout
        "healthcheck": _http_check(f"http://127.0.0.1:{VLLM_CONTAINER_PORT}/health", 900),
    }
    environment = {**v.env, **{name: _required(name) for name in v.secret_env}}
    if environment:
        service["environment"] = environment
    if volumes:
        service["volumes"] = volumes
    return service


def compose_text(stack: ContainerStack) -> str:
    header = [
        "# compose.yaml: written by `lgconsole export compose`",
        f"# 1. build the server image in {stack.project_dir}:  langgraph build -t {stack.server_image}",
        "# 2. put POSTGRES_PASSWORD, REDIS_PASSWORD, LANGGRAPH_CLOUD_LICENSE_KEY (and LANGSMITH_API_KEY) in .env",
        "#    beside this file (mode 0600; `lgconsole export compose --out DIR` writes it with the stack's passwords)",
        "# 3. docker compose up -d    (every port is bound to 127.0.0.1)",
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(compose_document(stack), sort_keys=False, width=120)


def dotenv_text(values: dict[str, str]) -> str:
    lines = ["# secrets of compose.yaml (written by `lgconsole export compose`; mode 0600)"]
    for key, value in values.items():
        if any(c in value for c in "\n\r\"'$ #"):
            # compose reads .env values literally only when they need no quoting; lgconsole's passwords never do
            lines.append(f"{key}='{value}'" if "'" not in value and "\n" not in value else f"# {key}: set it by hand")
        else:
            lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def compose_files(stack: ContainerStack, secrets: dict[str, str]) -> list[ExportFile]:
    return [ExportFile("compose.yaml", compose_text(stack)), ExportFile(".env", dotenv_text(secrets), secret=True)]
