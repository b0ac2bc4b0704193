"""Typed errors raised by the stack layer; each carries a one-line message meant for a person."""

from __future__ import annotations


class StackError(Exception):
    """A problem with the stack that a user can act on; str() is a one-line explanation."""


class PortInUse(StackError):
    """A port the stack needs is already taken by a process lgconsole did not start."""


class BinaryNotFound(StackError):
    """A program a service needs (postgres, redis-server, langgraph, vllm) is not installed."""


class HealthTimeout(StackError):
    """A service started but did not become healthy in time."""


class SupervisorUnavailable(StackError):
    """No supervisor answers on the control socket."""
