"""A user's own project, served as it is: `[project] path` is all the user sets. The server runs in an environment
built from the project's langgraph.json (here a package lgconsole's own venv lacks), reused while its inputs are
unchanged, rebuilt when they change; bad input is one line with the cause and the fix, and nothing is left running.

Environments are built in the machine's cache (~/.cache/lgconsole/envs, or $LGCONSOLE_ENV_DIR): the fixture
projects' environment is built once per machine and reused by every later run."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from lgconsole.console.config import load_config
from lgconsole.console.stack_spec import build_stack_spec
from lgconsole.stack.services import project_env, supervisor
from stackutil import (REPO, lgconsole, new_state_dir, processes_mentioning, remove_state_dir, stack_token,
                       wait_for, write_config)

pytestmark = pytest.mark.integration

PROJECTS = REPO / "tests" / "fixtures" / "projects"
UP_TIMEOUT = 1200  # a first build on a clean machine downloads the server's packages


def project_toml(path: Path, extra: str = "") -> str:
    return f'[project]\npath = "{path}"\n{extra}'


@contextmanager
def project_up(path: Path, extra: str = ""):
    """`lgconsole up` on the project in a fresh state dir; yields (config, the finished `up`); `down` at the end,
    then nothing of the stack may be left running."""
    state_dir = new_state_dir()
    config_file = write_config(state_dir, project_toml(path, extra))
    try:
        up = lgconsole("up", config=config_file, timeout=UP_TIMEOUT)
        yield load_config(config_file, env={}), up
    finally:
        lgconsole("down", config=config_file)
        left = processes_mentioning(str(state_dir))
        remove_state_dir(state_dir)
        assert not left, f"processes left after down: {left}"


def run_graph(config, assistant: str, payload: dict) -> tuple[dict, dict]:
    """A plain langgraph-sdk client, as the user's application would: one run; (its output, the server's state)."""
    url = f"http://127.0.0.1:{supervisor.read_state(config.state_path).by_name('langgraph').port}"

    async def go():
        client = get_client(url=url, api_key=stack_token(config))  # the key `lgconsole env` exports
        thread = await client.threads.create()
        output = await client.runs.wait(thread["thread_id"], assistant, input=payload)
        state = await client.threads.get_state(thread["thread_id"])
        return output, state

    return asyncio.run(go())


def assert_nothing_left(state_dir: Path, *also: str) -> None:
    assert not supervisor.read_state(state_dir).supervisor_alive
    for text in (str(state_dir), *also):
        assert not processes_mentioning(text), f"left running: {processes_mentioning(text)}"


def test_the_fixture_package_is_not_in_lgconsoles_own_environment():
    probe = subprocess.run([sys.executable, "-c", "import humanize"], capture_output=True)
    assert probe.returncode != 0  # else the next tests would prove nothing


def test_an_own_project_is_served_from_its_own_environment_and_reused_on_the_next_up():
    project = PROJECTS / "humanized"
    env_dir = project_env.env_path(project_env.plan_env(project))
    with project_up(project) as (config, up):
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"environment {env_dir}" in up.stdout  # built now, or reused from an earlier run on this machine
        output, state = run_graph(config, "sizer", {"size": 3_000_000})
        assert output["text"] == "3.0 MB"  # humanize, installed from the project's requirements.txt
        assert output["greeting"] == "hello from langgraph.json"  # langgraph.json's "env"
        assert state["values"] == output and state["next"] == []
    with project_up(project) as (config, up):
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"reusing environment {env_dir} (its inputs are unchanged)" in up.stdout
        assert "creating the virtual environment" not in up.stdout and "installing" not in up.stdout
        assert run_graph(config, "sizer", {"size": 1024})[0]["text"] == "1.0 kB"


def test_changing_the_requirements_rebuilds_the_environment(tmp_path):
    project = tmp_path / "humanized"
    shutil.copytree(PROJECTS / "humanized", project)
    before = project_env.env_path(project_env.plan_env(project))
    # a change of the requirement file's content (unique per run, so this test builds every time it runs)
    (project / "requirements.txt").write_text(f"humanize>=4,<5\n# changed by the test {uuid.uuid4().hex}\n")
    after = project_env.env_path(project_env.plan_env(project))
    assert after != before
    try:
        with project_up(project) as (config, up):
            assert up.returncode == 0, up.stdout + up.stderr
            assert f"building environment {after} from langgraph.json" in up.stdout
            assert "installing 1 project requirement(s) + the server packages" in up.stdout
            assert run_graph(config, "sizer", {"size": 2048})[0]["text"] == "2.0 kB"
    finally:
        shutil.rmtree(after, ignore_errors=True)
        Path(f"{after}.lock").unlink(missing_ok=True)


def test_a_dependency_that_fails_to_install_is_one_line_and_leaves_nothing(tmp_path):
    envs = tmp_path / "envs"
    with project_up(PROJECTS / "bad_dependency", f'env_dir = "{envs}"\n') as (config, up):
        assert up.returncode == 1
        errors = [ln for ln in up.stderr.splitlines() if "lgconsole-p1-no-such-package-anywhere" in ln]
        assert len(errors) == 1, up.stderr
        assert "installing dependency 'lgconsole-p1-no-such-package-anywhere' from langgraph.json failed" in errors[0]
        assert "fix or remove it in langgraph.json's dependencies" in errors[0]
        assert "stack is stopped (nothing left running)" in up.stderr
        assert_nothing_left(config.state_path, str(envs))
        assert [p.name for p in envs.iterdir() if not p.name.endswith(".lock")] == []  # no half-made environment


def test_a_graph_that_fails_to_import_names_the_module_and_the_environment():
    project = PROJECTS / "missing_module"
    env_dir = project_env.env_path(project_env.plan_env(project))
    with project_up(project) as (config, up):
        assert up.returncode == 1
        assert (f"lgconsole: langgraph: graph 'slugger' failed to load: No module named 'slugify' (in env {env_dir}; "
                "add it to langgraph.json dependencies)") in up.stderr.splitlines()
        assert_nothing_left(config.state_path)


def test_a_project_dir_without_langgraph_json_is_one_line_and_starts_nothing(tmp_path):
    state_dir = new_state_dir()
    try:
        up = lgconsole("up", config=write_config(state_dir, project_toml(tmp_path)))
        assert up.returncode == 4  # exit_codes.CONFIG
        assert up.stderr.strip().splitlines() == [
            f"lgconsole: config error: {state_dir / 'lgconsole.toml'}: [project] path: no langgraph.json in "
            f"{tmp_path}; point it at the directory that holds your project's langgraph.json"]
        assert_nothing_left(state_dir)
    finally:
        remove_state_dir(state_dir)


def test_project_python_serves_with_an_existing_interpreter_without_building(tmp_path):
    envs = tmp_path / "envs"
    extra = f'python = "{sys.executable}"\nenv_dir = "{envs}"\n'
    with project_up(PROJECTS / "bad_dependency", extra) as (config, up):  # its deps are not installed: the user's job
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"served by [project] python {sys.executable}" in up.stdout
        assert run_graph(config, "agent", {})[0] == {"n": 1}
    assert not envs.exists()


def test_project_python_that_lacks_the_server_says_what_to_install(tmp_path):
    bare = project_env.base_python()  # the interpreter lgconsole's venv was made from: no server packages
    with project_up(PROJECTS / "humanized", f'python = "{bare}"\n') as (config, up):
        assert up.returncode == 1
        lines = [ln for ln in up.stderr.splitlines() if "lacks" in ln]
        assert len(lines) == 1, up.stderr
        assert f"[project] python {bare} lacks langgraph-api" in lines[0]
        assert f"add them with: {bare} -m pip install 'langgraph-api==" in lines[0]
        assert_nothing_left(config.state_path)


def test_down_during_a_build_stops_the_installer_and_leaves_no_half_made_environment(tmp_path):
    project = tmp_path / "humanized"
    shutil.copytree(PROJECTS / "humanized", project)
    envs = tmp_path / "envs"
    state_dir = new_state_dir()
    config_file = write_config(state_dir, project_toml(project, f'env_dir = "{envs}"\n'))
    config = load_config(config_file, env={})
    try:
        supervisor.launch(build_stack_spec(config))

        def installing():
            status = supervisor.read_state(state_dir).by_name("langgraph")
            return status is not None and "building environment: installing" in (status.detail or "")

        wait_for(installing, timeout=120, what="the environment build to be installing")
        down = lgconsole("down", config=config_file)
        assert down.returncode == 0, down.stderr
        assert_nothing_left(state_dir, str(envs))
        assert [p.name for p in envs.iterdir() if not p.name.endswith(".lock")] == []
    finally:
        supervisor.shutdown(state_dir)
        remove_state_dir(state_dir)
