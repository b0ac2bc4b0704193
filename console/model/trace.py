"""A run's trace: its node steps as a waterfall (start, end, duration, subgraph steps nested), the model calls each
step made (count, prompt and completion tokens from the messages' usage metadata, time to first token where a
stream gave it), the run's totals and cost; and the slowest nodes across recent runs.

Plain Python over plain data: the steps come from a `LiveRun` folded from the run's saved checkpoints (times are the
checkpoints' own, epoch seconds), the model calls from the AI messages each task wrote.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lgconsole.console.model.live_run import LiveRun, NodeStep

AI_TYPES = ("ai", "AIMessage", "AIMessageChunk")


@dataclass(frozen=True)
class ModelCall:
    """One model reply a step wrote; tokens are None where the message carries no usage."""

    message_id: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def model_call(message: Any) -> ModelCall | None:
    """An AI message that a model produced, as a ModelCall: it carries `usage_metadata`, or `response_metadata`
    with a token usage or a model name. An AI message a node built by hand (no such metadata), a human or a tool
    message: None."""
    if not isinstance(message, Mapping) or message.get("type") not in AI_TYPES:
        return None
    usage = message.get("usage_metadata") if isinstance(message.get("usage_metadata"), Mapping) else {}
    meta = message.get("response_metadata") if isinstance(message.get("response_metadata"), Mapping) else {}
    reported = meta.get("token_usage") or meta.get("usage") or {}
    reported = reported if isinstance(reported, Mapping) else {}
    prompt = _count(usage.get("input_tokens"))
    prompt = prompt if prompt is not None else _count(reported.get("prompt_tokens", reported.get("input_tokens")))
    completion = _count(usage.get("output_tokens"))
    completion = completion if completion is not None else _count(
        reported.get("completion_tokens", reported.get("output_tokens")))
    model = meta.get("model_name") or meta.get("model")
    if prompt is None and completion is None and not model:
        return None
    return ModelCall(message.get("id"), str(model) if model else None, prompt, completion)


def model_calls(update: Any) -> list[ModelCall]:
    """The model calls in one task's writes (`{channel: value}`; messages in any list-valued channel)."""
    calls = []
    if not isinstance(update, Mapping):
        return calls
    for value in update.values():
        for message in value if isinstance(value, list) else [value]:
            call = model_call(message)
            if call is not None:
                calls.append(call)
    return calls


@dataclass
class TraceStep:
    node: str
    namespace: tuple[str, ...]
    task_id: str | None
    status: str
    started: float | None  # epoch seconds
    ended: float | None
    calls: list[ModelCall] = field(default_factory=list)
    first_token_s: float | None = None  # from the step's start to its first streamed token, where a stream gave it
    error: str | None = None
    children: list[TraceStep] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def name(self) -> str:
        """`node`, or `parent:node` inside a subgraph (the Graph screen's xray names)."""
        return f"{self.namespace[-1].split(':')[0]}:{self.node}" if self.namespace else self.node

    def tokens(self) -> tuple[int, int]:
        return (sum(c.prompt_tokens or 0 for c in self.calls), sum(c.completion_tokens or 0 for c in self.calls))

    def to_json(self) -> dict:
        prompt, completion = self.tokens()
        return {"node": self.node, "namespace": list(self.namespace), "task_id": self.task_id, "status": self.status,
                "started": self.started, "ended": self.ended,
                "duration_s": None if self.duration is None else round(self.duration, 4),
                "model_calls": len(self.calls), "prompt_tokens": prompt, "completion_tokens": completion,
                "first_token_s": self.first_token_s, "error": self.error,
                "children": [c.to_json() for c in self.children]}


@dataclass(frozen=True)
class CostRates:
    """`[cost]` in lgconsole.toml; 0 = not set."""

    gpu_hourly_usd: float = 0.0
    prompt_usd_per_mtok: float = 0.0
    completion_usd_per_mtok: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.gpu_hourly_usd or self.prompt_usd_per_mtok or self.completion_usd_per_mtok)


ATTRIBUTION = ("GPU-busy seconds: the time the run's steps that called a model were running; a second in which "
               "other runs were running too is split evenly among them")


@dataclass
class RunCost:
    gpu_busy_s: float
    gpu_usd: float | None  # None: no hourly rate set
    token_usd: float | None  # None: no per-token prices set
    overlapping_runs: int  # other runs that ran during this run's GPU-busy time
    attribution: str = ATTRIBUTION

    @property
    def total_usd(self) -> float | None:
        parts = [p for p in (self.gpu_usd, self.token_usd) if p is not None]
        return sum(parts) if parts else None

    def to_json(self) -> dict:
        return {"gpu_busy_s": round(self.gpu_busy_s, 4), "gpu_usd": self.gpu_usd, "token_usd": self.token_usd,
                "total_usd": self.total_usd, "overlapping_runs": self.overlapping_runs,
                "attribution": self.attribution}


@dataclass
class RunTrace:
    run_id: str
    thread_id: str
    status: str
    steps: list[TraceStep]
    started: float | None = None  # the run's first checkpoint (its input, saved as it began)
    ended: float | None = None  # its last checkpoint, or its newest step's end while it runs
    cost: RunCost | None = None
    link: str | None = None  # a LangSmith or Langfuse URL, when one is known
    link_note: str = ""  # why there is no link, or which tracer
    notes: list[str] = field(default_factory=list)

    def walk(self) -> Iterator[tuple[TraceStep, int]]:
        """Every step with its depth, each before its children, in start order."""
        def visit(step: TraceStep, depth: int):
            yield step, depth
            for child in step.children:
                yield from visit(child, depth + 1)

        for step in self.steps:
            yield from visit(step, 0)

    @property
    def wall_s(self) -> float | None:
        return None if self.started is None or self.ended is None else max(0.0, self.ended - self.started)

    def totals(self) -> dict:
        calls = [c for step, _ in self.walk() for c in step.calls]
        return {"model_calls": len(calls), "prompt_tokens": sum(c.prompt_tokens or 0 for c in calls),
                "completion_tokens": sum(c.completion_tokens or 0 for c in calls),
                "calls_without_usage": sum(c.prompt_tokens is None and c.completion_tokens is None for c in calls)}

    def covered_s(self) -> float:
        """Seconds of the run's wall time during which a root step ran (parallel steps counted once)."""
        return union_seconds((s.started, s.ended) for s in self.steps if s.started is not None and s.ended is not None)

    def to_json(self) -> dict:
        return {"run_id": self.run_id, "thread_id": self.thread_id, "status": self.status, "started": self.started,
                "ended": self.ended, "wall_s": None if self.wall_s is None else round(self.wall_s, 4),
                "steps_cover_s": round(self.covered_s(), 4), "totals": self.totals(),
                "cost": None if self.cost is None else self.cost.to_json(), "link": self.link,
                "link_note": self.link_note, "notes": list(self.notes), "steps": [s.to_json() for s in self.steps]}


# --- building a trace ---------------------------------------------------------------------------------------------

def trace_steps(live: LiveRun, calls_by_task: Mapping[str, list[ModelCall]],
                first_token_by_task: Mapping[str, float] | None = None) -> list[TraceStep]:
    """The LiveRun's steps as trace steps, with each task's model calls and time to first token."""
    first_token_by_task = first_token_by_task or {}

    def convert(step: NodeStep) -> TraceStep:
        task = step.task_id or ""
        return TraceStep(step.node, step.namespace, step.task_id, str(getattr(step.status, "value", step.status)),
                         step.started, step.ended, list(calls_by_task.get(task, [])), first_token_by_task.get(task),
                         step.error, [convert(child) for child in step.children])

    return [convert(step) for step in live.steps]


def first_tokens(live: LiveRun) -> dict[str, float]:
    """Per task id, seconds from the step's start to its first streamed token (a run the console streamed)."""
    return {step.task_id: max(0.0, step.first_token_at - step.started) for step in live.all_steps()
            if step.task_id and step.first_token_at is not None and step.started is not None}


def union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def gpu_busy_seconds(own: Iterable[tuple[float, float]], others: Iterable[tuple[float, float]]) -> tuple[float, int]:
    """This run's share of GPU-busy time: the union of `own` intervals, each moment divided by 1 + the number of
    `others` (other runs' spans) covering it. Also how many other runs overlapped it at all."""
    own, others = sorted(own), list(others)
    cuts = sorted({t for a, b in own for t in (a, b)} | {t for a, b in others for t in (a, b)})
    busy, overlapping = 0.0, set()
    for a, b in zip(cuts, cuts[1:]):
        mid = (a + b) / 2
        if not any(s <= mid < e for s, e in own):
            continue
        sharing = [i for i, (s, e) in enumerate(others) if s <= mid < e]
        overlapping.update(sharing)
        busy += (b - a) / (1 + len(sharing))
    return busy, len(overlapping)


def run_cost(trace: RunTrace, rates: CostRates, other_spans: Iterable[tuple[float, float]] = ()) -> RunCost | None:
    """The run's cost at `rates` (None when no rate is set): GPU time at the hourly rate, tokens at their prices."""
    if not rates.any:
        return None
    busy_steps = [(s.started, s.ended) for s, _ in trace.walk()
                  if s.calls and s.started is not None and s.ended is not None]
    busy, overlapping = gpu_busy_seconds(busy_steps, other_spans)
    totals = trace.totals()
    gpu = rates.gpu_hourly_usd / 3600.0 * busy if rates.gpu_hourly_usd else None
    tokens = (totals["prompt_tokens"] * rates.prompt_usd_per_mtok
              + totals["completion_tokens"] * rates.completion_usd_per_mtok) / 1e6 \
        if rates.prompt_usd_per_mtok or rates.completion_usd_per_mtok else None
    return RunCost(busy, gpu, tokens, overlapping)


# --- links to an external tracer ------------------------------------------------------------------------------------

def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def trace_link(run_id: str, metadata: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str | None, str]:
    """(URL, note) of the run's trace in LangSmith or Langfuse. A URL only from what the run's metadata carries (a
    `langsmith_trace_url` / `langfuse_trace_url`, or Langfuse's trace and project ids with its host): those tools'
    URLs hold ids that the server's environment does not, so none is guessed."""
    for key in ("langsmith_trace_url", "langfuse_trace_url", "trace_url"):
        url = metadata.get(key)
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url, f"from the run's metadata ({key})"
    langfuse = bool(env.get("LANGFUSE_PUBLIC_KEY") or env.get("LANGFUSE_SECRET_KEY"))
    trace_id, project = metadata.get("langfuse_trace_id"), metadata.get("langfuse_project_id")
    if langfuse and isinstance(trace_id, str) and isinstance(project, str):
        host = (env.get("LANGFUSE_HOST") or env.get("LANGFUSE_BASE_URL") or "https://cloud.langfuse.com").rstrip("/")
        return f"{host}/project/{project}/traces/{trace_id}", "Langfuse (trace and project ids in the run's metadata)"
    langsmith = _truthy(env.get("LANGSMITH_TRACING") or env.get("LANGCHAIN_TRACING_V2")) and bool(
        env.get("LANGSMITH_API_KEY") or env.get("LANGCHAIN_API_KEY"))
    if langsmith:
        project_name = env.get("LANGSMITH_PROJECT") or env.get("LANGCHAIN_PROJECT") or "default"
        return None, (f"LangSmith tracing is on (project {project_name}): search it for run {run_id}; no link: the "
                      "run's metadata names no langsmith_trace_url")
    if langfuse:
        return None, "Langfuse is configured: no link: the run's metadata names no langfuse_trace_id and project id"
    return None, "no LangSmith or Langfuse tracing configured for the server"


# --- the slowest nodes across runs ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeTiming:
    node: str  # `parent:node` inside a subgraph
    run_id: str
    seconds: float


@dataclass(frozen=True)
class NodeRank:
    node: str
    count: int
    mean_s: float
    p50_s: float
    max_s: float
    slowest_run: str

    def to_json(self) -> dict:
        return {"node": self.node, "count": self.count, "mean_s": round(self.mean_s, 4), "p50_s": round(self.p50_s, 4),
                "max_s": round(self.max_s, 4), "slowest_run": self.slowest_run}


@dataclass(frozen=True)
class SavedStepTime:
    """One checkpoint as the ranking needs it: the nodes whose writes made it, its time and its parent's."""

    namespace: str  # "" root, `node:<task id>` in a subgraph
    run_id: str | None
    source: str | None
    writers: tuple[str, ...]
    created: float
    parent_created: float | None


def node_timings(checkpoints: Iterable[SavedStepTime]) -> list[NodeTiming]:
    """A loop checkpoint's writers ran from its parent checkpoint to it (the same times a trace's steps have)."""
    out = []
    for c in checkpoints:
        if c.source != "loop" or c.parent_created is None or not c.run_id:
            continue
        prefix = f"{c.namespace.split('|')[-1].split(':')[0]}:" if c.namespace else ""
        for writer in c.writers:
            if not writer.startswith("__"):
                out.append(NodeTiming(prefix + writer, c.run_id, max(0.0, c.created - c.parent_created)))
    return out


def rank_slowest(timings: Iterable[NodeTiming], limit: int = 10) -> list[NodeRank]:
    """Nodes ranked by their mean duration, slowest first."""
    by_node: dict[str, list[NodeTiming]] = {}
    for t in timings:
        by_node.setdefault(t.node, []).append(t)
    ranks = []
    for node, items in by_node.items():
        seconds = [t.seconds for t in items]
        slowest = max(items, key=lambda t: t.seconds)
        ranks.append(NodeRank(node, len(items), statistics.fmean(seconds), statistics.median(seconds),
                              slowest.seconds, slowest.run_id))
    ranks.sort(key=lambda r: (-r.mean_s, r.node))
    return ranks[:limit]
