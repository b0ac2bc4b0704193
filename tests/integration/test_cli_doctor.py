"""`lgconsole doctor` and `lgconsole gpu` as a user runs them (the real CLI, a process of its own) against a stack
whose services stop one after the other, a stack that is down, one never brought up, and external services that do
not answer (probed by lgconsole: one critical line each, a warning for Redis): one headline per problem, the exit
code cron reads, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lgconsole.stack.services import supervisor
from lgconsole.stack.services.ports import free_port
from stackutil import lgconsole, new_state_dir, own_stack, remove_state_dir, wait_for, write_config

pytestmark = pytest.mark.integration


def headlines(out: str) -> list[str]:
    """doctor's one line per problem (what explains it is indented under it; info lines are no problem)."""
    return [line for line in out.splitlines() if line and not line.startswith((" ", "info  "))]


def doctor(config_file: Path, env: dict | None = None) -> tuple[int, list[str], str]:
    done = lgconsole("doctor", config=config_file, env=env)
    assert done.stderr == "" and "Traceback" not in done.stdout, done.stderr
    return done.returncode, headlines(done.stdout), done.stdout


def gpu_reads_without_a_traceback(config_file: Path, env: dict | None = None) -> list[str]:
    text = lgconsole("gpu", "--window", "0", config=config_file, env=env)
    assert (text.returncode, text.stderr) == (0, "") and "Traceback" not in text.stdout
    as_json = lgconsole("gpu", "--json", "--window", "0", config=config_file, env=env)
    assert (as_json.returncode, as_json.stderr) == (0, "")
    json.loads(as_json.stdout)
    return text.stdout.splitlines()


def _stopped(config, name: str) -> bool:
    status = supervisor.read_state(config.state_path).by_name(name)
    return status is not None and status.state.value == "stopped"


def test_services_stopping_one_after_the_other_then_the_stack_down():
    with own_stack() as config:
        config_file = Path(config.source)
        code, lines, _ = doctor(config_file)
        assert (code, lines) == (0, ["all well: no warnings, nothing critical"])

        supervisor.send_command(config.state_path, {"cmd": "stop", "service": "langgraph"})
        wait_for(lambda: _stopped(config, "langgraph"), 30, what="langgraph stopped")
        code, lines, out = doctor(config_file)
        assert code == 6 and lines == ["CRIT  langgraph is stopped"], out
        assert "→ See its log (`lgconsole logs langgraph`)" in out
        assert gpu_reads_without_a_traceback(config_file)[-1].startswith("vLLM: none configured")
        graph = lgconsole("graph", config=config_file)
        assert graph.returncode == 1 and graph.stdout == "" and graph.stderr.count("\n") == 1
        assert graph.stderr.startswith("lgconsole: the LangGraph server at http://127.0.0.1:")

        for name in ("postgres", "redis"):
            supervisor.send_command(config.state_path, {"cmd": "stop", "service": name})
            wait_for(lambda: _stopped(config, name), 30, what=f"{name} stopped")
        code, lines, out = doctor(config_file)
        assert code == 6 and sorted(lines) == ["CRIT  langgraph is stopped", "CRIT  postgres is stopped",
                                               "CRIT  redis is stopped"], out

        supervisor.shutdown(config.state_path)
        code, lines, out = doctor(config_file)
        assert code == 6 and lines == ["CRIT  The stack is not running"], out
        assert "→ Bring it up: `lgconsole up`" in out
        gpu_reads_without_a_traceback(config_file)


def test_a_state_dir_never_brought_up_is_one_critical_line():
    state_dir = new_state_dir()
    try:
        config_file = write_config(state_dir)
        code, lines, out = doctor(config_file)
        assert code == 6 and lines == ["CRIT  No stack was ever brought up here"], out
        assert str(state_dir) in out and "`lgconsole up`" in out
        assert gpu_reads_without_a_traceback(config_file)[-1].startswith("vLLM: none configured")
        assert not (state_dir / "spec.json").exists(), "doctor looks, it starts nothing"
    finally:
        remove_state_dir(state_dir)


def test_external_services_that_do_not_answer_are_one_line_each_without_their_passwords():
    state_dir = new_state_dir()
    ports = [free_port() for _ in range(4)]
    env = {"POSTGRES_URL": f"postgresql://app:sw0rdfish@127.0.0.1:{ports[0]}/app",
           "LANGGRAPH_URL": f"http://127.0.0.1:{ports[1]}", "REDIS_URL": f"redis://:hunter2@127.0.0.1:{ports[2]}/0",
           "VLLM_URL": f"http://127.0.0.1:{ports[3]}"}
    try:
        config_file = write_config(state_dir)
        code, lines, out = doctor(config_file, env)
        # lgconsole's own probes: the server, Postgres and the model down are critical, Redis (a cache) a warning
        assert code == 6 and sorted(line[:6] + line.split(" (")[0][6:] for line in lines) == [
            "CRIT  langgraph", "CRIT  postgres", "CRIT  vllm", "WARN  redis"], out
        assert all(line.endswith("is down: connection refused") for line in lines), out
        for port in ports:  # each service once
            assert sum(f":{port}" in line for line in lines) == 1, (port, out)
        assert "sw0rdfish" not in out and "hunter2" not in out
        assert all(len(line) <= 210 for line in out.splitlines())
        gpu = gpu_reads_without_a_traceback(config_file, env)
        assert f"vLLM: http://127.0.0.1:{ports[3]}: connection refused" in gpu
    finally:
        remove_state_dir(state_dir)
