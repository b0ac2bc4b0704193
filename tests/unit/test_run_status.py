"""The console's run and step statuses, and the one mapping from the server's end of a run to what is shown."""

from __future__ import annotations

import json

import pytest

from lgconsole.console.model.status import RunStatus, StepStatus, end_status


@pytest.mark.parametrize(("server", "thread", "shown"), [
    ("success", "idle", "success"),
    ("success", "interrupted", "waiting"),  # stopped at interrupt(): the server says success
    ("interrupted", "idle", "cancelled"),  # a cancel with action=interrupt
    ("interrupted", "interrupted", "cancelled"),
    ("cancelled", None, "cancelled"),
    ("error", "error", "error"),
    ("timeout", None, "timeout"),
    ("lost", None, "lost"),
    ("something-new", None, "unknown"),
])
def test_end_status(server, thread, shown):
    assert end_status(server, thread) == shown


def test_statuses_compare_and_serialise_as_their_strings():
    assert RunStatus.WAITING == "waiting" and f"{StepStatus.DONE}" == "done"
    assert json.dumps({"status": StepStatus.INTERRUPTED}) == '{"status": "interrupted"}'
    assert RunStatus.WAITING.over and not RunStatus.RUNNING.over
