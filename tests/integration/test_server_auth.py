"""The managed LangGraph server requires the stack's token (real server): refused without it or with a wrong one,
also for another local user; accepted as Bearer and as x-api-key; `/ok` open; every lgconsole command still works;
`auth = "none"` turns it off; an external server's key comes from LANGGRAPH_API_KEY; the state dir is private."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from lgconsole.stack.server.credentials import token_path
from lgconsole.stack.services.service import StackPaths
from stackutil import lgconsole, own_stack, remember_server, stack_token, wait_for

pytestmark = pytest.mark.integration

PROTECTED = [("POST", "/threads/search", {"limit": 1}), ("POST", "/assistants/search", {}), ("GET", "/threads/x", None)]


def _url(config) -> str:
    return remember_server(config.state_path)


def _codes(url: str, headers: dict) -> list[int]:
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as http:
        return [http.request(method, path, json=body, headers=headers).status_code for method, path, body in PROTECTED]


def test_the_server_refuses_requests_without_the_token(live_stack):
    url, token = _url(live_stack), stack_token(live_stack)
    assert set(_codes(url, {})) <= {401, 403}
    assert set(_codes(url, {"Authorization": "Bearer not-the-token"})) <= {401, 403}
    assert set(_codes(url, {"x-api-key": token[:-1]})) <= {401, 403}
    # under `langgraph dev` this header alone let a request in as the Studio user
    assert set(_codes(url, {"x-auth-scheme": "langsmith"})) <= {401, 403}
    assert httpx.get(f"{url}/ok", timeout=10, trust_env=False).status_code == 200


def test_the_token_works_as_bearer_and_as_x_api_key(live_stack):
    url, token = _url(live_stack), stack_token(live_stack)
    for headers in ({"Authorization": f"Bearer {token}"}, {"x-api-key": token}):
        codes = _codes(url, headers)
        assert codes[:2] == [200, 200] and codes[2] in (404, 422), (headers.keys(), codes)  # no thread "x"


def test_the_users_own_sdk_client_gets_in_with_langgraph_api_key(live_stack):
    """`lgconsole env`'s lines, evaluated by a shell, give a plain langgraph-sdk client what it needs."""
    config_file = live_stack.state_path / "lgconsole.toml"
    env_lines = lgconsole("env", config=config_file)
    assert env_lines.returncode == 0
    assert stack_token(live_stack) not in env_lines.stdout  # `token` is the one place it is printed
    script = (env_lines.stdout + '\n"$LGC_PYTHON" -c "from langgraph_sdk import get_sync_client; '
              'print(len(get_sync_client(url=__import__(\'os\').environ[\'LANGGRAPH_URL\']).assistants.search()))"')
    shell = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "LGC_PYTHON": os.environ.get("LGC_PYTHON", _python())})
    assert shell.returncode == 0, shell.stderr
    assert int(shell.stdout.strip().splitlines()[-1]) >= 1
    assert lgconsole("token", config=config_file).stdout.strip() == stack_token(live_stack)


def _python() -> str:
    import sys

    return sys.executable


OTHER_USER_PROBE = r"""
import json, sys, urllib.request, urllib.error
url, token_file = sys.argv[1], sys.argv[2]
out = {}
try:
    open(token_file).read()
    out["token_file"] = "read"
except OSError as exc:
    out["token_file"] = type(exc).__name__
for name, headers in (("none", {}), ("wrong", {"Authorization": "Bearer guess"})):
    request = urllib.request.Request(url + "/threads/search", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        out[name] = urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as exc:
        out[name] = exc.code
out["ok"] = urllib.request.urlopen(url + "/ok", timeout=10).status
print(json.dumps(out))
"""


def test_another_local_user_can_neither_call_the_server_nor_read_the_token(live_stack):
    if os.geteuid() != 0:
        pytest.skip("needs root to act as a second local user (runuser -u nobody)")
    python = "/usr/bin/python3"
    if subprocess.run(["runuser", "-u", "nobody", "--", python, "-c", "pass"], capture_output=True).returncode:
        pytest.skip(f"user nobody cannot run {python}")
    url = _url(live_stack)
    result = subprocess.run(["runuser", "-u", "nobody", "--", python, "-c", OTHER_USER_PROBE, url,
                             str(token_path(live_stack.state_path))], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["token_file"] == "PermissionError"
    assert seen["none"] in (401, 403) and seen["wrong"] in (401, 403)
    assert seen["ok"] == 200


def _log_lines_with(path: Path, text: str) -> int:
    return sum(text in line for line in path.read_text(errors="replace").splitlines())


def test_every_lgconsole_command_that_talks_to_the_server_still_works(live_stack):
    config_file = live_stack.state_path / "lgconsole.toml"
    log = StackPaths(live_stack.state_path).log("langgraph")
    refused_before = _log_lines_with(log, " 401 ")
    run = lgconsole("run", "demo", "--input", '{"task": "auth check"}', config=config_file)
    assert run.returncode == 0 and "waiting for input" in run.stdout, run.stderr
    thread_id = re.search(r"lgconsole resume (\S+)", run.stdout).group(1)
    for argv in (["status"], ["assistants"], ["graph", "demo"], ["threads"], ["history", thread_id],
                 ["resume", thread_id, '{"approved": true}'], ["prune", "--older-than", "30d"]):
        result = lgconsole(*argv, config=config_file)
        assert result.returncode == 0, (argv, result.stderr)
    doctor = lgconsole("doctor", "--json", config=config_file)
    assert "could not check" not in doctor.stdout, doctor.stdout  # the runs in flight were read
    assert _log_lines_with(log, " 401 ") == refused_before, "an lgconsole client was refused"


def test_an_external_servers_key_comes_from_langgraph_api_key(live_stack):
    """The managed server addressed as an external one: LANGGRAPH_URL + LANGGRAPH_API_KEY (as x-api-key) work for the
    SDK clients and the probes; without the key the command says the server refused it."""
    url, token = _url(live_stack), stack_token(live_stack)
    config_file = live_stack.state_path / "lgconsole.toml"
    with_key = {"LANGGRAPH_URL": url, "LANGGRAPH_API_KEY": token}
    assert lgconsole("assistants", config=config_file, env=with_key).returncode == 0
    assert lgconsole("prune", "--older-than", "30d", config=config_file, env=with_key).returncode == 0
    doctor = lgconsole("doctor", config=config_file, env=with_key)
    assert "runs in flight" not in doctor.stdout, doctor.stdout
    without = lgconsole("assistants", config=config_file, env={"LANGGRAPH_URL": url})
    assert without.returncode == 1 and "401" in without.stderr


def test_files_under_the_state_dir_are_private_after_up(live_stack):
    state_dir = live_stack.state_path
    index = state_dir / "langgraph" / ".langgraph_api" / ".langgraph_ops.pckl"
    url = _url(live_stack)
    httpx.post(f"{url}/threads", json={}, headers={"x-api-key": stack_token(live_stack)}, timeout=10,
               trust_env=False).raise_for_status()
    wait_for(index.exists, timeout=30, what="the server's run index")  # flushed every ~10 s
    me = os.geteuid()
    loose = []
    for path in [state_dir, *state_dir.rglob("*")]:
        st = path.lstat()
        if st.st_uid != me or stat.S_ISLNK(st.st_mode):
            continue  # the Postgres cluster of the unprivileged user when we are root: 0700 of its own
        mode = stat.S_IMODE(st.st_mode)
        wanted = {0o700, 0o710} if path == state_dir else {0o700} if stat.S_ISDIR(st.st_mode) else {0o600}
        if mode not in wanted:
            loose.append(f"{oct(mode)} {path}")
    assert not loose, loose
    if stat.S_IMODE(state_dir.stat().st_mode) == 0o710:  # the group's pass is for Postgres's user only
        assert os.geteuid() == 0 and state_dir.stat().st_gid != 0


def test_auth_none_serves_without_a_token():
    with own_stack('[langgraph]\nauth = "none"\n') as config:
        url = _url(config)
        assert _codes(url, {})[:2] == [200, 200]
        assert not token_path(config.state_path).exists()
        assert lgconsole("token", config=config.state_path / "lgconsole.toml").returncode == 1
        doctor = lgconsole("doctor", "--json", config=config.state_path / "lgconsole.toml")
        assert "server-unguarded" not in doctor.stdout  # it listens on loopback only


def test_rotate_token_replaces_it_at_once_while_the_server_runs():
    with own_stack() as config:
        config_file = config.state_path / "lgconsole.toml"
        url, old = _url(config), stack_token(config)
        rotated = lgconsole("up", "--rotate-token", config=config_file)
        assert rotated.returncode == 0 and "new token" in rotated.stdout
        new = stack_token(config)
        assert new != old and new not in rotated.stdout
        assert set(_codes(url, {"x-api-key": old})) <= {401, 403}
        assert _codes(url, {"Authorization": f"Bearer {new}"})[:2] == [200, 200]
        assert lgconsole("assistants", config=config_file).returncode == 0
