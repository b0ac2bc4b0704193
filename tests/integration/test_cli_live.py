"""`lgconsole run` / `watch` against the real server: diffs as text or JSON lines, interrupts, errors, a dying server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lgconsole.stack.services import supervisor
from stackutil import REPO, lgconsole, wait_for

pytestmark = pytest.mark.integration


def _cli(config, *args, **kw):
    return lgconsole(*args, config=config.state_path / "lgconsole.toml", **kw)


def test_run_json_lines_then_resume(live_stack):
    result = _cli(live_stack, "run", "demo", "--input", '{"task": "cli json"}', "--json")
    assert result.returncode == 0, result.stderr  # the run succeeded; the thread now waits on the interrupt
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    steps = [line for line in lines if line["event"] == "step"]
    assert [s["node"] for s in steps][0] == "supervisor"
    workers = [s for s in steps if s["node"] in ("researcher", "coder", "reviewer")]
    assert len(workers) == 3 and len({s["superstep"] for s in workers}) == 1
    coder = next(s for s in steps if s["node"] == "coder")
    assert any(c["path"] == "results.coder" and c["kind"] == "added" for c in coder["diff"]["changes"])
    end = lines[-1]
    assert end["event"] == "end" and end["thread_status"] == "interrupted" and end["interrupts"]

    resumed = _cli(live_stack, "run", "demo", "--thread", end["thread_id"], "--resume", '{"approved": false}', "--json")
    assert resumed.returncode == 0, resumed.stderr
    last = json.loads(resumed.stdout.splitlines()[-1])
    assert last["status"] == "success" and last["thread_status"] == "idle"


def test_run_text_shows_the_error_node(live_stack):
    result = _cli(live_stack, "run", "demo", "--input", '{"task": "x", "fail_at": "coder"}')
    assert result.returncode == 1
    assert "coder" in result.stdout and "error" in result.stdout
    assert "RuntimeError: demo failure requested at coder" in result.stdout


@pytest.mark.parametrize("args, message, code", [
    (["run", "demo", "--input", "{bad"], "--input is not valid JSON", 2),  # a usage error (exit_codes.USAGE)
    (["run", "no-such-graph", "--input", "{}"], "no such assistant", 1),
    (["run", "demo", "--resume", "true"], "--resume needs --thread", 2),
])
def test_bad_input_is_one_line(live_stack, args, message, code):
    result = _cli(live_stack, *args)
    assert result.returncode == code and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _watch_while_another_client_runs(config, **run_kwargs) -> list[dict]:
    """`lgconsole watch THREAD --json` in its own process, waiting, while another client starts a run there."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    from lgconsole.console.sources.urls import langgraph_url

    client = sdk_sync_client(url=langgraph_url(config))
    thread = client.threads.create()
    watcher = subprocess.Popen([sys.executable, "-m", "lgconsole.console", "--config",
                                str(config.state_path / "lgconsole.toml"), "watch", thread["thread_id"], "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        time.sleep(2.0)  # the watcher waits for a run to appear
        client.runs.create(thread["thread_id"], "demo", **run_kwargs)
        out, _ = watcher.communicate(timeout=60)
    finally:
        watcher.kill()
        client.close()
    return [json.loads(line) for line in out.splitlines()]


def test_watch_attaches_to_a_run_started_elsewhere(live_stack):
    # as another client would start it: not resumable, its own choice of stream modes
    lines = _watch_while_another_client_runs(live_stack, input={"task": "watched", "delay": 1.0},
                                             stream_mode=["updates", "values"])
    assert {s["node"] for s in lines if s["event"] == "step"} >= {"coder", "join", "review"}
    assert lines[-1]["event"] == "end"


def test_watch_a_values_only_run_shows_named_steps(live_stack):
    """The API's default stream mode is `values` only: the watcher reads the run's saved checkpoints and shows each
    node step by name with its own diff, the review subgraph's steps nested."""
    lines = _watch_while_another_client_runs(live_stack, input={"task": "values only", "delay": 0.5})
    steps = [line for line in lines if line["event"] == "step"]
    assert not any(s["node"] == "(super-step)" for s in steps)
    assert {s["node"] for s in steps if not s["namespace"]} >= {"supervisor", "coder", "researcher", "join", "review"}
    assert {s["node"] for s in steps if s["namespace"]} >= {"critique", "score"}
    coder = next(s for s in steps if s["node"] == "coder")
    # (`results` is a dict reducer: its empty value {} is known from the served graph, so the coder's entry is added)
    assert any(c["path"].startswith("results") and "coder" in c["path"] + str(c["new"])
               for c in coder["diff"]["changes"]), coder
    assert coder["duration_s"] > 0
    assert lines[-1]["steps"] == len(steps)


def test_server_killed_mid_run_is_a_clear_message(live_stack):
    proc = subprocess.Popen([sys.executable, "-m", "lgconsole.console", "--config",
                             str(live_stack.state_path / "lgconsole.toml"), "run", "demo", "--input",
                             '{"task": "killed", "delay": 6}'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    # killed once a worker's first progress line has come through the stream, so the run exists on the server and is
    # at most a slice into its 6 s sleep (killed any earlier, there is nothing to reconnect to; killed on a timer, a
    # loaded box could deliver the stream after the run ended, and the kill would hit an idle server)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "… coder" in line or "… researcher" in line:
            break
    assert seen and seen[0].startswith("run "), seen
    assert "…" in seen[-1], seen
    pid = supervisor.read_state(live_stack.state_path).by_name("langgraph").pid
    os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=90)
    out = "".join(seen) + out
    assert "Traceback" not in err
    # Either the restarted server still knew the run (its index is flushed every ~10 s) and re-ran it, and the
    # stream was joined again, or it had lost it, and the user is told so plainly. Joined again by lgconsole
    # ("reconnecting" said), or by langgraph-sdk itself: its stream reconnects to the run's Location with
    # Last-Event-ID (up to 5 tries, 1-5 s apart), and a server back within that window never ends the stream.
    if "waiting for input" in out:
        assert "reconnecting" in err or "join" in out.split("… coder")[-1], (out, err)
    else:
        assert "lost" in out and "checkpoints are in Postgres" in out
    wait_for(lambda: (s := supervisor.read_state(live_stack.state_path).by_name("langgraph")) and
             s.state.value == "healthy" and s.pid != pid, 60, what="langgraph back")


def test_run_with_the_server_down_says_the_cause_and_the_fix(tmp_path):
    """Nothing listens at the configured URL: one line naming the server, the cause and `lgconsole up`."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "lgconsole.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n[langgraph]\nurl = "http://127.0.0.1:{port}"\n')
    result = lgconsole("run", "demo", "--input", "{}", config=config)
    err = result.stderr.strip()
    assert result.returncode == 1 and "Traceback" not in err and len(err.splitlines()) == 1
    assert f"the LangGraph server at http://127.0.0.1:{port} is not answering" in err and "lgconsole up" in err
