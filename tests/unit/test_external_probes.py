"""Probes of external services and what triage makes of them: the reason in a few words (refused, timeout, bad
password), no password in any text, a down server or Postgres critical, and a host that never answers costing the
console's refresh nothing after the first probe."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lgconsole.console.config import Config
from lgconsole.console.model.triage import TriageInputs, evaluate, exit_code
from lgconsole.console.sources.external import ExternalWatch, external_status, merged_services, probe_external
from lgconsole.stack.services.external import ExternalProbe, probe_all, reason_of, server_queue
from lgconsole.stack.services.service import ServiceState, ServiceStatus

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("message, reason", [
    ('connection failed: connection to server at "10.0.0.5", port 5432 failed: Connection refused',
     "connection refused"),
    ("All connection attempts failed", "connection refused"),
    ("Error 111 connecting to 127.0.0.1:6379. Connection refused.", "connection refused"),
    ("timed out", "timeout: no answer within 2 s"),
    ('connection failed: connection to server at "10.0.0.5", port 5432 failed: timeout expired',
     "timeout: no answer within 2 s"),
    ('connection failed: password authentication failed for user "app"', "bad password (authentication failed)"),
    ("WRONGPASS invalid username-password pair or user is disabled.", "bad password (authentication failed)"),
    ("Authentication required.", "auth failed: a password is required"),
    ("[Errno -2] Name or service not known", "host not found"),
])
def test_reasons_are_a_few_words(message, reason):
    assert reason_of(message, 2.0) == reason


def test_an_unknown_reason_is_kept_without_the_password_and_cut():
    url = "postgresql://app:s3cr3t-pw@db:5432/app"
    said = reason_of('database "app" does not exist (dsn app:s3cr3t-pw@db) ' + "x" * 300, 2.0, url)
    assert "s3cr3t-pw" not in said and said.startswith('database "app" does not exist') and len(said) <= 160


def test_the_servers_run_queue_from_its_metrics():
    text = ("# HELP lg_api_num_pending_runs pending\n# TYPE lg_api_num_pending_runs gauge\n"
            'lg_api_num_pending_runs{project_id="p"} 3.0\nlg_api_num_running_runs{project_id="p"} 1.0\n'
            "lg_api_workers_active 2\nother_metric 9\n")
    assert server_queue(text) == "pending 3, running 1, workers busy 2"
    assert server_queue("") == ""


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_services_are_down_at_once_with_redacted_urls():
    port = _refused_port()
    start = time.monotonic()
    found = probe_all({"postgres": f"postgresql://app:hunter2@127.0.0.1:{port}/app",
                       "redis": f"redis://:hunter2@127.0.0.1:{port}/0", "langgraph": f"http://127.0.0.1:{port}",
                       "vllm": f"http://127.0.0.1:{port},http://127.0.0.1:{port}"})
    assert time.monotonic() - start < 2.0
    assert {name: p.reason for name, p in found.items()} == {
        "postgres": "connection refused", "redis": "connection refused", "langgraph": "connection refused",
        "vllm": f"2 of 2 down; http://127.0.0.1:{port}: connection refused"}
    assert all(not p.ok and "hunter2" not in repr(p) for p in found.values())
    assert found["postgres"].url == f"postgresql://app:***@127.0.0.1:{port}/app"


def test_a_host_that_never_answers_costs_the_timeout_once_then_nothing():
    """A listening socket that never accepts: the connection hangs as it would to a host that drops packets."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        config = Config(state_dir="/nonexistent/attach-test")
        config.langgraph.url = f"http://127.0.0.1:{port}"
        watch = ExternalWatch(config, every_s=0.0, timeout=0.5)
        start = time.monotonic()
        first = watch.latest()
        assert first["langgraph"].reason == "timeout: no answer within 0.5 s"
        assert 0.4 < time.monotonic() - start < 2.0
        for _ in range(3):  # each call starts the next probe and returns the last one at once
            start = time.monotonic()
            assert not watch.latest()["langgraph"].ok
            assert time.monotonic() - start < 0.1


def test_external_rows_replace_the_supervisors_and_texts_are_sanitised():
    probe = ExternalProbe("langgraph", "http://lg:8123", False, "GET /ok -> HTTP 502 \x1b[31mbad gateway")
    row = external_status(probe)
    assert row.state == ServiceState.DOWN and not row.managed and row.port == 8123
    assert "\x1b" not in row.detail and "\\u001b" in row.detail
    stale = [ServiceStatus("postgres", ServiceState.HEALTHY), ServiceStatus("langgraph", ServiceState.DEGRADED)]
    merged = merged_services(stale, Config(state_dir="/nonexistent"), {"langgraph": probe})
    assert [(s.name, s.state) for s in merged] == [("postgres", ServiceState.HEALTHY),
                                                   ("langgraph", ServiceState.DOWN)]


def _external(name: str, ok: bool, reason: str = "connection refused") -> ServiceStatus:
    return external_status(ExternalProbe(name, f"http://{name}.internal:1", ok, "" if ok else reason,
                                         version="v1" if ok else None))


def test_a_down_external_server_postgres_or_model_is_critical_redis_a_warning():
    for name, severity in (("langgraph", "critical"), ("postgres", "critical"), ("vllm", "critical"),
                           ("redis", "warning")):
        findings = evaluate(TriageInputs(now=NOW, supervisor_running=False, services=[_external(name, False)]))
        assert [(f.severity, f.code) for f in findings] == [(severity, "external-down")], name
        assert findings[0].title == f"{name} (external, http://{name}.internal:1) is down: connection refused"


def test_an_all_external_deployment_is_not_a_stack_that_is_down():
    disabled = [ServiceStatus("redis", ServiceState.DISABLED), ServiceStatus("vllm", ServiceState.DISABLED)]
    healthy = [_external("postgres", True), _external("langgraph", True), *disabled]
    assert exit_code(evaluate(TriageInputs(now=NOW, supervisor_running=False, services=healthy))) == 0
    managed = [ServiceStatus("postgres", ServiceState.STOPPED), _external("langgraph", False)]
    findings = evaluate(TriageInputs(now=NOW, supervisor_running=False, services=managed))
    assert [f.code for f in findings] == ["stack-down", "external-down"]  # both said, not only the first


class _Gateway(BaseHTTPRequestHandler):
    """A gateway in front of a LangGraph server that lets through only requests with its key."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.headers.get("x-api-key") != "gateway-key":
            self.send_response(401)
            self.end_headers()
            return
        body = {"/ok": b'{"ok": true}', "/info": b'{"version": "0.16.7"}',
                "/metrics": b"lg_api_num_pending_runs 0\nlg_api_num_running_runs 2\n"}.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


def test_the_server_probe_sends_the_configured_credentials_and_says_when_they_are_refused():
    gateway = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    try:
        config = Config(state_dir="/nonexistent/attach-test")
        config.langgraph.url = f"http://127.0.0.1:{gateway.server_port}"
        config.langgraph.api_key = "gateway-key"
        found = probe_external(config)["langgraph"]
        assert found.ok and found.version == "langgraph-api 0.16.7" and found.detail == "pending 0, running 2"
        config.langgraph.api_key = "wrong-key"
        refused = probe_external(config)["langgraph"]
        assert not refused.ok and refused.reason == "auth failed: GET /ok -> HTTP 401"
        assert "wrong-key" not in repr(refused)
    finally:
        gateway.shutdown()
        gateway.server_close()


def test_services_another_manager_runs_replace_stopped_rows_and_need_no_supervisor():
    from lgconsole.console.cli.stack import state_label
    from lgconsole.console.rows.stack import service_rows
    from lgconsole.console.sources.external import needs_supervisor
    from lgconsole.console.sources.stack import StackSnapshot

    stopped = [ServiceStatus(name, ServiceState.STOPPED) for name in ("postgres", "redis", "langgraph")]
    elsewhere = {"postgres": ExternalProbe("postgres", "postgresql://lgconsole:***@127.0.0.1:5433/lgconsole", True,
                                           version="PostgreSQL 16.4", detail="select version()"),
                 "redis": ExternalProbe("redis", "redis://:***@127.0.0.1:6380/0", False, "bad password")}
    merged = merged_services(stopped, Config(state_dir="/nonexistent"), {}, elsewhere)
    rows = {s.name: s for s in merged}
    assert rows["postgres"].state == ServiceState.HEALTHY and rows["postgres"].managed
    assert rows["postgres"].run_elsewhere and rows["postgres"].port == 5433
    assert (rows["redis"].state, rows["redis"].detail) == (ServiceState.DOWN, "bad password")
    assert rows["langgraph"].state == ServiceState.STOPPED and not rows["langgraph"].run_elsewhere
    assert needs_supervisor(stopped) and not needs_supervisor(merged)  # `up` is not what starts this stack
    assert [state_label(s.state.value, s.managed, s.run_elsewhere) for s in merged] == [
        "running · not supervised", "down · not supervised", "stopped"]
    assert [r.run_elsewhere for r in service_rows(StackSnapshot(merged, None, False))] == [True, True, False]
