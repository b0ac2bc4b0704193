"""`lgconsole export` on real stacks: the systemd units pass `systemd-analyze verify` with the real binaries of a
built spec, and their commands (set-up, start, readiness) bring a real Postgres, Redis and LangGraph server up when
run as systemd runs them; compose and Kubernetes files come out of a real config with secrets only in the 0600 .env.

systemd is not PID 1 on these machines, docker has no daemon and kubectl no API server (even `--dry-run=client`
asks one): `systemctl start`, `docker compose config/up` and `kubectl apply` are not run here."""

from __future__ import annotations

import importlib.resources
import json
import os
import signal
import stat
import subprocess
import sys
import time

import httpx
import jsonschema
import kubernetes_validate
import psycopg
import pytest
import yaml

from lgconsole.console.config import load_config
from lgconsole.console.model.export_systemd import systemd_files
from lgconsole.console.sources.exports import host_services
from lgconsole.stack.server import credentials
from systemd_units import env_file, start_unit, unit_entries
from stackutil import REPO, lgconsole, new_state_dir, processes_mentioning, remove_state_dir, \
    tiny_vllm_config, write_config

pytestmark = pytest.mark.integration

VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
TINY_MODEL = REPO / ".models" / "tiny-llama"


@pytest.fixture
def state_dir():
    path = new_state_dir()
    yield path
    left = processes_mentioning(str(path))
    for line in left:  # stop what a failed test left, by PID
        pid = int(line.split(":")[0])
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    remove_state_dir(path)
    assert not left, f"left running: {left}"


def test_systemd_units_verify_with_the_real_binaries(state_dir, tmp_path):
    vllm = tiny_vllm_config(VLLM_PYTHON, TINY_MODEL, 64 * 2**20) if VLLM_PYTHON.exists() else ""
    config = write_config(state_dir, vllm)
    out = tmp_path / "units"
    result = lgconsole("export", "systemd", "--out", str(out), config=config)
    assert result.returncode == 0, result.stderr
    assert "enable --now lgconsole-stack.target" in result.stdout
    units = sorted(p.name for p in out.glob("lgconsole-*.service"))
    names = ["postgres", "redis", "langgraph"] + (["vllm"] if vllm else [])
    assert units == sorted(f"lgconsole-{n}.service" for n in names)
    for env in (out / "lgconsole-env").iterdir():
        assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "lgconsole-env").stat().st_mode) == 0o700
    passwords = json.loads((state_dir / "secrets.json").read_text()).values()
    for unit in out.glob("lgconsole-*"):
        if unit.is_file():
            assert not any(p in unit.read_text() for p in passwords), unit
    verify = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in out.glob("lgconsole-*.*"))],
                            capture_output=True, text=True, cwd=out, timeout=60)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    # as root the command writes system units; the user units (the default for everyone else) verify too
    services, _ = host_services(load_config(config, env={}))
    user = tmp_path / "user-units"
    user.mkdir()
    for f in systemd_files(services, str(user / "lgconsole-env"), system=False):
        (user / f.name).parent.mkdir(exist_ok=True)
        (user / f.name).write_text(f.text)
    runtime = tmp_path / "runtime"  # a user manager needs its runtime dir (no login session here)
    runtime.mkdir(mode=0o700)
    user_files = sorted(str(p) for p in user.glob("lgconsole-*.*"))
    verify = subprocess.run(["systemd-analyze", "--user", "verify", *user_files], capture_output=True, text=True,
                            cwd=user, timeout=60, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    printed = lgconsole("export", "systemd", config=config)  # to stdout: the env files by their keys only
    assert printed.returncode == 0 and "LGCONSOLE_POSTGRES_URL=***" in printed.stdout
    assert not any(p in printed.stdout for p in passwords)


def test_the_units_commands_bring_the_stack_up_as_systemd_would(state_dir, tmp_path):
    """ExecStartPre, ExecStart, ExecStartPost of each unit in the target's order, with only the environment file's
    environment (and User= honoured): every readiness step passes and the server answers with the stack's token."""
    config_path = write_config(state_dir)
    out = tmp_path / "units"
    result = lgconsole("export", "systemd", "--out", str(out), config=config_path)
    assert result.returncode == 0, result.stderr
    target = unit_entries(next(out.glob("lgconsole-stack.target")))
    started: list[tuple[subprocess.Popen, str]] = []
    try:
        for unit in target["Wants"][0].split():
            t0 = time.monotonic()
            unit_started = start_unit(out / unit)
            started.append((unit_started.process, unit_started.kill_signal))
            assert "healthy" in unit_started.ready_output
            print(f"{unit}: ready in {time.monotonic() - t0:.1f}s")
        assert (state_dir / "graph_spec.json").exists()  # the server's `ready` described its graphs for the readers
        server_env = env_file(out / "lgconsole-env" / "langgraph.env")
        with psycopg.connect(server_env["LGCONSOLE_POSTGRES_URL"], connect_timeout=5) as conn:  # made by `ready`
            assert conn.execute("select current_database()").fetchone()[0] == "lgconsole"
        spec = json.loads((state_dir / "spec.json").read_text())
        token = credentials.read_token(credentials.token_path(state_dir))
        url = f"http://127.0.0.1:{spec['services']['langgraph']['port']}"
        assert httpx.post(f"{url}/assistants/search", json={}, timeout=10).status_code in (401, 403)
        answer = httpx.post(f"{url}/assistants/search", json={}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json()
        # the console reads the same state dir: it reaches what the units run with no further set-up
        threads = lgconsole("threads", "--json", config=config_path)
        assert threads.returncode == 0, threads.stderr
        assistants = lgconsole("assistants", config=config_path)
        assert assistants.returncode == 0 and "demo" in assistants.stdout, assistants.stderr
    finally:
        for child, kill_signal in reversed(started):
            try:
                os.killpg(child.pid, getattr(signal, kill_signal))
            except ProcessLookupError:
                pass
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=5)


def test_compose_and_k8s_from_a_real_config_keep_secrets_in_the_dotenv(state_dir, tmp_path):
    vllm = tiny_vllm_config(VLLM_PYTHON, TINY_MODEL, 64 * 2**20) if TINY_MODEL.exists() else \
        '[vllm]\nmodel = "org/model"\ntensor_parallel_size = 2\n'
    config = write_config(state_dir, vllm)
    out = tmp_path / "compose"
    result = lgconsole("export", "compose", "--out", str(out), "--image", "agent:7", config=config,
                       env={"LANGGRAPH_CLOUD_LICENSE_KEY": "lic-abcdef-123"})
    assert result.returncode == 0, result.stderr
    dotenv = out / ".env"
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600
    passwords = json.loads((state_dir / "secrets.json").read_text())
    lines = dotenv.read_text().splitlines()
    assert f"POSTGRES_PASSWORD={passwords['postgres_password']}" in lines
    assert "LANGGRAPH_CLOUD_LICENSE_KEY=lic-abcdef-123" in lines
    compose_text = (out / "compose.yaml").read_text()
    assert not any(p in compose_text for p in [*passwords.values(), "lic-abcdef-123"])
    doc = yaml.safe_load(compose_text)
    schema = json.loads(importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
                        .joinpath("compose-spec.json").read_text())
    assert not list(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc))  # the official schema
    assert doc["services"]["langgraph"]["image"] == "${LANGGRAPH_IMAGE:-agent:7}"
    assert doc["services"]["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    printed = lgconsole("export", "compose", "--image", "agent:7", config=config)
    assert printed.returncode == 0 and printed.stdout == compose_text  # printed as written: `${VAR}` kept
    printed = lgconsole("export", "k8s", config=config)
    assert printed.returncode == 0, printed.stderr
    for manifest in yaml.safe_load_all(printed.stdout):
        kubernetes_validate.validate(manifest, "1.32", strict=True)
    kinds = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(printed.stdout)]
    assert ("Deployment", "lgconsole-vllm") in kinds and ("Service", "lgconsole-server") in kinds
    assert not any(p in printed.stdout for p in passwords.values())


def test_vllm_secrets_leave_the_command_line_for_the_secret_files(state_dir, tmp_path):
    """`--api-key`/`--hf-token` in [vllm] extra_args become VLLM_API_KEY/HF_TOKEN, a secret [vllm] env key a
    reference: in the units' 0600 environment file, compose's .env and the Secret `lgconsole-vllm`, never in a unit,
    compose.yaml or manifest."""
    key, token = "sk-user-secret-42", "hf_abcdefghijklmnop"
    config = write_config(state_dir, f'[vllm]\nmodel = "org/model"\nextra_args = ["--api-key", "{key}", "--x"]\n'
                                     f'launcher = "module"\npython = "{sys.executable}"\n'
                                     f'[vllm.env]\nHF_TOKEN = "{token}"\nVLLM_LOGGING_LEVEL = "INFO"\n')
    units = tmp_path / "units"
    assert lgconsole("export", "systemd", "--out", str(units), config=config).returncode == 0
    unit = (units / "lgconsole-vllm.service").read_text()
    assert key not in unit and "--api-key" not in unit and "--x" in unit
    env = env_file(units / "lgconsole-env" / "vllm.env")
    assert env["VLLM_API_KEY"] == key and env["HF_TOKEN"] == token
    compose = tmp_path / "compose"
    assert lgconsole("export", "compose", "--out", str(compose), config=config).returncode == 0
    doc = yaml.safe_load((compose / "compose.yaml").read_text())
    vllm = doc["services"]["vllm"]
    assert vllm["environment"]["VLLM_LOGGING_LEVEL"] == "INFO"
    assert vllm["environment"]["HF_TOKEN"].startswith("${HF_TOKEN:?") and "--api-key" not in vllm["command"]
    dotenv = (compose / ".env").read_text().splitlines()
    assert f"VLLM_API_KEY={key}" in dotenv and f"HF_TOKEN={token}" in dotenv
    printed = lgconsole("export", "k8s", config=config)
    assert printed.returncode == 0 and key not in printed.stdout and token not in printed.stdout
    deployment = next(d for d in yaml.safe_load_all(printed.stdout) if d["metadata"]["name"] == "lgconsole-vllm")
    env_refs = {e["name"]: e.get("valueFrom") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env_refs["VLLM_API_KEY"] == {"secretKeyRef": {"name": "lgconsole-vllm", "key": "VLLM_API_KEY"}}
    other = write_config(state_dir, '[vllm]\nmodel = "org/model"\nextra_args = ["--hf-token", "hf_xyzxyzxyz"]\n')
    printed = lgconsole("export", "compose", config=other)
    assert printed.returncode == 0 and "hf_xyzxyzxyz" not in printed.stdout
    assert "HF_TOKEN: ${HF_TOKEN:?" in printed.stdout


def test_a_bad_engine_is_one_line(state_dir):
    config = write_config(state_dir)
    wrong = lgconsole("export", "nomad", config=config)
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
