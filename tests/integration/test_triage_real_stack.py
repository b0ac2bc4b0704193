"""Triage on real situations of a real stack: errored, waiting and stuck threads and a stopped service fire their
findings, and clear when the situation does; `lgconsole doctor` exit codes follow."""

from __future__ import annotations

import json

import pytest

from lgconsole.console.model.triage import Thresholds, evaluate
from lgconsole.console.sources.triage import TriageSource
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.service import ServiceState
from stackutil import lgconsole, wait_for


def _findings(config, **thresholds):
    return TriageSource(config, Thresholds(**thresholds)).findings()


@pytest.mark.integration
def test_rules_fire_on_a_real_stack_and_clear(live_stack):
    from lgconsole.stack.server.credentials import sdk_sync_client

    from lgconsole.console.sources.urls import langgraph_url

    client = sdk_sync_client(url=langgraph_url(live_stack))
    # an errored run and an interrupt left waiting
    failed = client.threads.create()
    client.runs.wait(failed["thread_id"], "demo", input={"task": "x", "fail_at": "reviewer"}, raise_error=False)
    waiting = client.threads.create()
    client.runs.wait(waiting["thread_id"], "demo", input={"task": "needs a human"})
    source = TriageSource(live_stack, Thresholds(waiting_warn_h=0.0))
    inputs = source.gather()
    findings = evaluate(inputs, source.thresholds)
    errored = [f for f in findings if f.code == "errored-threads" and "reviewer" in f.title]
    assert errored and any(failed["thread_id"] in e for e in errored[0].evidence)
    waits = next(f for f in findings if f.code == "waiting-threads")
    assert waits.severity == "warning"
    assert waiting["thread_id"] in [th.thread_id for th in inputs.waiting_threads]
    # answered -> no longer waiting
    client.runs.wait(waiting["thread_id"], "demo", command={"resume": True})
    assert waiting["thread_id"] not in [th.thread_id for th in source.gather().waiting_threads]
    # the failure fixed (the bad input edited away, the thread run on from its checkpoint) -> no longer errored
    client.threads.update_state(failed["thread_id"], {"fail_at": None})
    client.runs.wait(failed["thread_id"], "demo", input=None)
    assert failed["thread_id"] not in [th.thread_id for th in source.gather().errored_threads]

    # a stuck run: running longer than the (lowered) threshold, cleared when it ends
    slow = client.threads.create()
    run = client.runs.create(slow["thread_id"], "demo", input={"task": "slow", "delay": 6})
    stuck = wait_for(lambda: [f for f in _findings(live_stack, running_run_s=1.0, pending_run_s=1.0)
                              if f.code == "stuck-run" and f.jump.target == slow["thread_id"]], 30, 0.5,
                     what="stuck-run finding")
    assert stuck
    client.runs.join(slow["thread_id"], run["run_id"])
    assert not [f for f in _findings(live_stack, running_run_s=1.0, pending_run_s=1.0)
                if f.code == "stuck-run" and f.jump.target == slow["thread_id"]]  # other tests' runs may be in flight
    client.close()


@pytest.mark.integration
def test_a_stopped_service_is_critical_and_doctor_exit_codes(live_stack):
    cfg = live_stack.state_path / "lgconsole.toml"
    before = lgconsole("doctor", "--json", config=cfg)
    assert before.returncode in (0, 5), before.stdout
    supervisor.send_command(live_stack.state_path, {"cmd": "stop", "service": "redis"})
    try:
        result = lgconsole("doctor", "--json", config=cfg)
        data = json.loads(result.stdout)
        assert result.returncode == 6 and data["exit_code"] == 6
        assert data["findings"][0]["code"] == "service-down" and data["findings"][0]["title"] == "redis is stopped"
        text = lgconsole("doctor", config=cfg)
        assert text.returncode == 6 and text.stdout.startswith("CRIT  redis is stopped")
    finally:
        supervisor.send_command(live_stack.state_path, {"cmd": "start", "service": "redis"})
        wait_for(lambda: supervisor.read_state(live_stack.state_path).by_name("redis").state == ServiceState.HEALTHY,
                 30, what="redis back")
    after = lgconsole("doctor", "--json", config=cfg)
    assert "service-down" not in [f["code"] for f in json.loads(after.stdout)["findings"]]
