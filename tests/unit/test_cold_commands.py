"""A cold `threads`, `history` or `diff` imports only what it uses: no SDK, HTTP library, pool, pydantic, Rich or
Textual, and not the supervisor with every service (they cost more than the query). Each runs in a fresh
interpreter against a Postgres and a server that refuse, so it passes every import on its way to the first read."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lgconsole.console.sources import urls
from lgconsole.stack.services import supervisor

HEAVY = ("httpx", "psycopg_pool", "langgraph", "langgraph_sdk", "langchain_core", "pydantic", "rich", "textual",
         "anyio", "lgconsole.stack.services.supervisor", "lgconsole.console.sources.run_follower",
         "lgconsole.console.cli.live")
RUNNER = r"""
import json, sys
out = sys.argv[1]
from lgconsole.console.cli.main import main
try:
    main(sys.argv[2:])
except BaseException:
    pass
json.dump(sorted(sys.modules), open(out, "w"))
"""


@pytest.mark.parametrize("argv", [["threads"], ["history", "t1"], ["diff", "t1", "aaaa", "bbbb"]])
def test_a_cold_read_command_imports_only_what_it_uses(argv, tmp_path):
    out = tmp_path / "loaded.json"
    env = {**os.environ, "POSTGRES_URL": "postgresql://nobody:pw@127.0.0.1:1/none",
           "LANGGRAPH_URL": "http://127.0.0.1:1", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(out), "--state-dir", str(tmp_path / "state"), *argv],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.exists(), proc.stderr[-2000:]
    loaded = json.loads(out.read_text())
    assert "lgconsole.stack.checkpoints.reader" in loaded  # it got as far as reading
    assert not [m for m in loaded if m in HEAVY or m.partition(".")[0] in HEAVY]


def test_one_service_url_is_built_as_the_supervisor_builds_them_all():
    assert {name: getattr(__import__(f"lgconsole.stack.services.{module}", fromlist=[cls]), cls)
            for name, (module, cls) in urls.SERVICE_CLASSES.items()} == supervisor.SERVICE_TYPES


# What resolving a managed stack's URLs leaves out: the project's environment, the image runtime, the health probes
# and the process module (LangGraph: its URL and token only), the token maker (secrets, hmac); for Postgres's URL
# alone (`history`, `diff`) the client credentials and the LangGraph service too.
NOT_FOR_URLS = ("lgconsole.stack.services.project_env", "lgconsole.stack.services.container_runtime",
                "lgconsole.stack.server.health", "secrets", "hmac", "lgconsole.console.model.breakpoints",
                "lgconsole.stack.services.process", "lgconsole.stack.services.log_rotation")
NOT_FOR_POSTGRES_URL = ("lgconsole.stack.server.credentials", "lgconsole.stack.services.langgraph_server")


@pytest.mark.parametrize("argv", [["threads"], ["history", "t1"], ["diff", "t1", "aaaa", "bbbb"]])
def test_a_cold_read_command_on_a_managed_stack_resolves_urls_lightly(argv, tmp_path):
    from lgconsole.console.config import load_config
    from lgconsole.console.stack_spec import build_stack_spec
    from lgconsole.stack.services.service import Secrets

    state = tmp_path / "state"
    (tmp_path / "lgconsole.toml").write_text(f'state_dir = "{state}"\n[postgres]\nport = 1\n[langgraph]\nport = 2\n')
    config = load_config(tmp_path / "lgconsole.toml", env={})
    build_stack_spec(config).save()  # as `up` leaves it (the password made), nothing running
    Secrets(config.paths.secrets_file).get("postgres_password")
    out = tmp_path / "loaded.json"
    env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_URL", "LANGGRAPH_URL", "LGCONSOLE_CONFIG")}
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(out), "--config", str(tmp_path / "lgconsole.toml"), *argv],
                          cwd=tmp_path, env={**env, "XDG_CONFIG_HOME": str(tmp_path / "config")}, capture_output=True,
                          text=True, timeout=120)
    assert out.exists(), proc.stderr[-2000:]
    loaded = set(json.loads(out.read_text()))
    assert "lgconsole.stack.checkpoints.reader" in loaded and "lgconsole.stack.services.postgres" in loaded
    assert sorted(loaded & set(NOT_FOR_URLS)) == []
    if argv[0] == "threads":  # the server's busy threads: its URL and token
        assert "lgconsole.stack.services.langgraph_server" in loaded
    else:
        assert sorted(loaded & set(NOT_FOR_POSTGRES_URL)) == []
