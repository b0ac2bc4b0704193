"""The fleet model: hosts named as Prometheus labels them, one row per host from the recorded expositions, the
imbalance verdicts between replicas, the fleet's KV capacity against fan-out and the servers' workers, and the
fleet's part of `lgconsole gpu` text and JSON."""

from __future__ import annotations

import io
import json

import pytest

from fleet_fixtures import PROMETHEUS_URL, fixture_fleet, fleet_readings
from lgconsole.console.config import Config
from lgconsole.console.model.fleet import FleetServer, Replica, fleet_capacity, host_of, imbalance
from lgconsole.console.sources.gpu import ReplayGpuSource


@pytest.mark.parametrize("labels, host", [
    ({"Hostname": "dgx-7", "instance": "10.0.0.7:9400"}, "dgx-7"),
    ({"hostname": "gpu-node-1", "instance": "10.0.0.1:8000"}, "gpu-node-1"),
    ({"node": "ip-10-0-0-9", "instance": "10.244.1.5:8000"}, "ip-10-0-0-9"),
    ({"instance": "10.0.0.3:8000"}, "10.0.0.3"),
    ({"instance": "[fd00::3]:8000"}, "fd00::3"),
    ({"instance": "vllm-0.vllm.svc"}, "vllm-0.vllm.svc"),
    ({}, "?"),
])
def test_host_of(labels, host):
    assert host_of(labels) == host


def test_one_row_per_host_from_the_recorded_fleet():
    fleet = fixture_fleet()
    assert [h.host for h in fleet.hosts] == ["gpu-node-1", "gpu-node-2"]
    light, busy = fleet.hosts
    assert (light.gpus, light.replicas, light.servers, light.kv_usage, light.workers_max) == (2, 1, 1, 0.0, 4)
    assert (busy.running, busy.waiting, busy.pending_runs, busy.running_runs) == (7, 9, 11, 4)
    assert busy.memory_total == 2 * 80999 * 2**20 and busy.power == pytest.approx(1261.279)
    assert busy.generation_tps == 540.0 and busy.ttft_p95 == 2.31


def _replica(host, usage, waiting=0, model="m", blocks=64, block_size=128, running=1):
    return Replica(host=host, instance=f"{host}:8000", model=model, kv_usage=usage, waiting=waiting, running=running,
                   num_gpu_blocks=blocks, block_size=block_size)


def test_imbalance_levels():
    assert imbalance([]).verdict.level == "info"
    assert imbalance([_replica("a", 0.5)]).verdict.text == "one replica: no imbalance to measure"
    bad = imbalance([_replica("a", 0.97, waiting=5), _replica("b", 0.1)])
    assert bad.verdict.level == "bad" and bad.fullest == "a:8000 m" and bad.emptiest == "b:8000 m"
    assert "5 waiting on the full one" in bad.verdict.text and bad.kv_spread == pytest.approx(0.87)
    assert imbalance([_replica("a", 0.8), _replica("b", 0.4)]).verdict.level == "warn"
    ok = imbalance([_replica("a", 0.45), _replica("b", 0.52), _replica("c", 0.5)])
    assert ok.verdict.level == "ok" and ok.verdict.text == "balanced: KV 45%-52% over 3 replicas"
    # replicas of two models share no load: a full model A and an empty model B are not an imbalance
    apart = imbalance([_replica("a", 0.97, waiting=5, model="A"), _replica("b", 0.0, model="B")])
    assert apart.verdict.level == "info"


def test_fleet_capacity_against_fan_out_and_workers():
    replicas = [_replica("a", 0.5), _replica("b", 0.0)]  # 64 blocks of 128: 8 sequences of 1,024 each
    servers = [FleetServer(host="a", instance="a:2024", workers_max=4)]
    ok = fleet_capacity(replicas, servers, 1024, 3)
    assert (ok.sequences_fit, ok.sequences_free, ok.largest_replica_fit, ok.workers) == (16, 12, 8, 4)
    assert [v.level for v in ok.verdicts] == ["ok"]
    crowded = fleet_capacity(replicas, [FleetServer(host="a", instance="a:2024", workers_max=10)], 1024, 3)
    assert crowded.verdicts[0].level == "warn" and "10 runs at once" in crowded.verdicts[0].text
    assert "cap the servers at 5 runs" in crowded.verdicts[0].text
    assert fleet_capacity(replicas, servers, 8192, 3).verdicts[0].level == "bad"  # 2 sequences of 8k < 3
    unknown = fleet_capacity([Replica(host="a", instance="a:1", model="m")], [], 1024, 3)
    assert unknown.sequences_fit is None and unknown.verdicts[0].level == "info"


def _gpu_args(*argv):
    import argparse

    from lgconsole.console.cli.gpu import add_gpu_command

    parser = argparse.ArgumentParser()
    add_gpu_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["gpu", *argv])


def test_gpu_text_and_json_carry_the_fleet(tmp_path):
    from lgconsole.console.cli.gpu import cmd_gpu

    config = Config(state_dir=str(tmp_path))
    out = io.StringIO()
    assert cmd_gpu(config, _gpu_args("--window", "0"), out=out, source=ReplayGpuSource(fleet_readings())) == 0
    text = out.getvalue()
    assert f"Fleet from Prometheus {PROMETHEUS_URL}: 2 hosts · 2 vLLM replicas · 4 GPUs · 2 LangGraph servers" in text
    assert "    gpu-node-2  2     146.5 GiB / 158.2 GiB  96%" in text
    out = io.StringIO()
    assert cmd_gpu(config, _gpu_args("--json", "--window", "0"), out=out,
                   source=ReplayGpuSource(fleet_readings())) == 0
    fleet = json.loads(out.getvalue())["fleet"]
    assert set(fleet) == {"prometheus", "taken_at", "error", "hosts", "replicas", "gpus", "servers", "imbalance",
                          "capacity", "history_seconds", "history"}
    assert fleet["imbalance"]["level"] == "bad" and fleet["imbalance"]["kv_max"] == pytest.approx(0.9333, abs=1e-3)
    assert fleet["capacity"]["sequences_fit"] == 1026 and fleet["capacity"]["workers"] == 8
    assert len(fleet["history"]["kv_max"]) == 31
