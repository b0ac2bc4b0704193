"""The LangGraph server's health probe, written once: one `GET /ok` with a timeout and no retries, blocking or async.

A server that is down is known in milliseconds (the SDK's client retries a refused connection for ~8 s). The probe
goes straight to the server (`trust_env=False`: a proxy from the environment is not asked about a local stack) and
sends the server's credentials (credentials.py) unless given `headers`: `/ok` itself is open under lgconsole's
token, but a gateway in front of an external server may want them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from lgconsole.stack.server.credentials import http_headers
from lgconsole.stack.services.service import one_line

OK_PATH = "/ok"


@dataclass(frozen=True)
class ServerHealth:
    """What one probe found. `error` is the transport failure in one line; `status_code` what `/ok` answered."""

    url: str
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code == 200

    @property
    def reason(self) -> str:
        """Why it is not healthy, in a few words ("" when it is)."""
        if self.error is not None:
            return self.error
        return "" if self.ok else f"GET {OK_PATH} -> HTTP {self.status_code}"


@lru_cache(maxsize=1)
def tls_context():
    """The certificate store a probe verifies with, loaded once: a new client loads it again (~30 ms of CPU), which
    the supervisor's probe every 50 ms of a bring-up took from the starting server's cores."""
    import httpx

    return httpx.create_ssl_context(trust_env=False)


def probe_server(url: str, timeout: float = 2.0, headers: Mapping[str, str] | None = None) -> ServerHealth:
    """One blocking `GET /ok` (for thread workers, the CLI and the supervisor)."""
    import httpx

    url = url.rstrip("/")
    headers = http_headers(url) if headers is None else headers
    try:
        with httpx.Client(base_url=url, timeout=timeout, headers=headers, trust_env=False,
                          verify=tls_context()) as http:
            return ServerHealth(url, http.get(OK_PATH).status_code)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a probe says why, it never raises
        return ServerHealth(url, error=one_line(exc))


async def probe_server_async(url: str, timeout: float = 2.0,
                             headers: Mapping[str, str] | None = None) -> ServerHealth:
    """One `GET /ok` on the event loop."""
    import httpx

    url = url.rstrip("/")
    headers = http_headers(url) if headers is None else headers
    try:
        async with httpx.AsyncClient(base_url=url, timeout=timeout, headers=headers, trust_env=False,
                                     verify=tls_context()) as http:
            return ServerHealth(url, (await http.get(OK_PATH)).status_code)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a probe says why, it never raises
        return ServerHealth(url, error=one_line(exc))
