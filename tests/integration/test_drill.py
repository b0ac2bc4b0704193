"""`lgconsole drill kill` against a stack of its own (it kills services, so never the shared live stack); the
drill's bookkeeping is tested in tests/unit/test_drill_bookkeeping.py."""

from __future__ import annotations

import json

import pytest
from stackutil import lgconsole, own_stack


# --- integration: a stack of its own ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def drill_stack():
    """The drill kills services: it gets a stack of its own, not the session's."""
    with own_stack() as config:
        yield config


def drill(config, *args: str):
    return lgconsole("drill", "kill", *args, config=config.state_path / "lgconsole.toml", timeout=240)


@pytest.mark.integration
def test_kill_the_server_during_a_node_reruns_only_that_node(drill_stack):
    """Killed < 10 s after the thread was created: the restarted dev server has usually lost both the run and the
    thread (its index is saved every ~10 s); the drill re-creates the thread and resumes it from Postgres."""
    result = drill(drill_stack, "langgraph", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["killed_during"] == ["researcher"]
    assert sorted(report["completed_before"]) == ["coder", "reviewer", "supervisor"]
    assert sorted(report["saved_before"]) == ["coder", "reviewer"]
    assert report["rerun"] == ["researcher"] and report["rerun_count"] == 1 and report["rerun_same_task"]
    assert sorted(report["cached_after_kill"]) == ["coder", "reviewer"]
    # the dev server saves its index every ~10 s: killed before that (the usual case), it lost thread and run and
    # the drill re-creates the thread; on a slow machine the save may come first, and the drill re-attaches
    if report["server_knew_run"]:
        assert report["recovery"] == "re-attached", report
    else:
        assert report["recovery"] == "re-created" and report["server_knew_thread"] is False, report
    assert report["new_after_kill"][:3] == ["join", "review", "approval"]
    assert report["interrupt_reached"] and report["answered"]
    assert report["thread_status"] == "idle" and report["outcome"] == "approved" and report["ok"]
    assert report["new_pid"] != report["pid_killed"]
    assert 0 < report["time_to_restart_s"] <= report["time_to_healthy_s"] < 60

    from lgconsole.console.sources.urls import postgres_url
    from lgconsole.stack.checkpoints.reader import CheckpointReader

    with CheckpointReader(postgres_url(drill_stack)) as reader:  # the same thread, finished, in Postgres
        [summary] = reader.list_threads(text=report["thread_id"])
        assert summary.status.value == "idle" and "finalize" in summary.latest_nodes


@pytest.mark.integration
def test_a_run_the_server_saved_is_requeued_and_reattached(drill_stack):
    """Workers sleep 12 s: the dev server saves its run index while the run runs, re-queues it after the restart
    (attempt 2, same run id), and that attempt resumes from the checkpoint: again only the in-flight node re-runs."""
    result = drill(drill_stack, "langgraph", "--delay", "12")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "recovery: re-attached" in out and "re-queued it" in out
    assert "re-executed after the kill: 1 node(s): researcher (same task ids" in out
    assert "thread idle, outcome approved" in out and "drill passed" in out


@pytest.mark.integration
@pytest.mark.parametrize("service", ["redis", "postgres"])
def test_a_dependency_killed_mid_node_is_ridden_through(drill_stack, service):
    """Redis (the tool cache) and Postgres (the checkpointer's pool reconnects) come back within ~2 s: the run
    carries on, nothing is re-executed, the thread completes."""
    result = drill(drill_stack, service, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["service"] == service and report["killed_during"] == ["researcher"]
    assert report["rerun"] == [] and report["recovery"] == "rode-through"
    assert report["thread_status"] == "idle" and report["outcome"] == "approved"


@pytest.mark.integration
def test_drill_refuses_an_external_or_unknown_service(drill_stack):
    result = drill(drill_stack, "vllm")
    assert result.returncode == 2 and "invalid choice" in result.stderr
