"""Credentials for the LangGraph server: the managed server's token file, and the headers every lgconsole client
sends to a server (SDK clients, health probes, plain HTTP), built in one place (`sdk_client`, `http_headers`).

Call sites know a server by its URL only, so the console records each server's credentials once, when it resolves
the URL (console/sources/urls.py), and every client built here looks them up by that URL.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOKEN_FILE_NAME = "langgraph-token"  # in the state dir, 0600
API_KEY_HEADER = "x-api-key"  # the SDK's `api_key` travels in this header


def token_path(state_dir: Path | str) -> Path:
    return Path(state_dir) / TOKEN_FILE_NAME


def read_token(path: Path) -> str | None:
    """The token, or None when there is none yet (the stack was never up with auth)."""
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _write_private(path: Path, text: str) -> None:
    """Write text to a file only its owner can read, atomically (a reader never sees half a token)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, path)


def ensure_token(path: Path) -> str:
    """The managed server's token, made on first use."""
    token = read_token(path)
    if token is None:
        import secrets  # (only here and in rotate_token: ~2 ms of hashlib and hmac every cold command would pay)

        token = secrets.token_urlsafe(32)
        _write_private(path, token)
    return token


def rotate_token(path: Path) -> str:
    """A new token replaces the old one; a running server checks the file on every request, so the old token stops
    working at once."""
    import secrets

    token = secrets.token_urlsafe(32)
    _write_private(path, token)
    return token


@dataclass(frozen=True)
class ServerCredentials:
    """What a client sends to one LangGraph server. `api_key` goes as `x-api-key`, `bearer_token` as
    `Authorization: Bearer`, `headers` as they are. `guarded`: the server is lgconsole's own, so the SDK must not
    add a key it finds in the environment (LANGSMITH_API_KEY...) to ours."""

    api_key: str | None = None
    bearer_token: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    guarded: bool = False

    @classmethod
    def managed(cls, token: str | None, headers: Mapping[str, str] | None = None) -> ServerCredentials:
        """The managed server's token, sent as a bearer token (the server also takes it as x-api-key)."""
        return cls(bearer_token=token, headers=dict(headers or {}), guarded=True)

    def extra_headers(self) -> dict[str, str]:
        """Every header but x-api-key (the SDK refuses that one among custom headers: it takes `api_key`)."""
        out = {k: v for k, v in self.headers.items() if k.lower() != API_KEY_HEADER}
        if self.bearer_token:
            out = {k: v for k, v in out.items() if k.lower() != "authorization"}
            out["Authorization"] = f"Bearer {self.bearer_token}"
        return out

    def effective_api_key(self) -> str | None:
        if self.api_key:
            return self.api_key
        return next((v for k, v in self.headers.items() if k.lower() == API_KEY_HEADER), None)

    def http_headers(self) -> dict[str, str]:
        """All headers, for plain HTTP clients."""
        out = self.extra_headers()
        if key := self.effective_api_key():
            out[API_KEY_HEADER] = key
        return out

    def sdk_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `get_client`/`get_sync_client`. With no key of ours for a server lgconsole does not
        guard, the SDK reads LANGGRAPH_API_KEY / LANGSMITH_API_KEY from the environment as it always does."""
        kwargs: dict[str, Any] = {"headers": self.extra_headers()}
        key = self.effective_api_key()
        if key or self.guarded:
            kwargs["api_key"] = key  # None: the SDK skips the environment
        return kwargs


_known: dict[str, ServerCredentials] = {}
_lock = threading.Lock()


def _key(url: str) -> str:
    return url.rstrip("/")


def remember(url: str, credentials: ServerCredentials) -> None:
    """Record what clients send to the server at `url` (the console does this when it resolves the URL)."""
    with _lock:
        _known[_key(url)] = credentials


def credentials_for(url: str) -> ServerCredentials:
    return _known.get(_key(url), ServerCredentials())


def http_headers(url: str) -> dict[str, str]:
    """The headers a plain HTTP client (httpx, a health probe) sends to the server at `url`."""
    return credentials_for(url).http_headers()


def sdk_client(url: str, timeout: Any = None):
    """An async langgraph-sdk client for the server at `url`, sending its credentials."""
    from langgraph_sdk import get_client

    return get_client(url=url, timeout=timeout, **credentials_for(url).sdk_kwargs())


def sdk_sync_client(url: str, timeout: Any = None):
    """A blocking langgraph-sdk client for the server at `url`, sending its credentials."""
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=url, timeout=timeout, **credentials_for(url).sdk_kwargs())
