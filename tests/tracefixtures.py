"""A demo run's trace as fixed data (the shape `lgconsole trace` reads from a real stack, with the scripted model's
token counts), its thread's state growth and a slowest-nodes ranking: for the Trace view's snapshots and Pilot tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from lgconsole.console.model.state_growth import state_growth
from lgconsole.console.model.trace import ModelCall, NodeRank, RunCost, RunTrace, TraceStep
from lgconsole.console.sources.trace import TraceReport

RUN = "01a24d96-81f3-741f-93ff-c816c849c8be"
THREAD = "01a24d96-81dc-7548-9a37-19f0adfbfdfa"
T0 = 1_790_000_000.0


def _call(mid: str, prompt: int, completion: int) -> ModelCall:
    return ModelCall(mid, "scripted", prompt, completion)


def demo_trace() -> RunTrace:
    def step(node, start, end, calls=(), ns=(), children=(), status="done", first_token=None):
        return TraceStep(node, ns, f"task-{node}", status, T0 + start, T0 + end, list(calls), first_token, None,
                         list(children))

    review_ns = ("review:task-review",)
    steps = [
        step("supervisor", 0.0, 0.02),
        step("researcher", 0.02, 0.63, [_call("m1", 43, 12)], first_token=0.41),
        step("coder", 0.02, 0.63, [_call("m2", 22, 11)], first_token=0.40),
        step("reviewer", 0.02, 0.63, [_call("m3", 19, 13)], first_token=0.42),
        step("join", 0.63, 0.64),
        step("review", 0.64, 0.96, children=[step("critique", 0.66, 0.68, [_call("m4", 58, 15)], review_ns),
                                             step("score", 0.68, 0.71, ns=review_ns)]),
        step("approval", 0.96, 1.07, status="interrupted"),
    ]
    trace = RunTrace(RUN, THREAD, "success", steps, T0, T0 + 1.07)
    trace.cost = RunCost(0.63, 0.00063, 0.000148, 1)
    trace.link_note = "no LangSmith or Langfuse tracing configured for the server"
    return trace


@dataclass
class _Size:
    checkpoint_id: str
    bytes_by_key: dict
    items_by_key: dict = field(default_factory=dict)


def demo_report() -> TraceReport:
    sizes = [_Size(f"c{i}", {"messages": 600 * i, "results": 90 * min(i, 3), "task": 24}, {"messages": 2 * i})
             for i in range(1, 13)]
    ranks = [NodeRank("researcher", 3, 0.49, 0.53, 0.61, RUN), NodeRank("review", 3, 0.16, 0.11, 0.32, RUN),
             NodeRank("review:critique", 3, 0.01, 0.01, 0.02, RUN)]
    return TraceReport(demo_trace(), state_growth(THREAD, sizes), ranks)
