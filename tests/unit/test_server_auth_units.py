"""Server auth and private state, without processes: the [langgraph] credential keys and their env overrides, the
headers every client sends, the token hook's verdicts, spec.json without secrets, file modes, the open-server
triage finding."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import pytest
from langgraph_sdk import Auth

from lgconsole.console.config import ConfigError, load_config
from lgconsole.console.stack_spec import build_stack_spec
from lgconsole.console.model.triage import TriageInputs, evaluate, utcnow
from lgconsole.console.sources.urls import langgraph_url
from lgconsole.stack.server import credentials, token_auth
from lgconsole.stack.server.credentials import ServerCredentials
from lgconsole.stack.services.langgraph_server import DEMO_PROJECT, TOKEN_AUTH_MODULE, overlay_config
from lgconsole.stack.services.service import Secrets, StackPaths, StackSpec
from lgconsole.stack.services.supervisor import build_services


def _config(tmp_path: Path, text: str = "", env: dict | None = None):
    path = tmp_path / "lgconsole.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n{text}')
    return load_config(path, env=env or {})


# --- config ---------------------------------------------------------------------------------------------------------

def test_the_managed_server_is_guarded_by_default(tmp_path):
    lg = _config(tmp_path).langgraph
    assert (lg.auth, lg.api_key, lg.bearer_token, lg.headers) == ("token", "", "", {})


def test_credential_keys_load_and_env_overrides_win(tmp_path):
    text = ('[langgraph]\nurl = "https://lg.example"\napi_key = "from-file"\nbearer_token = "b-file"\n'
            'headers = { "X-Team" = "ops" }\n')
    lg = _config(tmp_path, text).langgraph
    assert (lg.api_key, lg.bearer_token, lg.headers) == ("from-file", "b-file", {"X-Team": "ops"})
    lg = _config(tmp_path, text, env={"LANGGRAPH_API_KEY": "from-env\n", "LANGGRAPH_BEARER_TOKEN": "b-env"}).langgraph
    assert (lg.api_key, lg.bearer_token) == ("from-env", "b-env")


@pytest.mark.parametrize("text, names", [
    ('auth = "basic"', "'token', 'none'"),
    ('headers = { "X Bad" = "v" }', "'X Bad'"),
    ('headers = { "X-Num" = 5 }', "headers.X-Num"),
    ('headers = { "X-Two" = "a\\nb" }', "'X-Two'"),
])
def test_bad_auth_settings_are_one_line_naming_the_key(tmp_path, text, names):
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, f"[langgraph]\n{text}\n")
    assert "[langgraph]" in str(err.value) and names in str(err.value) and "\n" not in str(err.value)


# --- what clients send ----------------------------------------------------------------------------------------------

def test_the_managed_token_goes_as_bearer_and_the_sdk_ignores_env_keys(monkeypatch):
    monkeypatch.setenv("LANGSMITH_API_KEY", "someone-elses")
    creds = ServerCredentials.managed("tok", {"X-Trace": "1"})
    assert creds.http_headers() == {"X-Trace": "1", "Authorization": "Bearer tok"}
    assert creds.sdk_kwargs() == {"headers": {"X-Trace": "1", "Authorization": "Bearer tok"}, "api_key": None}
    credentials.remember("http://127.0.0.1:9/", creds)
    client = credentials.sdk_sync_client("http://127.0.0.1:9")
    try:
        sent = client.http.client.headers
        assert sent["authorization"] == "Bearer tok" and "x-api-key" not in sent
    finally:
        client.close()


def test_external_credentials_as_api_key_bearer_and_headers():
    creds = ServerCredentials(api_key="k", bearer_token="b", headers={"authorization": "old", "X-Gw": "g"})
    assert creds.http_headers() == {"X-Gw": "g", "Authorization": "Bearer b", "x-api-key": "k"}
    kwargs = creds.sdk_kwargs()
    assert kwargs["api_key"] == "k" and "x-api-key" not in {h.lower() for h in kwargs["headers"]}
    # an x-api-key among the headers travels as the SDK's api_key (the SDK refuses it as a custom header)
    assert ServerCredentials(headers={"X-API-Key": "h"}).sdk_kwargs() == {"headers": {}, "api_key": "h"}


def test_with_nothing_configured_the_sdk_reads_its_env_keys_as_before():
    assert "api_key" not in ServerCredentials().sdk_kwargs()
    assert credentials.http_headers("http://never-resolved.example") == {}


def test_resolving_an_external_url_records_its_credentials(tmp_path):
    config = _config(tmp_path, '[langgraph]\nurl = "https://lg.example/"\nheaders = { "X-Gw" = "g" }\n',
                     env={"LANGGRAPH_API_KEY": "k"})
    url = langgraph_url(config)
    assert credentials.http_headers(url) == {"X-Gw": "g", "x-api-key": "k"}


def test_a_managed_stack_resolves_to_its_token(tmp_path):
    config = _config(tmp_path)
    spec = build_stack_spec(config)
    spec.save()
    server = build_services(StackSpec.load(config.state_path))["langgraph"]
    server.prepare()
    token = credentials.read_token(credentials.token_path(config.state_path))
    assert token and len(token) >= 40
    assert credentials.http_headers(langgraph_url(config)) == {"Authorization": f"Bearer {token}"}
    written = json.loads((server.workdir() / "langgraph.json").read_text())
    assert written["auth"] == {"path": f"{TOKEN_AUTH_MODULE}:auth", "disable_studio_auth": True}
    assert server.launch_spec({}).env["LGCONSOLE_TOKEN_FILE"] == str(credentials.token_path(config.state_path))


def test_auth_none_and_a_projects_own_auth_are_not_overridden(tmp_path):
    config = _config(tmp_path, '[langgraph]\nauth = "none"\nbearer_token = "gw"\n')
    build_stack_spec(config).save()
    server = build_services(StackSpec.load(config.state_path))["langgraph"]
    assert not server.token_guarded() and server.client_credentials().http_headers() == {
        "Authorization": "Bearer gw"}
    assert "auth" not in overlay_config(DEMO_PROJECT, token_auth=False)
    project = tmp_path / "proj"
    project.mkdir()
    own_auth = {"graphs": {"g": "./g.py:graph"}, "auth": {"path": "./a.py:auth"}}
    (project / "langgraph.json").write_text(json.dumps(own_auth))
    assert overlay_config(project, token_auth=True)["auth"] == {"path": f"{(project / 'a.py').resolve()}:auth"}


def test_a_rotated_token_replaces_the_old_one(tmp_path):
    path = credentials.token_path(tmp_path)
    first = credentials.ensure_token(path)
    assert credentials.ensure_token(path) == first
    second = credentials.rotate_token(path)
    assert second != first and credentials.read_token(path) == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- the hook the server runs ---------------------------------------------------------------------------------------

def _verdict(headers: dict) -> str | int:
    try:
        return asyncio.run(token_auth.authenticate(headers=headers))
    except Auth.exceptions.HTTPException as exc:
        return exc.status_code


def test_the_hook_takes_the_token_as_bearer_or_api_key_and_nothing_else(tmp_path, monkeypatch):
    path = credentials.token_path(tmp_path)
    token = credentials.ensure_token(path).encode()
    monkeypatch.setenv(token_auth.TOKEN_FILE_ENV, str(path))
    assert _verdict({b"authorization": b"Bearer " + token}) == token_auth.IDENTITY
    assert _verdict({b"authorization": b"bearer " + token}) == token_auth.IDENTITY
    assert _verdict({b"x-api-key": token}) == token_auth.IDENTITY
    assert _verdict({b"authorization": b"Bearer wrong", b"x-api-key": token}) == token_auth.IDENTITY
    assert _verdict({}) == 401
    assert _verdict({b"authorization": b"Bearer " + token[:-1]}) == 401
    assert _verdict({b"authorization": token}) == 401  # no scheme
    assert _verdict({b"x-auth-scheme": b"langsmith"}) == 401
    credentials.rotate_token(path)
    assert _verdict({b"x-api-key": token}) == 401  # read again once the file changed
    path.unlink()
    assert _verdict({b"x-api-key": token}) == 401  # no token file: nobody passes


# --- private state ----------------------------------------------------------------------------------------------------

def test_spec_json_holds_no_secret_and_loads_them_back(tmp_path):
    text = ('[postgres]\nurl = "postgresql://app:s3cret-pw@db.example:5432/lg"\n'
            '[langgraph]\nurl = "https://lg.example"\napi_key = "key-123"\nheaders = { "X-Gw" = "gw-456" }\n')
    config = _config(tmp_path, text)
    build_stack_spec(config).save()
    paths = StackPaths(config.state_path)
    on_disk = paths.spec_file.read_text()
    for secret in ("s3cret-pw", "key-123", "gw-456"):
        assert secret not in on_disk
    assert "postgresql://app:***@db.example:5432/lg" in on_disk
    loaded = StackSpec.load(config.state_path).services
    assert loaded["postgres"]["url"] == "postgresql://app:s3cret-pw@db.example:5432/lg"
    assert (loaded["langgraph"]["api_key"], loaded["langgraph"]["headers"]) == ("key-123", {"X-Gw": "gw-456"})
    assert "s3cret-pw" in paths.secrets_file.read_text()
    # a later spec without them removes them from the secrets file too
    build_stack_spec(_config(tmp_path)).save()
    assert "s3cret-pw" not in paths.secrets_file.read_text()
    assert Secrets(paths.secrets_file).spec_secrets() == {}


def test_saving_the_spec_makes_the_state_dir_private(tmp_path):
    state = tmp_path / "state"
    (state / "langgraph" / ".langgraph_api").mkdir(parents=True)
    (state / "logs").mkdir(mode=0o755)
    index = state / "langgraph" / ".langgraph_api" / ".langgraph_ops.pckl"
    index.write_bytes(b"runs")
    index.chmod(0o644)
    (state / "logs" / "langgraph.log").write_text("x")
    (state / "logs" / "langgraph.log").chmod(0o666)
    os.symlink("/etc/hostname", state / "link")
    state.chmod(0o755)
    build_stack_spec(_config(tmp_path)).save()
    for path in [state, *state.rglob("*")]:
        if path.is_symlink():
            continue
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    assert stat.S_IMODE(os.stat("/etc/hostname").st_mode) & 0o004  # a link is never followed


# --- triage ---------------------------------------------------------------------------------------------------------

def test_triage_warns_about_an_unguarded_server_beyond_loopback():
    found = evaluate(TriageInputs(now=utcnow(), open_server=["0.0.0.0"]))
    finding = next(f for f in found if f.code == "server-unguarded")
    assert finding.severity == "warning" and "listening on 0.0.0.0" in finding.evidence
    assert not [f for f in evaluate(TriageInputs(now=utcnow())) if f.code == "server-unguarded"]


def test_the_stack_screen_never_shows_an_external_urls_password(tmp_path):
    from lgconsole.console.rows.stack import service_rows
    from lgconsole.console.sources.stack import LiveStack

    config = _config(tmp_path, env={"POSTGRES_URL": "postgresql://app:s3cret-pw@db.example:5432/lg"})
    snapshot = LiveStack(config).snapshot()  # before any `up`: the configured services
    postgres = snapshot.by_name("postgres")
    assert postgres.url == "postgresql://app:***@db.example:5432/lg"
    assert all("s3cret" not in row.url for row in service_rows(snapshot))
