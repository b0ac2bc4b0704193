"""Fuzz: vLLM's /metrics text. Any reply parses to a VllmMetrics or is a ValueError (what the scraper turns into a
one-line error), and what reads a parse (rates, the window, `lgconsole gpu` text and JSON) never raises."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz
from gpu_fixtures import fixture_text, gpu_snapshot
from lgconsole.console.cli.gpu import render_text
from lgconsole.console.sources.gpu import GpuReading, GpuTelemetry, reading_json
from lgconsole.stack.metrics.vllm import WANTED, MetricsWindow, VllmMetrics, lifetime_latency, parse_metrics, \
    rates_between

pytestmark = pytest.mark.fuzz

VALUES = st.one_of(
    st.sampled_from(["+Inf", "-Inf", "NaN", "nan", "inf", "0", "-0", "1e308", "-1e308", "1e309", "7.0", "-3", "",
                     "garbage", "0x10", "1_000", "١٢"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
LABEL_VALUES = st.one_of(st.sampled_from(["+Inf", "NaN", "0.5", "-1", "abc", "", "1e999", "True", "None"]),
                         st.text(max_size=8).map(lambda t: t.replace("\\", "").replace('"', "").replace("\n", "")))
NAMES = st.sampled_from(sorted(WANTED))
SUFFIXES = st.sampled_from(["", "_total", "_bucket", "_count", "_sum", "_created"])
LABEL_NAMES = st.sampled_from(["engine", "model_name", "le", "reason", "num_gpu_blocks", "block_size",
                               "kv_cache_size_tokens", "enable_prefix_caching", "gpu_memory_utilization"])


@st.composite
def sample_lines(draw) -> str:
    name = draw(NAMES) + draw(SUFFIXES)
    labels = draw(st.dictionaries(LABEL_NAMES, LABEL_VALUES, max_size=3))
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{body}}} {draw(VALUES)}" if labels else f"{name} {draw(VALUES)}"


@st.composite
def type_lines(draw) -> str:
    return f"# TYPE {draw(NAMES)} {draw(st.sampled_from(['gauge', 'counter', 'histogram', 'summary', 'untyped', 'x']))}"


SCRAPES = st.lists(st.one_of(sample_lines(), type_lines(), st.text(max_size=40)), max_size=25).map("\n".join)


def _read_back(metrics: VllmMetrics, older: VllmMetrics | None = None) -> None:
    """Everything the GPU screen, Triage and `lgconsole gpu` do with a parse."""
    json.dumps(metrics.to_json(), default=str)
    lifetime_latency(metrics)
    if older is not None:
        rates_between(older, metrics)
    window = MetricsWindow()
    for m in (older, metrics):
        if m is not None:
            window.add(m)
    window.rates()
    window.last_step()
    telemetry = GpuTelemetry()
    for m in (older, metrics):
        if m is not None:
            telemetry.ingest(GpuReading(gpus=gpu_snapshot(m.taken_at), servers=(m,), taken_at=m.taken_at))
    reading = GpuReading(gpus=gpu_snapshot(metrics.taken_at), servers=(metrics,), taken_at=metrics.taken_at)
    render_text(reading, telemetry)
    json.dumps(reading_json(reading, telemetry), default=str)


def _parse(text: str, taken_at: float) -> VllmMetrics | None:
    try:
        return parse_metrics(text, "http://127.0.0.1:8000", taken_at)
    except ValueError:
        return None  # "not Prometheus text" / "not a vLLM server": the scraper's one-line error


@fuzz
@given(SCRAPES, SCRAPES)
def test_any_scrape_parses_or_is_a_value_error_and_reads_back(first: str, second: str):
    older, newer = _parse(first, 1000.0), _parse(second, 1001.0)
    for metrics in (older, newer):
        if metrics is not None:
            assert metrics.running is None or metrics.running >= 0
            _read_back(metrics)
    if older is not None and newer is not None:
        _read_back(newer, older)


@fuzz
@given(st.lists(st.tuples(st.integers(0, 120), VALUES), max_size=6))
def test_a_real_scrape_with_values_replaced(replacements: list[tuple[int, str]]):
    """The busy fixture with some of its sample values replaced by +Inf, NaN, garbage... (the issue's crash)."""
    lines = fixture_text("busy").splitlines()
    samples = [i for i, line in enumerate(lines) if line.startswith("vllm:")]
    for index, value in replacements:
        i = samples[index % len(samples)]
        lines[i] = lines[i].rsplit(" ", 1)[0] + " " + value
    metrics = _parse("\n".join(lines), 1001.0)
    if metrics is not None:
        _read_back(metrics, _parse(fixture_text("busy"), 1000.0))


@fuzz
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_text(data: bytes):
    metrics = _parse(data.decode("utf-8", errors="replace"), 1000.0)
    if metrics is not None:
        _read_back(metrics)


def test_the_issues_inf_line_reads_as_unknown_and_is_named():
    text = fixture_text("busy").replace('vllm:num_requests_running{engine="0",model_name="tiny-llama"} 7.0',
                                        'vllm:num_requests_running{engine="0",model_name="tiny-llama"} +Inf')
    metrics = parse_metrics(text)
    assert metrics.running is None and metrics.waiting == 9
    assert metrics.ignored == ("vllm:num_requests_running=inf",)
    reading = GpuReading(gpus=gpu_snapshot(), servers=(metrics,))
    text_out = render_text(reading, GpuTelemetry())
    assert "running n/a" in text_out and "ignored, not a usable number: vllm:num_requests_running=inf" in text_out
