"""The server runtimes without processes: `[langgraph] runtime` and its keys, the `image` runtime's build and run
command lines, its env file, the langgraph.json it builds from (checked by langgraph-cli's own Dockerfile generator,
the step of `langgraph build` before `docker build`), its preflight lines in `up` and `doctor`; the `pg` runtime's
command line, environment and the JSON-plain user the token hook gives it."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest

from lgconsole.console.config import ConfigError, load_config
from lgconsole.console.stack_spec import build_stack_spec
from lgconsole.console.sources.runtime_preflight import runtime_findings, runtime_problems
from lgconsole.stack.errors import StackError
from lgconsole.stack.server import token_auth
from lgconsole.stack.services import container_runtime as cr
from lgconsole.stack.services import pg_runtime
from lgconsole.stack.services.langgraph_server import TOKEN_AUTH_MODULE, overlay_config
from lgconsole.stack.services.service import StackPaths, StackSpec
from lgconsole.stack.services.supervisor import build_services

CORE = Path(__file__).resolve().parents[1] / "corpus" / "core"
PG_URL = "postgresql://lgconsole:pg-secret@127.0.0.1:5432/lgconsole"
REDIS_URL = "redis://:redis-secret@127.0.0.1:6379/0"


def _config(tmp_path: Path, text: str = ""):
    path = tmp_path / "lgconsole.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n{text}')
    return load_config(path, env={})


def _inputs(**changes) -> cr.PreflightInputs:
    ready = dict(engine="/usr/bin/docker", wanted_engine="", engine_problem=None, langgraph_cli="/venv/bin/langgraph",
                 docker_on_path=True, buildx_problem=None, licensed=True, network="bridge", loopback_services=[])
    return cr.PreflightInputs(**{**ready, **changes})


# --- config ---------------------------------------------------------------------------------------------------------

def test_the_runtime_is_dev_unless_configured_and_its_keys_reach_the_server_spec(tmp_path):
    assert _config(tmp_path).langgraph.runtime == "dev"
    config = _config(tmp_path, '[langgraph]\nruntime = "image"\nengine = "podman"\ncontainer_network = "host"\n'
                               'image_tag = "me/agents:1"\n')
    spec = build_stack_spec(config).services["langgraph"]
    assert (spec["runtime"], spec["engine"], spec["container_network"], spec["image_tag"]) == \
        ("image", "podman", "host", "me/agents:1")


@pytest.mark.parametrize("text, allowed", [
    ('runtime = "k8s"', "'dev', 'pg', 'image'"),
    ('engine = "containerd"', "'docker', 'podman'"),
    ('container_network = "macvlan"', "'bridge', 'host'"),
])
def test_an_unknown_runtime_engine_or_network_names_the_choices(tmp_path, text, allowed):
    with pytest.raises(ConfigError, match=allowed):
        _config(tmp_path, f"[langgraph]\n{text}\n")


# --- image: preflight -----------------------------------------------------------------------------------------------

def test_a_ready_machine_has_no_preflight_problem():
    assert cr.preflight_problems(_inputs()) == []


@pytest.mark.parametrize("changes, line", [
    ({"engine": None}, "container engine: neither docker nor podman is on PATH"),
    ({"engine": None, "wanted_engine": "podman"}, "container engine: podman is not on PATH"),
    ({"engine_problem": "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon "
                        "running?"},
     "container engine: docker cannot reach its daemon: Cannot connect to the Docker daemon"),
    ({"langgraph_cli": None}, "langgraph CLI: `langgraph` is not installed"),
    ({"docker_on_path": False, "engine": "/usr/bin/podman"}, "langgraph CLI: `langgraph build` calls `docker`"),
    ({"buildx_problem": "docker: unknown command: docker buildx"},
     "buildx: `langgraph build` passes the project with --build-context, which needs docker's buildx plugin"),
    ({"licensed": False}, "license key: set LANGGRAPH_CLOUD_LICENSE_KEY or LANGSMITH_API_KEY"),
    ({"loopback_services": ["postgres", "redis"]}, "network: postgres and redis on 127.0.0.1 are out of a bridged"),
])
def test_each_missing_piece_is_one_line(changes, line):
    problems = cr.preflight_problems(_inputs(**changes))
    assert len(problems) == 1 and problems[0].startswith(line), problems


def test_host_networking_reaches_loopback_services():
    assert cr.preflight_problems(_inputs(network="host", loopback_services=["postgres"])) == []


def test_license_keys_come_from_the_environment_before_the_secrets_file(tmp_path):
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"postgres": "pw", "LANGSMITH_API_KEY": "ls-file"}))
    assert cr.license_env({}, cr.read_secrets_file(secrets)) == {"LANGSMITH_API_KEY": "ls-file"}
    assert cr.license_env({"LANGSMITH_API_KEY": "ls-env", "LANGGRAPH_CLOUD_LICENSE_KEY": " lic \n"},
                          cr.read_secrets_file(secrets)) == {"LANGGRAPH_CLOUD_LICENSE_KEY": "lic",
                                                              "LANGSMITH_API_KEY": "ls-env"}
    assert cr.license_env({}, cr.read_secrets_file(tmp_path / "absent.json")) == {}


def test_up_and_doctor_say_what_the_image_runtime_lacks_and_nothing_for_dev(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no engine: the daemon is never asked
    for var in cr.LICENSE_VARS:
        monkeypatch.delenv(var, raising=False)
    assert runtime_problems(_config(tmp_path)) == []
    image = _config(tmp_path, '[langgraph]\nruntime = "image"\n')
    problems = runtime_problems(image)
    # langgraph is found next to lgconsole's python, but `langgraph build` wants `docker` on PATH
    assert [p.split(":")[0] for p in problems] == ["container engine", "langgraph CLI", "license key", "network"]
    findings = runtime_findings(image)
    assert {f.severity for f in findings} == {"critical"} and len(findings) == len(problems)
    assert all(f.title.startswith('langgraph runtime "image": ') for f in findings)
    external = _config(tmp_path, '[langgraph]\nruntime = "image"\nurl = "http://lg.example"\n')
    assert runtime_problems(external) == []


# --- image: build ---------------------------------------------------------------------------------------------------

def test_the_build_command_names_the_config_the_tag_and_the_base_image():
    argv = cr.build_argv("/venv/bin/langgraph", Path("/state/langgraph/image/langgraph.json"), "me/agents:1",
                         base_image="langchain/langgraph-api:0.16", pull=False)
    assert argv == ["/venv/bin/langgraph", "build", "--config", "/state/langgraph/image/langgraph.json",
                    "--tag", "me/agents:1", "--base-image", "langchain/langgraph-api:0.16", "--no-pull"]
    assert cr.image_tag({}, Path("/work/My Agents")) == "lgconsole-langgraph-my-agents:local"


def test_the_image_config_is_relative_leaves_persistence_to_the_runtime_and_keeps_the_token(tmp_path):
    build_dir = tmp_path / "state" / "langgraph" / "image"
    path = cr.write_build_context(build_dir, overlay_config(CORE, token_auth=True), True, TOKEN_AUTH_MODULE)
    config = json.loads(path.read_text())
    assert "checkpointer" not in config and "store" not in config
    assert all(dep.startswith(".") for dep in config["dependencies"])
    assert (build_dir / config["dependencies"][0]).resolve() == CORE.resolve()
    assert config["auth"] == {"path": f"./{cr.AUTH_GLUE_DIR}/token_auth.py:auth", "disable_studio_auth": True}
    assert (build_dir / cr.AUTH_GLUE_DIR / "token_auth.py").read_bytes() == TOKEN_AUTH_MODULE.read_bytes()
    assert (build_dir / config["graphs"]["fanout"].partition(":")[0]).resolve() == \
        (CORE / "corpus_core" / "fanout.py").resolve()


def test_langgraph_cli_turns_the_image_config_into_a_dockerfile_with_every_graph_and_the_token(tmp_path):
    from langgraph_cli.config import config_to_docker, validate_config_file

    build_dir = tmp_path / "state" / "langgraph" / "image"
    path = cr.write_build_context(build_dir, overlay_config(CORE, token_auth=True), True, TOKEN_AUTH_MODULE)
    dockerfile, contexts = config_to_docker(path, validate_config_file(path))
    graphs_line = next(ln for ln in dockerfile.splitlines() if ln.startswith("ENV LANGSERVE_GRAPHS="))
    graphs = json.loads(graphs_line.partition("=")[2].strip("'"))
    assert set(graphs) == set(json.loads((CORE / "langgraph.json").read_text())["graphs"])
    assert graphs["fanout"] == "/deps/core/corpus_core/fanout.py:graph"
    assert '"path": "/deps/outer-lgconsole_auth/src/token_auth.py:auth"' in dockerfile
    assert "persistence.py" not in dockerfile
    assert contexts == {"core": str(CORE.resolve())}  # the project is a build context: nothing is copied into it


def test_a_failed_build_is_explained_by_the_line_that_names_the_error_not_the_usage_after_it():
    tail = ["+ docker build -f - -t t:local --build-context core=/p /s", "unknown flag: --build-context", "",
            "Usage:  docker build [OPTIONS] PATH | URL | -", "Run 'docker build --help' for more information"]
    assert cr._build_failure([ln for ln in tail if ln]) == "unknown flag: --build-context"
    assert cr._build_failure(["step 1/9", "step 2/9"]) == "step 2/9"


# --- image: run -----------------------------------------------------------------------------------------------------

def test_a_bridged_container_publishes_on_loopback_and_reaches_the_host_by_its_alias(tmp_path):
    env = cr.container_env(PG_URL, REDIS_URL, {"LANGSMITH_API_KEY": "ls-secret"}, "bridge", 41234)
    assert env["DATABASE_URI"] == "postgresql://lgconsole:pg-secret@host.docker.internal:5432/lgconsole"
    assert env["REDIS_URI"] == "redis://:redis-secret@host.docker.internal:6379/0"
    assert "PORT" not in env
    argv = cr.run_argv("/usr/bin/docker", cr.container_name(41234), "me/agents:1", 41234, tmp_path / "c.env",
                       "bridge", token_file=tmp_path / "langgraph-token")
    assert argv[:4] == ["/usr/bin/docker", "run", "--rm", "--name"] and argv[-1] == "me/agents:1"
    assert ["--publish", "127.0.0.1:41234:8000"] == argv[argv.index("--publish"):argv.index("--publish") + 2]
    assert "host.docker.internal:host-gateway" in argv
    assert f"{tmp_path / 'langgraph-token'}:{cr.CONTAINER_TOKEN_FILE}:ro" in argv
    assert not any(secret in " ".join(argv) for secret in ("pg-secret", "redis-secret", "ls-secret"))


def test_a_host_networked_container_serves_on_the_stack_port_with_urls_unchanged(tmp_path):
    env = cr.container_env(PG_URL, REDIS_URL, {}, "host", 41234, extra={"MY_FLAG": 1}, token_guarded=True)
    assert (env["DATABASE_URI"], env["REDIS_URI"], env["PORT"]) == (PG_URL, REDIS_URL, "41234")
    assert env["MY_FLAG"] == "1" and env["LGCONSOLE_TOKEN_FILE"] == cr.CONTAINER_TOKEN_FILE
    argv = cr.run_argv("podman", "n", "t", 41234, tmp_path / "c.env", "host")
    assert "--network" in argv and "--publish" not in argv


def test_the_env_file_is_private_and_one_line_per_variable(tmp_path):
    path = tmp_path / "langgraph" / "container.env"
    path.parent.mkdir()
    path.write_text("OLD=1\n")
    os.chmod(path, 0o644)
    cr.write_env_file(path, {"DATABASE_URI": PG_URL, "LANGSMITH_API_KEY": "ls-secret"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == f"DATABASE_URI={PG_URL}\nLANGSMITH_API_KEY=ls-secret\n"
    with pytest.raises(StackError, match="one line per variable"):
        cr.write_env_file(path, {"BAD": "two\nlines"})


def test_the_image_service_refuses_loopback_services_on_a_bridge_and_needs_redis(tmp_path):
    image = cr.ImageRuntime({"runtime": "image"}, CORE, tmp_path, 41234, tmp_path / "secrets.json")
    with pytest.raises(StackError, match="out of a bridged container's reach"):
        image.launch_argv({"LGCONSOLE_POSTGRES_URL": PG_URL, "LGCONSOLE_REDIS_URL": REDIS_URL}, None)
    with pytest.raises(StackError, match="needs the stack's Redis"):
        image.launch_argv({"LGCONSOLE_POSTGRES_URL": PG_URL}, None)


def test_the_supervisor_gives_the_langgraph_service_its_runtime(tmp_path):
    spec = StackSpec(state_dir=str(tmp_path), services={"langgraph": {"runtime": "image", "port": 41234}})
    service = build_services(spec)["langgraph"]
    assert service.image is not None and service.image.name == "lgconsole-langgraph-41234"
    spec.services["langgraph"]["runtime"] = "dev"
    assert build_services(spec)["langgraph"].image is None
    assert StackPaths(tmp_path).secrets_file == service.image.secrets_file


# --- pg -------------------------------------------------------------------------------------------------------------

def test_the_pg_server_binds_loopback_on_the_stack_port():
    argv = pg_runtime.serve_argv("/env/bin/python", 41234, Path("/state/langgraph/langgraph.json"), 4, True)
    assert argv == ["/env/bin/python", "-m", "langhost", "serve", "--host", "127.0.0.1", "--port", "41234",
                    "--config", "/state/langgraph/langgraph.json", "--no-browser", "--n-jobs-per-worker", "4",
                    "--allow-blocking"]


def test_the_pg_server_gets_the_stacks_postgres_and_redis_and_a_short_heartbeat():
    env = pg_runtime.server_env({"LGCONSOLE_POSTGRES_URL": PG_URL, "LGCONSOLE_REDIS_URL": REDIS_URL})
    assert (env["DATABASE_URI"], env["REDIS_URI"], env["LG_BG_JOB_HEARTBEAT"]) == (PG_URL, REDIS_URL, "5")
    with pytest.raises(StackError, match="needs the stack's Postgres and Redis"):
        pg_runtime.server_env({})


def test_runtimes_that_keep_state_in_postgres_get_no_lgconsole_checkpointer():
    assert "checkpointer" in overlay_config(CORE) and "store" in overlay_config(CORE)
    bare = overlay_config(CORE, token_auth=True, persistence=False)
    assert "checkpointer" not in bare and "store" not in bare and bare["auth"]["path"].endswith("token_auth.py:auth")


def test_the_pg_environment_pins_the_evaluated_runtime(tmp_path):
    spec = StackSpec(state_dir=str(tmp_path), services={"langgraph": {"runtime": "pg", "port": 41234}})
    service = build_services(spec)["langgraph"]
    assert service.own_env and not service.own_project  # the demo too: the runtime's langgraph-api is older
    assert f"langhost=={pg_runtime.LANGHOST_VERSION}" in service.plan().pins


def test_under_pg_the_token_hook_returns_a_user_the_standard_json_module_can_store(tmp_path, monkeypatch):
    from starlette.authentication import BaseUser

    token = tmp_path / "token"
    token.write_text("s3cret\n")
    monkeypatch.setenv(token_auth.TOKEN_FILE_ENV, str(token))
    headers = {b"authorization": b"Bearer s3cret"}
    assert asyncio.run(token_auth.authenticate(headers=headers)) == token_auth.IDENTITY
    monkeypatch.setenv(token_auth.PLAIN_USER_ENV, "1")
    user = asyncio.run(token_auth.authenticate(headers=headers))
    assert isinstance(user, BaseUser) and user.identity == token_auth.IDENTITY and user.is_authenticated
    assert json.loads(json.dumps({"langgraph_auth_user": user}))["langgraph_auth_user"]["identity"] == "lgconsole-token"


def test_graph_paths_are_rewritten_alike_for_dev_and_image():
    """Both runtimes rewrite every spec shape a langgraph.json allows by one rule; an unknown shape is left for the
    server to report."""
    from lgconsole.stack.services.langgraph_json import map_graph_paths

    graphs = {"plain": "./agent.py:graph", "dict": {"path": "./agent.py:graph", "description": "d"},
              "odd": {"path": 3}, "none": None}
    mapped = map_graph_paths(graphs, lambda spec: "X" + spec)
    assert mapped == {"plain": "X./agent.py:graph", "dict": {"path": "X./agent.py:graph", "description": "d"},
                      "odd": {"path": 3}, "none": None}
    assert graphs["dict"]["path"] == "./agent.py:graph"  # the input is not changed
