"""The `image` runtime's preflight against the real docker client of this machine, which has no daemon: `up` starts
nothing and says, in docker's own words, that the daemon cannot be reached; `doctor` says the same as critical."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from stackutil import lgconsole, new_state_dir, remove_state_dir, write_config

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
