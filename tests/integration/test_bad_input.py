"""Bad input against the real server: an input past argv's limit read from stdin runs; an input key the graph does
not know is a warning naming the schema's keys, and the run still runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from stackutil import REPO

pytestmark = pytest.mark.integration


def _run(config, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_URL", "REDIS_URL", "LANGGRAPH_URL", "VLLM_URL")}
    return subprocess.run([sys.executable, "-m", "lgconsole.console", "--config",
                           str(config.state_path / "lgconsole.toml"), *args], input=stdin, capture_output=True,
                          timeout=180, cwd=REPO, env=env)


def test_an_input_of_a_megabyte_from_stdin_runs(live_stack):
    task = "y" * 1_000_000  # one argv argument holds at most 128 KiB
    done = _run(live_stack, "run", "demo", "--input", "-", "--json", stdin=json.dumps({"task": task}).encode())
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    end = json.loads(done.stdout.decode().splitlines()[-1])
    assert end["event"] == "end" and end["status"] == "success" and end["thread_status"] == "interrupted"


def test_an_unknown_input_key_is_a_warning_naming_the_schemas_keys(live_stack):
    done = _run(live_stack, "run", "demo", "--input", '{"task": "x", "taks": "typo"}', "--json")
    err = done.stderr.decode().strip().splitlines()
    assert done.returncode == 0 and len(err) == 1, err
    assert err[0].startswith("lgconsole: warning: input key 'taks' is not in the graph's input schema (did you mean "
                             "'task'?)") and "its keys: messages, task, fail_at" in err[0]
