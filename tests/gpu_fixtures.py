"""Fixed GPU-screen data for tests and benchmarks: the real vLLM scrapes of tests/fixtures/vllm plus the fake
H100 that tests/fake_nvml serves, as plain records (no driver, no server needed)."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

from lgconsole.console.sources.gpu import GpuReading, ServingFacts
from lgconsole.stack.metrics.nvml import NO_LIBRARY, GpuDevice, GpuProcess, GpuSnapshot
from lgconsole.stack.metrics.vllm import VllmMetrics, parse_metrics

FIXTURES = Path(__file__).parent / "fixtures" / "vllm"
URL = "http://127.0.0.1:8000"
T0 = 1_800_000_000.0  # fixed wall clock: stable frames
GIB = 1024 ** 3
MIB = 1024 ** 2

# the tiny Llama of the fixtures (facts: hidden 128, 2 layers, 4 heads, 2 KV heads, float32)
TINY_LLAMA_CONFIG = {"architectures": ["LlamaForCausalLM"], "hidden_size": 128, "intermediate_size": 256,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "vocab_size": 2048, "torch_dtype": "float32"}
FACTS = ServingFacts(max_num_seqs=8, max_model_len=1024, fan_out=3, bytes_per_token=1024)


def fixture_text(name: str) -> str:
    return (FIXTURES / f"vllm_metrics_{name}.txt").read_text()


def fixture_metrics(name: str, taken_at: float = T0, url: str = URL) -> VllmMetrics:
    return parse_metrics(fixture_text(name), url, taken_at)


def timeseries() -> list[dict[str, float]]:
    with open(FIXTURES / "vllm_starvation_timeseries.csv") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def fake_h100(vllm_bytes: int = 70 * GIB + 310 * MIB, index: int = 0) -> GpuDevice:
    """What the fake libnvidia-ml.so.1 reports, as a record: an H100 80GB running vLLM and a small helper."""
    processes = (
        GpuProcess(pid=4242, gpu_index=index, used_bytes=vllm_bytes, name="VLLM::EngineCor",
                   command="VLLM::EngineCore", service="vllm"),
        GpuProcess(pid=5151, gpu_index=index, used_bytes=512 * MIB, name="python",
                   command="python train_probe.py --api-key ***"),
    )
    used = sum(p.used_bytes for p in processes) + 531 * MIB
    total = 80 * GIB
    return GpuDevice(index=index, name="NVIDIA H100 80GB HBM3", uuid=f"GPU-fa4e0000-0000-4000-8000-00000000000{index}",
                     memory_total=total, memory_used=used, memory_free=total - used, memory_reserved=531 * MIB,
                     utilization_gpu=37, utilization_memory=12, temperature_c=41, power_w=123.456,
                     power_limit_w=700.0, fan_percent=None, mig_enabled=False, processes=processes)


def gpu_snapshot(taken_at: float = T0) -> GpuSnapshot:
    return GpuSnapshot(available=True, driver_version="580.95.05", cuda_version="13.0", devices=(fake_h100(),),
                       taken_at=taken_at)


def healthy_readings(n: int = 40, step: float = 1.0) -> list[GpuReading]:
    """A server with room to spare: the after-load scrape with a gentle load wave, no queue, no preemptions."""
    base = fixture_metrics("after_load")
    readings = []
    for i in range(n):
        t = T0 + i * step
        usage = 0.25 + 0.15 * math.sin(i / 4)
        m = dataclasses.replace(base, taken_at=t, kv_cache_usage=round(usage, 3), running=2 + i % 3, waiting=0,
                                prompt_tokens_total=base.prompt_tokens_total + 40 * i,
                                generation_tokens_total=base.generation_tokens_total + 310 * i)
        readings.append(GpuReading(gpus=gpu_snapshot(t), servers=(m,), facts=FACTS, taken_at=t))
    return readings


def starved_readings(until: float = 9.0) -> list[GpuReading]:
    """The starvation wave of vllm_starvation_timeseries.csv on top of the busy scrape (16 blocks of 128)."""
    base = fixture_metrics("busy")
    readings = []
    for row in timeseries():
        if row["t_s"] > until:
            break
        t = T0 + row["t_s"]
        m = dataclasses.replace(base, taken_at=t, kv_cache_usage=row["kv_usage"], running=int(row["running"]),
                                waiting=int(row["waiting"]), waiting_by_reason={"capacity": int(row["waiting"])},
                                preemptions_total=row["preemptions"], generation_tokens_total=row["gen_tokens"])
        readings.append(GpuReading(gpus=gpu_snapshot(t), servers=(m,), facts=FACTS, taken_at=t))
    return readings


def no_driver_readings() -> list[GpuReading]:
    refused = VllmMetrics(URL, T0, error=f"{URL}: connection refused")
    return [GpuReading(gpus=GpuSnapshot.unavailable(NO_LIBRARY, T0), servers=(refused,), facts=FACTS, taken_at=T0)]
