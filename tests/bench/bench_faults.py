"""Faults on a real stack: kill -9 Postgres, Redis, the LangGraph server and the supervisor in the middle of a demo
run, a few times each, and measure what an operator sees and what the run keeps.

Run: .venv/bin/python tests/bench/bench_faults.py [--rounds N]  (`make faults`). Prints a table; asserts nothing.
The stack is its own (free loopback ports, a temp state dir), brought up through the project's stack/ code and
stopped by PID at the end, also on failure. Per kill:
- shown: kill -> `lgconsole status` / the console (supervisor.read_state, which checks /proc) shows the fault;
- noticed: kill -> the supervisor's own state file shows it (crashed, or a new PID); "-" for the supervisor itself;
- healthy: kill -> every service healthy again (for the supervisor: after `up` adopted the services);
- nodes re-run: root nodes executed again after the kill (the drill's count; the in-flight node at most);
- checkpoints lost: checkpoints of the run's thread seen in Postgres at any time and missing at the end (must be 0);
- finished: the thread ran to its end (the demo's approval answered).
Postgres, Redis and the server are killed by the spot-eviction drill (console/sources/drill.py); the supervisor by
this script, which then runs `up` as an operator would.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stackutil import (all_healthy, make_config, new_state_dir, processes_mentioning, remove_state_dir,  # noqa: E402
                       start_stack, stop_stack, wait_for)

from lgconsole.console.model.drill import TaskLedger, count_reruns  # noqa: E402
from lgconsole.console.model.status import RunStatus  # noqa: E402
from lgconsole.console.sources.drill import drill_target, run_drill  # noqa: E402
from lgconsole.console.sources.run_follower import RunFollower  # noqa: E402
from lgconsole.console.sources.stack import spec_for_up  # noqa: E402
from lgconsole.console.sources.urls import langgraph_url, postgres_url  # noqa: E402
from lgconsole.stack.server.runs import get_thread, recreate_thread  # noqa: E402
from lgconsole.stack.services import supervisor  # noqa: E402
from lgconsole.stack.services.service import ServiceState  # noqa: E402

FAULTS = ("postgres", "redis", "langgraph", "supervisor")
SAMPLE_S = 0.02


@dataclass
class Trial:
    fault: str
    shown_s: float | None = None
    noticed_s: float | None = None
    healthy_s: float | None = None
    rerun: list[str] = field(default_factory=list)
    lost: int = 0
    finished: bool = False
    note: str = ""


class Watch:
    """Samples, in a thread, what `status` shows (read_state) and what the supervisor wrote (the raw state file) for
    one service, and every checkpoint id of one thread in Postgres; times are time.monotonic()."""

    def __init__(self, config, service: str, thread_id: str, pg_url: str):
        self.config, self.service, self.thread_id, self.pg_url = config, service, thread_id, pg_url
        self.samples: list[tuple[float, bool, int | None, str | None, int | None]] = []
        self.checkpoints: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._states, daemon=True),
                         threading.Thread(target=self._checkpoints, daemon=True)]

    def __enter__(self) -> Watch:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def _states(self) -> None:
        import json

        state_file = self.config.state_path / "state.json"
        while not self._stop.is_set():
            shown = supervisor.read_state(self.config.state_path)
            status = shown.by_name(self.service)
            try:
                raw = json.loads(state_file.read_text())["services"].get(self.service, {})
            except (OSError, ValueError, KeyError):
                raw = {}
            self.samples.append((time.monotonic(), shown.supervisor_alive,
                                 status.pid if status and status.state == ServiceState.HEALTHY else None,
                                 raw.get("state"), raw.get("pid")))
            time.sleep(SAMPLE_S)

    def _checkpoints(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.pg_url, connect_timeout=1, autocommit=True) as conn:
                    while not self._stop.is_set():
                        rows = conn.execute("SELECT checkpoint_ns, checkpoint_id FROM checkpoints WHERE thread_id = %s",
                                            (self.thread_id,)).fetchall()
                        self.checkpoints.update(rows)
                        time.sleep(0.1)
            except psycopg.Error:  # Postgres killed or restarting: connect again
                time.sleep(0.1)

    def first(self, after: float, predicate) -> float | None:
        return next((t - after for t, *rest in self.samples if t >= after and predicate(*rest)), None)


def lost_checkpoints(pg_url: str, thread_id: str, seen: set[tuple[str, str]]) -> int:
    import psycopg

    with psycopg.connect(pg_url, connect_timeout=5) as conn:
        now = set(conn.execute("SELECT checkpoint_ns, checkpoint_id FROM checkpoints WHERE thread_id = %s",
                               (thread_id,)).fetchall())
    return len(seen - now)


async def new_demo_thread(url: str) -> str:
    thread_id = str(uuid.uuid4())
    await recreate_thread(url, thread_id, {"graph_id": "demo", "lgconsole_bench": "faults"})
    return thread_id


def service_trial(config, service: str, delay: float) -> Trial:
    url, pg_url = langgraph_url(config), postgres_url(config)
    thread_id = asyncio.run(new_demo_thread(url))
    old_pid = supervisor.read_state(config.state_path).by_name(service).pid
    trial = Trial(service)
    killed: list[float] = []

    def progress(line: str) -> None:
        if line.startswith("killed ") and not killed:
            killed.append(time.monotonic())  # said right after the kill (same call, no await between)

    with Watch(config, service, thread_id, pg_url) as watch:
        report = asyncio.run(run_drill(drill_target(config), service, delay=delay, thread_id=thread_id,
                                       progress=progress))
        wait_for(lambda: all_healthy(config), timeout=120, what="a healthy stack after the drill")
    at = killed[0]
    trial.shown_s = watch.first(at, lambda _alive, healthy_pid, _raw, _rpid: healthy_pid != old_pid)
    trial.noticed_s = watch.first(at, lambda _alive, _hp, raw, raw_pid: raw != "healthy" or raw_pid != old_pid)
    trial.healthy_s = report.time_to_healthy_s
    trial.rerun = report.rerun
    trial.lost = lost_checkpoints(pg_url, thread_id, watch.checkpoints)
    trial.finished = report.completed
    trial.note = report.recovery
    return trial


def supervisor_trial(config, delay: float) -> Trial:
    url, pg_url = langgraph_url(config), postgres_url(config)
    thread_id = asyncio.run(new_demo_thread(url))
    trial = Trial("supervisor")
    ledger = TaskLedger()

    async def run() -> float:
        follower = RunFollower(url, on_event=ledger.feed)
        await follower.start("demo", input={"task": f"supervisor fault {uuid.uuid4().hex[:8]}", "delay": delay},
                             thread_id=thread_id)
        follower.follow_in_background()
        deadline = time.monotonic() + 60
        while len(ledger.in_flight()) < 3:  # the three workers run
            if follower.finished or time.monotonic() > deadline:
                raise RuntimeError("the demo run's workers were not seen in flight")
            await asyncio.sleep(0.02)
        pid = supervisor.read_state(config.state_path).supervisor_pid
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        await asyncio.to_thread(wait_for, lambda: not supervisor.read_state(config.state_path).supervisor_alive,
                                10, 0.01, "the dead supervisor shown")
        spec, adopt = await asyncio.to_thread(spec_for_up, config)  # what `lgconsole up` does
        await asyncio.to_thread(supervisor.launch, spec, adopt)
        await asyncio.to_thread(wait_for, lambda: all_healthy(config), 60, 0.02, "a healthy stack")
        trial.healthy_s = time.monotonic() - killed_at
        trial.note = f"adopted {', '.join(adopt) or 'none'}"
        await follower.wait(180)
        if follower.live.status == RunStatus.WAITING:
            ledger.stream += 1
            await follower.resume(True, thread_id=thread_id, assistant="demo")
            await follower.wait(180)
        return killed_at

    with Watch(config, "postgres", thread_id, pg_url) as watch:
        killed_at = asyncio.run(run())
    trial.shown_s = watch.first(killed_at, lambda alive, *_: not alive)
    trial.noticed_s = None
    trial.rerun = count_reruns(ledger, killed_at).rerun
    trial.lost = lost_checkpoints(pg_url, thread_id, watch.checkpoints)
    trial.finished = (asyncio.run(get_thread(url, thread_id)) or {}).get("status") == "idle"
    return trial


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def print_table(trials: list[Trial]) -> None:
    print()
    print(f"{'fault':<11} {'#':>2} {'shown':>7} {'noticed':>8} {'healthy':>8} {'re-run':<12} {'ckpt lost':>9} "
          f"{'finished':>8}  recovery")
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.fault] = counts.get(t.fault, 0) + 1
        print(f"{t.fault:<11} {counts[t.fault]:>2} {seconds(t.shown_s):>7} {seconds(t.noticed_s):>8} "
              f"{seconds(t.healthy_s):>8} {', '.join(t.rerun) or 'none':<12} {t.lost:>9} "
              f"{'yes' if t.finished else 'NO':>8}  {t.note}")
    print()
    for fault in FAULTS:
        of = [t for t in trials if t.fault == fault]
        if not of:
            continue
        healthy = [t.healthy_s for t in of if t.healthy_s is not None]
        shown = [t.shown_s for t in of if t.shown_s is not None]
        print(f"{fault:<11} shown max {seconds(max(shown, default=None))}, healthy median "
              f"{seconds(statistics.median(healthy) if healthy else None)}, re-run {sum(len(t.rerun) for t in of)} "
              f"node(s), checkpoints lost {sum(t.lost for t in of)}, runs finished {sum(t.finished for t in of)}/"
              f"{len(of)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="kills per fault (default 3)")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds each demo worker sleeps (default 2)")
    parser.add_argument("--faults", default=",".join(FAULTS), help="which, comma-separated (default all)")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    state_dir = new_state_dir()
    config = make_config(state_dir)
    trials: list[Trial] = []
    try:
        print(f"starting a stack in {state_dir} ...", flush=True)
        start_stack(config)
        for fault in faults:
            for n in range(args.rounds):
                wait_for(lambda: all_healthy(config), timeout=120, what="a healthy stack")
                print(f"  kill -9 {fault} ({n + 1}/{args.rounds}) ...", flush=True)
                try:
                    trial = supervisor_trial(config, args.delay) if fault == "supervisor" else \
                        service_trial(config, fault, args.delay)
                except Exception as exc:  # a failed trial is a row, not the end of the benchmark
                    trial = Trial(fault, note=f"FAILED: {type(exc).__name__}: {exc}")
                trials.append(trial)
    finally:
        stop_stack(config)
        left = processes_mentioning(str(state_dir))
        for line in left:  # stop by PID whatever a failure left behind
            try:
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        remove_state_dir(state_dir)
        print(f"stack stopped; processes left: {len(left)}", flush=True)
    print_table(trials)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
