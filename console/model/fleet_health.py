"""What triage asks a fleet's Prometheus, as plain data: the scrape targets of vLLM, DCGM and LangGraph-server jobs
that are down (`up == 0`), and the replicas' load. No I/O: console/sources/triage.py runs the queries.

A job is the fleet's when one of its targets exported a vLLM, DCGM or lg_api gauge in the last hour (a target that
died keeps its job's kind), or, for a job none of whose targets was ever scraped, when its name says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from lgconsole.console.model.fleet import INSTANT_QUERIES, Replica, host_of

# one gauge each kind of target always exports, looked for over the last hour
KIND_MARKERS = {"vllm": "vllm:num_requests_running", "dcgm": "DCGM_FI_DEV_FB_USED", "langgraph": "lg_api_workers_max"}
KIND_NAMES = {"vllm": "vLLM", "dcgm": "DCGM exporter", "langgraph": "LangGraph server"}
# job names that say the kind when no target of the job ever answered
_NAME_HINTS = (("vllm", "vllm"), ("dcgm", "dcgm"), ("langgraph", "langgraph"), ("lg_api", "langgraph"),
               ("lg-api", "langgraph"))
KIND_LABEL = "lgconsole_kind"

HEALTH_QUERIES = {
    "gauges": INSTANT_QUERIES["gauges"],
    "preemptions_ps": INSTANT_QUERIES["preemptions_ps"],
    "down": "up == 0",
    "kinds": " or ".join(f'label_replace(group by (job) (last_over_time({marker}[1h])), "{KIND_LABEL}", "{kind}", '
                         '"", "")' for kind, marker in KIND_MARKERS.items()),
}


@dataclass(frozen=True)
class DownTarget:
    """A scrape target of the fleet that Prometheus cannot reach now."""

    kind: str  # vllm | dcgm | langgraph
    job: str
    instance: str
    host: str

    @property
    def what(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)


@dataclass(frozen=True)
class FleetHealth:
    """One look at the fleet for triage. `error`: the Prometheus did not answer (then the rest is empty)."""

    url: str
    replicas: tuple[Replica, ...] = ()
    down: tuple[DownTarget, ...] = ()
    error: str | None = None


def job_kinds(samples: Iterable) -> dict[str, str]:
    """job -> kind, from the answer to HEALTH_QUERIES["kinds"]."""
    return {s.labels["job"]: s.labels[KIND_LABEL] for s in samples if "job" in s.labels and KIND_LABEL in s.labels}


def kind_by_name(job: str) -> str | None:
    lowered = job.lower()
    return next((kind for hint, kind in _NAME_HINTS if hint in lowered), None)


def down_targets(down: Iterable, kinds: Mapping[str, str]) -> list[DownTarget]:
    """The fleet's targets among the `up == 0` samples; other jobs (node exporters, Prometheus itself) are not
    lgconsole's business."""
    out = []
    for s in down:
        job = s.labels.get("job", "")
        kind = kinds.get(job) or kind_by_name(job)
        if kind is not None:
            out.append(DownTarget(kind, job, s.labels.get("instance", "?"), host_of(s.labels)))
    return sorted(out, key=lambda t: (t.kind, t.job, t.instance))
