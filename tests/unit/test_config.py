"""Config: defaults without a file, TOML, env overrides, and one-line errors that name the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lgconsole.console.config import ConfigError, build_stack_spec, find_config_file, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lgconsole.toml"
    path.write_text(text)
    return path


def test_defaults_need_no_file(tmp_path):
    config = load_config(env={"XDG_STATE_HOME": str(tmp_path)}, cwd=tmp_path)
    assert config.source == "defaults"
    assert config.vllm.model == "" and config.langgraph.n_jobs_per_worker == 4
    assert config.state_dir  # ~/.local/state/lgconsole unless XDG_STATE_HOME says otherwise


def test_env_urls_override_the_file(tmp_path):
    path = _write(tmp_path, '[postgres]\nurl = "postgresql://a@h/db"\n')
    config = load_config(path, env={"POSTGRES_URL": "postgresql://b@h/db", "REDIS_URL": "redis://h:1/0",
                                    "LANGGRAPH_URL": "http://h:2", "VLLM_URL": "http://h:3"})
    assert config.postgres.url == "postgresql://b@h/db"
    assert (config.redis.url, config.langgraph.url, config.vllm.url) == ("redis://h:1/0", "http://h:2", "http://h:3")


def test_unknown_key_names_key_file_and_suggestion(tmp_path):
    path = _write(tmp_path, "[postgres]\nprot = 5432\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    message = str(err.value)
    assert str(path) in message and "[postgres] prot" in message and "did you mean 'port'" in message
    assert "\n" not in message


@pytest.mark.parametrize("text, expected", [
    ('[langgraph]\nport = "abc"\n', "[langgraph] port: expected int, got 'abc'"),
    ("[langgraph]\nport = 70000\n", "[langgraph] port: must be a TCP port"),
    ('[vllm]\nlauncher = "podman"\n', "[vllm] launcher: must be one of"),
    ("[vllm]\ngpu_memory_utilization = 1.5\n", "[vllm] gpu_memory_utilization: must be between 0 and 1"),
    ("[redis]\npersistence = 1\n", "[redis] persistence: expected bool"),
    ("[langgraph]\nn_jobs_per_worker = 0\n", "[langgraph] n_jobs_per_worker: must be at least 1"),
    ("stack = 1\n", "unknown key stack"),
    ("postgres = 1\n", "[postgres] must be a table"),
    ("[postgres\n", "not valid TOML"),
])
def test_bad_values_are_one_line_errors(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert expected in str(err.value) and str(path) in str(err.value)


def test_project_without_langgraph_json_is_refused(tmp_path):
    path = _write(tmp_path, f'[project]\npath = "{tmp_path}"\n')
    with pytest.raises(ConfigError, match="no langgraph.json"):
        load_config(path, env={})


def test_relative_project_path_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "langgraph.json").write_text('{"graphs": {"g": "./g.py:graph"}}')
    config = load_config(_write(tmp_path, '[project]\npath = "proj"\n'), env={})
    assert config.project.path == str((tmp_path / "proj").resolve())


def test_local_file_wins_over_xdg(tmp_path, monkeypatch):
    xdg = tmp_path / "xdg" / "lgconsole"
    xdg.mkdir(parents=True)
    (xdg / "lgconsole.toml").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    here = tmp_path / "here"
    here.mkdir()
    assert find_config_file(here) == xdg / "lgconsole.toml"
    (here / "lgconsole.toml").write_text("")
    assert find_config_file(here) == here / "lgconsole.toml"


def test_ports_are_picked_once_and_kept(tmp_path):
    config = load_config(_write(tmp_path, f'state_dir = "{tmp_path / "state"}"\n'), env={})
    spec = build_stack_spec(config)
    ports = {name: s.get("port") for name, s in spec.services.items()}
    assert ports["vllm"] == 0  # no model: vLLM is off and takes no port
    assert len({ports["postgres"], ports["redis"], ports["langgraph"]}) == 3 and 2024 not in ports.values()
    spec.save()
    again = build_stack_spec(config)
    assert {name: s.get("port") for name, s in again.services.items()} == ports


def test_ui_theme_is_read_from_the_file(tmp_path):
    path = tmp_path / "lgconsole.toml"
    path.write_text('[ui]\ntheme = "nord"\n')
    assert load_config(path, env={}, cwd=tmp_path).ui.theme == "nord"


def test_a_config_from_a_pipe_is_read_and_one_nothing_writes_to_is_refused_without_hanging(tmp_path):
    """`--config <(gen-config)` works; a named pipe nobody writes to is one line after a short wait, not a hang."""
    import os
    import threading

    fifo = tmp_path / "lgconsole.toml"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "w") as fh:
            fh.write("[ui]\nrefresh_seconds = 2\n")

    writer = threading.Thread(target=write)
    writer.start()
    assert load_config(fifo, env={}).ui.refresh_seconds == 2
    writer.join()
    with pytest.raises(ConfigError, match="nothing was written to it within 3 s"):
        load_config(fifo, env={})
