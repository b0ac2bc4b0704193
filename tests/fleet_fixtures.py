"""A fixed fleet for tests and snapshots, no Prometheus needed: the recorded expositions of tests/fixtures (DCGM,
lg_api, vLLM) parsed and labelled as Prometheus would label them, with fixed rate answers and the recorded
starvation time series as the sparklines' history."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from prometheus_client.parser import text_string_to_metric_families

from gpu_fixtures import T0, gpu_snapshot, timeseries
from lgconsole.console.model.fleet import Fleet, build_fleet
from lgconsole.console.sources.gpu import GpuReading, ServingFacts

FIXTURES = Path(__file__).parent / "fixtures"
PROMETHEUS_URL = "http://prometheus.internal:9090"

# (fixture file, job, instance, target labels): two hosts, a busy one and a light one
TARGETS = (
    ("prometheus/dcgm_gpu-node-1.prom", "dcgm", "gpu-node-1:9400", {}),
    ("prometheus/dcgm_gpu-node-2.prom", "dcgm", "gpu-node-2:9400", {}),
    ("vllm/vllm_metrics_idle.txt", "vllm", "gpu-node-1:8000", {}),
    ("vllm/vllm_metrics_busy.txt", "vllm", "gpu-node-2:8000", {}),
    ("prometheus/lg_api_dev_runtime.prom", "langgraph", "gpu-node-1:2024", {}),
    ("prometheus/lg_api_postgres_runtime.prom", "langgraph", "gpu-node-2:2024", {}),
)


@dataclass(frozen=True)
class FixtureSample:
    labels: Mapping[str, str] = field(default_factory=dict)
    value: float | None = None


@dataclass(frozen=True)
class FixtureSeries:
    labels: Mapping[str, str] = field(default_factory=dict)
    values: tuple[float, ...] = ()


def scraped_samples() -> list[FixtureSample]:
    """Every sample of the fixtures with the labels Prometheus adds (job, instance) and its sample name."""
    samples = []
    for path, job, instance, extra in TARGETS:
        for family in text_string_to_metric_families((FIXTURES / path).read_text()):
            for s in family.samples:
                samples.append(FixtureSample({**s.labels, **extra, "__name__": s.name, "job": job,
                                              "instance": instance}, s.value))
    return samples


def fixture_answers() -> dict[str, list]:
    samples = scraped_samples()
    by_name = lambda name: [s for s in samples if s.labels["__name__"] == name]  # noqa: E731
    rates = {"gpu-node-1:8000": (0.0, 0.0, 0.0, None), "gpu-node-2:8000": (540.0, 96.0, 1.4, 2.31)}

    def rate_answer(index: int) -> list[FixtureSample]:
        return [FixtureSample({"instance": instance, "job": "vllm", "model_name": "tiny-llama"}, values[index])
                for instance, values in rates.items()]

    return {"gauges": [s for s in samples if not s.labels["__name__"].endswith(("_bucket", "_sum", "_count",
                                                                                 "_total", "_created"))],
            "cache_config": by_name("vllm:cache_config_info"),
            "generation_tps": rate_answer(0), "prompt_tps": rate_answer(1), "preemptions_ps": rate_answer(2),
            "ttft_p95": rate_answer(3)}


def fixture_history() -> dict[str, list[FixtureSeries]]:
    """The recorded starvation wave up to its last full-cache sample: the sparklines end where the instant is."""
    rows = timeseries()
    rows = rows[:max(i for i, r in enumerate(rows) if r["kv_usage"] >= 0.9) + 1]
    gen = [max(0.0, (b["gen_tokens"] - a["gen_tokens"]) / (b["t_s"] - a["t_s"])) for a, b in zip(rows, rows[1:])]
    return {"kv_max": [FixtureSeries({}, tuple(r["kv_usage"] for r in rows))],
            "waiting": [FixtureSeries({}, tuple(r["waiting"] for r in rows))],
            "generation_tps": [FixtureSeries({}, tuple(gen))]}


def fixture_fleet(context_len: int | None = 1024, fan_out: int | None = 3) -> Fleet:
    return build_fleet(PROMETHEUS_URL, T0, fixture_answers(), fixture_history(), 300.0, context_len, fan_out)


def fleet_readings() -> list[GpuReading]:
    """The GPU screen with a Prometheus configured: this host's fake H100 and no local vLLM, and the fleet."""
    return [GpuReading(gpus=gpu_snapshot(), servers=(), facts=ServingFacts(max_model_len=1024, fan_out=3),
                       taken_at=T0, fleet=fixture_fleet())]
