"""A real Prometheus for tests (Debian's `prometheus` binary) on loopback, in a temp dir, stopped by PID; and tiny
HTTP servers that serve recorded /metrics files for it to scrape."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from lgconsole.stack.services.ports import free_port

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the `prometheus` binary is missing: install Debian's prometheus package "
                    "(`make test-packages` does it as root)")
    return binary


@contextmanager
def metrics_file_server(path: Path):
    """Serve one recorded exposition at http://127.0.0.1:PORT/metrics, re-read on every scrape; yields host:port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # scrapes every second: keep the test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name=f"metrics {path.name}", daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def scrape_config(jobs: dict[str, list[tuple[str, dict[str, str]]]], interval: str = "1s") -> str:
    """prometheus.yml: one job per name, each target host:port with the labels Prometheus attaches to it."""
    config = {"global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
              "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target], "labels": labels}
                                                                     for target, labels in targets]}
                                 for job, targets in jobs.items()]}
    return json.dumps(config, indent=1)  # YAML is a superset of JSON


@contextmanager
def running_prometheus(jobs: dict[str, list[tuple[str, dict[str, str]]]], timeout: float = 30.0,
                       basic_auth: tuple[str, str] | None = None):
    """Prometheus on a free loopback port with its data in a temp dir; yields (url, seconds to ready). Stopped by
    PID (SIGTERM, then SIGKILL) and its dir removed, also when the block fails. `basic_auth` (user, password): its
    web config asks every request for them (a bcrypt hash, as Prometheus's own docs write it)."""
    binary = prometheus_binary()
    web_config = None
    if basic_auth is not None:  # (before the temp dir: nothing to leave behind if this fails)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # the standard library's bcrypt ($2b$), enough for a test's one hash

        user, password = basic_auth
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        web_config = f"basic_auth_users:\n  {user}: '{hashed}'\n"
    workdir = Path(tempfile.mkdtemp(prefix="lgc-prometheus-", dir="/tmp"))
    (workdir / "prometheus.yml").write_text(scrape_config(jobs))
    web: list[str] = []
    if web_config is not None:
        (workdir / "web.yml").write_text(web_config)
        web = [f"--web.config.file={workdir / 'web.yml'}"]
    auth = basic_auth
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(workdir / "prometheus.log", "wb")
    started = time.monotonic()
    process = subprocess.Popen(
        [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h", *web],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
    try:
        deadline = started + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"prometheus exited {process.returncode}: "
                                     f"{(workdir / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/-/ready", timeout=1.0, trust_env=False, auth=auth).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus not ready in {timeout}s")
            time.sleep(0.1)
        yield url, time.monotonic() - started
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(5)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def targets_up(url: str) -> dict[str, str]:
    """scrapeUrl -> health of every active target (up, down, unknown)."""
    answer = httpx.get(f"{url}/api/v1/targets", timeout=5.0, trust_env=False).json()
    return {t["scrapeUrl"]: t["health"] for t in answer["data"]["activeTargets"]}
