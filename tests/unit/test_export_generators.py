"""`lgconsole export`'s generators on fixed stacks: systemd units (quoting, order, health, journald, secrets kept out),
compose.yaml against the official compose-spec JSON schema and Kubernetes manifests against Kubernetes' own
schemas, plus the structure their engines need beyond a schema (a healthy dependency has a healthcheck, a Service
selects its Deployment's pods). Docker and kubectl do not run on these machines (a docker client, no daemon; no
API server): these checks are what can be checked."""

from __future__ import annotations

import importlib.resources
import json
import re
import shlex

import jsonschema
import kubernetes_validate
import pytest
import yaml
from hypothesis import given, strategies as st

from lgconsole.console.model.export_compose import compose_document, compose_files, compose_text
from lgconsole.console.model.export_k8s import SERVER_SECRET, k8s_documents, k8s_text
from lgconsole.console.model.export_stack import ContainerStack, ExportError, HostService, VllmContainer
from lgconsole.console.model.export_systemd import TARGET, exec_line, systemd_files

PASSWORD = "pw-Secret-123"


def host(name: str, argv: tuple[str, ...], **kw) -> HostService:
    defaults = dict(env={}, cwd="/tmp", port=5000, start_timeout=60, stop_timeout=10)
    return HostService(name=name, argv=argv, **{**defaults, **kw})


STACK = [
    host("postgres", ("/usr/lib/postgresql/15/bin/postgres", "-D", "/s/postgres/data", "-c", "port=5001"),
         stop_signal="SIGINT", prepare=("/py", "-m", "steps", "prepare", "/s", "postgres"),
         ready=("/py", "-m", "steps", "ready", "/s", "postgres", "--timeout", "60")),
    host("redis", ("/usr/bin/redis-server", "/s/redis/redis.conf")),
    host("vllm", ("/venv/bin/vllm", "serve", "/models/my model", "--port", "5003")),
    host("langgraph", ("/venv/bin/langgraph", "dev", "--port", "5004"),
         env={"LGCONSOLE_POSTGRES_URL": f"postgresql://lgconsole:{PASSWORD}@127.0.0.1:5001/lgconsole",
              "PYTHONPATH": "/demo"},
         ready=("/py", "-m", "steps", "ready", "/s", "langgraph", "--timeout", "90")),
]


def sections(text: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("["):
            current = out.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            current.append((key, value))
    return out


def values(text: str, section: str, key: str) -> list[str]:
    return [v for k, v in sections(text)[section] if k == key]


def unsystemd(line: str) -> list[str]:
    """What systemd passes to the program for an Exec line we wrote (our quoting is a subset shlex reads)."""
    return [arg.replace("%%", "%").replace("$$", "$") for arg in shlex.split(line)]


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=20), min_size=1,
                max_size=6))
def test_exec_lines_give_the_program_its_arguments_unchanged(argv):
    assert unsystemd(exec_line(argv)) == argv


def test_exec_lines_refuse_line_breaks():
    with pytest.raises(ExportError, match="line break"):
        exec_line(["/bin/echo", "a\nb"])


def test_units_start_in_dependency_order_restart_on_failure_and_log_to_journald():
    files = {f.name: f for f in systemd_files(STACK, "/etc/units/lgconsole-env")}
    server = files["lgconsole-langgraph.service"].text
    assert values(server, "Unit", "Requires") == ["lgconsole-postgres.service"]
    assert values(server, "Unit", "Wants") == ["lgconsole-redis.service lgconsole-vllm.service"]
    assert "lgconsole-postgres.service" in values(server, "Unit", "After")[0]
    for name in ("postgres", "redis", "vllm", "langgraph"):
        text = files[f"lgconsole-{name}.service"].text
        assert values(text, "Service", "Restart") == ["on-failure"]
        assert values(text, "Service", "StandardOutput") == ["journal"]
        assert values(text, "Unit", "PartOf") == [TARGET]
        assert values(text, "Service", "EnvironmentFile") == [f"/etc/units/lgconsole-env/{name}.env"]
    postgres = files["lgconsole-postgres.service"].text
    assert values(postgres, "Service", "KillSignal") == ["SIGINT"]
    assert unsystemd(values(postgres, "Service", "ExecStartPost")[0])[-3:] == ["postgres", "--timeout", "60"]
    assert values(postgres, "Service", "TimeoutStartSec") == ["90"]  # the readiness wait fits in it
    vllm = files["lgconsole-vllm.service"].text
    assert unsystemd(values(vllm, "Service", "ExecStart")[0]) == list(STACK[2].argv)  # the path with a blank


def test_user_units_start_at_boot_through_the_default_target_system_ones_through_multi_user():
    user = {f.name: f.text for f in systemd_files(STACK, "/e")}
    system = {f.name: f.text for f in systemd_files(STACK, "/e", system=True)}
    assert values(user[TARGET], "Install", "WantedBy") == ["default.target"]
    assert values(system[TARGET], "Install", "WantedBy") == ["multi-user.target"]
    assert values(user[TARGET], "Unit", "Wants")[0].split() == [s.unit for s in STACK]


def test_secrets_live_only_in_0600_environment_files():
    files = systemd_files(STACK, "/e")
    for f in files:
        assert (PASSWORD in f.text) == (f.name == "lgconsole-env/langgraph.env")
        assert f.secret == f.name.endswith(".env")
    env = next(f for f in files if f.name == "lgconsole-env/langgraph.env").text
    assert f'LGCONSOLE_POSTGRES_URL="postgresql://lgconsole:{PASSWORD}@127.0.0.1:5001/lgconsole"' in env


def test_a_dependency_not_exported_is_not_required():
    files = {f.name: f.text for f in systemd_files([STACK[0], STACK[3]], "/e")}
    server = files["lgconsole-langgraph.service"]
    assert values(server, "Unit", "Wants") == []
    assert values(server, "Unit", "Requires") == ["lgconsole-postgres.service"]


def test_as_root_postgres_runs_as_its_user_and_the_set_up_steps_as_root():
    pg = host("postgres", ("/pg/postgres",), user="postgres", prepare=("/py", "prep"), ready=("/py", "ready"))
    text = {f.name: f.text for f in systemd_files([pg], "/e", system=True)}["lgconsole-postgres.service"]
    assert values(text, "Service", "User") == ["postgres"]
    assert values(text, "Service", "ExecStartPre") == ["+/py prep"]


# --- compose ---------------------------------------------------------------------------------------------------

CONTAINERS = ContainerStack(
    name="lgconsole", server_image="my-agent:1", project_dir="/p", server_host_port=8123, postgres_host_port=5433,
    redis_host_port=6380, served_model="/models/tiny",
    vllm=VllmContainer(image="vllm/vllm-openai:v0.9", args=("/models/tiny", "--host", "0.0.0.0", "--port", "8000",
                                                           "--tensor-parallel-size", "2"),
                       gpus=2, host_port=8001, model_mount=("/srv/tiny", "/models/tiny"), hf_cache="/root/.cache/hf",
                       env={"VLLM_LOGGING_LEVEL": "INFO"}, secret_env=("VLLM_API_KEY",)))
COMPOSE_KEYS = {"name", "services", "volumes", "networks", "secrets", "configs"}
SERVICE_KEYS = {"image", "build", "command", "environment", "ports", "volumes", "depends_on", "healthcheck",
                "restart", "deploy", "ipc"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def check_compose(doc: dict) -> None:
    """The structure `docker compose config` needs of what we write (the compose specification's rules we use)."""
    assert set(doc) <= COMPOSE_KEYS and isinstance(doc["services"], dict)
    for name, svc in doc["services"].items():
        assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name)
        assert set(svc) <= SERVICE_KEYS, set(svc) - SERVICE_KEYS
        assert isinstance(svc["image"], str) and svc["image"]
        check = svc["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and all(isinstance(a, str) for a in check["test"])
        for key in ("interval", "timeout", "start_period"):
            if key in check:
                assert re.fullmatch(r"\d+(ms|s|m|h)", check[key])
        for port in svc.get("ports", []):
            assert re.fullmatch(r"127\.0\.0\.1:\d+:\d+", port), port
        for dep, cond in svc.get("depends_on", {}).items():
            assert dep in doc["services"] and cond["condition"] in CONDITIONS
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in doc["services"][dep]
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith("/") or source in doc.get("volumes", {}), volume
        assert all(isinstance(v, str) for v in svc.get("environment", {}).values())
        if "command" in svc:
            assert all(isinstance(a, str) for a in svc["command"])


COMPOSE_SCHEMA = json.loads(importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
                            .joinpath("compose-spec.json").read_text())
K8S_VERSION = "1.32"


def schema_errors(doc: dict) -> list[str]:
    validator = jsonschema.validators.validator_for(COMPOSE_SCHEMA)(COMPOSE_SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def test_the_compose_schema_check_catches_what_compose_would_refuse():
    doc = compose_document(CONTAINERS)
    doc["services"]["redis"]["healthchek"] = doc["services"]["redis"].pop("healthcheck")
    doc["services"]["langgraph"]["depends_on"]["postgres"]["condition"] = "healthy"
    assert len(schema_errors(doc)) >= 2


def test_compose_file_parses_and_has_the_structure_compose_needs():
    text = compose_text(CONTAINERS)
    doc = yaml.safe_load(text)
    assert schema_errors(doc) == []
    check_compose(doc)
    assert doc == compose_document(CONTAINERS)
    services = doc["services"]
    assert services["langgraph"]["depends_on"] == {s: {"condition": "service_healthy"}
                                                   for s in ("postgres", "redis", "vllm")}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"] and "pgdata" in doc["volumes"]
    assert services["langgraph"]["image"] == "${LANGGRAPH_IMAGE:-my-agent:1}"
    env = services["langgraph"]["environment"]
    assert set(env) >= {"DATABASE_URI", "REDIS_URI", "LANGGRAPH_CLOUD_LICENSE_KEY"}
    assert env["LANGGRAPH_CLOUD_LICENSE_KEY"].startswith("${LANGGRAPH_CLOUD_LICENSE_KEY:?")
    assert env["LGCONSOLE_VLLM_URL"] == "http://vllm:8000"


def test_compose_vllm_reserves_the_gpus_and_mounts_a_local_model():
    vllm = compose_document(CONTAINERS)["services"]["vllm"]
    assert vllm["image"] == "vllm/vllm-openai:v0.9"
    assert vllm["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 2, "capabilities": ["gpu"]}]
    assert vllm["command"][0] == "/models/tiny" and "/srv/tiny:/models/tiny:ro" in vllm["volumes"]
    assert vllm["environment"]["VLLM_LOGGING_LEVEL"] == "INFO"
    assert vllm["environment"]["VLLM_API_KEY"].startswith("${VLLM_API_KEY:?")  # a reference to .env, not a value


def test_compose_without_vllm_and_secrets_only_in_dotenv():
    stack = ContainerStack(name="lgconsole", server_image="s:1", project_dir="/p", server_host_port=1,
                           postgres_host_port=2, redis_host_port=3)
    files = compose_files(stack, {"POSTGRES_PASSWORD": PASSWORD, "REDIS_PASSWORD": "r" * 20,
                                  "LANGGRAPH_CLOUD_LICENSE_KEY": ""})
    compose, dotenv = files
    doc = yaml.safe_load(compose.text)
    check_compose(doc)
    assert schema_errors(doc) == []
    assert "vllm" not in doc["services"] and "vllm" not in doc["services"]["langgraph"]["depends_on"]
    assert PASSWORD not in compose.text and not compose.secret
    assert dotenv.name == ".env" and dotenv.secret and f"POSTGRES_PASSWORD={PASSWORD}" in dotenv.text.splitlines()


# --- Kubernetes ------------------------------------------------------------------------------------------------

DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
KINDS = {("apps/v1", "Deployment"), ("v1", "Service")}


def check_manifest(doc: dict) -> None:
    """What the API server validates for the fields we write (kubectl apply would refuse a manifest failing these)."""
    assert (doc["apiVersion"], doc["kind"]) in KINDS
    meta = doc["metadata"]
    assert DNS_1123.fullmatch(meta["name"]) and len(meta["name"]) <= 63
    for mapping in (meta.get("labels", {}), meta.get("annotations", {})):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
    spec = doc["spec"]
    if doc["kind"] == "Deployment":
        template = spec["template"]
        assert spec["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
        volumes = {v["name"] for v in template["spec"].get("volumes", [])}
        for c in template["spec"]["containers"]:
            assert DNS_1123.fullmatch(c["name"]) and c["image"]
            assert all(isinstance(p["containerPort"], int) for p in c["ports"])
            for env in c.get("env", []):
                assert ("value" in env) != ("valueFrom" in env)
                if "value" in env:
                    assert isinstance(env["value"], str)
                else:
                    ref = env["valueFrom"]["secretKeyRef"]
                    assert ref["name"] and ref["key"]
            for quantity in [*c.get("resources", {}).get("requests", {}).values(),
                             *c.get("resources", {}).get("limits", {}).values()]:
                assert isinstance(quantity, str) and re.fullmatch(r"\d+", quantity)
            for mount in c.get("volumeMounts", []):
                assert mount["name"] in volumes and mount["mountPath"].startswith("/")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe in c:
                    assert c[probe]["httpGet"]["port"] in [p["containerPort"] for p in c["ports"]]
    else:
        assert spec["selector"] and all(isinstance(p["port"], int) for p in spec["ports"])


def test_k8s_manifests_parse_and_have_the_fields_kubectl_needs():
    docs = list(yaml.safe_load_all(k8s_text(CONTAINERS)))
    assert docs == k8s_documents(CONTAINERS)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on any field Kubernetes would refuse
        check_manifest(doc)
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert set(by) == {("Deployment", "lgconsole-server"), ("Service", "lgconsole-server"),
                       ("Deployment", "lgconsole-vllm"), ("Service", "lgconsole-vllm")}
    for name in ("lgconsole-server", "lgconsole-vllm"):  # each Service selects its Deployment's pods
        deployment, service = by[("Deployment", name)], by[("Service", name)]
        assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        pod = deployment["spec"]["template"]["metadata"]["annotations"]
        assert pod["prometheus.io/scrape"] == "true" and pod["prometheus.io/path"] == "/metrics"


def test_the_k8s_schema_check_catches_what_the_api_server_would_refuse():
    doc = k8s_documents(CONTAINERS)[0]
    doc["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pat"] = "/ok"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_k8s_vllm_requests_gpus_and_the_server_reads_its_urls_from_a_secret():
    docs = {d["metadata"]["name"] + d["kind"]: d for d in k8s_documents(CONTAINERS)}
    vllm = docs["lgconsole-vllmDeployment"]["spec"]["template"]["spec"]["containers"][0]
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "2" == vllm["resources"]["requests"]["nvidia.com/gpu"]
    vllm_env = {e["name"]: e for e in vllm["env"]}
    assert vllm_env["VLLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "lgconsole-vllm", "key": "VLLM_API_KEY"}
    assert "kubectl create secret generic lgconsole-vllm --from-literal=VLLM_API_KEY=..." in k8s_text(CONTAINERS)
    server = docs["lgconsole-serverDeployment"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in server["env"]}
    for key in ("DATABASE_URI", "REDIS_URI", "LANGGRAPH_CLOUD_LICENSE_KEY"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": SERVER_SECRET, "key": key}
    assert env["LGCONSOLE_VLLM_URL"]["value"] == "http://lgconsole-vllm:8000"
    assert server["readinessProbe"]["httpGet"]["path"] == "/ok"


@pytest.mark.parametrize("argv, kept, env", [
    (["--port", "1", "--api-key", "k1"], ["--port", "1"], {"VLLM_API_KEY": "k1"}),
    (["--api-key=k2", "--x"], ["--x"], {"VLLM_API_KEY": "k2"}),
    (["--hf-token", "hf_abc", "--hf-token"], ["--hf-token"], {"HF_TOKEN": "hf_abc"}),  # a bare one: the cached login
    (["--return-tokens-as-token-ids", "--enable-prefix-caching"], ["--return-tokens-as-token-ids",
                                                                   "--enable-prefix-caching"], {}),
])
def test_vllm_secret_flags_leave_the_command_line_for_the_environment(argv, kept, env):
    from lgconsole.console.sources.exports import without_secret_args

    assert without_secret_args(argv) == (kept, env)
