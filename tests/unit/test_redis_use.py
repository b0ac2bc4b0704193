"""The rule that decides whether `up` runs a Redis ([redis] enabled = auto | yes | no) and says who uses it: the
demo graph's tool cache does, `langgraph dev` does not, a project does when it names REDIS_URL or REDIS_URI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lgconsole.console.config import ConfigError, build_stack_spec, load_config
from lgconsole.console.sources.external import configured_services, needs_supervisor
from lgconsole.stack.services.redis import redis_use
from lgconsole.stack.services.service import ServiceState, StackPaths
from lgconsole.stack.services.supervisor import build_services
from lgconsole.stack.services.supervisor_daemon import Supervisor


def project(tmp_path: Path, langgraph_json: dict, env_file: str | None = None) -> Path:
    (tmp_path / "langgraph.json").write_text(json.dumps(langgraph_json))
    if env_file is not None:
        (tmp_path / ".env").write_text(env_file)
    return tmp_path


GRAPHS = {"agent": "./agent.py:graph"}


def test_the_demo_graph_uses_redis_for_its_tool_cache():
    use = redis_use()
    assert use.started and "demo graph's tool cache" in use.why


def test_a_project_that_names_no_redis_gets_none(tmp_path):
    use = redis_use(project_dir=project(tmp_path, {"graphs": GRAPHS}))
    assert not use.started
    assert use.why.startswith("not started: nothing uses it") and '[redis] enabled = "yes"' in use.why


@pytest.mark.parametrize("langgraph_json, env_file, where", [
    ({"graphs": GRAPHS, "env": {"REDIS_URI": "redis://cache:6379"}}, None, "REDIS_URI in langgraph.json"),
    ({"graphs": GRAPHS, "env": ".env"}, "OPENAI_API_KEY=x\nREDIS_URL=redis://localhost\n", "REDIS_URL in .env"),
    ({"graphs": GRAPHS, "env": ".env"}, "LGCONSOLE_REDIS_URL=\n", "LGCONSOLE_REDIS_URL in .env"),
])
def test_a_project_that_names_redis_gets_one_and_says_where(tmp_path, langgraph_json, env_file, where):
    use = redis_use(project_dir=project(tmp_path, langgraph_json, env_file))
    assert use.started and use.why == f"used by the project: {where}"


def test_names_that_only_contain_redis_words_do_not_count(tmp_path):
    use = redis_use(project_dir=project(tmp_path, {"graphs": GRAPHS, "env": {"MY_REDIS_URL_OLD": "x",
                                                                             "NOT_REDIS_URIS": "y"}}))
    assert not use.started


def test_the_servers_own_env_counts(tmp_path):
    use = redis_use(project_dir=project(tmp_path, {"graphs": GRAPHS}), server_env={"REDIS_URL": "redis://x"})
    assert use.started and use.why == "used by the project: REDIS_URL in [langgraph] env"


def test_an_external_server_needs_no_redis_of_ours_and_the_settings_win():
    assert not redis_use(server_external=True).started
    assert "LangGraph server is external" in redis_use(server_external=True).why
    assert redis_use("yes", server_external=True).started
    assert not redis_use("no").started and redis_use("no").why == 'not started: [redis] enabled = "no"'
    external = redis_use(url="redis://:pw@cache:6379/0")
    assert external.started and external.why.startswith("external")
    assert not redis_use("no", url="redis://cache:6379/0").started


def _config(tmp_path: Path, text: str = "", env: dict | None = None):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    (tmp_path / "lgconsole.toml").write_text(f'state_dir = "{state}"\n{text}')
    return load_config(tmp_path / "lgconsole.toml", env=env or {})


def test_up_gets_no_redis_when_nothing_uses_it_and_the_supervisor_says_why(tmp_path):
    (tmp_path / "proj").mkdir()
    proj = project(tmp_path / "proj", {"graphs": GRAPHS})
    config = _config(tmp_path, f'[project]\npath = "{proj}"\n')
    spec = build_stack_spec(config)
    redis = spec.services["redis"]
    assert redis["enabled"] is False and not redis.get("port") and redis["use"].startswith("not started")
    services = build_services(spec)
    assert not services["redis"].enabled
    daemon = Supervisor(spec, services)  # no process: only its first view of the services
    assert daemon.runtimes["redis"].status.detail == redis["use"]
    server_env = {k for svc in services.values() if svc.enabled for k in svc.client_env()}  # as _start builds it
    assert "LGCONSOLE_REDIS_URL" not in server_env and "LGCONSOLE_POSTGRES_URL" in server_env


def test_the_demo_stack_still_starts_redis(tmp_path):
    spec = build_stack_spec(_config(tmp_path))
    assert spec.services["redis"]["enabled"] is True and spec.services["redis"]["port"]
    assert "tool cache" in spec.services["redis"]["use"]


def test_an_all_external_deployment_needs_no_supervisor(tmp_path):
    config = _config(tmp_path, env={"POSTGRES_URL": "postgresql://u:p@db:5432/x", "LANGGRAPH_URL": "http://lg:8123"})
    rows = {s.name: s for s in configured_services(config)}
    assert rows["redis"].state == ServiceState.DISABLED and "LangGraph server is external" in rows["redis"].detail
    assert rows["postgres"].managed is False and rows["vllm"].state == ServiceState.DISABLED
    assert not needs_supervisor(list(rows.values()))
    assert needs_supervisor(configured_services(_config(tmp_path, env={"POSTGRES_URL": "postgresql://db/x"})))
    spec = build_stack_spec(config)
    assert not [n for n, svc in build_services(spec).items() if svc.enabled and not svc.external]
    assert StackPaths(config.state_path).state_file.exists() is False  # building a spec starts nothing


def test_the_setting_is_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"\[redis\] enabled: must be one of 'auto', 'yes', 'no', got 'sometimes'"):
        _config(tmp_path, '[redis]\nenabled = "sometimes"\n')


def test_beside_an_external_server_no_postgres_of_ours_is_started(tmp_path):
    """It would hold nothing: the server saves its checkpoints in its own database."""
    config = _config(tmp_path, env={"LANGGRAPH_URL": "http://lg:8123"})
    spec = build_stack_spec(config)
    assert spec.services["postgres"]["enabled"] is False and not spec.services["postgres"].get("port")
    assert "set POSTGRES_URL" in spec.services["postgres"]["use"]
    rows = {s.name: s for s in configured_services(config)}
    assert rows["postgres"].state == ServiceState.DISABLED and "saves its checkpoints" in rows["postgres"].detail
    assert not needs_supervisor(list(rows.values()))
