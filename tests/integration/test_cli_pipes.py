"""The real CLI piped into a reader that goes away (`lgconsole graph | head -1`): the first line arrives, the command
ends quietly (exit 141, as `seq` and `git log` end, or 0 when it was done before the reader left) and prints no
traceback, against a real stack."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid

import pytest

from lgconsole.stack.services.supervisor import StackSpec, build_services
from stackutil import REPO

pytestmark = pytest.mark.integration

CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("POSTGRES_URL", "REDIS_URL", "LANGGRAPH_URL", "VLLM_URL", "LGCONSOLE_STATE_DIR",
                          "LGCONSOLE_CONFIG")}


@pytest.fixture(scope="module")
def thread_id(live_stack) -> str:
    """A finished demo thread, made through the server by a plain client."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(url=build_services(StackSpec.load(live_stack.state_path))["langgraph"].url(), timeout=120)
    try:
        tid = client.threads.create(metadata={"lgc_pipes": uuid.uuid4().hex[:8]})["thread_id"]
        client.runs.wait(tid, "demo", input={"task": "pipes", "delay": 0}, raise_error=False)
        client.runs.wait(tid, "demo", command={"resume": {"approved": True}}, raise_error=False)
    finally:
        client.close()
    return tid


def _argv(config, *args: str) -> list[str]:
    return [sys.executable, "-m", "lgconsole.console", "--config", str(config.state_path / "lgconsole.toml"), *args]


def _commands(thread_id: str) -> dict[str, tuple[list[str], str]]:
    """Each command, and how its first line starts."""
    return {"graph": (["graph"], "demo: 8 nodes"), "threads": (["threads"], "THREAD "),
            "history": (["history", thread_id], "● "), "gpu --json": (["gpu", "--json"], "{")}


@pytest.mark.parametrize("name", ["graph", "threads", "history", "gpu --json"])
def test_a_reader_gone_before_the_first_write_ends_the_command_with_141_and_no_traceback(live_stack, thread_id, name):
    args, _ = _commands(thread_id)[name]
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # the reader left before anything was written: every write fails
    try:
        done = subprocess.run(_argv(live_stack, *args), stdout=write_fd, stderr=subprocess.PIPE, text=True,
                              env=CLEAN_ENV, cwd=REPO, timeout=120)
    finally:
        os.close(write_fd)
    assert (done.returncode, done.stderr) == (141, "")


@pytest.mark.parametrize("name", ["graph", "threads", "history", "gpu --json"])
def test_piped_into_head_the_first_line_arrives_and_nothing_else_is_said(live_stack, thread_id, name):
    args, first = _commands(thread_id)[name]
    line = shlex.join(_argv(live_stack, *args)) + ' | head -1; exit "${PIPESTATUS[0]}"'
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=CLEAN_ENV, cwd=REPO, timeout=120)
    assert done.stdout.startswith(first) and done.stdout.count("\n") == 1, done.stdout
    assert done.stderr == "" and done.returncode in (0, 141), (done.returncode, done.stderr)


@pytest.mark.parametrize("as_json", [False, True])
def test_a_run_streamed_into_head_ends_quietly_mid_stream(live_stack, as_json):
    """`lgconsole run demo | head -1`: head leaves while the run still streams (its workers sleep 0.5 s), so a later
    write fails mid-stream: the stream is closed where it was read (no 'error occurred during closing of
    asynchronous generator' traceback from the loop's shutdown), exit 141."""
    args = ["run", "demo", "--input", json.dumps({"task": "pipes mid-stream", "delay": 0.5})]
    args += ["--json"] if as_json else []
    line = shlex.join(_argv(live_stack, *args)) + ' | head -1; exit "${PIPESTATUS[0]}"'
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=CLEAN_ENV, cwd=REPO, timeout=120)
    assert done.stdout.startswith('{"event": "step"' if as_json else "run ") and done.stdout.count("\n") == 1
    assert (done.returncode, done.stderr) == (141, "")
