"""KV capacity arithmetic, graph fan-out, the seed's sizing rule and the starvation alarm on the recorded wave."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpu_fixtures import TINY_LLAMA_CONFIG, fixture_metrics, timeseries
from lgconsole.console.model.capacity import (CapacityError, StarvationDetector, StarvationSample, capacity_report,
                                        fan_out_from_sends, fan_out_from_topology, graph_fan_out, kv_bytes_per_token,
                                        num_blocks_for, recommended_max_num_seqs, sequences_that_fit)

GIB = 1024 ** 3
LLAMA_31_8B = {"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "num_hidden_layers": 32,
               "num_attention_heads": 32, "num_key_value_heads": 8, "torch_dtype": "bfloat16", "vocab_size": 128256}
DEEPSEEK_V3 = {"num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128, "hidden_size": 7168,
               "kv_lora_rank": 512, "qk_rope_head_dim": 64, "torch_dtype": "bfloat16"}
# LangGraph's get_graph().to_json() of the bundled demo graph (supervisor -> Send x3 -> join -> ...)
DEMO_TOPOLOGY = {
    "nodes": [{"id": n} for n in ("__start__", "supervisor", "researcher", "coder", "reviewer", "join", "review",
                                  "approval", "finalize", "__end__")],
    "edges": [{"source": "__start__", "target": "supervisor"}, {"source": "approval", "target": "finalize"},
              {"source": "coder", "target": "join"}, {"source": "join", "target": "review"},
              {"source": "researcher", "target": "join"}, {"source": "review", "target": "approval"},
              {"source": "reviewer", "target": "join"},
              {"source": "supervisor", "target": "coder", "conditional": True},
              {"source": "supervisor", "target": "researcher", "conditional": True},
              {"source": "supervisor", "target": "reviewer", "conditional": True},
              {"source": "finalize", "target": "__end__"}],
}


# --- KV bytes per token --------------------------------------------------------------------------------------

def test_llama_31_8b_is_128_kib_per_token():
    assert kv_bytes_per_token(LLAMA_31_8B) == 128 * 1024
    assert kv_bytes_per_token(LLAMA_31_8B, "fp8") == 64 * 1024
    assert kv_bytes_per_token(LLAMA_31_8B, "fp8_e5m2") == 64 * 1024
    assert kv_bytes_per_token(LLAMA_31_8B, tensor_parallel=2) == 64 * 1024
    # 8 KV heads over 16 ranks: each rank keeps one head (replicated), not half of one
    assert kv_bytes_per_token(LLAMA_31_8B, tensor_parallel=16) == 2 * 32 * 1 * 128 * 2


def test_the_fixture_model_matches_what_vllm_allocated():
    bpt = kv_bytes_per_token(TINY_LLAMA_CONFIG)  # 2 x 2 layers x 2 kv heads x head_dim 32 x fp32
    assert bpt == 1024
    cache = fixture_metrics("busy").cache_config
    assert cache.kv_cache_memory_bytes // cache.kv_cache_size_tokens == bpt
    assert num_blocks_for(cache.kv_cache_memory_bytes, bpt, cache.block_size) == cache.num_gpu_blocks == 16


def test_config_fallbacks():
    cfg = {"num_hidden_layers": 4, "num_attention_heads": 8, "hidden_size": 512, "dtype": "float16"}
    assert kv_bytes_per_token(cfg) == 2 * 4 * 8 * 64 * 2  # kv heads = attention heads, head_dim = hidden / heads
    assert kv_bytes_per_token({**cfg, "head_dim": 128, "dtype": None}) == 2 * 4 * 8 * 128 * 2  # unspecified: 16-bit
    assert kv_bytes_per_token({"text_config": {**cfg, "torch_dtype": "float32"}}) == 2 * 4 * 8 * 64 * 4
    assert kv_bytes_per_token(DEEPSEEK_V3) == 61 * (512 + 64) * 2  # latent attention: one vector per layer
    assert kv_bytes_per_token(DEEPSEEK_V3, tensor_parallel=8) == 61 * (512 + 64) * 2  # replicated, not split


@pytest.mark.parametrize("cfg, key", [({"num_attention_heads": 8, "hidden_size": 512}, "num_hidden_layers"),
                                      ({"num_hidden_layers": 2, "hidden_size": 512}, "num_key_value_heads")])
def test_missing_config_keys_are_named(cfg, key):
    with pytest.raises(CapacityError, match=key):
        kv_bytes_per_token(cfg)
    with pytest.raises(CapacityError, match="unknown kv cache dtype"):
        kv_bytes_per_token(LLAMA_31_8B, "int3")


# --- sequences that fit --------------------------------------------------------------------------------------

def test_sequences_that_fit_agree_with_vllms_own_max_concurrency():
    for name in ("busy", "after_load"):
        cache = fixture_metrics(name).cache_config
        # vLLM reports kv_cache_max_concurrency for its max_model_len (1024 in the fixtures)
        assert sequences_that_fit(cache.num_gpu_blocks, cache.block_size, 1024) == cache.kv_cache_max_concurrency


def test_h100_llama_8b_example_from_the_facts():
    kv_bytes = 56 * GIB  # 0.92 x 80 GiB minus ~15 GiB of bf16 weights and the activation peak
    blocks = num_blocks_for(kv_bytes, kv_bytes_per_token(LLAMA_31_8B), 16)
    assert sequences_that_fit(blocks, 16, 8192) == 56
    blocks_fp8 = num_blocks_for(kv_bytes, kv_bytes_per_token(LLAMA_31_8B, "fp8"), 16)
    assert sequences_that_fit(blocks_fp8, 16, 8192) == 112


@given(st.integers(0, 10 ** 6), st.sampled_from([16, 32, 128]), st.integers(1, 200_000))
def test_sequences_that_fit_is_the_largest_that_fits(blocks, block_size, context):
    fit = sequences_that_fit(blocks, block_size, context)
    per_seq = math.ceil(context / block_size)
    assert fit * per_seq <= blocks < (fit + 1) * per_seq


def test_the_seeds_sizing_rule():
    assert [recommended_max_num_seqs(n) for n in (1, 3, 5, 10, 16)] == [2, 4, 6, 12, 20]


@given(st.integers(1, 10_000))
def test_sizing_rule_is_the_smallest_integer_with_20_percent_headroom(fan_out):
    rec = recommended_max_num_seqs(fan_out)
    assert rec * 5 >= fan_out * 6 > (rec - 1) * 5


# --- fan-out ---------------------------------------------------------------------------------------------------

def test_fan_out_of_the_demo_graph_topology():
    assert fan_out_from_topology(DEMO_TOPOLOGY) == 3


def test_fan_out_of_the_real_demo_graph():
    from lgconsole.stack.demo.graph import graph

    assert fan_out_from_topology(graph.get_graph().to_json()) == 3
    assert fan_out_from_topology(graph.get_graph(xray=True).to_json()) == 3


def test_fan_out_shapes():
    react = {"nodes": ["agent", "tools"], "edges": [{"source": "agent", "target": "tools", "conditional": True},
                                                   {"source": "agent", "target": "__end__", "conditional": True},
                                                   {"source": "tools", "target": "agent"}]}
    assert fan_out_from_topology(react) == 1  # a router to END is not a parallel branch
    parallel = {"nodes": ["a", "b", "c"], "edges": [{"source": "a", "target": "b"}, {"source": "a", "target": "c"}]}
    assert fan_out_from_topology(parallel) == 2
    assert fan_out_from_topology({}) == 0 and fan_out_from_topology({"nodes": ["solo"], "edges": []}) == 1
    assert fan_out_from_sends([3, 8, 2]) == 8 and fan_out_from_sends([]) == 0
    assert graph_fan_out(DEMO_TOPOLOGY, [5]) == 5  # a map-reduce Sends past what the drawing shows


# --- the capacity report ---------------------------------------------------------------------------------------

def test_capacity_report_on_the_starved_server():
    report = capacity_report(num_blocks=16, block_size=128, context_len=1024, fan_out=3, max_num_seqs=8, usage=0.93,
                             bytes_per_token=1024)
    assert (report.sequences_fit, report.sequences_free, report.kv_tokens) == (2, 0, 2048)
    assert report.recommended_max_num_seqs == 4
    assert report.worst == "bad"
    assert any("holds 2 sequences of 1,024 tokens but the graph fans out to 3" in v.text for v in report.verdicts)


def test_capacity_report_verdicts():
    healthy = capacity_report(num_blocks=8192, block_size=128, context_len=1024, fan_out=3, max_num_seqs=8, usage=0.2)
    assert healthy.worst == "ok" and healthy.sequences_fit == 1024
    tight = capacity_report(num_blocks=8192, block_size=128, context_len=1024, fan_out=3, max_num_seqs=3)
    assert tight.worst == "warn" and "raise it to 4" in tight.verdicts[0].text
    too_small = capacity_report(num_blocks=8192, block_size=128, context_len=1024, fan_out=3, max_num_seqs=2)
    assert too_small.worst == "bad"
    batch_over_kv = capacity_report(num_blocks=64, block_size=16, context_len=256, fan_out=2, max_num_seqs=8)
    assert batch_over_kv.sequences_fit == 4 and batch_over_kv.worst == "warn"
    unknown = capacity_report(num_blocks=None, block_size=None, context_len=None)
    assert unknown.worst == "info" and unknown.sequences_fit is None


# --- the starvation alarm --------------------------------------------------------------------------------------

def _samples(step: int = 1) -> list[StarvationSample]:
    return [StarvationSample(r["t_s"], r["kv_usage"], int(r["running"]), int(r["waiting"]), r["preemptions"])
            for r in timeseries()[::step]]


def _run(detector: StarvationDetector, samples) -> StarvationDetector:
    for s in samples:
        detector.update(s)
    return detector


def test_alarm_fires_and_clears_on_the_recorded_wave():
    d = _run(StarvationDetector(max_num_seqs=8), _samples())
    (episode,) = d.episodes
    assert episode.onset_at == 2.1  # KV >= 90% with 9 waiting
    assert episode.first_preemption_at == 5.3  # the counter first moves (21 -> 22)
    assert episode.fired_at == 5.8  # usage 0.93, 4 of 8 running, 9 waiting, +4 preemptions
    assert episode.time_to_detect == pytest.approx(0.5)
    assert episode.since_onset == pytest.approx(3.7)
    assert episode.cleared_at == 21.1  # quiet since 15.8, clear_after 5 s
    assert episode.preemptions == 25 and episode.peak_waiting == 10
    assert not d.firing


def test_alarm_at_a_1_hz_poll():
    (episode,) = _run(StarvationDetector(max_num_seqs=8), _samples(step=2)).episodes
    assert episode.fired_at == 6.4 and episode.time_to_detect == pytest.approx(1.1)


def test_alarm_without_max_num_seqs_known():
    (episode,) = _run(StarvationDetector(), _samples()).episodes
    assert episode.fired_at == 5.8


def test_a_full_batch_with_a_queue_is_not_starvation():
    d = StarvationDetector(max_num_seqs=8)
    for i in range(20):
        d.update(StarvationSample(float(i), 0.97, 8, 5, float(i)))  # preempting, but the batch is full
    assert d.episodes == []


def test_preemptions_with_room_in_the_cache_do_not_fire():
    d = StarvationDetector(max_num_seqs=8)
    for i in range(20):
        d.update(StarvationSample(float(i), 0.5, 3, 2, float(i)))
    assert d.episodes == []


def test_threads_in_flight_are_kept_with_the_episode():
    d = StarvationDetector(max_num_seqs=8)
    for s in _samples():
        d.update(s, in_flight_threads=["thread-a", "thread-b"] if 5 < s.t < 8 else [])
    assert d.episodes[0].threads == {"thread-a", "thread-b"}


@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 8), st.integers(0, 5)), max_size=60))
def test_never_fires_while_the_counter_stands_still(rows):
    d = StarvationDetector(max_num_seqs=8)
    for i, (usage, running, waiting) in enumerate(rows):
        d.update(StarvationSample(float(i), usage, running, waiting, 21.0))
    assert d.episodes == []


@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 8), st.integers(0, 5), st.integers(0, 3)), max_size=60))
def test_fires_only_on_the_signature(rows):
    d = StarvationDetector(max_num_seqs=8)
    preempted = 0
    for i, (usage, running, waiting, new) in enumerate(rows):
        preempted += new
        before = len(d.episodes)
        d.update(StarvationSample(float(i), usage, running, waiting, float(preempted)))
        if len(d.episodes) > before:
            assert usage >= 0.9 and running < 8 and waiting > 0
