"""A stack that lgconsole's supervisor did not start: Postgres and Redis run by the exported systemd units' own
commands (ExecStartPre, ExecStart, ExecStartPost, as systemd runs them; systemd is not PID 1 here). `status`, the
doctor and `up` / `down` see them as running without lgconsole's supervisor: probed, never started twice, never
stopped by lgconsole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psycopg
import pytest

from systemd_units import env_file, start_unit as run_unit
from stackutil import lgconsole, new_state_dir, processes_mentioning, remove_state_dir, write_config

pytestmark = pytest.mark.integration


def start_unit(unit: Path) -> tuple[subprocess.Popen, str]:
    """One unit's commands as systemd runs them; returns its main process and its stop signal."""
    started = run_unit(unit)
    return started.process, started.kill_signal


@pytest.fixture
def state_dir():
    path = new_state_dir()
    yield path
    left = processes_mentioning(str(path))
    for line in left:  # what a failed test left, by PID
        try:
            os.killpg(int(line.split(":")[0]), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    remove_state_dir(path)
    assert not left, f"left running: {left}"


def test_services_run_by_systemd_units_show_as_not_supervised_and_up_down_leave_them_alone(state_dir, tmp_path):
    config = write_config(state_dir)
    out = tmp_path / "units"
    exported = lgconsole("export", "systemd", "--out", str(out), config=config)
    assert exported.returncode == 0, exported.stderr
    before = lgconsole("status", "--json", config=config)  # the spec names ports, nothing listens: stopped
    assert {s["name"]: s["state"] for s in json.loads(before.stdout)["services"]}["postgres"] == "stopped"
    started = []
    try:
        for name in ("postgres", "redis"):
            started.append(start_unit(out / f"lgconsole-{name}.service"))
        running = len(processes_mentioning(str(state_dir)))

        status = lgconsole("status", "--json", config=config)
        data = json.loads(status.stdout)
        rows = {s["name"]: s for s in data["services"]}
        assert rows["postgres"]["state"] == "healthy" and rows["postgres"]["run_elsewhere"] is True
        assert rows["postgres"]["label"] == "running · not supervised"
        assert rows["postgres"]["version"].startswith("PostgreSQL ") and "***" in rows["postgres"]["url"]
        assert rows["redis"]["label"] == "running · not supervised" and rows["redis"]["version"].startswith("Redis ")
        assert rows["langgraph"]["state"] == "stopped" and rows["langgraph"]["run_elsewhere"] is False
        assert data["supervisor"]["run_elsewhere"] == ["postgres", "redis"] and not data["supervisor"]["needed"]
        assert status.returncode == 1  # truthful: the server of the stack does not run (3 would say "no supervisor")
        text = lgconsole("status", config=config)
        assert "supervisor: none; postgres, redis run without it; the exported systemd units" in text.stdout
        assert "running · not supervised" in text.stdout

        up = lgconsole("up", config=config)
        assert up.returncode == 1, up.stdout + up.stderr
        assert up.stdout.startswith("nothing started: postgres, redis already run here without lgconsole's "
                                    "supervisor; the exported systemd units or another manager own them: start and stop the stack there")
        assert "langgraph  not running" in up.stdout
        assert len(processes_mentioning(str(state_dir))) == running  # no second copy, no supervisor
        assert not (state_dir / "control.sock").exists()

        down = lgconsole("down", config=config)
        assert down.returncode == 1 and len(down.stdout.strip().splitlines()) == 1
        assert down.stdout.startswith("lgconsole did not start postgres, redis") and "nothing stopped" in down.stdout
        assert all(child.poll() is None for child, _ in started)
        pg_url = env_file(out / "lgconsole-env" / "postgres.env").get("LGCONSOLE_POSTGRES_URL") or \
            env_file(out / "lgconsole-env" / "langgraph.env")["LGCONSOLE_POSTGRES_URL"]
        with psycopg.connect(pg_url, connect_timeout=5) as conn:
            assert conn.execute("select 1").fetchone() == (1,)

        doctor = json.loads(lgconsole("doctor", "--json", config=config).stdout)["findings"]
        codes = [f["code"] for f in doctor]
        assert "stack-down" not in codes
        [server_down] = [f for f in doctor if f["code"] == "service-down"]
        assert server_down["title"] == "langgraph is stopped (not run by lgconsole)"
    finally:
        for child, kill_signal in reversed(started):
            os.killpg(child.pid, getattr(signal, kill_signal))
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=5)
