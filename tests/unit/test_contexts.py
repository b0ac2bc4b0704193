"""Contexts ([contexts.NAME] in lgconsole.toml): checked as the top level is, with messages naming the context; a
context's keys win over the top level's key by key and nothing else changes (a property); its own state dir; the
local server's credentials never follow a context to another server; `lgconsole contexts` lists them without a
secret; `up`/`down` have nothing to do where every service is external; `:ctx` parses."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgconsole.console.cli.main import main
from lgconsole.console.config import SECTIONS, ConfigError, load_config, select_context
from lgconsole.console.contexts import context_summaries, managed_services, stack_verb_refusal
from lgconsole.console.model.commands import Command, CommandError, parse_command

PROD = '''
[langgraph]
api_key = "local-api-key-0123456789"
headers = {X-Team = "local-team-secret"}
[contexts.prod.langgraph]
url = "https://lg.internal:8123"
[contexts.prod.postgres]
url = "postgresql://reader:hunter2@db.internal/lg"
[contexts.prod.redis]
url = "redis://:redispw@cache.internal:6379/0"
[contexts.prod.prometheus]
url = "http://prom:9090"
[contexts.staging.ui]
refresh_seconds = 2.5
'''


def load(tmp_path: Path, text: str, env: dict | None = None):
    path = tmp_path / "lgconsole.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n' + text)
    return load_config(path, env=env or {})


def refused(tmp_path: Path, text: str, env: dict | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path) in message or message.startswith("LGCONSOLE_CONTEXT")
    return message


# --- parsing and checking --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('[contexts.prod.langgraph]\nurll = "x"\n', "unknown key [contexts.prod.langgraph] urll (did you mean 'url'?)"),
    ('[contexts.prod.postgress]\nurl = "x"\n', "unknown key [contexts.prod.postgress] (did you mean 'postgres'?)"),
    ("[contexts.prod.ui]\nrefresh_seconds = 0\n", "[contexts.prod.ui] refresh_seconds: must be at least 0.1, got 0"),
    ("[contexts.prod.langgraph]\nport = 70000\n", "[contexts.prod.langgraph] port: must be a TCP port"),
    ('[contexts.prod.vllm]\nlauncher = "pip"\n', "[contexts.prod.vllm] launcher: must be one of 'serve'"),
    ("[contexts.prod.langgraph]\nurl = 8123\n", "[contexts.prod.langgraph] url: expected str, got 8123"),
    ('[contexts.prod.postgres]\nbin_dir = "/nonexistent/bin"\n',
     "[contexts.prod.postgres] bin_dir: /nonexistent/bin is not a directory"),
    ('[contexts.prod.project]\npath = "nowhere"\n', "[contexts.prod.project] path: no langgraph.json in"),
    ("[contexts.prod]\nlanggraph = 1\n", "[contexts.prod.langgraph] must be a table"),
    ("[contexts]\nprod = 1\n", "[contexts.prod] must be a table"),
    ("contexts = 1\n", "contexts must be a table"),
    ('[contexts.local.langgraph]\nurl = "http://x"\n', "`local` is the managed stack"),
    ('[contexts."a b".langgraph]\nurl = "http://x"\n', "[contexts.a b]: a context's name is letters, digits"),
    ('context = "prd"\n[contexts.prod.ui]\ntheme = "nord"\n',
     "context: no context prd (did you mean 'prod'?); contexts: local, prod"),
    ('contxt = "prod"\n', "unknown key contxt (did you mean 'context'?)"),
])
def test_a_context_is_checked_as_the_top_level_and_the_message_names_it(tmp_path, text, expected):
    assert expected in refused(tmp_path, text)


def test_the_default_context_comes_from_the_file_then_the_environment(tmp_path):
    assert select_context(load(tmp_path, PROD)).context == "local"
    assert select_context(load(tmp_path, 'context = "prod"\n' + PROD)).context == "prod"
    env = {"LGCONSOLE_CONTEXT": "staging"}
    assert select_context(load(tmp_path, 'context = "prod"\n' + PROD, env)).context == "staging"
    assert "LGCONSOLE_CONTEXT: no context nope" in refused(tmp_path, PROD, {"LGCONSOLE_CONTEXT": "nope"})
    with pytest.raises(ConfigError, match="--context: no context prd"):
        select_context(load(tmp_path, PROD), "prd", "--context")


def test_a_context_has_its_own_state_dir_and_switches_from_the_local_config(tmp_path):
    local = load(tmp_path, PROD)
    prod = select_context(local, "prod")
    assert prod.state_path == tmp_path / "state" / "contexts" / "prod" and local.state_path == tmp_path / "state"
    staging = select_context(prod, "staging")  # from prod: staging is the local config plus its own keys only
    assert staging.ui.refresh_seconds == 2.5 and staging.postgres.url == "" and staging.langgraph.url == ""
    assert select_context(staging, "local") is local and local.context == "local"


def test_the_local_servers_credentials_never_follow_a_context_to_another_server(tmp_path):
    local = load(tmp_path, PROD, {"LANGGRAPH_BEARER_TOKEN": "env-bearer-0123456789"})
    prod = select_context(local, "prod")
    assert (prod.langgraph.api_key, prod.langgraph.bearer_token, prod.langgraph.headers) == ("", "", {})
    staging = select_context(local, "staging")  # the same server as local: its credentials stay
    assert staging.langgraph.api_key == "local-api-key-0123456789"
    assert staging.langgraph.bearer_token == "env-bearer-0123456789"


def test_prometheus_credentials_are_sent_and_never_follow_a_context_to_another_prometheus(tmp_path):
    text = ('[prometheus]\nurl = "http://prom.local:9090"\nheaders = {X-Scope-OrgID = "team-a"}\n'
            '[contexts.prod.prometheus]\nurl = "https://prom.prod:9090"\n[contexts.same.prometheus]\ntimeout = 9\n')
    local = load(tmp_path, text, {"PROMETHEUS_BEARER_TOKEN": " prom-bearer-0123456789\n"})
    assert local.prometheus.http_headers() == {"X-Scope-OrgID": "team-a", "Authorization": "Bearer prom-bearer-0123456789"}
    assert select_context(local, "prod").prometheus.http_headers() == {}
    assert select_context(local, "same").prometheus.http_headers() == local.prometheus.http_headers()
    with pytest.raises(ConfigError, match=r"\[prometheus\] headers: header 'X' needs"):
        load(tmp_path, '[prometheus]\nheaders = {X = "a\\nb"}\n')


def test_a_contexts_own_api_key_is_kept(tmp_path):
    text = PROD.replace('url = "https://lg.internal:8123"', 'url = "https://lg.internal:8123"\napi_key = "prod-k"')
    assert select_context(load(tmp_path, text), "prod").langgraph.api_key == "prod-k"


def test_the_environment_overrides_the_top_level_and_a_context_overrides_both(tmp_path):
    env = {"POSTGRES_URL": "postgresql://env@10.0.0.1/lg", "VLLM_URL": "http://gpu9:8000"}
    prod = select_context(load(tmp_path, PROD, env), "prod")
    assert prod.postgres.url == "postgresql://reader:hunter2@db.internal/lg"  # the context's own
    assert prod.vllm.url == "http://gpu9:8000"  # not in the context: the environment's, as for local


# --- merging: a property --------------------------------------------------------------------------------------------

WORDS = st.text("abcdefghijklmnopqrstuvwxyz0123456789:/.-", min_size=1, max_size=16)
KEYS = {  # (section, key) -> values that pass the checks
    ("postgres", "url"): WORDS.map(lambda w: f"postgresql://{w}"), ("postgres", "max_connections"):
        st.integers(1, 100_000), ("redis", "url"): WORDS.map(lambda w: f"redis://{w}"), ("redis", "persistence"):
        st.booleans(), ("redis", "maxmemory"): WORDS, ("langgraph", "url"): WORDS.map(lambda w: f"http://{w}"),
    ("langgraph", "n_jobs_per_worker"): st.integers(1, 1024), ("langgraph", "auth"): st.sampled_from(["token", "none"]),
    ("langgraph", "api_key"): WORDS, ("langgraph", "env"): st.dictionaries(st.sampled_from("ABC"), WORDS, max_size=2),
    ("vllm", "url"): WORDS.map(lambda w: f"http://{w}"), ("vllm", "max_num_seqs"): st.integers(1, 2**20),
    ("vllm", "extra_args"): st.lists(WORDS, max_size=3), ("prometheus", "url"): WORDS.map(lambda w: f"http://{w}"),
    ("prometheus", "timeout"): st.floats(0.1, 3600), ("prometheus", "bearer_token"): WORDS,
    ("ui", "refresh_seconds"): st.floats(0.1, 3600),
    ("cost", "gpu_hourly_usd"): st.floats(0, 1000),
}
TABLES = st.dictionaries(st.sampled_from(sorted(KEYS)), st.none(), max_size=8).flatmap(
    lambda keys: st.fixed_dictionaries({k: KEYS[k] for k in keys}))


def toml(prefix: str, values: dict) -> str:
    sections: dict[str, list[str]] = {}
    for (section, key), value in values.items():
        text = json.dumps(value) if not isinstance(value, dict) else \
            "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + "}"
        sections.setdefault(section, []).append(f"{key} = {text}")
    return "".join(f"[{prefix}{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top=TABLES, context=TABLES)
def test_context_keys_win_and_every_other_key_is_the_top_levels(tmp_path, top, context):
    local = load(tmp_path, toml("", top) + "[contexts.prod]\n" + toml("contexts.prod.", context))
    prod = select_context(local, "prod")
    other_server = context.get(("langgraph", "url"), local.langgraph.url) != local.langgraph.url
    other_prometheus = context.get(("prometheus", "url"), local.prometheus.url) != local.prometheus.url
    for section in SECTIONS:
        for f in fields(getattr(local, section)):
            got, top_value = getattr(getattr(prod, section), f.name), getattr(getattr(local, section), f.name)
            if (section, f.name) in context:
                want = context[(section, f.name)]
                assert got == (float(want) if isinstance(got, float) else want), (section, f.name)
            elif other_server and section == "langgraph" and f.name in ("api_key", "bearer_token", "headers"):
                assert not got, f.name  # the local server's credentials stay with the local server
            elif other_prometheus and section == "prometheus" and f.name in ("bearer_token", "headers"):
                assert not got, f.name  # and the local Prometheus's with it
            else:
                assert got == top_value, (section, f.name)
            if (section, f.name) in top:  # and the local config is the top level as written, untouched
                want = top[(section, f.name)]
                assert top_value == (float(want) if isinstance(top_value, float) else want)


# --- what is listed, what up/down may do ------------------------------------------------------------------------------

def test_managed_services_and_the_refusal_of_up_where_all_are_external(tmp_path):
    local = load(tmp_path, PROD)
    prod, staging = select_context(local, "prod"), select_context(local, "staging")
    assert managed_services(local) == ("postgres", "redis", "langgraph") and managed_services(prod) == ()
    assert stack_verb_refusal(local, "up") is None and stack_verb_refusal(staging, "down") is None
    line = stack_verb_refusal(prod, "up")
    assert "context 'prod' runs no service itself" in line and "--context local" in line and "\n" not in line


def test_summaries_mark_the_current_context_and_hold_no_secret(tmp_path):
    prod = select_context(load(tmp_path, PROD), "prod")
    summaries = context_summaries(prod)
    assert [(s.name, s.current) for s in summaries] == [("local", False), ("prod", True), ("staging", False)]
    assert summaries[1].server == "https://lg.internal:8123" and summaries[1].managed == ()
    text = json.dumps([s.to_json() for s in summaries])
    assert "hunter2" not in text and "redispw" not in text and "local-api-key" not in text and "team-secret" not in text
    assert "postgresql://reader:***@db.internal/lg" in text


@pytest.mark.parametrize("argv", [["contexts"], ["contexts", "--json"], ["--show-secrets", "contexts", "--json"]])
def test_lgconsole_contexts_lists_them_without_a_secret(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.delenv("LGCONSOLE_CONTEXT", raising=False)
    path = tmp_path / "lgconsole.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n' + PROD)
    assert main(["--config", str(path), "--context", "prod", *argv]) == 0
    out = capsys.readouterr().out
    for secret in ("hunter2", "redispw", "local-api-key", "team-secret"):
        assert secret not in out
    if "--json" in argv:
        data = json.loads(out)
        assert data["current"] == "prod" and [c["name"] for c in data["contexts"]] == ["local", "prod", "staging"]
    else:
        assert [line.split()[:2] for line in out.splitlines()[1:]] == [["local", "managed"], ["*", "prod"],
                                                                      ["staging", "managed"]]


def test_an_unknown_context_on_the_command_line_is_a_config_error(tmp_path, capsys):
    path = tmp_path / "lgconsole.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n' + PROD)
    assert main(["--config", str(path), "--context", "prd", "status"]) == 4
    assert "--context: no context prd (did you mean 'prod'?)" in capsys.readouterr().err


def test_up_in_an_external_context_is_refused_and_starts_nothing(tmp_path, capsys):
    path = tmp_path / "lgconsole.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n' + PROD)
    assert main(["--config", str(path), "--context", "prod", "up"]) == 1
    assert "runs no service itself" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()


# --- the command line ------------------------------------------------------------------------------------------------

def test_ctx_parses_with_and_without_a_name():
    screens, services = ("stack", "threads"), ("postgres", "redis")
    assert parse_command(":ctx", screens, services) == Command("ctx")
    assert parse_command("ctx prod", screens, services) == Command("ctx", context="prod")
    assert parse_command("context staging", screens, services) == Command("ctx", context="staging")
    with pytest.raises(CommandError, match="usage: ctx"):
        parse_command("ctx a b", screens, services)
