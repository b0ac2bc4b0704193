"""The stack as `lgconsole export` needs it, built from the supervisor's own objects: each service's launch spec (the
argv `lgconsole up` runs), its ports and timeouts, the stack's passwords. The generators in console/model/export_*.py
turn what this returns into text."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

from lgconsole.stack.errors import StackError
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.langgraph_server import DEMO_PROJECT
from lgconsole.stack.services.service import Secrets, StackSpec
from lgconsole.stack.services.vllm import DOCKER_IMAGE, server_args

from lgconsole.console.config import Config
from lgconsole.console.stack_spec import build_stack_spec
from lgconsole.console.model.export_stack import (
    VLLM_CONTAINER_PORT,
    ContainerStack,
    ExportError,
    HostService,
    VllmContainer,
)
from lgconsole.console.model.masking import secret_key

STEPS_MODULE = "lgconsole.stack.services.unit_steps"
DEFAULT_SERVER_IMAGE = "lgconsole-server:latest"
# vLLM's flags that carry a secret, and the environment variable it (or huggingface_hub) reads the same value from
SECRET_FLAGS = {"--api-key": "VLLM_API_KEY", "--hf-token": "HF_TOKEN"}


def without_secret_args(argv: list[str] | tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """vLLM's command line with `--api-key KEY` and `--hf-token TOKEN` taken out, their values as VLLM_API_KEY and
    HF_TOKEN (read from there too): an export writes secrets into the environment files, never a command line. A
    bare `--hf-token` (use the cached login) stays."""
    out: list[str] = []
    env: dict[str, str] = {}
    args = list(argv)
    i = 0
    while i < len(args):
        flag, eq, inline = args[i].partition("=")
        if flag in SECRET_FLAGS:
            value = inline if eq else (args[i + 1] if i + 1 < len(args) else "")
            if eq or (value and not value.startswith("-")):
                env[SECRET_FLAGS[flag]] = value
                i += 1 if eq else 2
                continue
        out.append(args[i])
        i += 1
    return out, env


def _split_env(env: dict) -> tuple[dict[str, str], dict[str, str]]:
    """[vllm] env as (plain, secret) by the masking policy's key rule."""
    plain, secret = {}, {}
    for key, value in (env or {}).items():
        (secret if secret_key(str(key)) else plain)[str(key)] = str(value)
    return plain, secret


def host_services(config: Config, python: str | None = None) -> tuple[list[HostService], StackSpec]:
    """Every managed, enabled service as a host process, in start order. Saves the stack spec in the state dir as
    `up` does (the units' prepare and ready steps read it; its passwords are made once and kept)."""
    python = python or sys.executable
    spec = build_stack_spec(config)
    spec.save()
    services = supervisor.build_services(spec)
    state_dir = str(config.state_path)
    out: list[HostService] = []
    for name, svc in services.items():
        if not svc.enabled or svc.external:
            continue
        if getattr(svc, "needs_build", lambda: False)():
            raise StackError(f"{name}: the project's environment is not built yet; run `lgconsole up` once (it builds "
                             "it), then export again")
        dependency_env: dict[str, str] = {}
        for other in services.values():
            if other is not svc and other.enabled:
                dependency_env.update(other.client_env())
        launch = svc.launch_spec(dependency_env)
        env = dict(launch.env)
        argv = list(launch.argv)
        if not Path(argv[0]).is_absolute():  # a unit names its program by path: the one `up` would find
            found = shutil.which(argv[0])
            if not found:
                raise ExportError(f"{name}: {argv[0]} is not installed here; install it (or fix the config) and "
                                  "export again")
            argv[0] = found
        if name == "vllm":
            argv, secret_env = without_secret_args(argv)
            env.update(secret_env)
            image = next((i for i, a in enumerate(argv) if a.startswith(DOCKER_IMAGE + ":")), None)
            if secret_env and argv[1:2] == ["run"] and image is not None:
                argv[image:image] = [a for key in secret_env for a in ("-e", key)]  # into the container, by name
        # a unit starts with systemd's environment, not a shell's: the venv's programs come first, as under `up`
        env.setdefault("PATH", os.pathsep.join([str(Path(python).parent), "/usr/local/bin", "/usr/bin", "/bin"]))
        out.append(HostService(
            name=name,
            argv=tuple(argv),
            env=env,
            cwd=str(launch.cwd or config.state_path),
            port=int(svc.port or 0),
            start_timeout=svc.startup_timeout,
            stop_timeout=spec.stop_grace,
            stop_signal=signal.Signals(launch.stop_signal).name,
            user=launch.user,
            prepare=(python, "-m", STEPS_MODULE, "prepare", state_dir, name),
            ready=(python, "-m", STEPS_MODULE, "ready", state_dir, name, "--timeout", f"{svc.startup_timeout:g}"),
        ))
    return out, spec


# host ports of the compose services when neither the config nor an earlier `up` chose one
DEFAULT_HOST_PORTS = {"postgres": 5432, "redis": 6379, "vllm": 8000, "langgraph": 8123}


def _host_ports(config: Config) -> dict[str, int]:
    """The configured port, else the one the stack ran on here (spec.json), else the engine's usual one: the same
    on every export (nothing is written)."""
    from lgconsole.stack.services.state_files import StateFileCorrupt, read_json_object, table

    try:
        saved = table(read_json_object(config.paths.spec_file) or {}, "services", config.paths.spec_file)
    except StateFileCorrupt:
        saved = {}
    ports = {}
    for name, default in DEFAULT_HOST_PORTS.items():
        kept = saved.get(name, {}).get("port")
        ports[name] = getattr(config, name).port or (kept if type(kept) is int and 0 < kept < 65536 else default)
    return ports


def container_stack(config: Config, server_image: str = DEFAULT_SERVER_IMAGE) -> ContainerStack:
    """The stack for compose and Kubernetes (nothing is written)."""
    spec = build_stack_spec(config)
    ports = _host_ports(config)
    vllm_spec = spec.services.get("vllm", {})
    vllm = None
    served = ""
    if vllm_spec.get("model") and not vllm_spec.get("url"):
        model = str(vllm_spec["model"])
        mount = None
        if Path(model).expanduser().is_dir():  # weights in a local directory: mounted read-only into the container
            host_dir = str(Path(model).expanduser().resolve())
            model = f"/models/{Path(host_dir).name}"
            mount = (host_dir, model)
        hf_cache = str(Path(vllm_spec.get("hf_cache") or Path.home() / ".cache" / "huggingface"))
        args, key_env = without_secret_args(server_args(vllm_spec, "0.0.0.0", VLLM_CONTAINER_PORT))
        plain_env, secret_env = _split_env(vllm_spec.get("env") or {})
        vllm = VllmContainer(
            image=f"{DOCKER_IMAGE}:{vllm_spec.get('image_tag') or 'latest'}",
            args=(model, *args),
            gpus=int(vllm_spec.get("tensor_parallel_size") or 1),
            host_port=ports["vllm"],
            env=plain_env,
            secret_env=tuple(sorted({*secret_env, *key_env})),
            model_mount=mount,
            hf_cache=hf_cache,
        )
        served = str(vllm_spec.get("served_model_name") or model)
    project = Path(config.project.path or DEMO_PROJECT).resolve()
    return ContainerStack(name="lgconsole", server_image=server_image, project_dir=str(project),
                          server_host_port=ports["langgraph"], postgres_host_port=ports["postgres"],
                          redis_host_port=ports["redis"], vllm=vllm, served_model=served)


def container_secrets(config: Config) -> dict[str, str]:
    """The values of compose's `.env`: the stack's own Postgres and Redis passwords (made once, kept in its 0600
    secrets file, so a second export keeps the volume's password), the license and LangSmith keys from the env."""
    store = Secrets(config.paths.secrets_file)
    values = {
        "POSTGRES_PASSWORD": store.get("postgres_password"),
        "REDIS_PASSWORD": store.get("redis_password"),
        "LANGGRAPH_CLOUD_LICENSE_KEY": os.environ.get("LANGGRAPH_CLOUD_LICENSE_KEY", ""),
        "LANGSMITH_API_KEY": os.environ.get("LANGSMITH_API_KEY", ""),
    }
    if config.vllm.model and not config.vllm.url:  # vLLM's secrets: its env's and the --api-key of its flags
        values.update(_split_env(config.vllm.env)[1])
        values.update(without_secret_args(config.vllm.extra_args)[1])
    return values


def known_secrets(config: Config) -> list[str]:
    """Every secret value lgconsole knows for this stack (its passwords and token, the server credentials and env of
    the config, the license and LangSmith keys): a printed export is masked against these. Its own text carries
    none by construction."""
    import json

    from lgconsole.stack.server import credentials
    from lgconsole.stack.services.state_files import StateFileCorrupt, read_json_object

    found: list[str] = []
    found += without_secret_args([str(a) for a in config.vllm.extra_args])[1].values()

    def collect(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    try:
        stored = read_json_object(config.paths.secrets_file) or {}
    except StateFileCorrupt:
        stored = {}
    for key, value in stored.items():
        if key.startswith("spec:") and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        collect(value)
    token = credentials.read_token(credentials.token_path(config.state_path))
    collect([token or "", config.langgraph.api_key, config.langgraph.bearer_token, config.langgraph.headers,
             config.langgraph.env, config.vllm.env, config.prometheus.bearer_token, config.prometheus.headers,
             os.environ.get("LANGGRAPH_CLOUD_LICENSE_KEY", ""), os.environ.get("LANGSMITH_API_KEY", "")])
    return [s for s in found if len(s) >= 6]  # short values ("1", "true") are settings, not secrets
