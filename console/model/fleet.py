"""The fleet seen through Prometheus, as plain data: what to ask, and the answers grouped into vLLM replicas, GPUs,
LangGraph servers and one row per host, with the imbalance between replicas and the fleet's KV capacity against
the graphs' fan-out. No I/O: console/sources/gpu.py runs the queries and hands their samples here.

Samples are any objects with `labels` (a mapping) and `value` (a float or None); series have `labels` and `values`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from lgconsole.console.model.capacity import Verdict, recommended_max_num_seqs, sequences_that_fit

RATE_WINDOW = "1m"  # rates and the TTFT p95 are over this window (Prometheus duration)
# what names a host, in this order: the DCGM exporter's own label, then labels people attach to targets by
# relabelling; without any, the host part of `instance`
HOST_LABELS = ("Hostname", "hostname", "node", "host", "nodename")
MIB = 2**20

VLLM_GAUGES = {"vllm:kv_cache_usage_perc": "kv_usage", "vllm:gpu_cache_usage_perc": "kv_usage",
               "vllm:num_requests_running": "running", "vllm:num_requests_waiting": "waiting"}
DCGM_GAUGES = {"DCGM_FI_DEV_FB_USED": "fb_used", "DCGM_FI_DEV_FB_FREE": "fb_free", "DCGM_FI_DEV_GPU_UTIL": "util",
               "DCGM_FI_DEV_GPU_TEMP": "temperature", "DCGM_FI_DEV_POWER_USAGE": "power"}
LG_GAUGES = {f"lg_api_{name}": name for name in (
    "num_pending_runs", "num_running_runs", "workers_max", "workers_active", "workers_available",
    "pg_pool_max", "pg_pool_size", "pg_pool_available", "redis_pool_max", "redis_pool_size", "redis_pool_available")}
_GAUGE_NAMES = "|".join((*VLLM_GAUGES, *DCGM_GAUGES, *LG_GAUGES))  # names hold no regex characters


def _per_replica(expr: str) -> str:
    """Summed over a replica's engines (data parallel), every other label kept (instance, model_name, host labels)."""
    return f"sum without (engine) ({expr})"


# instant queries, by the key the answers come back under
INSTANT_QUERIES = {
    "gauges": f'{{__name__=~"{_GAUGE_NAMES}"}}',
    "cache_config": "vllm:cache_config_info",
    "generation_tps": _per_replica(f"rate(vllm:generation_tokens_total[{RATE_WINDOW}])"),
    "prompt_tps": _per_replica(f"rate(vllm:prompt_tokens_total[{RATE_WINDOW}])"),
    "preemptions_ps": _per_replica(f"rate(vllm:num_preemptions_total[{RATE_WINDOW}])"),
    "ttft_p95": "histogram_quantile(0.95, "
                + _per_replica(f"rate(vllm:time_to_first_token_seconds_bucket[{RATE_WINDOW}])") + ")",
}
# range queries for the sparklines: the fleet's fullest KV cache, its queue, its generation throughput
RANGE_QUERIES = {
    "kv_max": "max(vllm:kv_cache_usage_perc)",
    "waiting": "sum(vllm:num_requests_waiting)",
    "generation_tps": f"sum(rate(vllm:generation_tokens_total[{RATE_WINDOW}]))",
}


def host_of(labels: Mapping[str, str]) -> str:
    for name in HOST_LABELS:
        if labels.get(name):
            return labels[name]
    instance = labels.get("instance", "")
    if instance.startswith("["):  # [::1]:8000
        return instance[1:].split("]", 1)[0] or "?"
    return instance.rsplit(":", 1)[0] if instance.count(":") == 1 else (instance or "?")


@dataclass(frozen=True)
class Replica:
    """One vLLM server (one `instance` serving one `model_name`), its engines added up."""

    host: str
    instance: str
    model: str
    kv_usage: float | None = None
    running: int | None = None
    waiting: int | None = None
    generation_tps: float | None = None
    prompt_tps: float | None = None
    preemptions_ps: float | None = None
    ttft_p95: float | None = None  # seconds
    num_gpu_blocks: int | None = None
    block_size: int | None = None
    max_concurrency: float | None = None  # vLLM's own count of max_model_len sequences its KV cache holds

    @property
    def key(self) -> str:
        return f"{self.instance} {self.model}"


@dataclass(frozen=True)
class FleetGpu:
    """One GPU as the DCGM exporter reports it (framebuffer in MiB there, bytes here)."""

    host: str
    gpu: str
    uuid: str = ""
    model: str = ""
    memory_used: int | None = None
    memory_free: int | None = None
    util: float | None = None  # percent
    temperature: float | None = None  # °C
    power: float | None = None  # W

    @property
    def memory_total(self) -> int | None:
        if self.memory_used is None or self.memory_free is None:
            return None
        return self.memory_used + self.memory_free


@dataclass(frozen=True)
class FleetServer:
    """One LangGraph server's own /metrics. Pending and running runs come only from the Postgres runtime (the dev
    runtime exports workers only): None when absent."""

    host: str
    instance: str
    pending_runs: int | None = None
    running_runs: int | None = None
    workers_max: int | None = None
    workers_active: int | None = None
    workers_available: int | None = None
    pg_pool: tuple[int | None, int | None, int | None] = (None, None, None)  # max, size, available
    redis_pool: tuple[int | None, int | None, int | None] = (None, None, None)


@dataclass(frozen=True)
class HostRow:
    """Everything one host runs, added up."""

    host: str
    gpus: int = 0
    memory_used: int | None = None
    memory_total: int | None = None
    util: float | None = None  # mean over its GPUs
    temperature: float | None = None  # the hottest
    power: float | None = None  # summed
    replicas: int = 0
    kv_usage: float | None = None  # its fullest replica
    running: int | None = None
    waiting: int | None = None
    generation_tps: float | None = None
    ttft_p95: float | None = None  # its slowest replica
    servers: int = 0
    pending_runs: int | None = None
    running_runs: int | None = None
    workers_active: int | None = None
    workers_max: int | None = None


@dataclass(frozen=True)
class Imbalance:
    """How unevenly the replicas of one model are loaded. Spread = max - min of KV usage (fractions)."""

    replicas: int
    kv_max: float | None = None
    kv_min: float | None = None
    fullest: str | None = None  # replica key
    emptiest: str | None = None
    waiting_max: int | None = None
    waiting_min: int | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict("info", "no replica reports KV usage"))

    @property
    def kv_spread(self) -> float | None:
        return None if self.kv_max is None or self.kv_min is None else self.kv_max - self.kv_min


@dataclass(frozen=True)
class FleetCapacity:
    """The fleet's KV cache in sequences at one context length, against the graphs' fan-out and the runs the
    LangGraph servers can execute at once."""

    context_len: int | None
    sequences_fit: int | None  # summed over replicas
    sequences_free: int | None
    largest_replica_fit: int | None
    fan_out: int | None
    workers: int | None  # runs the servers execute at once (sum of lg_api_workers_max)
    verdicts: tuple[Verdict, ...] = ()


@dataclass(frozen=True)
class Fleet:
    url: str  # the Prometheus, credentials redacted
    taken_at: float
    replicas: tuple[Replica, ...] = ()
    gpus: tuple[FleetGpu, ...] = ()
    servers: tuple[FleetServer, ...] = ()
    hosts: tuple[HostRow, ...] = ()
    imbalance: Imbalance = field(default_factory=lambda: Imbalance(0))
    capacity: FleetCapacity | None = None
    history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # RANGE_QUERIES key -> values
    history_seconds: float = 0.0
    error: str | None = None  # the Prometheus could not be asked: the rest is empty

    @property
    def ok(self) -> bool:
        return self.error is None


# --- grouping ------------------------------------------------------------------------------------------------

def _int(value: float | None) -> int | None:
    """A count or size; None for no number, or one past float range after a sum (an exporter's nonsense)."""
    return None if value is None or not math.isfinite(value) else int(round(value))


def _label_int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "", "None") else None
    except (TypeError, ValueError, OverflowError):
        return None


def _label_float(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "", "None") else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and math.isfinite(value) else None


def _add(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else a + b


def _replica_key(labels: Mapping[str, str]) -> tuple[str, str]:
    return labels.get("instance", "?"), labels.get("model_name", "?")


def replicas_from(answers: Mapping[str, Sequence]) -> list[Replica]:
    fields_by_key: dict[tuple[str, str], dict] = {}
    hosts: dict[tuple[str, str], str] = {}

    def slot(labels) -> dict:
        key = _replica_key(labels)
        hosts.setdefault(key, host_of(labels))
        return fields_by_key.setdefault(key, {})

    for s in answers.get("gauges", ()):
        name = VLLM_GAUGES.get(s.labels.get("__name__", ""))
        if name is None:
            continue
        values = slot(s.labels)
        if name == "kv_usage":  # engines of one server: the fullest is what starves
            if s.value is not None:
                values[name] = max(values.get(name, 0.0), s.value)
        else:
            values[name] = _add(values.get(name), s.value)
    # cache_config_info carries no model_name (vLLM 0.32): it belongs to every replica at its instance
    caches: dict[str, dict] = {}
    for s in answers.get("cache_config", ()):
        cache = caches.setdefault(s.labels.get("instance", "?"), {})
        cache["num_gpu_blocks"] = _add(cache.get("num_gpu_blocks"), _label_int(s.labels.get("num_gpu_blocks")))
        cache["block_size"] = _label_int(s.labels.get("block_size"))
        cache["max_concurrency"] = _add(cache.get("max_concurrency"),
                                        _label_float(s.labels.get("kv_cache_max_concurrency")))
    for key in ("generation_tps", "prompt_tps", "preemptions_ps", "ttft_p95"):
        for s in answers.get(key, ()):
            if "model_name" in s.labels or "instance" in s.labels:
                slot(s.labels)[key] = s.value
    replicas = []
    for key, values in fields_by_key.items():
        values = {**caches.get(key[0], {}), **values}
        blocks = values.get("num_gpu_blocks")
        replicas.append(Replica(
            host=hosts[key], instance=key[0], model=key[1], kv_usage=values.get("kv_usage"),
            running=_int(values.get("running")), waiting=_int(values.get("waiting")),
            generation_tps=values.get("generation_tps"), prompt_tps=values.get("prompt_tps"),
            preemptions_ps=values.get("preemptions_ps"), ttft_p95=values.get("ttft_p95"),
            num_gpu_blocks=int(blocks) if blocks is not None else None, block_size=values.get("block_size"),
            max_concurrency=values.get("max_concurrency")))
    return sorted(replicas, key=lambda r: (r.host, r.instance, r.model))


def gpus_from(samples: Iterable) -> list[FleetGpu]:
    by_key: dict[tuple[str, str], dict] = {}
    for s in samples:
        name = DCGM_GAUGES.get(s.labels.get("__name__", ""))
        if name is None:
            continue
        key = (host_of(s.labels), s.labels.get("gpu", "?"))
        values = by_key.setdefault(key, {"uuid": s.labels.get("UUID", ""), "model": s.labels.get("modelName", "")})
        values[name] = s.value
    gpus = []
    for (host, gpu), v in by_key.items():
        used, free = v.get("fb_used"), v.get("fb_free")
        gpus.append(FleetGpu(host=host, gpu=gpu, uuid=v["uuid"], model=v["model"],
                             memory_used=_int(None if used is None else used * MIB),
                             memory_free=_int(None if free is None else free * MIB),
                             util=v.get("util"), temperature=v.get("temperature"), power=v.get("power")))
    return sorted(gpus, key=lambda g: (g.host, _label_int(g.gpu) if _label_int(g.gpu) is not None else 0, g.gpu))


def servers_from(samples: Iterable) -> list[FleetServer]:
    by_instance: dict[str, dict] = {}
    hosts: dict[str, str] = {}
    for s in samples:
        name = LG_GAUGES.get(s.labels.get("__name__", ""))
        if name is None:
            continue
        instance = s.labels.get("instance", "?")
        hosts.setdefault(instance, host_of(s.labels))
        values = by_instance.setdefault(instance, {})
        values[name] = _add(values.get(name), s.value)  # several workers of one server: add up
    servers = []
    for instance, v in by_instance.items():
        get = lambda name: _int(v.get(name))  # noqa: E731
        servers.append(FleetServer(
            host=hosts[instance], instance=instance, pending_runs=get("num_pending_runs"),
            running_runs=get("num_running_runs"), workers_max=get("workers_max"),
            workers_active=get("workers_active"), workers_available=get("workers_available"),
            pg_pool=(get("pg_pool_max"), get("pg_pool_size"), get("pg_pool_available")),
            redis_pool=(get("redis_pool_max"), get("redis_pool_size"), get("redis_pool_available"))))
    return sorted(servers, key=lambda s: (s.host, s.instance))


def _sum(values: Iterable[float | None]) -> float | None:
    total = None
    for value in values:
        total = _add(total, value)
    return total


def _known(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def host_rows(replicas: Sequence[Replica], gpus: Sequence[FleetGpu], servers: Sequence[FleetServer]) -> list[HostRow]:
    names = sorted({r.host for r in replicas} | {g.host for g in gpus} | {s.host for s in servers})
    rows = []
    for host in names:
        rs = [r for r in replicas if r.host == host]
        gs = [g for g in gpus if g.host == host]
        ss = [s for s in servers if s.host == host]
        utils = _known(g.util for g in gs)
        rows.append(HostRow(
            host=host, gpus=len(gs), memory_used=_int(_sum(g.memory_used for g in gs)),
            memory_total=_int(_sum(g.memory_total for g in gs)),
            util=sum(utils) / len(utils) if utils else None,
            temperature=max(_known(g.temperature for g in gs), default=None),
            power=_sum(g.power for g in gs), replicas=len(rs),
            kv_usage=max(_known(r.kv_usage for r in rs), default=None),
            running=_int(_sum(r.running for r in rs)), waiting=_int(_sum(r.waiting for r in rs)),
            generation_tps=_sum(r.generation_tps for r in rs),
            ttft_p95=max(_known(r.ttft_p95 for r in rs), default=None), servers=len(ss),
            pending_runs=_int(_sum(s.pending_runs for s in ss)), running_runs=_int(_sum(s.running_runs for s in ss)),
            workers_active=_int(_sum(s.workers_active for s in ss)), workers_max=_int(_sum(s.workers_max for s in ss))))
    return rows


# --- imbalance and capacity ----------------------------------------------------------------------------------

SPREAD_WARN = 0.3  # KV usage points between the fullest and the emptiest replica worth a look
FULL = 0.9  # the starvation alarm's threshold (capacity.StarvationDetector)
IDLE = 0.5


LEVELS = {"bad": 3, "warn": 2, "ok": 1, "info": 0}


def imbalance(replicas: Sequence[Replica]) -> Imbalance:
    """The worst imbalance between the replicas of one model (replicas of different models share no load)."""
    by_model: dict[str, list[Replica]] = {}
    for r in replicas:
        by_model.setdefault(r.model, []).append(r)
    found = [model_imbalance(group) for group in by_model.values()]
    return max(found, key=lambda i: (LEVELS.get(i.verdict.level, 0), i.kv_spread or 0.0), default=Imbalance(0))


def model_imbalance(replicas: Sequence[Replica]) -> Imbalance:
    """Max against min KV usage and queue between replicas: a queue on a full replica while another sits half
    empty means the balancer does not see load (round robin over long agent runs)."""
    measured = [r for r in replicas if r.kv_usage is not None]
    if not measured:
        return Imbalance(len(replicas))
    fullest = max(measured, key=lambda r: (r.kv_usage, r.waiting or 0))
    emptiest = min(measured, key=lambda r: (r.kv_usage, r.waiting or 0))
    waits = _known(r.waiting for r in replicas)
    base = dict(replicas=len(replicas), kv_max=fullest.kv_usage, kv_min=emptiest.kv_usage, fullest=fullest.key,
                emptiest=emptiest.key, waiting_max=int(max(waits)) if waits else None,
                waiting_min=int(min(waits)) if waits else None)
    if len(measured) < 2:
        return Imbalance(**base, verdict=Verdict("info", "one replica: no imbalance to measure"))
    spread = fullest.kv_usage - emptiest.kv_usage
    line = (f"KV {fullest.kv_usage:.0%} on {fullest.host} ({fullest.instance}) vs {emptiest.kv_usage:.0%} on "
            f"{emptiest.host} ({emptiest.instance})")
    if (fullest.kv_usage >= FULL and (fullest.waiting or 0) > 0 and emptiest.kv_usage < IDLE
            and not emptiest.waiting):
        verdict = Verdict("bad", f"unbalanced: {line}; {fullest.waiting} waiting on the full one while the other "
                                 "has room: route by load (least KV usage or fewest waiting), not round robin")
    elif spread >= SPREAD_WARN:
        verdict = Verdict("warn", f"uneven: {line} (spread {spread:.0%})")
    else:
        verdict = Verdict("ok", f"balanced: KV {emptiest.kv_usage:.0%}-{fullest.kv_usage:.0%} over "
                                f"{len(measured)} replicas")
    return Imbalance(**base, verdict=verdict)


def fleet_capacity(replicas: Sequence[Replica], servers: Sequence[FleetServer], context_len: int | None,
                   fan_out: int | None) -> FleetCapacity:
    """Sequences of `context_len` tokens the replicas' KV caches hold together (vLLM's own max-concurrency figure
    at its max_model_len when the context length is unknown), against fan-out x the runs the servers execute."""
    fits, frees = [], []
    for r in replicas:
        if context_len and r.num_gpu_blocks and r.block_size:
            fit = sequences_that_fit(r.num_gpu_blocks, r.block_size, context_len)
        elif r.max_concurrency is not None and math.isfinite(r.max_concurrency) and r.max_concurrency >= 0:
            fit = int(r.max_concurrency)
        else:
            continue
        fits.append(fit)
        if r.kv_usage is not None:
            frees.append(int(fit * min(1.0, max(0.0, 1.0 - r.kv_usage))))
    total = sum(fits) if fits else None
    workers = _int(_sum(s.workers_max for s in servers))
    ctx = f"{context_len:,} tokens" if context_len else "each replica's max_model_len"
    verdicts: list[Verdict] = []
    if total is None:
        verdicts.append(Verdict("info", "KV cache size unknown (no vllm:cache_config_info in Prometheus)"))
    elif fan_out:
        runs = total // fan_out
        if total < fan_out:
            verdicts.append(Verdict("bad", f"the fleet's KV cache holds {total:,} sequences at {ctx} but one run "
                                           f"fans out to {fan_out}: expect preemptions"))
        elif workers and workers * fan_out > total:
            verdicts.append(Verdict("warn", f"{workers} runs at once (lg_api_workers_max) x fan-out {fan_out} = "
                                            f"{workers * fan_out:,} sequences, the fleet holds {total:,} at {ctx}: "
                                            f"full load preempts; add replicas or cap the servers at {runs} runs"))
        else:
            verdicts.append(Verdict("ok", f"the fleet holds {total:,} sequences at {ctx}: {runs:,} runs fanning "
                                          f"out to {fan_out} at once (--max-num-seqs >= "
                                          f"{recommended_max_num_seqs(fan_out)} per replica)"))
    else:
        verdicts.append(Verdict("info", f"the fleet holds {total:,} sequences at {ctx}; graph fan-out unknown"))
    return FleetCapacity(context_len=context_len, sequences_fit=total, sequences_free=sum(frees) if frees else None,
                         largest_replica_fit=max(fits) if fits else None, fan_out=fan_out, workers=workers,
                         verdicts=tuple(verdicts))


def build_fleet(url: str, taken_at: float, answers: Mapping[str, Sequence], history: Mapping[str, Sequence] = {},
                history_seconds: float = 0.0, context_len: int | None = None, fan_out: int | None = None) -> Fleet:
    """The fleet from the answers to INSTANT_QUERIES (and RANGE_QUERIES in `history`, one fleet-wide series each)."""
    gauges = answers.get("gauges", ())
    replicas = replicas_from(answers)
    gpus = gpus_from(gauges)
    servers = servers_from(gauges)
    values = {}
    for key, series in history.items():
        values[key] = tuple(series[0].values) if series else ()
    return Fleet(url=url, taken_at=taken_at, replicas=tuple(replicas), gpus=tuple(gpus), servers=tuple(servers),
                 hosts=tuple(host_rows(replicas, gpus, servers)), imbalance=imbalance(replicas),
                 capacity=fleet_capacity(replicas, servers, context_len, fan_out), history=values,
                 history_seconds=history_seconds)
