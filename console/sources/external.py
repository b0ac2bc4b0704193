"""The services of the configured stack as the console shows them: the supervisor's state for what it runs, and
lgconsole's own probes (stack/services/external.py) for what it does not (external URLs), so `status`, `doctor` and
the Stack screen tell the truth about an attached deployment with no `up` at all.

Blocking: call from workers, the CLI or the doctor. `ExternalWatch` keeps the console's probes off its refresh path.
"""

from __future__ import annotations

import threading
import time

from lgconsole.stack.services.external import PROBE_TIMEOUT_S, ExternalProbe, probe_all
from lgconsole.stack.services.postgres import UNUSED_WITH_EXTERNAL_SERVER
from lgconsole.stack.services.service import SERVICE_NAMES, ServiceState, ServiceStatus, redact_url

from lgconsole.console.config import Config, redis_use_of
from lgconsole.console.model.sanitise import printable
from lgconsole.console.sources.urls import external_credentials

PROBE_EVERY_S = 2.0  # as often as the supervisor probes what it runs


def external_urls(config: Config) -> dict[str, str]:
    """The services configured by URL (with credentials: never print them), by name; a Redis set to
    `enabled = "no"` is not asked."""
    urls = {name: getattr(config, name).url for name in SERVICE_NAMES if getattr(config, name).url}
    if "redis" in urls and not redis_use_of(config).started:
        del urls["redis"]
    return urls


def probe_external(config: Config, timeout: float = PROBE_TIMEOUT_S) -> dict[str, ExternalProbe]:
    """Every external service probed once, side by side, the LangGraph server with its configured credentials."""
    return probe_all(external_urls(config), external_credentials(config).http_headers(), timeout)


def external_status(found: ExternalProbe) -> ServiceStatus:
    """A probe as a row of `status` and the Stack screen: healthy with its version, or down with its reason. Every
    text is the service's or its driver's: sanitised here, once."""
    reason = printable(found.reason) if found.reason else None
    return ServiceStatus(name=found.name, state=ServiceState.HEALTHY if found.ok else ServiceState.DOWN,
                         managed=False, port=url_port(found.url), url=printable(found.url), version=printable(found.version or "") or None,
                         detail=printable(found.detail) if found.ok else reason,
                         last_error=None if found.ok else f"{found.name}: {reason}")


def url_port(url: str) -> int | None:
    """The port of a service's URL (the default port when it names none); None for several URLs or a bad one."""
    from urllib.parse import urlsplit

    if "," in url:
        return None
    try:
        parts = urlsplit(url)
        return parts.port or {"postgresql": 5432, "postgres": 5432, "redis": 6379, "rediss": 6379, "http": 80,
                              "https": 443}.get(parts.scheme)
    except ValueError:
        return None


def configured_services(config: Config) -> list[ServiceStatus]:
    """What `up` would run, before any `up` (or with no supervisor): managed services stopped, those not configured
    or not used disabled (with why: Redis by its rule, Postgres beside an external server), external ones waiting
    for their first probe."""
    out = []
    redis = redis_use_of(config)
    for name in SERVICE_NAMES:
        url = getattr(config, name).url
        enabled = bool(url) or (name != "vllm" or bool(config.vllm.model))
        detail = None
        if name == "redis" and not redis.started:
            enabled, detail = False, redis.why
        if name == "postgres" and not url and config.langgraph.url:
            enabled, detail = False, UNUSED_WITH_EXTERNAL_SERVER
        state = ServiceState.DISABLED if not enabled else ServiceState.WAITING if url else ServiceState.STOPPED
        out.append(ServiceStatus(name=name, state=state, managed=not url, url=redact_url(url) or None,
                                 detail=detail if not enabled else "probing" if url else None))
    return out


def merged_services(services: list[ServiceStatus], config: Config,
                    probes: dict[str, ExternalProbe]) -> list[ServiceStatus]:
    """The supervisor's rows (or, with none, the configured ones), each external service's replaced by lgconsole's
    own probe of it: what the supervisor last saw of it may be old, and without `up` there is none."""
    rows = list(services) or configured_services(config)
    by_name = {s.name: s for s in rows}
    for name, found in probes.items():
        by_name[name] = external_status(found)
    return [by_name[name] for name in SERVICE_NAMES if name in by_name]


def needs_supervisor(services: list[ServiceStatus]) -> bool:
    """Whether some service is lgconsole's to run (an all-external deployment needs no `up`)."""
    return any(s.managed and s.state != ServiceState.DISABLED for s in services)


class ExternalWatch:
    """The console's latest probes of the external services. `latest()` returns at once with what the last probe
    found and starts the next one in a thread of its own when that is older than `every_s`; only the very first call
    waits (at most about twice the timeout), so a host that drops packets never holds up the Stack screen's
    refresh."""

    def __init__(self, config: Config, every_s: float = PROBE_EVERY_S, timeout: float = PROBE_TIMEOUT_S):
        self.config, self.every_s, self.timeout = config, every_s, timeout
        self._lock = threading.Lock()
        self._results: dict[str, ExternalProbe] | None = None
        self._probed_at = 0.0
        self._running: threading.Thread | None = None
        self._first = threading.Event()

    def latest(self) -> dict[str, ExternalProbe]:
        if not external_urls(self.config):
            return {}
        with self._lock:
            due = time.monotonic() - self._probed_at >= self.every_s
            if due and (self._running is None or not self._running.is_alive()):
                self._running = threading.Thread(target=self._probe, name="external-probes", daemon=True)
                self._running.start()
        self._first.wait(2 * self.timeout + 1)
        with self._lock:
            return dict(self._results or {})

    def _probe(self) -> None:
        try:
            found = probe_external(self.config, self.timeout)
        except Exception:  # a probe never raises; should one, the rows keep their last value and it retries
            found = None
        with self._lock:
            if found is not None:
                self._results = found
            self._probed_at = time.monotonic()
        self._first.set()
