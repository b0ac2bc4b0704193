"""The fleet view on live data: a real Prometheus scraping a real CPU vLLM and the real LangGraph server of a stack
lgconsole started (host gpu-node-1), beside recorded DCGM exporters and a recorded busy replica and Postgres-runtime
server (host gpu-node-2). Requests sent to the live vLLM show up as throughput and TTFT in its replica's row.

Slow tier: `pytest -m vllm` (part of `make test`, which builds `.venv-vllm` and the model first).
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest

from lgconsole.console.sources.gpu import FleetReader
from lgconsole.console.sources.urls import langgraph_url, service_url
from prometheusutil import FIXTURES, metrics_file_server, running_prometheus, targets_up
from stackutil import lgconsole, own_stack, tiny_vllm_config, wait_for
from test_vllm_cpu import MAX_NUM_SEQS, VLLM_PYTHON, tiny_model

pytestmark = pytest.mark.vllm

KV_BYTES = 8 * 2**20  # 64 blocks of 128 tokens


def _target(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


@pytest.fixture(scope="module")
def fleet_prometheus():
    with ExitStack() as stack:
        config = stack.enter_context(own_stack(tiny_vllm_config(VLLM_PYTHON, tiny_model(), KV_BYTES, MAX_NUM_SEQS),
                                               timeout=450))
        vllm, server = service_url(config, "vllm"), langgraph_url(config)
        node1, node2 = {"hostname": "gpu-node-1"}, {"hostname": "gpu-node-2"}
        jobs = {
            "vllm": [(_target(vllm), node1),
                     (stack.enter_context(metrics_file_server(FIXTURES / "vllm" / "vllm_metrics_busy.txt")), node2)],
            "langgraph": [(_target(server), node1),
                          (stack.enter_context(metrics_file_server(
                              FIXTURES / "prometheus" / "lg_api_postgres_runtime.prom")), node2)],
            "dcgm": [(stack.enter_context(metrics_file_server(FIXTURES / "prometheus" / f"dcgm_{host}.prom")), {})
                     for host in ("gpu-node-1", "gpu-node-2")],
        }
        url, ready_s = stack.enter_context(running_prometheus(jobs))
        started = time.monotonic()
        wait_for(lambda: (lambda t: len(t) == 6 and set(t.values()) == {"up"})(targets_up(url)), timeout=30,
                 what="every target scraped, the live vLLM and LangGraph server included")
        print(f"\nprometheus ready in {ready_s:.2f}s; 6 targets up {time.monotonic() - started:.1f}s later")
        yield config, url, vllm


def test_live_replica_row_follows_the_requests(fleet_prometheus):
    config, url, vllm = fleet_prometheus
    with httpx.Client(base_url=vllm, timeout=120, trust_env=False) as client:
        sent = time.monotonic()
        for i in range(6):
            answer = client.post("/v1/completions", json={"model": "tiny-llama", "prompt": f"fleet {i} " * 10,
                                                          "max_tokens": 64, "ignore_eos": True})
            assert answer.status_code == 200, answer.text
        print(f"6 completions of 64 tokens in {time.monotonic() - sent:.1f}s")
    reader = FleetReader(url)
    started = time.monotonic()

    def live_rates():
        fleet = reader.read(context_len=1024, fan_out=3)
        live = next((r for r in fleet.replicas if r.host == "gpu-node-1"), None)
        return fleet if live and (live.generation_tps or 0) > 0 and live.ttft_p95 is not None else None

    fleet = wait_for(live_rates, timeout=30, interval=0.5, what="the live replica's rates in Prometheus")
    print(f"rates visible through Prometheus {time.monotonic() - started:.1f}s after the last answer")
    reader.close()
    hosts = {h.host: h for h in fleet.hosts}
    live = next(r for r in fleet.replicas if r.host == "gpu-node-1")
    assert live.model == "tiny-llama" and live.num_gpu_blocks == 64 and live.block_size == 128
    assert 0 < live.ttft_p95 < 60 and live.kv_usage is not None
    # the live LangGraph server (dev runtime: workers only) beside the recorded Postgres-runtime one
    assert hosts["gpu-node-1"].workers_max and hosts["gpu-node-1"].pending_runs is None
    assert hosts["gpu-node-2"].pending_runs == 11 and hosts["gpu-node-2"].gpus == 2
    # 1,024-token sequences: 64 blocks / 8 = 8 on the live replica, 16 / 8 = 2 on the recorded one
    assert fleet.capacity.sequences_fit == 10
    assert fleet.imbalance.replicas == 2 and fleet.imbalance.fullest.endswith("tiny-llama")


def test_gpu_json_from_the_live_fleet(fleet_prometheus):
    config, url, _ = fleet_prometheus
    result = lgconsole("gpu", "--json", "--window", "0", config=config.state_path / "lgconsole.toml",
                       env={"PROMETHEUS_URL": url})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    fleet = data["fleet"]
    assert fleet["error"] is None and [h["host"] for h in fleet["hosts"]] == ["gpu-node-1", "gpu-node-2"]
    assert {r["host"]: r["model"] for r in fleet["replicas"]} == {"gpu-node-1": "tiny-llama",
                                                                  "gpu-node-2": "tiny-llama"}
    assert data["vllm"][0]["model_name"] == "tiny-llama"  # the stack's own vLLM, read directly as before
