"""Shared fixtures: one real stack (Postgres, Redis, LangGraph server with the demo graph) per test session."""

from __future__ import annotations

import pytest

from stackutil import own_stack


@pytest.fixture(scope="session")
def live_stack():
    """A running stack for the whole session, stopped by PID at the end (also when tests fail)."""
    with own_stack() as config:
        yield config
