"""vLLM's Prometheus `/metrics`: scrape, parse into a typed `VllmMetrics`, and turn two scrapes into rates.

Parsing uses prometheus_client's text parser on the lines of the families we read (a scrape is ~600 lines, of
which ~130 matter), and a scrape whose lines did not change reuses the last parse. Every failure (refused, timeout,
HTTP error, not Prometheus text, not vLLM) becomes a record with `error` set to one line: readers never raise.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Iterable

from lgconsole.stack.metrics.histogram import Histogram, histogram_quantile  # noqa: F401 (read from here too)
from lgconsole.stack.services.service import one_line, redact_url

# metric (without the `vllm:` prefix and without `_total` for counters) -> VllmMetrics field
GAUGES = {
    "kv_cache_usage_perc": "kv_cache_usage",
    "gpu_cache_usage_perc": "kv_cache_usage",  # the name before vLLM 0.11
    "num_requests_running": "running",
    "num_requests_waiting": "waiting",
}
COUNTERS = {
    "num_preemptions": "preemptions_total",
    "prefix_cache_queries": "prefix_cache_queries_total",
    "prefix_cache_hits": "prefix_cache_hits_total",
    "prompt_tokens": "prompt_tokens_total",
    "generation_tokens": "generation_tokens_total",
}
HISTOGRAMS = {
    "time_to_first_token_seconds": "ttft",
    "inter_token_latency_seconds": "itl",
    "time_per_output_token_seconds": "itl",  # the name before vLLM 0.11
    "e2e_request_latency_seconds": "e2e",
    "request_queue_time_seconds": "queue_time",
}
WAITING_BY_REASON = "num_requests_waiting_by_reason"
CACHE_CONFIG = "cache_config_info"
PREFIX = "vllm:"
WANTED = {PREFIX + name for name in (*GAUGES, *COUNTERS, *HISTOGRAMS, WAITING_BY_REASON, CACHE_CONFIG)}
LATENCIES = ("ttft", "itl", "e2e", "queue_time")
QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class CacheConfig:
    """vLLM's `cache_config_info` labels that capacity needs; everything else stays in `labels`."""

    num_gpu_blocks: int | None = None
    block_size: int | None = None
    kv_cache_size_tokens: int | None = None
    kv_cache_max_concurrency: float | None = None
    kv_cache_memory_bytes: int | None = None
    gpu_memory_utilization: float | None = None
    cache_dtype: str | None = None
    enable_prefix_caching: bool | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def tokens(self) -> int | None:
        if self.kv_cache_size_tokens:
            return self.kv_cache_size_tokens
        if self.num_gpu_blocks and self.block_size:
            return self.num_gpu_blocks * self.block_size
        return None

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> CacheConfig:
        return cls(
            num_gpu_blocks=_int(labels.get("num_gpu_blocks")),
            block_size=_int(labels.get("block_size")),
            kv_cache_size_tokens=_int(labels.get("kv_cache_size_tokens")),
            kv_cache_max_concurrency=_float(labels.get("kv_cache_max_concurrency")),
            kv_cache_memory_bytes=_int(labels.get("kv_cache_memory_bytes")),
            gpu_memory_utilization=_float(labels.get("gpu_memory_utilization")),
            cache_dtype=labels.get("cache_dtype"),
            enable_prefix_caching={"True": True, "False": False}.get(labels.get("enable_prefix_caching", "")),
            labels={k: v for k, v in labels.items() if k not in ("engine", "model_name")},
        )


@dataclass(frozen=True)
class VllmMetrics:
    """One scrape of one vLLM server. With several engines (data parallel) counts are summed, usage is the max."""

    url: str  # the server's base URL, credentials redacted
    taken_at: float  # wall-clock seconds
    error: str | None = None
    model_name: str | None = None
    engines: int = 0
    kv_cache_usage: float | None = None  # 0..1
    running: int | None = None
    waiting: int | None = None
    waiting_by_reason: dict[str, int] = field(default_factory=dict)
    preemptions_total: float | None = None
    prefix_cache_queries_total: float | None = None
    prefix_cache_hits_total: float | None = None
    prompt_tokens_total: float | None = None
    generation_tokens_total: float | None = None
    ttft: Histogram | None = None
    itl: Histogram | None = None
    e2e: Histogram | None = None
    queue_time: Histogram | None = None
    cache_config: CacheConfig | None = None
    # samples left out because their value is no finite number (+Inf, NaN) or a negative count: "name=value" each
    ignored: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def histogram(self, name: str) -> Histogram | None:
        return getattr(self, name)

    def to_json(self) -> dict:
        data = asdict(self)
        for name in LATENCIES:
            hist = self.histogram(name)
            data[name] = None if hist is None else {
                "count": hist.count, "sum": hist.sum,
                **{f"p{round(q * 100)}": hist.quantile(q) for q in QUANTILES}}
        return data


# --- parsing -------------------------------------------------------------------------------------------------

# a sample, TYPE or HELP line of one of the families above (counters end in _total, histograms in _bucket...)
_WANTED_LINE = re.compile(
    r"^(?:# (?:TYPE|HELP) )?"
    + re.escape(PREFIX)
    + "(?:" + "|".join(re.escape(n[len(PREFIX):]) for n in sorted(WANTED, key=len, reverse=True)) + ")"
    + r"(?:_total|_bucket|_count|_sum)?[ {].*$",
    re.MULTILINE,
)


def wanted_lines(text: str) -> str:
    """The lines of the families we read: the parser then sees ~130 of a scrape's ~600 lines."""
    return "\n".join(_WANTED_LINE.findall(text)) + "\n"


def parse_metrics(text: str, url: str = "", taken_at: float | None = None) -> VllmMetrics:
    """Parse Prometheus text from a vLLM server. Raises ValueError when it is not Prometheus text or not vLLM."""
    return _parse_wanted(wanted_lines(text), url, taken_at)


def _parse_wanted(wanted: str, url: str, taken_at: float | None) -> VllmMetrics:
    from prometheus_client.parser import text_string_to_metric_families

    taken_at = time.time() if taken_at is None else taken_at
    values: dict[str, float] = {}
    engines: set[str] = set()
    models: list[str] = []
    by_reason: dict[str, int] = {}
    hists: dict[str, Histogram] = {}
    cache_labels: dict[str, str] | None = None
    usage_seen: dict[str, float] = {}
    ignored: list[str] = []
    try:
        families = list(text_string_to_metric_families(wanted))
    except Exception as exc:  # the parser raises ValueError, IndexError, TypeError on garbage
        raise ValueError(f"not Prometheus text: {one_line(exc)}") from None
    for family in families:
        name = family.name[len(PREFIX):] if family.name.startswith(PREFIX) else family.name
        family.samples = [s for s in family.samples if _usable(s, name, ignored)]
        for sample in family.samples:
            engine = sample.labels.get("engine")
            if engine is not None:
                engines.add(engine)
            model = sample.labels.get("model_name")
            if model and model not in models:
                models.append(model)
        if name in GAUGES:
            target = GAUGES[name]
            for s in family.samples:
                if target == "kv_cache_usage":
                    engine = s.labels.get("engine", "")
                    usage_seen[engine] = max(usage_seen.get(engine, 0.0), s.value)
                else:
                    values[target] = values.get(target, 0.0) + s.value
        elif name in COUNTERS:
            target = COUNTERS[name]
            total = sum(s.value for s in family.samples if s.name.endswith("_total"))
            values[target] = values.get(target, 0.0) + total
        elif name == WAITING_BY_REASON:
            for s in family.samples:
                reason = s.labels.get("reason", "?")
                by_reason[reason] = by_reason.get(reason, 0) + int(s.value)
        elif name in HISTOGRAMS:
            hist = _histogram(family.samples)
            if hist is not None:
                target = HISTOGRAMS[name]
                hists[target] = hists[target].plus(hist) if target in hists else hist
        elif name == CACHE_CONFIG and family.samples and cache_labels is None:
            cache_labels = dict(family.samples[0].labels)
    if not families:
        raise ValueError("no vllm: metrics in the reply (not a vLLM server?)")
    return VllmMetrics(
        url=url, taken_at=taken_at, model_name=models[0] if models else None, engines=len(engines) or 1,
        kv_cache_usage=max(usage_seen.values()) if usage_seen else None,
        running=_int(values.get("running")), waiting=_int(values.get("waiting")), waiting_by_reason=by_reason,
        preemptions_total=values.get("preemptions_total"),
        prefix_cache_queries_total=values.get("prefix_cache_queries_total"),
        prefix_cache_hits_total=values.get("prefix_cache_hits_total"),
        prompt_tokens_total=values.get("prompt_tokens_total"),
        generation_tokens_total=values.get("generation_tokens_total"),
        cache_config=CacheConfig.from_labels(cache_labels) if cache_labels is not None else None,
        ignored=tuple(ignored[:MAX_IGNORED_SHOWN]),
        **hists,
    )


MAX_IGNORED_SHOWN = 5


def _usable(sample, family: str, ignored: list[str]) -> bool:
    """A sample whose value counts: finite, and not negative where it counts requests, tokens or observations
    (Prometheus text allows +Inf and NaN anywhere; a gauge or count of +Inf would crash int() and the rates). A
    histogram bucket's `le` must be a number too."""
    value = sample.value
    bad = not isinstance(value, (int, float)) or not math.isfinite(value) or (value < 0 and family != CACHE_CONFIG)
    if not bad and sample.name.endswith("_bucket"):
        le = _float(sample.labels.get("le", "+Inf"))
        bad = le is None or math.isnan(le)
    if bad:
        ignored.append(f"{sample.name}={value}")
    return not bad


def _histogram(samples) -> Histogram | None:
    """Sum the series of one histogram family over engines: bucket by bucket."""
    buckets: dict[float, float] = {}
    count = total = 0.0
    for s in samples:
        if s.name.endswith("_bucket"):
            le = float(s.labels.get("le", "+Inf"))
            buckets[le] = buckets.get(le, 0.0) + s.value
        elif s.name.endswith("_count"):
            count += s.value
        elif s.name.endswith("_sum"):
            total += s.value
    if not buckets:
        return None
    return Histogram(tuple(sorted(buckets.items())), count, total)


def _int(value) -> int | None:
    if value is None or value in ("None", ""):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):  # OverflowError: inf
        return None


def _float(value) -> float | None:
    if value is None or value in ("None", ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


# --- scraping ------------------------------------------------------------------------------------------------

def base_url(url: str) -> str:
    """http://host:port from what people paste: with /metrics, with the OpenAI /v1 suffix, with a slash."""
    url = url.strip().rstrip("/")
    for suffix in ("/metrics", "/v1"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


class VllmScraper:
    """Scrapes several vLLM servers at once over kept-alive connections; `scrape_all()` never raises."""

    def __init__(self, urls: Iterable[str], timeout: float = 2.0):
        self.urls = [base_url(u) for u in urls]
        self.timeout = timeout
        self._client = None
        self._pool: ThreadPoolExecutor | None = None
        self._last: dict[str, tuple[str, VllmMetrics]] = {}  # url -> (the lines we read, their parse)

    def _http(self):
        if self._client is None:
            import httpx

            # loopback and cluster URLs: proxies from the environment would only get in the way
            self._client = httpx.Client(timeout=self.timeout, trust_env=False,
                                        limits=httpx.Limits(max_keepalive_connections=max(4, len(self.urls))))
        return self._client

    def scrape(self, url: str) -> VllmMetrics:
        import httpx

        shown = redact_url(url) or url
        started = time.time()
        try:
            resp = self._http().get(f"{url}/metrics")
        except httpx.ConnectError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else one_line(exc)
            return VllmMetrics(shown, started, error=f"{shown}: {reason}")
        except httpx.TimeoutException:
            return VllmMetrics(shown, started, error=f"{shown}: no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return VllmMetrics(shown, started, error=f"{shown}: {one_line(exc)}")
        except Exception as exc:  # a malformed URL
            return VllmMetrics(shown, started, error=f"{shown}: {one_line(exc)}")
        if resp.status_code != 200:
            return VllmMetrics(shown, started, error=f"{shown}: GET /metrics -> HTTP {resp.status_code}")
        wanted = wanted_lines(resp.text)
        last = self._last.get(url)
        if last is not None and last[0] == wanted:
            # an idle server: nothing we read changed (process and GC counters did), so skip the parser
            return dataclasses.replace(last[1], taken_at=started)
        try:
            metrics = _parse_wanted(wanted, shown, started)
        except ValueError as exc:
            return VllmMetrics(shown, started, error=f"{shown}: {one_line(exc)}")
        self._last[url] = (wanted, metrics)
        return metrics

    def scrape_all(self) -> list[VllmMetrics]:
        """One record per URL, in order; servers are scraped in parallel so one slow server costs one timeout."""
        if len(self.urls) <= 1:
            return [self.scrape(u) for u in self.urls]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=min(8, len(self.urls)), thread_name_prefix="vllm-scrape")
        return list(self._pool.map(self.scrape, self.urls))

    def model_info(self, url: str) -> dict | None:
        """`/v1/models` of a server: {"id", "max_model_len"} of its first model, None when not readable
        (an `--api-key` server answers 401 here; /metrics stays open)."""
        try:
            resp = self._http().get(f"{base_url(url)}/v1/models")
            if resp.status_code != 200:
                return None
            first = (resp.json().get("data") or [{}])[0]
        except Exception:
            return None
        return {"id": first.get("id"), "max_model_len": first.get("max_model_len")}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


# --- rates between scrapes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Percentiles:
    p50: float | None
    p90: float | None
    p99: float | None
    count: float  # observations in the window

    @classmethod
    def of(cls, hist: Histogram | None) -> Percentiles:
        if hist is None:
            return cls(None, None, None, 0.0)
        return cls(hist.quantile(0.5), hist.quantile(0.9), hist.quantile(0.99), hist.count)


@dataclass(frozen=True)
class VllmRates:
    """What changed between two scrapes of one server, per second; latencies from histogram deltas."""

    seconds: float
    preemptions_per_s: float | None = None
    preemptions: float | None = None  # how many in the window
    prefix_cache_hit_rate: float | None = None  # hits / queries in the window, None without queries
    prompt_tokens_per_s: float | None = None
    generation_tokens_per_s: float | None = None
    latency: dict[str, Percentiles] = field(default_factory=dict)  # ttft, itl, e2e, queue_time


def _delta(new: float | None, old: float | None) -> float | None:
    if new is None:
        return None
    if old is None or new < old:  # a counter reset: the server restarted, count from zero
        return new if old is not None else None
    return new - old


def rates_between(older: VllmMetrics, newer: VllmMetrics) -> VllmRates | None:
    """Rates over [older, newer]; None when either scrape failed or no time passed."""
    if not (older.ok and newer.ok):
        return None
    seconds = newer.taken_at - older.taken_at
    if seconds <= 0:
        return None

    def per_s(name: str) -> float | None:
        d = _delta(getattr(newer, name), getattr(older, name))
        return None if d is None else d / seconds

    preempted = _delta(newer.preemptions_total, older.preemptions_total)
    queries = _delta(newer.prefix_cache_queries_total, older.prefix_cache_queries_total)
    hits = _delta(newer.prefix_cache_hits_total, older.prefix_cache_hits_total)
    latency = {}
    for name in LATENCIES:
        new_hist = newer.histogram(name)
        latency[name] = Percentiles.of(new_hist.minus(older.histogram(name)) if new_hist else None)
    return VllmRates(
        seconds=seconds,
        preemptions_per_s=None if preempted is None else preempted / seconds,
        preemptions=preempted,
        prefix_cache_hit_rate=(hits / queries) if queries and hits is not None else None,
        prompt_tokens_per_s=per_s("prompt_tokens_total"),
        generation_tokens_per_s=per_s("generation_tokens_total"),
        latency=latency,
    )


def lifetime_latency(metrics: VllmMetrics) -> dict[str, Percentiles]:
    """Percentiles over everything the server has seen since it started (one scrape, no window)."""
    return {name: Percentiles.of(metrics.histogram(name)) for name in LATENCIES}


class MetricsWindow:
    """The scrapes of one server over the last `span` seconds; rates between the oldest and the newest."""

    def __init__(self, span: float = 60.0, max_items: int = 4096):
        self.span = span
        self._items: deque[VllmMetrics] = deque(maxlen=max_items)

    def add(self, metrics: VllmMetrics) -> None:
        if not metrics.ok:
            return
        if self._items and metrics.taken_at <= self._items[-1].taken_at:
            return
        self._items.append(metrics)
        while len(self._items) > 2 and metrics.taken_at - self._items[1].taken_at >= self.span:
            self._items.popleft()

    @property
    def latest(self) -> VllmMetrics | None:
        return self._items[-1] if self._items else None

    def __len__(self) -> int:
        return len(self._items)

    def rates(self) -> VllmRates | None:
        if len(self._items) < 2:
            return None
        return rates_between(self._items[0], self._items[-1])

    def last_step(self) -> VllmRates | None:
        """Rates over the last interval only (for per-refresh sparklines)."""
        if len(self._items) < 2:
            return None
        return rates_between(self._items[-2], self._items[-1])
