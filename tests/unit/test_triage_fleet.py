"""Fleet triage on the recorded fleet (tests/fleet_fixtures.py): a scrape target down named by its instance, a
replica starving, a bad imbalance naming the replicas, a Prometheus that does not answer; each jumps to the GPU
screen."""

from __future__ import annotations

from datetime import datetime, timezone

from fleet_fixtures import PROMETHEUS_URL, FixtureSample, fixture_answers
from lgconsole.console.model.capacity import StarvationDetector
from lgconsole.console.model.fleet import Replica, replicas_from
from lgconsole.console.model.fleet_health import FleetHealth, down_targets, job_kinds, kind_by_name
from lgconsole.console.model.triage import Jump, Thresholds, TriageInputs, evaluate, exit_code

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def _down(job, instance, **labels):
    return FixtureSample({"__name__": "up", "job": job, "instance": instance, **labels}, 0.0)


def _kinds(**by_job):
    return [FixtureSample({"job": job, "lgconsole_kind": kind}) for job, kind in by_job.items()]


def _by_code(findings, code):
    return [f for f in findings if f.code == code]


def test_the_fleet_threshold_is_the_starvation_alarms():
    assert Thresholds().kv_full == StarvationDetector().usage_threshold


def test_down_targets_of_the_fleet_only():
    down = [_down("vllm", "10.0.0.3:8000", hostname="gpu-node-3"), _down("gpu-metrics", "10.0.0.3:9400"),
            _down("node", "10.0.0.3:9100"), _down("lg-api-prod", "10.0.0.4:8123")]
    targets = down_targets(down, job_kinds(_kinds(vllm="vllm", **{"gpu-metrics": "dcgm"})))
    assert [(t.kind, t.job, t.instance, t.host) for t in targets] == [
        ("dcgm", "gpu-metrics", "10.0.0.3:9400", "10.0.0.3"),
        ("langgraph", "lg-api-prod", "10.0.0.4:8123", "10.0.0.4"),  # never scraped: its name says the kind
        ("vllm", "vllm", "10.0.0.3:8000", "gpu-node-3")]  # a node exporter down is not the fleet's
    assert kind_by_name("DCGM") == "dcgm" and kind_by_name("node") is None


def test_recorded_fleet_with_a_replica_down():
    answers = fixture_answers()
    down = down_targets([_down("vllm", "gpu-node-3:8000"), _down("dcgm", "gpu-node-3:9400")],
                        job_kinds(_kinds(vllm="vllm", dcgm="dcgm")))
    fleet = FleetHealth(PROMETHEUS_URL, replicas=tuple(replicas_from(answers)), down=tuple(down))
    findings = evaluate(TriageInputs(now=NOW, fleet=fleet))
    [vllm_down] = [f for f in _by_code(findings, "fleet-target-down") if f.severity == "critical"]
    assert vllm_down.title == "vLLM down in Prometheus (job vllm): gpu-node-3:8000"
    assert vllm_down.evidence == ("gpu-node-3:8000 on gpu-node-3: up == 0",)
    assert f"{PROMETHEUS_URL}/targets" in vllm_down.action
    [dcgm_down] = [f for f in _by_code(findings, "fleet-target-down") if f.severity == "warning"]
    assert dcgm_down.title == "DCGM exporter down in Prometheus (job dcgm): gpu-node-3:9400"
    # the busy replica: KV 93 % with 9 waiting
    [starving] = _by_code(findings, "fleet-kv-starvation")
    assert starving.severity == "critical"
    assert starving.title == "vLLM replica gpu-node-2:8000 (tiny-llama) on gpu-node-2 is starving"
    assert starving.evidence == ("KV usage 93%, running 7, waiting 9, 1.40 preemptions/s",)
    [unbalanced] = _by_code(findings, "fleet-imbalance")
    assert unbalanced.title == "tiny-llama: replica gpu-node-2:8000 queues while gpu-node-1:8000 has room"
    assert unbalanced.severity == "warning" and unbalanced.explanation.startswith("unbalanced: KV 93% on gpu-node-2")
    assert all(f.jump == Jump("gpu") for f in findings) and exit_code(findings) == 2
    assert [f.severity for f in findings] == sorted((f.severity for f in findings),
                                                     key=["critical", "warning", "info"].index)


def _replica(instance, usage, waiting, model="m"):
    return Replica(host=instance.split(":")[0], instance=instance, model=model, kv_usage=usage, waiting=waiting,
                   running=4)


def test_full_without_a_queue_or_uneven_without_starving_is_not_a_finding():
    quiet = FleetHealth(PROMETHEUS_URL, replicas=(_replica("a:1", 0.95, 0), _replica("b:1", 0.2, 0),
                                                  _replica("c:1", 0.97, 3, model="other")))
    codes = [f.code for f in evaluate(TriageInputs(now=NOW, fleet=quiet))]
    # c is starving, alone for its model: no imbalance; a is full but nothing waits
    assert codes == ["fleet-kv-starvation"]
    healthy = FleetHealth(PROMETHEUS_URL, replicas=(_replica("a:1", 0.5, 0), _replica("b:1", 0.4, 1)))
    assert evaluate(TriageInputs(now=NOW, fleet=healthy)) == []


def test_a_prometheus_that_does_not_answer_is_one_warning():
    blind = FleetHealth(PROMETHEUS_URL, error=f"Prometheus at {PROMETHEUS_URL}: connection refused")
    [finding] = evaluate(TriageInputs(now=NOW, fleet=blind))
    assert (finding.severity, finding.code, finding.jump) == ("warning", "prometheus-down", Jump("gpu"))
    assert finding.title == f"fleet unseen: Prometheus at {PROMETHEUS_URL}: connection refused"
    assert exit_code([finding]) == 1
