"""The `image` runtime against the real docker client of this machine, which has no daemon: `up` starts nothing and
says, in docker's own words, that the daemon cannot be reached; `doctor` says the same as critical; the real
`langgraph build` takes lgconsole's command line and image config as far as `docker build`, and its failure is one
line naming the reason."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from corpus_client import CORPUS
from stackutil import lgconsole, new_state_dir, remove_state_dir, write_config

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.container_runtime import ImageRuntime
from lgconsole.stack.services.langgraph_server import TOKEN_AUTH_MODULE, overlay_config

pytestmark = pytest.mark.integration

DOCKER = shutil.which("docker")


def _client_without_daemon() -> bool:
    return DOCKER is not None and subprocess.run([DOCKER, "info"], capture_output=True, timeout=20).returncode != 0


@pytest.mark.skipif(not _client_without_daemon(), reason="needs a docker client whose daemon is not running")
def test_up_refuses_and_doctor_is_critical_when_the_docker_daemon_is_down():
    state_dir = new_state_dir()
    try:
        config = write_config(state_dir, '[langgraph]\nruntime = "image"\ncontainer_network = "host"\n')
        env = {"LANGSMITH_API_KEY": "lsv2-test-key-never-printed"}
        up = lgconsole("up", config=config, env=env)
        assert up.returncode == 1
        assert 'langgraph runtime "image": container engine: docker cannot reach its daemon: Cannot connect to ' \
               "the Docker daemon" in up.stderr
        assert "license key" not in up.stderr and "lsv2-test-key" not in up.stdout + up.stderr
        assert not (state_dir / "state.json").exists()  # nothing was started
        doctor = lgconsole("doctor", config=config, env=env)
        assert doctor.returncode == 6
        assert 'CRIT  langgraph runtime "image": container engine: docker cannot reach its daemon' in doctor.stdout
    finally:
        remove_state_dir(state_dir)


@pytest.mark.skipif(not _client_without_daemon(), reason="needs a docker client whose daemon is not running")
def test_langgraph_build_gets_as_far_as_docker_build_and_its_failure_is_one_line(tmp_path):
    core = CORPUS / "core"
    image = ImageRuntime({"runtime": "image", "pull": False}, core, tmp_path, 41234, tmp_path / "secrets.json")
    phases: list[str] = []
    with pytest.raises(StackError, match=r"`langgraph build` failed \(exit \d+\): ") as failed:
        image.build(overlay_config(core, token_auth=True), True, TOKEN_AUTH_MODULE, tmp_path / "langgraph.log",
                    lambda phase, line: phases.append(phase))
    assert "Usage:" not in str(failed.value) and "\n" not in str(failed.value)
    log = (tmp_path / "langgraph.log").read_text()
    assert f"docker build -f - -t lgconsole-langgraph-core:local --build-context core={core.resolve()}" in log
    assert set(phases) == {"langgraph build"} and not image.built
