"""Stack pieces that need no running service: vLLM command lines, the overlay langgraph.json, processes, URLs."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lgconsole.stack.services import process
from lgconsole.stack.errors import BinaryNotFound, StackError
from lgconsole.stack.services.langgraph_server import PERSISTENCE_MODULE, overlay_config
from lgconsole.stack.services.postgres import find_postgres_bin_dir
from lgconsole.stack.services.service import redact_url, tail_lines
from lgconsole.stack.services.vllm import build_argv

VLLM_SPEC = {"model": "meta-llama/Llama-3.1-8B-Instruct", "served_model_name": "llama", "gpu_memory_utilization": 0.9,
             "max_model_len": 8192, "max_num_seqs": 64, "kv_cache_dtype": "fp8", "tensor_parallel_size": 2,
             "extra_args": ["--enable-prefix-caching"]}


def test_vllm_serve_argv_carries_every_flag():
    argv = build_argv(VLLM_SPEC, 8001)
    assert argv[1:3] == ["serve", "meta-llama/Llama-3.1-8B-Instruct"]
    joined = " ".join(argv)
    for flag in ("--host 127.0.0.1", "--port 8001", "--served-model-name llama", "--gpu-memory-utilization 0.9",
                 "--max-model-len 8192", "--max-num-seqs 64", "--kv-cache-dtype fp8", "--tensor-parallel-size 2",
                 "--enable-prefix-caching"):
        assert flag in joined


def test_vllm_docker_argv_is_the_same_arguments_published_on_loopback():
    argv = build_argv({**VLLM_SPEC, "launcher": "docker", "image_tag": "v0.11.0"}, 8001)
    assert argv[:2] == ["docker", "run"]
    assert "127.0.0.1:8001:8001" in argv and "vllm/vllm-openai:v0.11.0" in argv
    image_at = argv.index("vllm/vllm-openai:v0.11.0")
    assert argv[image_at + 1] == VLLM_SPEC["model"]
    assert build_argv(VLLM_SPEC, 8001)[3:] == [a if a != "0.0.0.0" else "127.0.0.1" for a in argv[image_at + 2:]]


def test_vllm_cpu_module_launcher():
    argv = build_argv({"model": "/m/tiny", "launcher": "module", "extra_args": "--enforce-eager --dtype float32"},
                      9000, python="/venv/bin/python")
    assert argv[:3] == ["/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    assert argv[3:5] == ["--model", "/m/tiny"] and argv[-3:] == ["--enforce-eager", "--dtype", "float32"]


def test_overlay_adds_postgres_persistence_without_touching_the_project(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    original = {"dependencies": ["."], "graphs": {"a": "./agent.py:graph", "b": "pkg.mod:graph"}, "env": ".env"}
    (project / "langgraph.json").write_text(json.dumps(original))
    overlay = overlay_config(project)
    assert overlay["graphs"]["a"] == f"{project.resolve()}/agent.py:graph"
    assert overlay["graphs"]["b"] == "pkg.mod:graph"
    assert overlay["dependencies"] == [str(project.resolve())]
    assert overlay["env"] == str((project / ".env").resolve())
    assert overlay["checkpointer"]["path"] == f"{PERSISTENCE_MODULE}:make_checkpointer"
    assert overlay["store"]["path"] == f"{PERSISTENCE_MODULE}:make_store"
    assert json.loads((project / "langgraph.json").read_text()) == original


def test_overlay_keeps_a_projects_own_checkpointer(tmp_path):
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"a": "./a.py:g"},
                                                         "checkpointer": {"path": "./cp.py:make"}}))
    assert overlay_config(tmp_path)["checkpointer"]["path"] == f"{tmp_path.resolve()}/cp.py:make"


@pytest.mark.parametrize("content, message", [("{", "not valid JSON"), ('{"graphs": {}}', 'no "graphs"')])
def test_broken_langgraph_json_is_one_line(tmp_path, content, message):
    (tmp_path / "langgraph.json").write_text(content)
    with pytest.raises(StackError, match=message):
        overlay_config(tmp_path)


def test_missing_postgres_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFound, match=r"apt-get install -y postgresql"):
        find_postgres_bin_dir(search_globs=[str(tmp_path / "none" / "*")])


def test_redact_url_hides_passwords_only():
    assert redact_url("postgresql://u:s3cret@127.0.0.1:5/db") == "postgresql://u:***@127.0.0.1:5/db"
    assert redact_url("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redact_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"


def test_stop_escalates_to_sigkill_after_the_grace_period(tmp_path):
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('RE' + 'ADY', flush=True); time.sleep(60)"
    child = process.spawn(process.LaunchSpec([sys.executable, "-c", script], tmp_path / "x.log"))
    ref = process.ref_for(child.pid)
    deadline = time.monotonic() + 10
    while "READY" not in (tmp_path / "x.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    assert process.stop(ref, grace=0.5, child=child) is True
    assert 0.4 < time.monotonic() - t0 < 5
    assert not ref.alive()


def test_a_reused_pid_is_never_signalled():
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        impostor = process.ProcessRef(sleeper.pid, process.ref_for(sleeper.pid).start_ticks + 1)
        assert not impostor.alive()
        process.stop(impostor, grace=0.1)
        assert sleeper.poll() is None  # untouched
    finally:
        sleeper.kill()
        sleeper.wait()


def test_tail_lines_reads_the_end_and_strips_colour(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("".join(f"line {i}\n" for i in range(10000)) + "\x1b[32minfo\x1b[0m done\n")
    assert tail_lines(log, 2) == ["line 9999", "info done"]
    assert tail_lines(tmp_path / "missing.log") == []


def test_failure_line_prefers_the_exception(tmp_path):
    from lgconsole.stack.services.service import failure_line

    log = tmp_path / "s.log"
    log.write_text("starting\nTraceback (most recent call last):\n  File x\nValueError: bad graph\nshutting down\n")
    assert failure_line(log) == "ValueError: bad graph"
    log.write_text("all fine\nbye\n")
    assert failure_line(log) == "bye"


@pytest.fixture
def ok_server():
    """A local HTTP server whose `/ok` answers the status the test sets (and records the headers it got)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: dict = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["path"], seen["headers"] = self.path, dict(self.headers)
            self.send_response(seen["status"])
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_health_probe_says_up_answered_or_why_not(ok_server):
    import asyncio

    from lgconsole.stack.server.health import probe_server, probe_server_async
    from lgconsole.stack.services.ports import free_port

    url, seen = ok_server
    health = probe_server(url, headers={"x-api-key": "k"})
    assert health.ok and health.reason == "" and health.url == url.rstrip("/")
    assert seen["path"] == "/ok" and seen["headers"]["x-api-key"] == "k"
    seen["status"] = 503
    for health in (probe_server(url), asyncio.run(probe_server_async(url))):
        assert not health.ok and health.status_code == 503 and health.reason == "GET /ok -> HTTP 503"
    down = f"http://127.0.0.1:{free_port()}"
    for health in (probe_server(down, timeout=1), asyncio.run(probe_server_async(down, timeout=1))):
        assert not health.ok and health.status_code is None and health.error and "\n" not in health.error


def test_one_service_class_per_service_name_in_start_order():
    from lgconsole.stack.services.service import SERVICE_NAMES
    from lgconsole.stack.services.supervisor import SERVICE_TYPES

    assert tuple(SERVICE_TYPES) == SERVICE_NAMES
    assert all(cls.name == name for name, cls in SERVICE_TYPES.items())


def test_the_supervisor_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "lgconsole.stack.services.supervisor"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "usage: python -m lgconsole.stack.services.supervisor STATE_DIR" in done.stderr


# --- the managed Postgres's shared_buffers --------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lgconsole.stack.services.postgres import (  # noqa: E402
    SHARED_BUFFERS_MAX_MB,
    SHARED_BUFFERS_MIN_MB,
    auto_shared_buffers_mb,
    available_memory_bytes,
)


@given(st.integers(0, 2**44), st.integers(0, 2**44))
def test_shared_buffers_are_an_eighth_of_memory_within_bounds_and_grow_with_it(one, two):
    small, big = sorted((one, two))
    lower, higher = auto_shared_buffers_mb(small), auto_shared_buffers_mb(big)
    assert SHARED_BUFFERS_MIN_MB <= lower <= higher <= SHARED_BUFFERS_MAX_MB
    mb = big // 8 // 2**20
    if SHARED_BUFFERS_MIN_MB <= mb <= SHARED_BUFFERS_MAX_MB:
        assert auto_shared_buffers_mb(big) == mb


def test_a_container_memory_limit_below_the_machines_is_what_counts(tmp_path):
    limit, unlimited, junk = tmp_path / "memory.max", tmp_path / "v1", tmp_path / "junk"
    limit.write_text(f"{512 * 2**20}\n")
    unlimited.write_text("max\n")  # cgroup v2 with no limit
    junk.write_text("x")
    assert available_memory_bytes((limit,)) == 512 * 2**20
    assert auto_shared_buffers_mb(available_memory_bytes((limit,))) == SHARED_BUFFERS_MIN_MB
    assert available_memory_bytes((unlimited, junk, tmp_path / "missing")) == available_memory_bytes(())
    assert available_memory_bytes(()) > 0


def test_the_managed_postgres_is_launched_with_shared_buffers(tmp_path):
    from lgconsole.stack.services.postgres import PostgresService
    from lgconsole.stack.services.service import Secrets, StackPaths

    paths, secrets = StackPaths(tmp_path), Secrets(tmp_path / "secrets.json")
    argv = PostgresService({"port": 5999, "shared_buffers_mb": 300}, paths, secrets).launch_spec({}).argv
    assert "shared_buffers=300MB" in argv
    argv = PostgresService({"port": 5999}, paths, secrets).launch_spec({}).argv
    assert f"shared_buffers={auto_shared_buffers_mb()}MB" in argv
