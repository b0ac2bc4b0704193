"""vLLM /metrics: the parser on real vLLM 0.32 scrapes, histogram percentiles, rates between scrapes, scrape errors."""

from __future__ import annotations

import math
import socket
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes import MetricsServer
from gpu_fixtures import fixture_metrics, fixture_text
from lgconsole.stack.metrics.vllm import (Histogram, MetricsWindow, VllmScraper, base_url, histogram_quantile,
                                          parse_metrics, rates_between)


# --- the parser on the fixtures ------------------------------------------------------------------------------

def test_busy_scrape():
    m = fixture_metrics("busy")
    assert m.ok and m.model_name == "tiny-llama" and m.engines == 1
    assert round(m.kv_cache_usage, 2) == 0.93
    assert (m.running, m.waiting) == (7, 9)
    assert m.waiting_by_reason == {"capacity": 9, "deferred": 0}
    assert m.preemptions_total == 42
    assert (m.prefix_cache_queries_total, m.prefix_cache_hits_total) == (1212, 0)
    assert (m.prompt_tokens_total, m.generation_tokens_total) == (1212, 20206)
    cache = m.cache_config
    assert (cache.num_gpu_blocks, cache.block_size, cache.kv_cache_size_tokens, cache.tokens) == (16, 128, 2048, 2048)
    assert cache.kv_cache_memory_bytes == 2 * 1024 * 1024 and cache.kv_cache_max_concurrency == 2.0
    assert cache.gpu_memory_utilization == 0.92 and cache.cache_dtype == "auto" and cache.enable_prefix_caching
    assert m.ttft.count == 40 and m.itl.count == 20166 and m.e2e.count == 32 and m.queue_time.count == 32
    assert m.ttft.buckets[-1] == (math.inf, 40.0)


def test_idle_after_load_and_starved_scrapes():
    idle, after, starved = (fixture_metrics(n) for n in ("idle", "after_load", "starved"))
    assert (idle.kv_cache_usage, idle.running, idle.waiting, idle.preemptions_total) == (0, 0, 0, 0)
    assert idle.ttft.count == 0 and idle.ttft.quantile(0.5) is None
    assert after.cache_config.num_gpu_blocks == 8192 and after.cache_config.tokens == 1024 * 1024
    assert (after.prompt_tokens_total, after.generation_tokens_total) == (540, 4384)
    assert starved.preemptions_total == 21 and starved.cache_config.num_gpu_blocks == 16


def test_busy_ttft_percentiles_interpolate_like_promql():
    ttft = fixture_metrics("busy").ttft
    # buckets ... 0.08:15, 0.1:21 ... 7.5:34, 10:36, 20:40
    assert ttft.quantile(0.5) == pytest.approx(0.08 + 0.02 * (20 - 15) / 6)
    assert ttft.quantile(0.9) == pytest.approx(10.0)
    assert ttft.quantile(0.99) == pytest.approx(19.0)


def test_pre_0_11_kv_metric_name_is_read():
    old = fixture_text("busy").replace("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
    assert "vllm:kv_cache_usage_perc" not in old
    assert round(parse_metrics(old).kv_cache_usage, 2) == 0.93


def test_two_engines_sum_counts_and_take_the_fullest_cache():
    lines = []
    for line in fixture_text("busy").splitlines():  # each engine's series next to the other's, as vLLM writes them
        lines.append(line)
        if line.startswith("vllm:") and 'engine="0"' in line:
            lines.append(line.replace('engine="0"', 'engine="1"').replace("0.9333333333333333", "0.5"))
    m = parse_metrics("\n".join(lines) + "\n")
    assert m.engines == 2
    assert (m.running, m.waiting, m.preemptions_total) == (14, 18, 84)
    assert round(m.kv_cache_usage, 2) == 0.93
    assert m.ttft.count == 80 and m.ttft.quantile(0.5) == pytest.approx(fixture_metrics("busy").ttft.quantile(0.5))


@pytest.mark.parametrize("text", ["", "<html><body>502 Bad Gateway</body></html>", "process_cpu_seconds_total 3.0\n",
                                  "vllm:num_requests_running{engine=\"0\" 7\n"])
def test_not_vllm_text_is_a_value_error(text):
    with pytest.raises(ValueError):
        parse_metrics(text)


# --- histograms ----------------------------------------------------------------------------------------------

def test_quantile_edge_cases():
    assert histogram_quantile(0.5, []) is None
    assert histogram_quantile(0.5, [(1.0, 0), (math.inf, 0)]) is None
    assert histogram_quantile(0.99, [(1.0, 1), (2.0, 1), (math.inf, 5)]) == 2.0  # in +Inf: highest finite bound
    assert histogram_quantile(0.5, [(1.0, 4), (math.inf, 4)]) == 0.5  # first bucket: from 0


@st.composite
def histograms(draw):
    bounds = sorted(set(draw(st.lists(st.floats(0.001, 1000), min_size=1, max_size=12))))
    counts = draw(st.lists(st.integers(0, 50), min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    cumulative, total = [], 0
    for le, c in zip([*bounds, math.inf], counts):
        total += c
        cumulative.append((le, float(total)))
    return Histogram(tuple(cumulative), float(total), 0.0)


@given(histograms(), st.floats(0, 1), st.floats(0, 1))
def test_quantiles_are_monotone_and_bounded(hist, q1, q2):
    a, b = hist.quantile(min(q1, q2)), hist.quantile(max(q1, q2))
    if hist.count == 0:
        assert a is None and b is None
        return
    finite = [le for le, _ in hist.buckets if not math.isinf(le)]
    assert 0 <= a <= b <= max(finite)


@given(histograms(), histograms())
def test_delta_of_a_sum_is_the_addend(a, b):
    if [le for le, _ in a.buckets] != [le for le, _ in b.buckets]:
        return
    total = a.plus(b)
    assert total.minus(a).buckets == b.buckets and total.minus(a).count == b.count


# --- rates ---------------------------------------------------------------------------------------------------

def test_rates_between_two_scrapes():
    idle = fixture_metrics("idle", taken_at=1000.0)
    after = fixture_metrics("after_load", taken_at=1010.0)
    r = rates_between(idle, after)
    assert r.seconds == 10.0
    assert r.prompt_tokens_per_s == pytest.approx(54.0) and r.generation_tokens_per_s == pytest.approx(438.4)
    assert r.preemptions_per_s == 0 and r.prefix_cache_hit_rate == 0.0
    assert r.latency["ttft"].count == 18 and r.latency["ttft"].p50 == pytest.approx(after.ttft.quantile(0.5))


def test_latency_percentiles_come_from_histogram_deltas():
    # two runs of the same 2 MiB configuration (their process_start_time differs): every counter of the busy
    # scrape is >= the starved one's, so they serve as an older/newer pair for the delta arithmetic
    starved = fixture_metrics("starved", taken_at=0.0)
    busy = fixture_metrics("busy", taken_at=30.0)
    r = rates_between(starved, busy)
    assert r.preemptions == 21 and r.preemptions_per_s == pytest.approx(0.7)
    assert r.latency["ttft"].count == 24  # 40 - 16 requests, not the 40 since start
    delta = busy.ttft.minus(starved.ttft)
    assert r.latency["ttft"].p90 == pytest.approx(delta.quantile(0.9))
    assert r.latency["ttft"].p90 != pytest.approx(busy.ttft.quantile(0.9))


def test_a_restarted_server_counts_from_zero():
    busy = fixture_metrics("busy", taken_at=0.0)
    idle = fixture_metrics("idle", taken_at=5.0)  # the counters went down: the server restarted
    r = rates_between(busy, idle)
    assert r.preemptions_per_s == 0 and r.generation_tokens_per_s == 0
    assert r.latency["ttft"].count == 0


def test_failed_scrapes_have_no_rates_and_stay_out_of_the_window():
    from lgconsole.stack.metrics.vllm import VllmMetrics

    ok = fixture_metrics("busy", taken_at=0.0)
    bad = VllmMetrics("http://x", 1.0, error="http://x: connection refused")
    assert rates_between(ok, bad) is None
    window = MetricsWindow(span=10)
    for t in (0.0, 4.0, 8.0, 12.0, 16.0):
        window.add(fixture_metrics("busy", taken_at=t))
    window.add(bad)
    # the oldest scrape kept is the newest one at least `span` old, so the window covers the whole span
    assert len(window) == 4 and window.rates().seconds == 12.0 and window.latest.taken_at == 16.0


# --- scraping --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def http_server():
    with MetricsServer() as server:
        yield server.url


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers: a hung server."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_scrape_errors_are_one_line_records(http_server, silent_port):
    refused = f"http://127.0.0.1:{_closed_port()}"
    urls = [f"{http_server}/busy", f"{http_server}/garbage", f"{http_server}/down", refused,
            f"http://127.0.0.1:{silent_port}", "http://user:hunter2@127.0.0.1:1/v1"]
    scraper = VllmScraper(urls, timeout=0.5)
    try:
        t0 = time.monotonic()
        results = scraper.scrape_all()
        elapsed = time.monotonic() - t0
    finally:
        scraper.close()
    ok, garbage, down, closed, hung, secret = results
    assert ok.ok and ok.running == 7 and ok.url == f"{http_server}/busy"
    assert "no vllm: metrics" in garbage.error
    assert down.error.endswith("GET /metrics -> HTTP 503")
    assert closed.error == f"{refused}: connection refused"
    assert hung.error.endswith("no answer within 0.5 s")
    assert "hunter2" not in secret.error and "user:***@" in secret.error
    for record in results[1:]:
        assert "\n" not in record.error and not record.ok
    assert elapsed < 1.5  # scraped in parallel: one timeout, not one per server


def test_base_url_accepts_what_people_paste():
    assert base_url("http://h:8000/v1/") == "http://h:8000"
    assert base_url("http://h:8000/metrics") == "http://h:8000"
    assert base_url(" http://h:8000 ") == "http://h:8000"


def test_an_unchanged_scrape_reuses_the_last_parse(http_server):
    scraper = VllmScraper([f"{http_server}/busy"])
    try:
        first = scraper.scrape(f"{http_server}/busy")
        time.sleep(0.01)
        second = scraper.scrape(f"{http_server}/busy")
    finally:
        scraper.close()
    assert second.taken_at > first.taken_at
    assert second.ttft is first.ttft  # the parser did not run again: the vllm: lines were the same
    assert (second.running, second.kv_cache_usage) == (first.running, first.kv_cache_usage)


def test_model_info_reads_max_model_len(http_server):
    scraper = VllmScraper([])
    try:
        assert scraper.model_info(f"{http_server}/busy") == {"id": "tiny-llama", "max_model_len": 1024}
        assert scraper.model_info(f"http://127.0.0.1:{_closed_port()}") is None
    finally:
        scraper.close()
