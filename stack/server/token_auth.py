"""The managed LangGraph server's custom-auth hook: a request passes only with the stack's token, sent as
`Authorization: Bearer <token>` or as `x-api-key: <token>` (langgraph-sdk's `api_key`, `LANGGRAPH_API_KEY`).

The server loads this file by path (`"auth": {"path": ".../token_auth.py:auth"}` in the langgraph.json lgconsole
writes), also from a user project's own environment, so it imports only the standard library and langgraph_sdk.
The token file (named by LGCONSOLE_TOKEN_FILE) is read again whenever it changes: `lgconsole up --rotate-token`
takes effect without a restart. No token file means no request passes. Only authentication is registered (no
`@auth.on` handlers): one operator, one token, and the holder may do everything.
"""

from __future__ import annotations

import hmac
import logging
import os

from langgraph_sdk import Auth

TOKEN_FILE_ENV = "LGCONSOLE_TOKEN_FILE"
IDENTITY = "lgconsole-token"
# set by the `pg` runtime: langgraph-runtime-pg 0.11.1 stores each run's user with the standard json module, which
# refuses the server's own user objects (every run with custom auth is a 500); a mapping that is also the server's
# user type passes both
PLAIN_USER_ENV = "LGCONSOLE_AUTH_PLAIN_USER"

auth = Auth()
# the server logs "Resolved authentication handler" at info for every request: that would crowd out its log
logging.getLogger("langgraph_api.auth.custom").setLevel(logging.WARNING)
_cached: tuple[tuple[int, int, int], bytes] | None = None  # ((inode, mtime_ns, size), token)


def _current_token() -> bytes | None:
    global _cached
    path = os.environ.get(TOKEN_FILE_ENV)
    if not path:
        return None
    try:
        st = os.stat(path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if _cached is None or _cached[0] != stamp:
            with open(path, "rb") as fh:
                _cached = (stamp, fh.read().strip())
    except OSError:
        return None
    return _cached[1] or None


def _presented(headers: dict) -> list[bytes]:
    """The candidate tokens a request carries (ASGI header names are lower-case bytes)."""
    found = []
    authorization = headers.get(b"authorization", b"")
    scheme, _, value = authorization.partition(b" ")
    if scheme.lower() == b"bearer" and value.strip():
        found.append(value.strip())
    if api_key := headers.get(b"x-api-key", b"").strip():
        found.append(api_key)
    return found


@auth.authenticate
async def authenticate(headers: dict) -> str:
    token = _current_token()
    if token is None:
        raise Auth.exceptions.HTTPException(status_code=401, detail="the server's token file is missing")
    presented = _presented(headers or {})
    if not presented:
        raise Auth.exceptions.HTTPException(
            status_code=401, detail="this server needs its token: `lgconsole token` prints it; send it as "
                                    "Authorization: Bearer <token> or x-api-key (LANGGRAPH_API_KEY)")
    if not any(hmac.compare_digest(candidate, token) for candidate in presented):
        raise Auth.exceptions.HTTPException(status_code=401, detail="wrong token")
    if os.environ.get(PLAIN_USER_ENV):
        return _plain_user()
    return IDENTITY


def _plain_user():
    """The identity as a JSON-plain mapping that is also a starlette user (the server keeps such a user as is)."""
    from starlette.authentication import BaseUser  # the server's own dependency; only imported under `pg`

    class PlainUser(dict, BaseUser):
        @property
        def is_authenticated(self) -> bool:
            return True

        @property
        def display_name(self) -> str:
            return self["identity"]

        @property
        def identity(self) -> str:
            return self["identity"]

    return PlainUser(identity=IDENTITY, display_name=IDENTITY, is_authenticated=True)

