"""The stack as `lgconsole export` sees it: plain data (built by console/sources/exports.py from the supervisor's own
launch specs and the saved stack spec) that the systemd, compose and Kubernetes generators turn into text."""

from __future__ import annotations

from dataclasses import dataclass, field

# The order the exported units start in, and what each one needs before it (the supervisor's DEPENDS_ON, split by
# how hard the need is: the server's checkpointer cannot work without Postgres; graphs only use Redis and vLLM when
# called). The supervisor itself launches the server while its Postgres starts (the server waits for it); a unit
# manager gets the plain order, which is safe under any of them.
START_ORDER = ("postgres", "redis", "vllm", "langgraph")
REQUIRES = {"langgraph": ("postgres",)}
WANTS = {"langgraph": ("redis", "vllm")}
UNIT_PREFIX = "lgconsole-"


class ExportError(ValueError):
    """A stack that cannot be exported as asked; str() is one line."""


@dataclass(frozen=True)
class HostService:
    """One managed service as a host process (systemd): the very argv the supervisor runs, and how to prepare it
    and wait for it (the steps the supervisor takes around the launch, as commands)."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]  # all of it goes to a 0600 environment file: URLs in it carry passwords
    cwd: str
    port: int
    start_timeout: float
    stop_timeout: float
    stop_signal: str = "SIGTERM"
    user: str | None = None  # only when lgconsole runs as root (Postgres refuses root)
    prepare: tuple[str, ...] = ()  # ExecStartPre: initdb, config files, the server's langgraph.json
    ready: tuple[str, ...] = ()  # ExecStartPost: the supervisor's health probe until healthy, then its set-up

    @property
    def unit(self) -> str:
        return f"{UNIT_PREFIX}{self.name}.service"


@dataclass(frozen=True)
class VllmContainer:
    """vLLM as the `vllm/vllm-openai` image: its arguments are the supervisor's `vllm serve` arguments."""

    image: str
    args: tuple[str, ...]  # after the image's `vllm serve` entrypoint: the model first
    gpus: int
    host_port: int
    env: dict[str, str] = field(default_factory=dict)
    secret_env: tuple[str, ...] = ()  # names only: values go to compose's .env or the Secret `lgconsole-vllm`
    model_mount: tuple[str, str] | None = None  # (host dir, container dir) for a model served from a local path
    hf_cache: str = ""  # the host's Hugging Face cache, mounted for downloaded weights


@dataclass(frozen=True)
class ContainerStack:
    """The stack for container engines (compose, Kubernetes): the official LangGraph server image against
    Postgres and Redis, and vLLM when one is configured."""

    name: str  # compose project / Kubernetes name prefix
    server_image: str  # built by `langgraph build -t TAG` in the project dir
    project_dir: str
    server_host_port: int
    postgres_host_port: int
    redis_host_port: int
    postgres_image: str = "postgres:16"
    redis_image: str = "redis:7"
    vllm: VllmContainer | None = None
    served_model: str = ""


SERVER_CONTAINER_PORT = 8000  # the server image listens here
VLLM_CONTAINER_PORT = 8000
POSTGRES_USER = "lgconsole"
POSTGRES_DB = "lgconsole"
# Secret names the container exports read from their environment (compose `.env`) or a Kubernetes Secret
SECRET_ENV = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "LANGGRAPH_CLOUD_LICENSE_KEY", "LANGSMITH_API_KEY")
