"""Shared fixtures: one real stack (Postgres, Redis, LangGraph server with the demo graph) per test session."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from stackutil import own_stack

# CI (CI=true) runs the same examples every time, so a red run is reproducible and a green one means the same thing
# on every machine; locally, examples are random and keep exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session")
def live_stack():
    """A running stack for the whole session, stopped by PID at the end (also when tests fail)."""
    with own_stack() as config:
        yield config
