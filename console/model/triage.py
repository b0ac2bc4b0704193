"""Triage rules: what is wrong right now, worst first, each with its evidence and what to do about it.

Plain Python over plain inputs (service states, threads from Postgres, runs from the server, vLLM readings, table
and disk numbers), so every rule is tested on constructed situations and the same findings feed the Triage screen
and `lgconsole doctor`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from lgconsole.console.model.fleet import FULL, model_imbalance
from lgconsole.console.model.state_growth import GrowthRule
from lgconsole.console.model.text import MIB, format_bytes, format_duration

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Jump:
    """Where the evidence is: a screen and what to select on it."""

    screen: str  # stack | logs | threads | gpu | live
    target: str | None = None


@dataclass(frozen=True)
class Finding:
    severity: str  # critical | warning | info
    code: str  # stable id, e.g. service-down
    title: str  # one line
    explanation: str
    evidence: tuple[str, ...] = ()
    action: str = ""
    jump: Jump | None = None

    def to_json(self) -> dict:
        return {"severity": self.severity, "code": self.code, "title": self.title, "explanation": self.explanation,
                "evidence": list(self.evidence), "action": self.action,
                "jump": None if self.jump is None else {"screen": self.jump.screen, "target": self.jump.target}}


@dataclass
class Thresholds:
    restart_loop: int = 3  # restarts of one service
    pending_run_s: float = 120.0  # a run queued this long is stuck
    running_run_s: float = 30 * 60.0  # a run executing this long is stuck
    errored_window_h: float = 24.0
    waiting_warn_h: float = 1.0  # a human has not answered for this long
    disk_warn_free: float = 0.20
    disk_critical_free: float = 0.10
    disk_days_warn: float = 7.0  # full within this many days at the current growth
    checkpoints_per_thread_warn: int = 5000
    redis_warn: float = 0.90
    vllm_queue_warn: int = 8
    state_explosion_bytes: int = 1024 * 1024  # a thread state that keeps growing past this is named
    kv_full: float = FULL  # the starvation alarm's KV usage (capacity.StarvationDetector), for fleet replicas too


@dataclass
class VllmObservation:
    """Two scrapes of one vLLM server, reduced to what the rules need."""

    url: str
    usage: float | None = None
    running: int | None = None
    waiting: int | None = None
    max_num_seqs: int | None = None
    preemptions_delta: float = 0.0
    starving: bool = False
    error: str | None = None


@dataclass
class TriageInputs:
    now: datetime
    supervisor_running: bool = True
    services: list = field(default_factory=list)  # ServiceStatus records
    errored_threads: list = field(default_factory=list)  # ThreadSummary with status errored
    waiting_threads: list = field(default_factory=list)  # ThreadSummary with status waiting
    active_runs: list | None = None  # ActiveRun records; None = the server could not be asked
    vllm: list[VllmObservation] = field(default_factory=list)
    tables: Any = None  # TableStats or None
    redis: Any = None  # RedisMemory or None
    errors: list[str] = field(default_factory=list)  # readers that failed: said, not hidden
    state_growth: list = field(default_factory=list)  # StateGrowth of recently active threads
    never_up: str | None = None  # the state dir, when no stack was ever brought up there and no service is external
    # addresses beyond loopback on which the managed LangGraph server listens with auth = "none"
    open_server: list[str] = field(default_factory=list)
    fleet: Any = None  # FleetHealth from the configured Prometheus; None when there is none


def _state(service) -> str:
    return getattr(service.state, "value", service.state)


def _size(n: float) -> str:
    """Disk, table and Redis sizes: MiB at the smallest ("0 MiB/day", not "512 B/day")."""
    return format_bytes(n, MIB)


def rule_services(i: TriageInputs, t: Thresholds) -> list[Finding]:
    out = []
    if i.never_up:
        return [Finding("critical", "stack-never-up", "No stack was ever brought up here",
                        f"Nothing was started with the state dir {i.never_up} and no service URL is configured: "
                        "there is nothing to check.", (),
                        "Bring it up: `lgconsole up` (or `lgconsole demo`); or set the services' URLs in "
                        "lgconsole.toml or POSTGRES_URL, LANGGRAPH_URL, REDIS_URL, VLLM_URL.", Jump("stack"))]
    unsupervised = [s.name for s in i.services if not i.supervisor_running and s.managed and s.pid
                    and _state(s) not in ("stopped", "disabled")]
    if unsupervised:
        out.append(Finding("critical", "supervisor-dead", "The supervisor has died; the services run unsupervised",
                           f"{', '.join(unsupervised)} still run, but nothing restarts them if they crash.",
                           (), "Start a new supervisor that adopts them: `lgconsole up` (or U on the Stack screen).",
                           Jump("stack")))
        return out
    external_down = [rule_external_down(svc) for svc in i.services if not svc.managed and _state(svc) == "down"]
    elsewhere = any(getattr(s, "run_elsewhere", False) for s in i.services)  # another manager runs the stack
    if not i.supervisor_running and not elsewhere and any(s.managed and _state(s) != "disabled" for s in i.services):
        out.append(Finding("critical", "stack-down", "The stack is not running",
                           "No supervisor runs for this state dir: nothing restarts crashed services.",
                           (), "Bring it up: `lgconsole up` (or U on the Stack screen).", Jump("stack")))
        return out + external_down
    out += external_down
    for svc in i.services:
        state = _state(svc)
        evidence = tuple(x for x in (svc.last_error, svc.detail) if x)
        if elsewhere and svc.managed and state in ("down", "stopped"):
            out.append(Finding("critical", "service-down", f"{svc.name} is {state} (not run by lgconsole)",
                               f"{svc.name} is not serving; what depends on it fails or waits.", evidence,
                               "Another manager runs this stack (the exported systemd units?): look there "
                               f"(`systemctl status lgconsole-{svc.name}`, `journalctl -u lgconsole-{svc.name}`).",
                               Jump("stack", svc.name)))
        elif state in ("crashed", "failed") or (state == "stopped" and svc.managed):
            out.append(Finding("critical", "service-down", f"{svc.name} is {state}",
                               f"{svc.name} is not serving; what depends on it fails or waits.",
                               evidence, f"See its log (`lgconsole logs {svc.name}`); restart with r on the Stack "
                               "screen once the cause is fixed.", Jump("logs", svc.name)))
        elif state == "degraded":
            out.append(Finding("warning", "service-degraded", f"{svc.name} fails its health check",
                               "The process runs but does not answer its health probe.", evidence,
                               f"Check `lgconsole logs {svc.name}`; restart it if it stays degraded.",
                               Jump("logs", svc.name)))
        if svc.restarts >= t.restart_loop:
            out.append(Finding("critical" if state != "healthy" else "warning", "restart-loop",
                               f"{svc.name} restarted {svc.restarts} times",
                               "The supervisor keeps bringing it back: something kills it or it crashes.",
                               evidence, "Read the log around each restart; look for OOM kills (`dmesg`).",
                               Jump("logs", svc.name)))
    return out


# What a user loses when an external service does not answer, and how bad that is: without the server or Postgres
# nothing runs or is read, without the model every model call fails; Redis holds only short-lived state (the demo's
# tool cache runs uncached without it), so graphs slow down rather than fail.
EXTERNAL_DOWN = {
    "langgraph": ("critical", "No run can be started, watched or answered, by lgconsole or any other client."),
    "postgres": ("critical", "Checkpoints are neither saved nor read: runs fail and threads cannot be browsed."),
    "vllm": ("critical", "Every node that calls the model fails or waits."),
    "redis": ("warning", "What graphs keep there (tool results, scratch state) is gone for now: cached work is done "
                         "again, and a graph that needs Redis fails."),
}


def rule_external_down(svc) -> Finding:
    """An external service that does not answer lgconsole's probe: lgconsole cannot restart it, only say so."""
    severity, explanation = EXTERNAL_DOWN.get(svc.name, ("warning", f"{svc.name} does not answer."))
    reason = svc.detail or "no answer"
    return Finding(severity, "external-down", f"{svc.name} (external, {svc.url or 'no url'}) is down: {reason}",
                   explanation, tuple(x for x in (f"probed {svc.url}" if svc.url else "", svc.version) if x),
                   "lgconsole does not run it: check that host and the URL; `lgconsole status` probes it again.",
                   Jump("stack", svc.name))


def rule_vllm(i: TriageInputs, t: Thresholds) -> list[Finding]:
    out = []
    busy_threads = sorted({r.thread_id for r in i.active_runs or []})
    for v in i.vllm:
        if v.error:
            continue  # a down vLLM is a service finding; an external one unreachable is below
        if v.starving:
            out.append(Finding(
                "critical", "kv-starvation", f"vLLM KV cache is starving ({v.url})",
                "KV cache nearly full, fewer sequences running than allowed, requests waiting and preemptions "
                "rising: parallel branches of your graphs are queueing behind each other.",
                (f"usage {v.usage:.0%}, running {_count(v.running)}/{v.max_num_seqs or '?'}, waiting {v.waiting}, "
                 f"+{v.preemptions_delta:.0f} preemptions", *(f"thread in flight: {tid}" for tid in busy_threads[:5])),
                "Lower max_num_seqs or context, raise gpu_memory_utilization, use an fp8 KV cache, or add a "
                "replica; see the capacity panel.", Jump("gpu")))
        elif v.waiting is not None and v.waiting >= t.vllm_queue_warn:
            out.append(Finding("warning", "vllm-queue", f"{v.waiting} requests waiting at vLLM ({v.url})",
                               "Requests queue at the model server.",
                               (f"running {_count(v.running)}/{v.max_num_seqs or '?'}, KV usage "
                                f"{(v.usage or 0):.0%}",), "Check the GPU screen; size max_num_seqs to fan-out + 20%.",
                               Jump("gpu")))
    return out


def rule_prometheus(i: TriageInputs, t: Thresholds) -> list[Finding]:
    if i.fleet is None or i.fleet.error is None:
        return []
    return [Finding("warning", "prometheus-down", f"fleet unseen: {i.fleet.error}",
                    "The fleet's replicas, GPUs and servers cannot be checked while the Prometheus does not answer.",
                    (), "Check the Prometheus and [prometheus] url (or PROMETHEUS_URL).", Jump("gpu"))]


# a scrape target down, by kind: a vLLM or LangGraph server that Prometheus cannot reach is most likely down for
# its clients too; a DCGM exporter down only blinds the GPU telemetry
TARGET_DOWN = {
    "vllm": ("critical", "Requests routed to it fail or wait, and the other replicas carry its load."),
    "langgraph": ("critical", "Runs sent to it fail; a load balancer that does not health-check keeps sending them."),
    "dcgm": ("warning", "That host's GPUs are not watched: memory, utilisation and temperature are unknown."),
}


def rule_fleet_targets(i: TriageInputs, t: Thresholds) -> list[Finding]:
    if i.fleet is None:
        return []
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for target in i.fleet.down:
        groups[(target.kind, target.job)].append(target)
    out = []
    for (kind, job), targets in groups.items():
        severity, explanation = TARGET_DOWN.get(kind, ("warning", "It is not scraped."))
        named = ", ".join(x.instance for x in targets[:3]) + (f" and {len(targets) - 3} more" if len(targets) > 3
                                                               else "")
        out.append(Finding(severity, "fleet-target-down",
                           f"{targets[0].what} down in Prometheus (job {job}): {named}", explanation,
                           tuple(f"{x.instance} on {x.host}: up == 0" for x in targets[:10]),
                           "Check that host and the process (its /metrics answers when it runs); "
                           f"Prometheus's targets page says why the scrape fails ({i.fleet.url}/targets).",
                           Jump("gpu")))
    return out


def rule_fleet_replicas(i: TriageInputs, t: Thresholds) -> list[Finding]:
    """A replica whose KV cache is full with requests waiting, and replicas of one model loaded so unevenly that one
    queues while another has room."""
    if i.fleet is None:
        return []
    out = []
    for r in i.fleet.replicas:
        if r.kv_usage is not None and r.kv_usage >= t.kv_full and (r.waiting or 0) > 0:
            rate = "" if r.preemptions_ps is None else f", {r.preemptions_ps:.2f} preemptions/s"
            out.append(Finding("critical", "fleet-kv-starvation",
                               f"vLLM replica {r.instance} ({r.model}) on {r.host} is starving",
                               "Its KV cache is full and requests wait: parallel branches of your graphs queue "
                               "behind each other there.",
                               (f"KV usage {r.kv_usage:.0%}, running {_count(r.running)}, waiting {r.waiting}{rate}",),
                               "Add a replica or route by load; lower max_num_seqs or context, or use an fp8 KV "
                               "cache; see the fleet panel.", Jump("gpu")))
    by_model: dict[str, list] = defaultdict(list)
    for r in i.fleet.replicas:
        by_model[r.model].append(r)
    for model, replicas in sorted(by_model.items()):
        found = model_imbalance(replicas)
        if found.verdict.level != "bad":
            continue
        instance = {r.key: r.instance for r in replicas}
        out.append(Finding("warning", "fleet-imbalance",
                           f"{model}: replica {instance[found.fullest]} queues while {instance[found.emptiest]} has "
                           "room", found.verdict.text,
                           tuple(f"{r.instance} on {r.host}: KV {(r.kv_usage or 0):.0%}, waiting {_count(r.waiting)}"
                                 for r in replicas[:10]),
                           "Route by load (least KV usage or fewest waiting) instead of round robin.", Jump("gpu")))
    return out


def rule_stuck_runs(i: TriageInputs, t: Thresholds) -> list[Finding]:
    out = []
    for run in i.active_runs or []:
        age = (i.now - run.created_at).total_seconds()
        limit = t.pending_run_s if run.status == "pending" else t.running_run_s
        if age > limit:
            out.append(Finding("warning", "stuck-run",
                               f"run {run.status} for {format_duration(age)} on thread {run.thread_id}",
                               "Pending: no worker picked it up (all busy, or a worker died). Running: a node hangs "
                               "or waits on a slow model.", (f"run {run.run_id}", f"created {run.created_at:%H:%M:%S}"),
                               "Watch it live (3, then a to attach); cancel it if it is hung.",
                               Jump("live", run.thread_id)))
    return out


def rule_errored_threads(i: TriageInputs, t: Thresholds) -> list[Finding]:
    since = i.now - timedelta(hours=t.errored_window_h)
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for th in i.errored_threads:
        if th.last_activity and th.last_activity < since:
            continue
        if (th.error or "").startswith("CancelledError"):
            continue  # a run someone cancelled, not a failure
        match = re.match(r"[\w.]+", th.error or "")
        kind = match.group(0) if match else "an error"
        groups[(kind, th.status_node or "?")].append(th)
    out = []
    for (kind, node), threads in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        newest = max(threads, key=lambda th: th.last_activity or i.now)
        out.append(Finding("warning", "errored-threads",
                           f"{len(threads)} thread{'s' if len(threads) > 1 else ''} failed with {kind} in {node}",
                           f"In the last {t.errored_window_h:.0f} h. Latest: {newest.error or kind}",
                           tuple(f"{th.thread_id}  {th.error or ''}"[:140] for th in threads[:5]),
                           "Open the newest thread's last checkpoint; fix and replay from it (p on Threads).",
                           Jump("threads", newest.thread_id)))
    return out


def rule_waiting_threads(i: TriageInputs, t: Thresholds) -> list[Finding]:
    if not i.waiting_threads:
        return []
    ages = [(i.now - th.last_activity).total_seconds() for th in i.waiting_threads if th.last_activity]
    oldest = max(ages) if ages else 0
    stale = [th for th in i.waiting_threads if th.last_activity and
             (i.now - th.last_activity).total_seconds() > t.waiting_warn_h * 3600]
    severity = "warning" if stale else "info"
    first = max(i.waiting_threads, key=lambda th: (i.now - th.last_activity).total_seconds() if th.last_activity else 0)
    return [Finding(severity, "waiting-threads",
                    f"{len(i.waiting_threads)} thread{'s' if len(i.waiting_threads) > 1 else ''} wait for a human "
                    f"(oldest {format_duration(oldest)})",
                    "They stopped at interrupt() and resume only when someone answers.",
                    tuple(f"{th.thread_id}  waiting {format_duration((i.now - th.last_activity).total_seconds())}"
                          for th in sorted(i.waiting_threads, key=lambda th: th.last_activity or i.now)[:5]),
                    "Answer on the Threads screen (r), or `lgconsole resume THREAD VALUE`.",
                    Jump("threads", first.thread_id))]


def rule_tables(i: TriageInputs, t: Thresholds) -> list[Finding]:
    s = i.tables
    if s is None:
        return []
    out = []
    growth = s.growth_bytes_per_day
    if s.disk_free_bytes is not None and s.disk_total_bytes:
        free = s.disk_free_bytes / s.disk_total_bytes
        days = s.disk_free_bytes / growth if growth > 0 else None
        evidence = (f"{_size(s.disk_free_bytes)} free of {_size(s.disk_total_bytes)} at {s.data_dir}",
                    f"checkpoint tables {_size(s.total_bytes)}, growing ~{_size(growth)}/day")
        if free < t.disk_critical_free:
            out.append(Finding("critical", "disk-low", f"Postgres disk {free:.0%} free",
                               "Postgres stops accepting writes when the disk fills: every run then fails.",
                               evidence, "Prune old threads: `lgconsole prune --older-than 7d` (dry run first).",
                               Jump("stack", "postgres")))
        elif free < t.disk_warn_free or (days is not None and days < t.disk_days_warn):
            when = f", full in ~{days:.1f} days" if days is not None else ""
            out.append(Finding("warning", "disk-low", f"Postgres disk {free:.0%} free{when}",
                               "At the current checkpoint growth the disk fills soon.", evidence,
                               "Prune old threads: `lgconsole prune --older-than 7d` (dry run first).",
                               Jump("stack", "postgres")))
    if s.max_checkpoints_per_thread >= t.checkpoints_per_thread_warn:
        out.append(Finding("warning", "thread-bloat",
                           f"thread {s.max_thread_id} has {s.max_checkpoints_per_thread} checkpoints",
                           "A long-lived thread (a loop, a chat that never ends) makes its history slow to read.",
                           (f"{s.threads} threads, {s.rows_estimate.get('checkpoints', 0)} checkpoints",),
                           "Start new threads per conversation or task; copy then prune the old one.",
                           Jump("threads", s.max_thread_id)))
    out.append(Finding("info", "checkpoint-growth",
                       f"checkpoint tables {_size(s.total_bytes)}, +{s.checkpoints_last_day} checkpoints today",
                       "Size and pace of the durable state.",
                       tuple(f"{name}: {_size(size)}, ~{s.rows_estimate.get(name, 0)} rows"
                             for name, size in s.bytes_by_table.items())
                       + (f"last 7 days: {s.checkpoints_last_week} checkpoints (~{_size(growth)}/day)",)
                       + ((f"disk: {_size(s.disk_free_bytes)} free of {_size(s.disk_total_bytes)} at {s.data_dir}",)
                          if s.disk_free_bytes is not None and s.disk_total_bytes else ()),
                       "", Jump("threads")))
    return out


def rule_redis(i: TriageInputs, t: Thresholds) -> list[Finding]:
    r = i.redis
    if r is None or not r.max_bytes:
        return []
    used = r.used_bytes / r.max_bytes
    if used < t.redis_warn and not r.evicted_keys:
        return []
    return [Finding("warning", "redis-memory", f"Redis at {used:.0%} of maxmemory",
                    "Tool results and scratch state get evicted early; graphs redo the work.",
                    (f"{_size(r.used_bytes)} of {_size(r.max_bytes)}, {r.keys} keys, {r.evicted_keys} evicted",),
                    "Raise redis.maxmemory or shorten TTLs.", Jump("stack", "redis"))]


def rule_state_explosion(i: TriageInputs, t: Thresholds) -> list[Finding]:
    out = []
    for growth in i.state_growth:
        if not growth.keeps_growing(GrowthRule(min_head_bytes=t.state_explosion_bytes)):
            continue
        keys = growth.growing_keys()
        names = ", ".join(k for k, _ in keys) or "?"
        evidence = tuple(f"{k}: +{_size(gained)} over the last {len(growth.totals)} checkpoints"
                         for k, gained in keys)
        messages = [m for m in growth.messages if m is not None]
        if messages:
            evidence += (f"messages: {messages[0]} -> {messages[-1]}",)
        out.append(Finding("warning", "state-explosion",
                           f"thread {growth.thread_id} state keeps growing: {_size(growth.head_bytes)} ({names})",
                           "Every checkpoint stores the whole state again: a state that only grows makes each step "
                           "slower to save and the checkpoint tables fill fast.",
                           evidence, "Trim the growing keys (a reducer that drops old items, trim_messages, "
                           "RemoveMessage), keep large values in the store or Redis.", Jump("threads", growth.thread_id)))
    return out


def rule_open_server(i: TriageInputs, t: Thresholds) -> list[Finding]:
    if not i.open_server:
        return []
    return [Finding("warning", "server-unguarded", "The LangGraph server answers anyone on the network",
                    "It runs with [langgraph] auth = \"none\" and listens beyond loopback: whoever reaches it reads "
                    "every thread's state and starts runs.", tuple(f"listening on {a}" for a in i.open_server),
                    "Remove `auth = \"none\"` from [langgraph] and `lgconsole down && lgconsole up` (clients then "
                    "need `lgconsole token`), or keep the port behind a gateway that checks who calls.",
                    Jump("stack", "langgraph"))]


def rule_reader_errors(i: TriageInputs, t: Thresholds) -> list[Finding]:
    return [Finding("warning", "triage-blind", f"could not check: {e}", "This part of triage has no data.", (),
                    "Fix the service it needs; triage retries on its next refresh.") for e in i.errors]


RULES = (rule_services, rule_vllm, rule_prometheus, rule_fleet_targets, rule_fleet_replicas, rule_stuck_runs, rule_errored_threads, rule_waiting_threads, rule_tables,
         rule_redis, rule_state_explosion, rule_open_server, rule_reader_errors)


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)  # None: the server's value was no usable number


def evaluate(inputs: TriageInputs, thresholds: Thresholds | None = None) -> list[Finding]:
    thresholds = thresholds or Thresholds()
    findings = [f for rule in RULES for f in rule(inputs, thresholds)]
    return sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity])


def exit_code(findings: list[Finding]) -> int:
    """The triage level: 0 healthy, 1 warnings, 2 critical (info findings do not count); `doctor` exits with
    console/cli/exit_codes.doctor_exit of it."""
    severities = {f.severity for f in findings}
    return 2 if "critical" in severities else 1 if "warning" in severities else 0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
