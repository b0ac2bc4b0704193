"""What the GPU screen and `lgconsole gpu` show, as plain data: NVML + vLLM readings, their history, the alarm.

`GpuSource` does the blocking reads (NVML, `/metrics` scrapes, config files) and is only called from workers.
`GpuTelemetry` keeps the last minutes of readings per vLLM server (ring buffers, rate windows, the starvation
detector); console/rows/gpu.py turns them into the widgets' rows.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from lgconsole.stack.metrics.nvml import GpuSnapshot, NvmlReader, default_reader
from lgconsole.stack.services.service import StackSpec, redact_url
from lgconsole.stack.metrics.vllm import (MetricsWindow, Percentiles, VllmMetrics, VllmRates,
                                          VllmScraper, base_url, lifetime_latency)

from lgconsole.console.model.capacity import (CapacityError, CapacityReport, StarvationDetector, StarvationEpisode,
                                              StarvationSample, capacity_report, graph_fan_out, kv_bytes_per_token)
from lgconsole.console.config import Config
from lgconsole.console.model.fleet import INSTANT_QUERIES, RANGE_QUERIES, Fleet, build_fleet
from lgconsole.console.model.masking import mask_argv

HISTORY_SECONDS = 300.0  # the sparklines' "last minutes"
RATE_WINDOW_SECONDS = 60.0  # rates and latency percentiles are over this window
MAX_POINTS = 3000  # 10 Hz for 5 minutes


@dataclass(frozen=True)
class ServingFacts:
    """What capacity needs beyond /metrics: from the config, the model's config.json, /v1/models, the graph."""

    max_num_seqs: int | None = None
    max_model_len: int | None = None
    fan_out: int | None = None
    bytes_per_token: int | None = None
    kv_cache_dtype: str | None = None


@dataclass(frozen=True)
class GpuReading:
    """One refresh: every GPU and every configured vLLM server."""

    gpus: GpuSnapshot
    servers: tuple[VllmMetrics, ...] = ()
    facts: ServingFacts = field(default_factory=ServingFacts)
    taken_at: float = 0.0
    threads_in_flight: tuple[str, ...] = ()  # threads with a run pending/running while requests queued at vLLM
    fleet: Fleet | None = None  # from the configured Prometheus; None when there is none


# --- where to read from ----------------------------------------------------------------------------------------

def vllm_urls(config: Config) -> list[str]:
    """The vLLM servers of this stack: an external `vllm.url` (or VLLM_URL), else the managed server's port."""
    if config.vllm.url:
        return [base_url(u) for u in config.vllm.url.split(",") if u.strip()]
    if not config.vllm.model:
        return []
    try:
        spec = StackSpec.load(config.state_path)
    except (OSError, ValueError, TypeError):
        return []
    port = (spec.services.get("vllm") or {}).get("port")
    return [f"http://127.0.0.1:{port}"] if port else []


def load_model_config(model: str | None) -> dict | None:
    """config.json of a model given as a local directory; hub ids are not fetched (no network from here)."""
    if not model:
        return None
    path = Path(model).expanduser() / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def serving_facts(config: Config, max_model_len: int | None = None, fan_out: int | None = None) -> ServingFacts:
    v = config.vllm
    bytes_per_token = None
    model_config = load_model_config(v.model)
    if model_config:
        try:
            bytes_per_token = kv_bytes_per_token(model_config, v.kv_cache_dtype or "auto", v.tensor_parallel_size or 1)
        except CapacityError:
            bytes_per_token = None
    return ServingFacts(max_num_seqs=v.max_num_seqs, max_model_len=v.max_model_len or max_model_len,
                        fan_out=fan_out, bytes_per_token=bytes_per_token, kv_cache_dtype=v.kv_cache_dtype or None)


def served_graphs_fan_out(config: Config) -> int | None:
    """The peak fan-out of the graphs the LangGraph server serves, from their topologies (blocking; None when
    the server cannot be asked)."""
    import asyncio

    from lgconsole.stack.server.assistants import get_graph, list_assistants
    from lgconsole.stack.errors import StackError

    from lgconsole.console.sources.urls import langgraph_url

    async def fan_out() -> int:
        url = langgraph_url(config)
        graphs = [await get_graph(url, a.assistant_id) for a in await list_assistants(url)]
        return max((graph_fan_out(g) for g in graphs), default=0)

    try:
        return asyncio.run(fan_out()) or None
    except StackError:
        return None


class FleetReader:
    """The fleet from an existing Prometheus: INSTANT_QUERIES now and RANGE_QUERIES over the sparklines' span,
    one connection kept between reads. A Prometheus that cannot be asked gives a Fleet with `error` set.

    The range queries run once per step of their own (span / points): a 10 Hz screen asks for the history no more
    often than it can change."""

    def __init__(self, url: str, timeout: float = 5.0, history: float = HISTORY_SECONDS, points: int = 60,
                 headers: dict | None = None):
        from lgconsole.stack.metrics.prometheus import PrometheusClient

        self.client = PrometheusClient(url, timeout=timeout, headers=headers)
        self.history = history
        self.points = points
        self._history: dict | None = None
        self._history_at = 0.0

    def read(self, context_len: int | None = None, fan_out: int | None = None) -> Fleet:
        from lgconsole.stack.errors import StackError

        now = time.time()
        try:
            answers = {key: self.client.query(promql, at=now) for key, promql in INSTANT_QUERIES.items()}
            step = max(1.0, self.history / self.points)
            if self._history is None or now - self._history_at >= step:
                self._history = {key: self.client.query_range(promql, now - self.history, now, step)
                                 for key, promql in RANGE_QUERIES.items()}
                self._history_at = now
        except StackError as exc:
            self._history = None
            return Fleet(url=self.client.shown, taken_at=now, error=str(exc))
        return build_fleet(self.client.shown, now, answers, self._history, self.history, context_len, fan_out)

    def close(self) -> None:
        self.client.close()


class GpuSource:
    """Blocking reads for the GPU screen and CLI: NVML through one process-wide reader, /metrics of each server,
    and the fleet from the configured Prometheus (`[prometheus] url`, PROMETHEUS_URL).

    `fan_out` is a callable giving the graph's peak fan-out (from its topology or observed Sends), or None.
    """

    FACTS_EVERY = 30.0  # config.json, /v1/models and the stack spec change rarely

    def __init__(self, config: Config, urls: Sequence[str] | None = None, nvml: NvmlReader | None = None,
                 timeout: float = 2.0, fan_out: Callable[[], int | None] | None = None):
        self.config = config
        self.fixed_urls = [base_url(u) for u in urls] if urls else None
        self.nvml = nvml or default_reader()
        self.timeout = timeout
        self.fan_out = fan_out
        self._scraper: VllmScraper | None = None
        self._facts: ServingFacts | None = None
        self._facts_at = 0.0
        self._fleet: FleetReader | None = None

    @property
    def urls(self) -> list[str]:
        return self.fixed_urls if self.fixed_urls is not None else vllm_urls(self.config)

    def _scraper_for(self, urls: list[str]) -> VllmScraper:
        if self._scraper is None or self._scraper.urls != urls:
            if self._scraper is not None:
                self._scraper.close()
            self._scraper = VllmScraper(urls, timeout=self.timeout)
        return self._scraper

    def read(self, vllm_pids: Iterable[int] = ()) -> GpuReading:
        now = time.monotonic()
        refresh_facts = self._facts is None or now - self._facts_at >= self.FACTS_EVERY
        urls = self.urls if (refresh_facts or self._scraper is None) else self._scraper.urls
        scraper = self._scraper_for(urls)
        gpus = masked_commands(self.nvml.read(vllm_pids))
        servers = tuple(scraper.scrape_all())
        if refresh_facts:
            max_len = None
            for url, metrics in zip(urls, servers):
                if metrics.ok:
                    info = scraper.model_info(url)
                    max_len = info.get("max_model_len") if info else None
                    break
            fan_out = self.fan_out() if self.fan_out else None
            self._facts = serving_facts(self.config, max_len, fan_out)
            self._facts_at = now
        facts = self._facts or ServingFacts()
        return GpuReading(gpus=gpus, servers=servers, facts=facts, taken_at=time.time(),
                          threads_in_flight=self._threads_in_flight(servers), fleet=self._read_fleet(facts))

    def _read_fleet(self, facts: ServingFacts) -> Fleet | None:
        prometheus = getattr(self.config, "prometheus", None)
        url = prometheus.url if prometheus else ""
        if not url:
            return None
        if self._fleet is None or self._fleet.client.url != url.rstrip("/"):
            if self._fleet is not None:
                self._fleet.close()
            self._fleet = FleetReader(url, timeout=prometheus.timeout, headers=prometheus.http_headers())
        return self._fleet.read(facts.max_model_len, facts.fan_out)

    def _threads_in_flight(self, servers: Sequence[VllmMetrics]) -> tuple[str, ...]:
        """Asked of the LangGraph server only while some vLLM has a queue: who is waiting on the model."""
        if not any(m.ok and (m.waiting or 0) > 0 for m in servers):
            return ()
        from lgconsole.stack.errors import StackError
        from lgconsole.stack.metrics.ops_stats import active_runs

        from lgconsole.console.sources.urls import langgraph_url

        try:
            return tuple(sorted({run.thread_id for run in active_runs(langgraph_url(self.config))}))
        except StackError:
            return ()

    def close(self) -> None:
        if self._scraper is not None:
            self._scraper.close()
            self._scraper = None
        if self._fleet is not None:
            self._fleet.close()
            self._fleet = None


class ReplayGpuSource:
    """Replays fixed readings (tests, screenshots, benchmarks): each `read()` gives the next, the last repeats."""

    def __init__(self, readings: Sequence[GpuReading]):
        self.readings = list(readings)
        self.index = 0

    def read(self, vllm_pids: Iterable[int] = ()) -> GpuReading:
        reading = self.readings[min(self.index, len(self.readings) - 1)]
        self.index += 1
        return reading

    def close(self) -> None:
        pass


# --- history and the alarm -----------------------------------------------------------------------------------

class Series:
    """(t, value) points of the last `span` seconds, for one sparkline."""

    def __init__(self, span: float = HISTORY_SECONDS, max_points: int = MAX_POINTS):
        self.span = span
        self.points: deque[tuple[float, float]] = deque(maxlen=max_points)

    def add(self, t: float, value: float | None) -> None:
        if value is None:
            return
        self.points.append((t, float(value)))
        while self.points and t - self.points[0][0] > self.span:
            self.points.popleft()

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points]

    @property
    def seconds(self) -> float:
        return self.points[-1][0] - self.points[0][0] if len(self.points) > 1 else 0.0


class ServerTrack:
    """One vLLM server over time: the latest scrape, its error, sparkline series, rate window, alarm."""

    def __init__(self, url: str, max_num_seqs: int | None = None, history: float = HISTORY_SECONDS,
                 rate_window: float = RATE_WINDOW_SECONDS):
        self.url = url
        self.latest: VllmMetrics | None = None  # the last successful scrape
        self.error: str | None = None
        self.window = MetricsWindow(rate_window)
        self.usage = Series(history)
        self.running = Series(history)
        self.waiting = Series(history)
        self.preemption_rate = Series(history)
        self.detector = StarvationDetector(max_num_seqs=max_num_seqs)

    def ingest(self, metrics: VllmMetrics, in_flight_threads: Iterable[str] = ()) -> None:
        if not metrics.ok:
            self.error = metrics.error
            return
        self.error = None
        previous = self.window.latest
        self.window.add(metrics)
        self.latest = metrics
        t = metrics.taken_at
        self.usage.add(t, metrics.kv_cache_usage)
        self.running.add(t, metrics.running)
        self.waiting.add(t, metrics.waiting)
        if previous is not None and metrics.preemptions_total is not None and previous.preemptions_total is not None \
                and t > previous.taken_at:
            delta = metrics.preemptions_total - previous.preemptions_total
            self.preemption_rate.add(t, max(0.0, delta) / (t - previous.taken_at))
        self.detector.update(StarvationSample.of(metrics), in_flight_threads)

    @property
    def rates(self) -> VllmRates | None:
        return self.window.rates()

    @property
    def firing(self) -> StarvationEpisode | None:
        return self.detector.current

    def latency(self) -> tuple[str, dict[str, Percentiles]]:
        """Percentiles over the rate window once it holds observations, else since the server started."""
        rates = self.rates
        if rates is not None and any(p.count for p in rates.latency.values()):
            return f"last {rates.seconds:.0f}s", rates.latency
        if self.latest is not None:
            return "since start", lifetime_latency(self.latest)
        return "", {}


class GpuTelemetry:
    """Everything the GPU screen has seen: the latest reading and one `ServerTrack` per vLLM URL."""

    def __init__(self, history: float = HISTORY_SECONDS, rate_window: float = RATE_WINDOW_SECONDS):
        self.history = history
        self.rate_window = rate_window
        self.reading: GpuReading | None = None
        self.tracks: dict[str, ServerTrack] = {}

    def ingest(self, reading: GpuReading, in_flight_threads: Iterable[str] = ()) -> None:
        self.reading = reading
        threads = tuple(in_flight_threads)
        for metrics in reading.servers:
            track = self.tracks.get(metrics.url)
            if track is None:
                track = self.tracks[metrics.url] = ServerTrack(metrics.url, reading.facts.max_num_seqs,
                                                               self.history, self.rate_window)
            track.detector.max_num_seqs = reading.facts.max_num_seqs
            track.ingest(metrics, threads)
        wanted = {m.url for m in reading.servers}
        for url in [u for u in self.tracks if u not in wanted]:
            del self.tracks[url]

    @property
    def firing(self) -> list[tuple[ServerTrack, StarvationEpisode]]:
        return [(t, t.firing) for t in self.tracks.values() if t.firing is not None]

    def capacity(self, track: ServerTrack) -> CapacityReport:
        facts = self.reading.facts if self.reading else ServingFacts()
        cache = track.latest.cache_config if track.latest else None
        bytes_per_token = facts.bytes_per_token
        if cache and cache.kv_cache_memory_bytes and cache.tokens and bytes_per_token is None:
            bytes_per_token = cache.kv_cache_memory_bytes // cache.tokens
        return capacity_report(
            num_blocks=cache.num_gpu_blocks if cache else None, block_size=cache.block_size if cache else None,
            context_len=facts.max_model_len, fan_out=facts.fan_out, max_num_seqs=facts.max_num_seqs,
            usage=track.latest.kv_cache_usage if track.latest else None, bytes_per_token=bytes_per_token)


def masked_commands(snapshot: GpuSnapshot) -> GpuSnapshot:
    """The snapshot with each process's command line masked by the one masking policy and its raw argv dropped:
    nothing past this source (panes, `gpu` text and --json) holds a GPU process's secrets."""
    if not any(p.argv for d in snapshot.devices for p in d.processes):
        return snapshot
    devices = tuple(dataclasses.replace(d, processes=tuple(
        dataclasses.replace(p, argv=(), command=mask_argv(tuple(p.argv)) if p.argv else p.command)
        for p in d.processes)) for d in snapshot.devices)
    return dataclasses.replace(snapshot, devices=devices)


def reading_json(reading: GpuReading, telemetry: GpuTelemetry | None = None) -> dict:
    """`lgconsole gpu --json`: GPUs, processes (commands masked), each server's metrics, rates and capacity."""
    servers = []
    for metrics in reading.servers:
        entry = metrics.to_json()
        entry["url"] = redact_url(entry["url"])
        track = telemetry.tracks.get(metrics.url) if telemetry else None
        if track is not None and metrics.ok:
            rates = track.rates
            entry["rates"] = None if rates is None else {
                "seconds": rates.seconds, "preemptions_per_s": rates.preemptions_per_s,
                "prefix_cache_hit_rate": rates.prefix_cache_hit_rate,
                "prompt_tokens_per_s": rates.prompt_tokens_per_s,
                "generation_tokens_per_s": rates.generation_tokens_per_s,
                "latency": {k: vars(v) for k, v in rates.latency.items()}}
            report = telemetry.capacity(track)
            entry["capacity"] = {
                "context_len": report.context_len, "num_blocks": report.num_blocks, "block_size": report.block_size,
                "kv_tokens": report.kv_tokens, "sequences_fit": report.sequences_fit,
                "sequences_free": report.sequences_free, "fan_out": report.fan_out,
                "max_num_seqs": report.max_num_seqs, "recommended_max_num_seqs": report.recommended_max_num_seqs,
                "bytes_per_token": report.bytes_per_token,
                "verdicts": [{"level": v.level, "text": v.text} for v in report.verdicts]}
            episode = track.firing
            entry["starvation"] = None if episode is None else {
                "fired_at": episode.fired_at, "preemptions": episode.preemptions,
                "time_to_detect_s": episode.time_to_detect}
        servers.append(entry)
    gpus = reading.gpus.to_json()
    for device in gpus.get("devices", []):
        for process in device.get("processes", []):
            process.pop("argv", None)  # (dropped by masked_commands: the masked `command` is what is shown)
    result = {"taken_at": reading.taken_at, "gpus": gpus, "vllm": servers, "facts": vars(reading.facts)}
    if reading.fleet is not None:
        result["fleet"] = fleet_json(reading.fleet)
    return result


def fleet_json(fleet: Fleet) -> dict:
    """The fleet for `gpu --json`: hosts, replicas, GPUs (bytes), servers, the imbalance and the capacity."""
    if not fleet.ok:
        return {"prometheus": fleet.url, "taken_at": fleet.taken_at, "error": fleet.error}
    imbalance = fleet.imbalance
    capacity = fleet.capacity
    return {
        "prometheus": fleet.url, "taken_at": fleet.taken_at, "error": None,
        "hosts": [dataclasses.asdict(h) for h in fleet.hosts],
        "replicas": [dataclasses.asdict(r) for r in fleet.replicas],
        "gpus": [{**dataclasses.asdict(g), "memory_total": g.memory_total} for g in fleet.gpus],
        "servers": [dataclasses.asdict(s) for s in fleet.servers],
        "imbalance": {"replicas": imbalance.replicas, "kv_max": imbalance.kv_max, "kv_min": imbalance.kv_min,
                      "kv_spread": imbalance.kv_spread, "fullest": imbalance.fullest, "emptiest": imbalance.emptiest,
                      "waiting_max": imbalance.waiting_max, "waiting_min": imbalance.waiting_min,
                      "level": imbalance.verdict.level, "text": imbalance.verdict.text},
        "capacity": None if capacity is None else {
            "context_len": capacity.context_len, "sequences_fit": capacity.sequences_fit,
            "sequences_free": capacity.sequences_free, "largest_replica_fit": capacity.largest_replica_fit,
            "fan_out": capacity.fan_out, "workers": capacity.workers,
            "verdicts": [{"level": v.level, "text": v.text} for v in capacity.verdicts]},
        "history_seconds": fleet.history_seconds,
        "history": {key: list(values) for key, values in fleet.history.items()},
    }
