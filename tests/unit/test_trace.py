"""The trace's domain logic: model calls and their tokens from recorded message usage, steps folded from saved
checkpoints, GPU-busy seconds shared with overlapping runs, cost, tracer links, the slowest nodes, state growth and
its triage finding, and the text the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console.model.checkpoint_steps import CheckpointFold, SavedCheckpoint, SavedWrite
from lgconsole.console.model.live_run import LiveRun
from lgconsole.console.model.state_growth import state_growth
from lgconsole.console.model.trace import (CostRates, ModelCall, RunTrace, SavedStepTime, TraceStep, gpu_busy_seconds,
                                           model_call, model_calls, node_timings, rank_slowest, run_cost, trace_link,
                                           trace_steps, union_seconds)
from lgconsole.console.model.triage import Thresholds, TriageInputs, evaluate
from lgconsole.console.rows.trace_text import growth_lines, step_bars, summary_lines, waterfall_lines

# what the checkpoint decoder returns for messages ChatOpenAI (vLLM) and the scripted model wrote
VLLM_REPLY = {"type": "ai", "id": "run-1", "content": "…", "usage_metadata": {"input_tokens": 31, "output_tokens": 64,
                                                                               "total_tokens": 95},
              "response_metadata": {"model_name": "tiny-llama", "token_usage": {"prompt_tokens": 31,
                                                                                "completion_tokens": 64}}}
OLD_STYLE_REPLY = {"type": "ai", "id": "run-2", "content": "…", "usage_metadata": None,
                   "response_metadata": {"model_name": "gpt", "token_usage": {"prompt_tokens": 7, "completion_tokens": 3}}}
HAND_BUILT = {"type": "ai", "id": "m3", "content": "Dispatching", "response_metadata": {}, "usage_metadata": None}
TOOL = {"type": "tool", "id": "t1", "content": "[]", "response_metadata": {"model_name": "x"}}


def test_model_calls_are_ai_messages_a_model_produced_with_their_usage():
    assert model_call(VLLM_REPLY) == ModelCall("run-1", "tiny-llama", 31, 64)
    assert model_call(OLD_STYLE_REPLY) == ModelCall("run-2", "gpt", 7, 3)  # response_metadata.token_usage
    assert model_call(HAND_BUILT) is None and model_call(TOOL) is None and model_call("text") is None
    no_usage = model_call({"type": "ai", "response_metadata": {"model_name": "scripted"}})
    assert no_usage is not None and no_usage.prompt_tokens is None
    assert [c.message_id for c in model_calls({"messages": [HAND_BUILT, VLLM_REPLY, TOOL], "n": 3})] == ["run-1"]


def _ckpt(cid, parent, step, created, writers, writes=(), ns=()):
    return SavedCheckpoint(ns, cid, parent, step, "loop" if parent else "input", created, list(writers), {},
                           [SavedWrite(*w) for w in writes])


def _demo_trace() -> RunTrace:
    """input -> supervisor (1 s) -> coder and reviewer in parallel (coder 4 s, reviewer 2 s, one model call each)."""
    checkpoints = [
        _ckpt("c0", None, -1, 100.0, [], [("t0", "__start__", "task", "x")]),
        _ckpt("c1", "c0", 0, 101.0, ["__start__"], [("t1", "supervisor", "messages", [HAND_BUILT])]),
        _ckpt("c2", "c1", 1, 102.0, ["supervisor"], [("t2", "coder", "messages", [VLLM_REPLY]),
                                                     ("t3", "reviewer", "messages", [OLD_STYLE_REPLY])]),
        _ckpt("c3", "c2", 2, 106.0, ["coder", "reviewer"]),
    ]
    live = LiveRun()
    CheckpointFold(live).update(checkpoints, now=106.0, final=True)
    calls = {"t2": [model_call(VLLM_REPLY)], "t3": [model_call(OLD_STYLE_REPLY)]}
    return RunTrace("run", "thread", "success", trace_steps(live, calls, {"t2": 0.25}), 101.0, 106.0)


def test_a_trace_from_saved_checkpoints_has_steps_calls_and_totals():
    trace = _demo_trace()
    assert [(s.node, s.duration) for s in trace.steps] == [("supervisor", 1.0), ("coder", 4.0), ("reviewer", 4.0)]
    assert trace.totals() == {"model_calls": 2, "prompt_tokens": 38, "completion_tokens": 67, "calls_without_usage": 0}
    assert trace.wall_s == 5.0 and trace.covered_s() == 5.0
    coder = trace.steps[1]
    assert coder.first_token_s == 0.25 and coder.tokens() == (31, 64)


def test_gpu_busy_seconds_split_evenly_with_overlapping_runs():
    assert gpu_busy_seconds([(0, 10)], []) == (10.0, 0)
    # another run during the second half: those 5 s are shared by two runs
    assert gpu_busy_seconds([(0, 10)], [(5, 20)]) == (7.5, 1)
    # parallel steps of one run count once; two others overlap 2..4
    busy, overlapping = gpu_busy_seconds([(0, 4), (1, 3)], [(2, 4), (2, 4)])
    assert busy == pytest.approx(2 + 2 / 3) and overlapping == 2


@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 50)).map(lambda p: (p[0], p[0] + p[1])), max_size=6),
       st.lists(st.tuples(st.floats(0, 100), st.floats(0, 50)).map(lambda p: (p[0], p[0] + p[1])), max_size=6))
def test_shared_gpu_seconds_never_exceed_the_runs_own_busy_time(own, others):
    busy, _ = gpu_busy_seconds(own, others)
    assert -1e-9 <= busy <= union_seconds(own) + 1e-6


def test_run_cost_from_the_hourly_rate_and_token_prices():
    trace = _demo_trace()
    assert run_cost(trace, CostRates()) is None
    cost = run_cost(trace, CostRates(gpu_hourly_usd=3.6, prompt_usd_per_mtok=1.0, completion_usd_per_mtok=2.0),
                    [(104.0, 200.0)])
    # coder and reviewer called the model 102..106; another run shared 104..106
    assert cost.gpu_busy_s == 3.0 and cost.gpu_usd == 3.6 / 3600 * 3.0 and cost.overlapping_runs == 1
    assert cost.token_usd == (38 * 1.0 + 67 * 2.0) / 1e6
    assert "split evenly" in cost.attribution


def test_tracer_links_only_from_what_the_run_carries():
    url, _ = trace_link("r1", {"langsmith_trace_url": "https://smith.example/r/1"}, {})
    assert url == "https://smith.example/r/1"
    env = {"LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_HOST": "https://lf.example/"}
    assert trace_link("r1", {"langfuse_trace_id": "t9", "langfuse_project_id": "p1"}, env)[0] == \
        "https://lf.example/project/p1/traces/t9"
    url, note = trace_link("r1", {}, {"LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": "k", "LANGSMITH_PROJECT": "x"})
    assert url is None and "project x" in note and "r1" in note
    assert trace_link("r1", {}, {}) == (None, "no LangSmith or Langfuse tracing configured for the server")
    assert trace_link("r1", {"trace_url": "javascript:alert(1)"}, {})[0] is None


def test_slowest_nodes_ranked_by_mean_over_runs():
    saved = [SavedStepTime("", "r1", "loop", ("a",), 10.0, 9.0), SavedStepTime("", "r1", "loop", ("b", "c"), 13.0, 10.0),
             SavedStepTime("", "r2", "loop", ("a",), 25.0, 19.0), SavedStepTime("sub:t1", "r2", "loop", ("x",), 3.0, 1.0),
             SavedStepTime("", "r2", "input", ("__start__",), 1.0, None)]
    ranks = rank_slowest(node_timings(saved))
    assert [(r.node, r.count, r.max_s, r.slowest_run) for r in ranks] == [
        ("a", 2, 6.0, "r2"), ("b", 1, 3.0, "r1"), ("c", 1, 3.0, "r1"), ("sub:x", 1, 2.0, "r2")]
    assert ranks[0].mean_s == 3.5 and ranks[0].p50_s == 3.5


@dataclass
class Size:
    checkpoint_id: str
    bytes_by_key: dict
    items_by_key: dict = field(default_factory=dict)


def _growing(n: int, step: int) -> list[Size]:
    return [Size(f"c{i}", {"messages": 1000 + i * step, "task": 40}, {"messages": i}) for i in range(n)]


def test_state_growth_names_the_keys_that_keep_growing():
    growth = state_growth("t1", _growing(12, 200_000))
    assert growth.keeps_growing() and growth.growing_keys() == [("messages", 2_200_000)]
    assert growth.largest_keys()[0] == ("messages", 2_201_000) and growth.messages[-1] == 11
    assert not state_growth("t2", _growing(12, 10)).keeps_growing()  # small: not worth a warning
    assert not state_growth("t3", _growing(5, 400_000)).keeps_growing()  # too short to tell a trend
    flat = [Size(f"c{i}", {"blob": 5_000_000}) for i in range(12)]
    assert not state_growth("t4", flat).keeps_growing()


def test_triage_names_a_thread_whose_state_explodes():
    inputs = TriageInputs(now=datetime.now(timezone.utc),
                          state_growth=[state_growth("t1", _growing(12, 200_000)), state_growth("t2", _growing(12, 1))])
    found = [f for f in evaluate(inputs) if f.code == "state-explosion"]
    assert len(found) == 1 and "t1" in found[0].title and "messages" in found[0].title
    assert found[0].jump.screen == "threads" and found[0].jump.target == "t1"
    assert not [f for f in evaluate(inputs, Thresholds(state_explosion_bytes=10**9)) if f.code == "state-explosion"]


def test_text_output_waterfall_and_growth():
    trace = _demo_trace()
    bars = step_bars(trace)
    assert [(b.label, b.start, b.end) for b in bars] == [("supervisor", 0.0, 0.2), ("coder", 0.2, 1.0),
                                                         ("reviewer", 0.2, 1.0)]
    lines = waterfall_lines(trace, 60)
    assert "1 model call, 31+64 tok · first token 0.25s" in lines[1]
    assert "model calls 2  prompt tokens 38  completion tokens 67" in summary_lines(trace)[2]
    growth = growth_lines(state_growth("t1", _growing(12, 200_000)))
    assert growth[0].startswith("state size over 12 checkpoints: ▁") and "11 messages" in growth[0]
    assert growth[-1].startswith("state explosion")


def test_a_running_step_and_nested_steps_in_the_waterfall():
    trace = RunTrace("r", "t", "running", [TraceStep("review", (), "t1", "running", 0.0, None, children=[
        TraceStep("critique", ("review:t1",), "t2", "done", 0.0, 1.0)])], 0.0, 2.0)
    bars = step_bars(trace)
    assert [(b.label, b.depth, b.took, b.end) for b in bars] == [("review", 0, "running", 1.0),
                                                                ("critique", 1, "1.00s", 0.5)]
    assert trace.walk().__next__()[0].children[0].name == "review:critique"
