"""Which threads have a run pending or running on the LangGraph server: the threads no prune may touch.

The server marks a thread `busy` as soon as a run is created on it (pending included), so `threads.search(status=
"busy")` finds them all; `runs.list` per busy thread names the runs. A server that does not answer raises
`LangGraphUnreachable`: then nobody can prove that no run is live, and callers must refuse destructive work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from lgconsole.stack.errors import StackError
from lgconsole.stack.server.credentials import http_headers, sdk_client
from lgconsole.stack.services.service import one_line

LIVE_RUN_STATUSES = ("pending", "running")
SEARCH_PAGE = 500
RUNS_CONCURRENCY = 8


class LangGraphUnreachable(StackError):
    """The LangGraph server did not answer (down, restarting, wrong URL)."""


@dataclass
class BusyThread:
    thread_id: str
    runs: list[tuple[str, str]] = field(default_factory=list)  # (run_id, pending|running)
    created_at: dict[str, str] = field(default_factory=dict)  # run_id -> ISO time the run was created

    def to_json(self) -> dict:
        return {"thread_id": self.thread_id, "runs": [{"run_id": r, "status": s} for r, s in self.runs]}


def _status_code(exc: BaseException) -> int | None:
    return getattr(getattr(exc, "response", None), "status_code", None)


async def busy_threads(url: str, timeout: float = 5.0) -> dict[str, BusyThread]:
    """Every thread the server has a run pending or running on, with those runs. Raises LangGraphUnreachable."""
    import asyncio

    await _probe(url, timeout)
    client = sdk_client(url, timeout)
    found: dict[str, BusyThread] = {}
    try:
        offset = 0
        while True:
            try:
                page = await client.threads.search(status="busy", limit=SEARCH_PAGE, offset=offset,
                                                   select=["thread_id", "status"])
            except Exception as exc:
                raise _unreachable(url, exc) from None
            for thread in page:
                found.setdefault(thread["thread_id"], BusyThread(thread["thread_id"]))
            if len(page) < SEARCH_PAGE:
                break
            offset += SEARCH_PAGE
        gate = asyncio.Semaphore(RUNS_CONCURRENCY)

        async def runs_of(busy: BusyThread) -> None:
            async with gate:
                try:
                    runs = await client.runs.list(busy.thread_id, limit=100)
                except Exception as exc:
                    if _status_code(exc) == 404:  # deleted since the search: it stays protected all the same
                        return
                    raise _unreachable(url, exc) from None
            live = [r for r in runs if r["status"] in LIVE_RUN_STATUSES]
            busy.runs = [(r["run_id"], r["status"]) for r in live]
            busy.created_at = {r["run_id"]: str(r.get("created_at")) for r in live}

        await asyncio.gather(*(runs_of(b) for b in found.values()))
    finally:
        await client.aclose()
    return found


async def _probe(url: str, timeout: float) -> None:
    from lgconsole.stack.server.health import probe_server_async  # (not for busy_thread_ids: every cold `threads`)

    health = await probe_server_async(url, timeout)
    if health.error is not None:
        raise LangGraphUnreachable(f"the LangGraph server at {url} does not answer ({health.error})")
    if not health.ok:
        raise LangGraphUnreachable(f"the LangGraph server at {url} is not healthy ({health.reason})")


def _unreachable(url: str, exc: BaseException) -> LangGraphUnreachable:
    code = _status_code(exc)
    why = f"HTTP {code}" if code else one_line(exc)
    return LangGraphUnreachable(f"the LangGraph server at {url} does not answer ({why})")


def busy_threads_sync(url: str, timeout: float = 5.0) -> dict[str, BusyThread]:
    """`busy_threads` for callers without an event loop (the CLI)."""
    import asyncio

    return asyncio.run(busy_threads(url, timeout))


def busy_thread_ids(url: str, timeout: float = 1.5) -> frozenset[str]:
    """The ids of the threads with a run pending or running (one light search, no SDK: the thread list calls it on
    every refresh, and a cold `lgconsole threads` would spend more on importing httpx than on the request: the
    standard library's client asks unless a proxy from the environment must be used). Raises LangGraphUnreachable."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if any(os.environ.get(name) for name in (f"{parts.scheme}_proxy", f"{parts.scheme.upper()}_PROXY", "all_proxy",
                                              "ALL_PROXY")):
        return _busy_ids_through_proxy(url, timeout)  # httpx knows proxies and their exceptions (no_proxy)
    import http.client

    conn_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    found: set[str] = set()
    try:
        conn = conn_type(parts.hostname or "", parts.port, timeout=timeout)
        try:
            while True:
                body = json.dumps({"status": "busy", "limit": SEARCH_PAGE, "offset": len(found),
                                   "select": ["thread_id"]})
                conn.request("POST", f"{parts.path.rstrip('/')}/threads/search", body,
                             {**http_headers(url), "Content-Type": "application/json"})
                reply = conn.getresponse()
                data = reply.read()
                if reply.status >= 400:
                    raise LangGraphUnreachable(f"the LangGraph server at {url} does not answer (HTTP {reply.status})")
                page = [t["thread_id"] for t in json.loads(data)]
                found.update(page)
                if len(page) < SEARCH_PAGE:
                    return frozenset(found)
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as exc:
        raise _unreachable(url, exc) from None


def _busy_ids_through_proxy(url: str, timeout: float) -> frozenset[str]:
    import httpx

    found: set[str] = set()
    try:
        with httpx.Client(base_url=url, timeout=timeout, headers=http_headers(url)) as client:
            while True:
                reply = client.post("/threads/search", json={"status": "busy", "limit": SEARCH_PAGE,
                                                              "offset": len(found), "select": ["thread_id"]})
                reply.raise_for_status()
                page = [t["thread_id"] for t in reply.json()]
                found.update(page)
                if len(page) < SEARCH_PAGE:
                    return frozenset(found)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise _unreachable(url, exc) from None
