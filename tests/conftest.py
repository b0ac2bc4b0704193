"""Shared fixtures: one real stack (Postgres, Redis, LangGraph server with the demo graph) per test session."""

from __future__ import annotations

import pytest

from stackutil import make_config, new_state_dir, processes_mentioning, remove_state_dir, start_stack, stop_stack


@pytest.fixture(scope="session")
def live_stack():
    """A running stack for the whole session, stopped by PID at the end (also when tests fail)."""
    state_dir = new_state_dir()
    config = make_config(state_dir)
    try:
        start_stack(config)
        yield config
    finally:
        stop_stack(config)
        left = processes_mentioning(str(state_dir))
        remove_state_dir(state_dir)
        assert not left, f"processes left after down: {left}"
