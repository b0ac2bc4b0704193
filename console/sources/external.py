"""The services of the configured stack as the console shows them: the supervisor's state for what it runs, and
lgconsole's own probes (stack/services/external.py) for what it does not (external URLs), so `status`, `doctor` and
the Stack screen tell the truth about an attached deployment with no `up` at all.

Blocking: call from workers, the CLI or the doctor. `ExternalWatch` keeps the console's probes off its refresh path.
"""

from __future__ import annotations

import threading
import time

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.external import PROBE_TIMEOUT_S, ExternalProbe, probe_all
from lgconsole.stack.services.ports import listening
from lgconsole.stack.services.postgres import UNUSED_WITH_EXTERNAL_SERVER
from lgconsole.stack.services.service import SERVICE_NAMES, ServiceState, ServiceStatus, StackSpec, redact_url

from lgconsole.console.config import Config
from lgconsole.console.stack_spec import redis_use_of
from lgconsole.console.model.sanitise import printable
from lgconsole.console.sources.urls import external_credentials, managed_credentials

PROBE_EVERY_S = 2.0  # as often as the supervisor probes what it runs
ELSEWHERE = "the exported systemd units or another manager own them"


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


def probe_run_elsewhere(config: Config, state, timeout: float = PROBE_TIMEOUT_S) -> dict[str, ExternalProbe]:
    """The managed services of the saved spec (spec.json, which `up` and `export` write) that something answers for
    on their ports while no lgconsole supervisor runs (`state`: supervisor.read_state's): the exported systemd
    units, or a manager of the user's own. Each probed as an external one is, with the stack's own credentials.
    Empty while a supervisor runs (what a dead supervisor left running is lgconsole's own: `up` adopts it), and when
    no probe answers: then the ports are held by strangers, not by this stack (`up` says the port is taken)."""
    if state.supervisor_alive:
        return {}
    try:
        spec = StackSpec.load(config.state_path)
    except (OSError, StackError):
        return {}
    from lgconsole.stack.services.supervisor import build_services

    ours = {s.name for s in state.unsupervised}
    urls: dict[str, str] = {}
    headers = None
    for name, service in build_services(spec).items():
        if name in ours or not service.enabled or service.external or not service.port \
                or not listening(int(service.port)):
            continue
        urls[name] = service.url()
        if name == "langgraph":
            headers = managed_credentials(config, service).http_headers()
    found = probe_all(urls, headers, timeout)
    return found if any(p.ok for p in found.values()) else {}


def run_elsewhere_status(found: ExternalProbe) -> ServiceStatus:
    """A service of the stack that another manager runs, as its probe found it: healthy, or down with the reason."""
    return ServiceStatus(**{**vars(external_status(found)), "managed": True, "run_elsewhere": True})


def merged_services(services: list[ServiceStatus], config: Config, probes: dict[str, ExternalProbe],
                    elsewhere: dict[str, ExternalProbe] | None = None) -> list[ServiceStatus]:
    """The supervisor's rows (or, with none, the configured ones), each external service's replaced by lgconsole's
    own probe of it: what the supervisor last saw of it may be old, and without `up` there is none. `elsewhere`:
    the probes of services another manager runs (probe_run_elsewhere), shown instead of "stopped"."""
    rows = list(services) or configured_services(config)
    by_name = {s.name: s for s in rows}
    for name, found in probes.items():
        by_name[name] = external_status(found)
    for name, found in (elsewhere or {}).items():
        by_name[name] = run_elsewhere_status(found)
    return [by_name[name] for name in SERVICE_NAMES if name in by_name]


def run_elsewhere(services: list[ServiceStatus]) -> list[ServiceStatus]:
    return [s for s in services if s.run_elsewhere]


def needs_supervisor(services: list[ServiceStatus]) -> bool:
    """Whether some service is lgconsole's to run (an all-external deployment needs no `up`, nor one that another
    manager runs)."""
    return not run_elsewhere(services) and any(s.managed and s.state != ServiceState.DISABLED for s in services)


class ExternalWatch:
    """The console's latest probes of the external services, and of the stack's services another manager runs.
    `latest()` returns at once with what the last probe found and starts the next one in a thread of its own when
    that is older than `every_s`; only the very first call waits (at most about twice the timeout), so a host that
    drops packets never holds up the Stack screen's refresh."""

    def __init__(self, config: Config, every_s: float = PROBE_EVERY_S, timeout: float = PROBE_TIMEOUT_S):
        self.config, self.every_s, self.timeout = config, every_s, timeout
        self._lock = threading.Lock()
        self._results: tuple[dict[str, ExternalProbe], dict[str, ExternalProbe]] | None = None
        self._probed_at = 0.0
        self._running: threading.Thread | None = None
        self._first = threading.Event()

    def latest(self) -> dict[str, ExternalProbe]:
        """The external services' probes."""
        return self._latest()[0]

    def latest_elsewhere(self) -> dict[str, ExternalProbe]:
        """The probes of the stack's services that run without a supervisor of lgconsole's (probe_run_elsewhere)."""
        return self._latest()[1]

    def _latest(self) -> tuple[dict[str, ExternalProbe], dict[str, ExternalProbe]]:
        if not external_urls(self.config) and not self.config.paths.spec_file.exists():
            return {}, {}
        with self._lock:
            due = time.monotonic() - self._probed_at >= self.every_s
            if due and (self._running is None or not self._running.is_alive()):
                self._running = threading.Thread(target=self._probe, name="external-probes", daemon=True)
                self._running.start()
        self._first.wait(2 * self.timeout + 1)
        with self._lock:
            external, elsewhere = self._results or ({}, {})
            return dict(external), dict(elsewhere)

    def _probe(self) -> None:
        from lgconsole.stack.services.supervisor import read_state

        try:
            found = (probe_external(self.config, self.timeout),
                     probe_run_elsewhere(self.config, read_state(self.config.state_path), self.timeout))
        except Exception:  # a probe never raises (a damaged state file may); the rows keep their last value
            found = None
        with self._lock:
            if found is not None:
                self._results = found
            self._probed_at = time.monotonic()
        self._first.set()
