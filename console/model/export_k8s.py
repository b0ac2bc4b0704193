"""`lgconsole export k8s`: Kubernetes manifests for the LangGraph server and vLLM, as text.

The server (the official image built by `langgraph build`) and vLLM each get a Deployment and a Service, with
probes on their health endpoints and Prometheus scrape annotations on their /metrics. vLLM requests
`nvidia.com/gpu`. Postgres and Redis are not deployed here: the server reaches them through DATABASE_URI and
REDIS_URI, read like the license key from a Secret that the manifests reference and never hold.
"""

from __future__ import annotations

import yaml

from lgconsole.console.model.export_stack import SERVER_CONTAINER_PORT, VLLM_CONTAINER_PORT, ContainerStack
from lgconsole.console.model.export_systemd import ExportFile

SERVER_SECRET = "lgconsole-server"
VLLM_SECRET = "lgconsole-vllm"  # vLLM's secret env ([vllm] env's secret keys, VLLM_API_KEY), when it has any


def _labels(stack: ContainerStack, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": f"{stack.name}-{component}", "app.kubernetes.io/part-of": stack.name}


def _scrape(port: int) -> dict[str, str]:
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}


def _secret_env(name: str, optional: bool = False) -> dict:
    ref: dict = {"name": SERVER_SECRET, "key": name}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def _service(stack: ContainerStack, component: str, port: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{stack.name}-{component}", "labels": _labels(stack, component),
                     "annotations": _scrape(port)},
        "spec": {"type": "ClusterIP", "selector": _labels(stack, component),
                 "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}]},
    }


def _deployment(stack: ContainerStack, component: str, container: dict, volumes: list[dict] | None = None) -> dict:
    pod_spec: dict = {"containers": [container]}
    if volumes:
        pod_spec["volumes"] = volumes
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{stack.name}-{component}", "labels": _labels(stack, component)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": _labels(stack, component)},
            "template": {
                "metadata": {"labels": _labels(stack, component),
                             "annotations": _scrape(container["ports"][0]["containerPort"])},
                "spec": pod_spec,
            },
        },
    }


def _probe(path: str, port: int, period: int = 10, failures: int = 3) -> dict:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "timeoutSeconds": 5,
            "failureThreshold": failures}


def server_deployment(stack: ContainerStack) -> dict:
    env = [_secret_env("DATABASE_URI"), _secret_env("REDIS_URI"), _secret_env("LANGGRAPH_CLOUD_LICENSE_KEY"),
           _secret_env("LANGSMITH_API_KEY", optional=True),
           # what graphs served by lgconsole read (the demo graph's checkpoints, tool cache and model)
           {"name": "LGCONSOLE_POSTGRES_URL", "valueFrom": {"secretKeyRef": {"name": SERVER_SECRET,
                                                                             "key": "DATABASE_URI"}}},
           {"name": "LGCONSOLE_REDIS_URL", "valueFrom": {"secretKeyRef": {"name": SERVER_SECRET, "key": "REDIS_URI"}}}]
    if stack.vllm is not None:
        env.append({"name": "LGCONSOLE_VLLM_URL", "value": f"http://{stack.name}-vllm:{VLLM_CONTAINER_PORT}"})
        if stack.served_model:
            env.append({"name": "LGCONSOLE_VLLM_MODEL", "value": stack.served_model})
    container = {
        "name": "langgraph",
        "image": stack.server_image,
        "ports": [{"name": "http", "containerPort": SERVER_CONTAINER_PORT}],
        "env": env,
        "readinessProbe": _probe("/ok", SERVER_CONTAINER_PORT, period=5),
        "livenessProbe": _probe("/ok", SERVER_CONTAINER_PORT, period=15, failures=4),
        "startupProbe": _probe("/ok", SERVER_CONTAINER_PORT, period=5, failures=24),
    }
    return _deployment(stack, "server", container)


def vllm_deployment(stack: ContainerStack) -> dict:
    v = stack.vllm
    assert v is not None
    mounts = [{"name": "dshm", "mountPath": "/dev/shm"}, {"name": "hf-cache", "mountPath": "/root/.cache/huggingface"}]
    volumes: list[dict] = [{"name": "dshm", "emptyDir": {"medium": "Memory"}},
                           # replace with a PersistentVolumeClaim to keep downloaded weights across restarts
                           {"name": "hf-cache", "emptyDir": {}}]
    if v.model_mount:
        # a model served from a local directory: the node must hold it at the same path
        mounts.append({"name": "model", "mountPath": v.model_mount[1], "readOnly": True})
        volumes.append({"name": "model", "hostPath": {"path": v.model_mount[0], "type": "Directory"}})
    gpus = str(v.gpus)
    container = {
        "name": "vllm",
        "image": v.image,
        "args": list(v.args),
        "ports": [{"name": "http", "containerPort": VLLM_CONTAINER_PORT}],
        "env": [{"name": k, "value": val} for k, val in v.env.items()]
        + [{"name": k, "valueFrom": {"secretKeyRef": {"name": VLLM_SECRET, "key": k}}} for k in v.secret_env],
        "resources": {"requests": {"nvidia.com/gpu": gpus}, "limits": {"nvidia.com/gpu": gpus}},
        "volumeMounts": mounts,
        # weights and CUDA graphs take minutes: up to 15 min to start, then probed as usual
        "startupProbe": _probe("/health", VLLM_CONTAINER_PORT, period=10, failures=90),
        "readinessProbe": _probe("/health", VLLM_CONTAINER_PORT, period=5),
        "livenessProbe": _probe("/health", VLLM_CONTAINER_PORT, period=15, failures=4),
    }
    return _deployment(stack, "vllm", container, volumes)


def k8s_documents(stack: ContainerStack) -> list[dict]:
    docs = [server_deployment(stack), _service(stack, "server", SERVER_CONTAINER_PORT)]
    if stack.vllm is not None:
        docs += [vllm_deployment(stack), _service(stack, "vllm", VLLM_CONTAINER_PORT)]
    return docs


def k8s_text(stack: ContainerStack) -> str:
    header = [
        "# lgconsole.yaml: written by `lgconsole export k8s`",
        f"# 1. build and push the server image from {stack.project_dir}:  langgraph build -t {stack.server_image}",
        "# 2. create the Secret the server reads (values are yours; nothing here holds them):",
        f"#    kubectl create secret generic {SERVER_SECRET} \\",
        "#      --from-literal=DATABASE_URI=postgres://USER:PASS@HOST:5432/DB \\",
        "#      --from-literal=REDIS_URI=redis://:PASS@HOST:6379/0 --from-literal=LANGGRAPH_CLOUD_LICENSE_KEY=KEY",
        "# 3. kubectl apply -f lgconsole.yaml    (Services are ClusterIP: reach them with kubectl port-forward)",
    ]
    if stack.vllm is not None and stack.vllm.secret_env:
        header.insert(-1, f"#    and vLLM's: kubectl create secret generic {VLLM_SECRET} "
                          + " ".join(f"--from-literal={k}=..." for k in stack.vllm.secret_env))
    return "\n".join(header) + "\n" + yaml.safe_dump_all(k8s_documents(stack), sort_keys=False, width=120)


def k8s_files(stack: ContainerStack) -> list[ExportFile]:
    return [ExportFile("lgconsole.yaml", k8s_text(stack))]
