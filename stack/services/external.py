"""Probes of services lgconsole does not run (a URL in the config or POSTGRES_URL, REDIS_URL, LANGGRAPH_URL, VLLM_URL):
one short request each, answered as healthy with a version, or down with the reason in a few words.

Every probe is blocking, bounded by its timeout (2 s by default, so a host that drops packets costs 2 s, not the
drivers' minutes) and never raises; `probe_all` runs them side by side. Reasons never carry a password.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lgconsole.stack.services.service import one_line, redact_url, scrub_password

PROBE_TIMEOUT_S = 2.0
REASON_CHARS = 160
# the LangGraph server's own gauges (its /metrics, Prometheus text), shown with its health
SERVER_GAUGES = {"lg_api_num_pending_runs": "pending", "lg_api_num_running_runs": "running",
                 "lg_api_workers_active": "workers busy"}


@dataclass(frozen=True)
class ExternalProbe:
    """What one probe of an external service found. `url` is redacted; `reason` is why it is down ("" when up)."""

    name: str  # postgres | redis | langgraph | vllm
    url: str
    ok: bool
    reason: str = ""
    version: str | None = None
    detail: str = ""  # what a healthy answer said beyond its version (the server's run queue)
    elapsed_s: float = 0.0

    def to_json(self) -> dict:
        return {"name": self.name, "url": self.url, "ok": self.ok, "reason": self.reason, "version": self.version,
                "detail": self.detail, "elapsed_s": round(self.elapsed_s, 3)}


# --- why it is down, in a few words ------------------------------------------------------------------------------

_REFUSED = re.compile(r"connection refused|errno 111|all connection attempts failed|actively refused", re.I)
_TIMEOUT = re.compile(r"timed? ?out|timeout expired", re.I)
_NO_HOST = re.compile(r"name or service not known|nodename nor servname|could not translate host name|"
                      r"temporary failure in name resolution|name resolution", re.I)
_BAD_PASSWORD = re.compile(r"password authentication failed|wrongpass|invalid password|invalid username-password|"
                           r"authentication failed", re.I)
_NO_PASSWORD = re.compile(r"noauth|authentication required|no password supplied|fe_sendauth", re.I)


def reason_of(text: str, timeout: float, url: str | None = None) -> str:
    """A driver's error message as a reason a person reads at a glance: refused, timeout, bad password, ... The
    message itself (password scrubbed, cut) when it is none of those."""
    if _BAD_PASSWORD.search(text):
        return "bad password (authentication failed)"
    if _NO_PASSWORD.search(text):
        return "auth failed: a password is required"
    if _REFUSED.search(text):
        return "connection refused"
    if _TIMEOUT.search(text):
        return f"timeout: no answer within {timeout:g} s"
    if _NO_HOST.search(text):
        return "host not found"
    text = scrub_password(text, url)
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 1] + "…"


def _http_reason(status: int, path: str) -> str:
    if status in (401, 403):
        return f"auth failed: GET {path} -> HTTP {status}"
    return f"GET {path} -> HTTP {status}"


# --- one probe per kind ------------------------------------------------------------------------------------------

def probe_postgres(url: str, timeout: float = PROBE_TIMEOUT_S) -> ExternalProbe:
    """Connect and `select version()`."""
    import psycopg

    start = time.monotonic()
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout)), autocommit=True) as conn:
            conn.execute(f"SET statement_timeout = {int(timeout * 1000)}")
            text = conn.execute("select version()").fetchone()[0]
    except Exception as exc:  # psycopg raises many kinds; each one means "down", said by reason_of
        return ExternalProbe("postgres", redact_url(url) or "", False, reason_of(str(exc), timeout, url),
                             elapsed_s=time.monotonic() - start)
    version = " ".join(str(text).split()[:2])  # "PostgreSQL 16.4 (Debian ...) on x86_64..." -> "PostgreSQL 16.4"
    return ExternalProbe("postgres", redact_url(url) or "", True, version=version, detail="select version()",
                         elapsed_s=time.monotonic() - start)


def probe_redis(url: str, timeout: float = PROBE_TIMEOUT_S) -> ExternalProbe:
    """`PING` with the URL's password, then the server's version from `INFO server`."""
    import redis

    start = time.monotonic()
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
            info = client.info("server")
        finally:
            client.close()
    except Exception as exc:  # redis-py raises ConnectionError, TimeoutError, AuthenticationError, ResponseError
        return ExternalProbe("redis", redact_url(url) or "", False, reason_of(str(exc), timeout, url),
                             elapsed_s=time.monotonic() - start)
    return ExternalProbe("redis", redact_url(url) or "", True, version=f"Redis {info.get('redis_version', '?')}",
                         detail="PING", elapsed_s=time.monotonic() - start)


def probe_langgraph(url: str, headers: Mapping[str, str] | None = None,
                    timeout: float = PROBE_TIMEOUT_S) -> ExternalProbe:
    """`GET /ok`, then `/info` (the version) and `/metrics` (its run queue), with the server's credentials."""
    import httpx

    start = time.monotonic()
    url = url.rstrip("/")
    shown = redact_url(url) or ""

    def down(reason: str) -> ExternalProbe:
        return ExternalProbe("langgraph", shown, False, reason, elapsed_s=time.monotonic() - start)

    try:
        with httpx.Client(base_url=url, timeout=timeout, headers=dict(headers or {}), trust_env=False) as http:
            ok = http.get("/ok")
            if ok.status_code != 200:
                return down(_http_reason(ok.status_code, "/ok"))
            info = http.get("/info")
            if info.status_code != 200:
                return down(_http_reason(info.status_code, "/info"))
            version = _json_field(info, "version")
            metrics = http.get("/metrics")
            detail = server_queue(metrics.text) if metrics.status_code == 200 else \
                f"/metrics: HTTP {metrics.status_code}"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return down(reason_of(one_line(exc), timeout, url))
    return ExternalProbe("langgraph", shown, True, version=f"langgraph-api {version or '?'}", detail=detail,
                         elapsed_s=time.monotonic() - start)


def probe_vllm(url: str, timeout: float = PROBE_TIMEOUT_S) -> ExternalProbe:
    """`GET /metrics` (what the GPU screen reads), then `/version`. Several servers: `url` is a comma-separated list
    (as VLLM_URL may be), healthy when every one answers."""
    import httpx

    start = time.monotonic()
    urls = [u.strip().rstrip("/") for u in url.split(",") if u.strip()]
    versions, failures = [], []
    for one in urls:
        try:
            with httpx.Client(base_url=one, timeout=timeout, trust_env=False) as http:
                metrics = http.get("/metrics")
                if metrics.status_code != 200:
                    failures.append(f"{redact_url(one)}: {_http_reason(metrics.status_code, '/metrics')}")
                    continue
                answer = http.get("/version")
                versions.append(_json_field(answer, "version") if answer.status_code == 200 else None)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failures.append(f"{redact_url(one)}: {reason_of(one_line(exc), timeout, one)}")
    shown = ",".join(redact_url(u) or "" for u in urls)
    elapsed = time.monotonic() - start
    if failures:
        reason = failures[0].split(": ", 1)[1] if len(urls) == 1 else \
            f"{len(failures)} of {len(urls)} down; {failures[0]}"
        return ExternalProbe("vllm", shown, False, reason, elapsed_s=elapsed)
    known = sorted({v for v in versions if v})
    return ExternalProbe("vllm", shown, True, version=f"vLLM {known[0]}" if known else None,
                         detail="GET /metrics" if len(urls) == 1 else f"{len(urls)} servers answer /metrics",
                         elapsed_s=elapsed)


def _json_field(response, key: str) -> str | None:
    try:
        value = response.json().get(key)
    except (ValueError, AttributeError):
        return None
    return str(value) if value is not None else None


def server_queue(metrics_text: str) -> str:
    """The run queue from a LangGraph server's Prometheus text ("pending 0, running 2"), "" when it has none."""
    found: dict[str, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("#"):
            continue
        name, _, rest = line.partition(" ")
        base = name.split("{", 1)[0]
        if base in SERVER_GAUGES:
            try:
                found[SERVER_GAUGES[base]] = found.get(SERVER_GAUGES[base], 0.0) + float(rest.split()[0])
            except (ValueError, IndexError):
                continue
    return ", ".join(f"{label} {value:g}" for label, value in found.items())


def probe(name: str, url: str, headers: Mapping[str, str] | None = None,
          timeout: float = PROBE_TIMEOUT_S) -> ExternalProbe:
    """The probe for a service by name."""
    if name == "postgres":
        return probe_postgres(url, timeout)
    if name == "redis":
        return probe_redis(url, timeout)
    if name == "langgraph":
        return probe_langgraph(url, headers, timeout)
    if name == "vllm":
        return probe_vllm(url, timeout)
    raise ValueError(f"no probe for a service named {name!r}")


def probe_all(urls: Mapping[str, str], headers: Mapping[str, str] | None = None,
              timeout: float = PROBE_TIMEOUT_S) -> dict[str, ExternalProbe]:
    """Each named service probed at once, side by side: the whole takes as long as the slowest (at most about
    `timeout`, or twice that for a Postgres that accepts the connection and then stalls)."""
    if not urls:
        return {}
    with ThreadPoolExecutor(max_workers=len(urls), thread_name_prefix="probe") as pool:
        futures = {name: pool.submit(probe, name, url, headers if name == "langgraph" else None, timeout)
                   for name, url in urls.items()}
        return {name: future.result() for name, future in futures.items()}
