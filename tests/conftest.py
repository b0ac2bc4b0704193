"""Shared fixtures: one real stack (Postgres, Redis, LangGraph server with the demo graph) per test session, and a
module that marks its own import (for the checkpoint decoder's never-import tests)."""

from __future__ import annotations

import os
import sys
import uuid

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


@pytest.fixture
def side_effect_module(tmp_path, monkeypatch):
    """An importable module that leaves a marker file when imported: proof of whether a decoder imported it."""
    name = f"lgc_user_state_{uuid.uuid4().hex[:8]}"
    marker = tmp_path / f"{name}.imported"
    (tmp_path / f"{name}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
        "from dataclasses import dataclass\n@dataclass\nclass Secret:\n    token: str\n    n: int\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name, marker
    sys.modules.pop(name, None)
