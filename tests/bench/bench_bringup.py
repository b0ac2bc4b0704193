"""Bring-up time of each service and of the whole stack, next to `langgraph dev` alone on the same graph.

Run: .venv/bin/python tests/bench/bench_bringup.py [--rounds N] [--timeline]. Prints a table; asserts nothing.
- cold: a new state dir (initdb included); warm: `up` again on the same state dir after `down`.
- peer: `langgraph dev --no-browser --no-reload` on the bundled demo graph, in-memory persistence, exec -> GET /ok.
- --timeline: one cold bring-up as a timeline instead: the supervisor's state changes (state.json read every 10 ms)
  and the services' own log lines that mark their start-up, in seconds since the launch.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import threading
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stackutil import (all_healthy, make_config, new_state_dir, remember_server, remove_state_dir,  # noqa: E402
                       stop_stack, wait_for)

from lgconsole.console.stack_spec import build_stack_spec  # noqa: E402
from lgconsole.stack.services import supervisor  # noqa: E402

from lgconsole.stack.services import process  # noqa: E402
from lgconsole.stack.services.langgraph_server import DEMO_PROJECT  # noqa: E402
from lgconsole.stack.services.ports import free_port  # noqa: E402


def timed_up(config) -> dict[str, float]:
    """stackutil.start_stack, its state polled every 50 ms as the peer's /ok is (not every 200 ms)."""
    t0 = time.time()
    supervisor.launch(build_stack_spec(config))
    state = wait_for(lambda: all_healthy(config), 120, interval=0.05, what="all services healthy")
    total = time.time() - t0
    remember_server(config.state_path)
    out = {s.name: s.healthy_at - s.started_at for s in state.services if s.healthy_at and s.started_at}
    out["stack"] = total
    return out


def langgraph_dev_alone() -> float:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="lgc-bench-dev-"))
    argv = [str(Path(sys.executable).parent / "langgraph"), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
            "--port", str(port), "--config", str(DEMO_PROJECT / "langgraph.json")]
    env = {**os.environ, "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false"}
    # one client for the whole poll: a new one per probe loads the certificate store again (~30 ms of CPU every
    # 50 ms), which a 2-core box takes from the server being timed
    http = httpx.Client(timeout=0.5)
    t0 = time.time()
    # the demo's langgraph.json uses relative paths: run from the project dir, as a user would
    child = subprocess.Popen(argv, cwd=DEMO_PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        while True:
            try:
                if http.get(f"http://127.0.0.1:{port}/ok").status_code == 200:
                    return time.time() - t0
            except httpx.HTTPError:
                pass
            if child.poll() is not None or time.time() - t0 > 120:
                raise RuntimeError("langgraph dev did not start")
            time.sleep(0.05)
    finally:
        http.close()
        process.stop(process.ref_for(child.pid), child=child)
        subprocess.run(["rm", "-rf", str(workdir), str(DEMO_PROJECT / ".langgraph_api")])


# log lines that mark a service's way up (their timestamps are the services' own)
TIMELINE_MARKS = {
    "postgres": ("starting PostgreSQL", "ready to accept connections"),
    "langgraph": ("Using langgraph_runtime_inmem", "Loading checkpointer", "waiting for Postgres",
                  "Using custom checkpointer", "Loading store", "Importing graph profiling", "Application started up"),
}
_LOG_TIME = re.compile(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)")


def timeline() -> None:
    """One cold bring-up, printed as a timeline (seconds since launch)."""
    state_dir = new_state_dir()
    config = make_config(state_dir)
    events: list[tuple[float, str, str]] = []
    done = threading.Event()
    t0 = time.time()

    def watch_state() -> None:
        last: dict[str, tuple] = {}
        while not done.is_set():
            try:
                services = json.loads((state_dir / "state.json").read_text())["services"]
            except (OSError, ValueError, KeyError):
                services = {}
            for name, raw in services.items():
                detail = raw.get("detail") or ""
                key = (raw["state"], "" if detail.startswith("starting ") else detail[:60])
                if last.get(name) != key:
                    last[name] = key
                    events.append((time.time() - t0, name, f"state: {' '.join(key).strip()}"))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch_state, daemon=True)
    watcher.start()
    try:
        supervisor.launch(build_stack_spec(config))
        events.append((time.time() - t0, "lgconsole", "launch() returned: the supervisor runs"))
        state = wait_for(lambda: all_healthy(config), 120, interval=0.01, what="all services healthy")
        total = time.time() - t0
        done.set()
        watcher.join()
        for svc in state.services:
            if svc.started_at:
                events.append((svc.started_at - t0, svc.name, "process launched"))
        for name, marks in TIMELINE_MARKS.items():
            for line in (state_dir / "logs" / f"{name}.log").read_text(errors="replace").splitlines():
                found = next((m for m in marks if m in line), None)
                stamp = _LOG_TIME.match(line) or _LOG_TIME.search(line[:40])
                if found and stamp:
                    at = datetime.datetime.fromisoformat(f"{stamp.group(1)}T{stamp.group(2)}").replace(
                        tzinfo=datetime.timezone.utc).timestamp()
                    events.append((at - t0, name, f"log: {found}"))
                elif found:  # lgconsole's own line has no timestamp: listed without one
                    events.append((float("nan"), name, f"log: {line[:90]}"))
    finally:
        done.set()
        stop_stack(config)
        remove_state_dir(state_dir)
    for at, name, what in sorted(events, key=lambda e: (e[0] != e[0], e[0])):
        print(f"{'' if at != at else f'{at:6.2f}':>6}  {name:<10} {what}")
    print(f"{total:6.2f}  all healthy")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeline", action="store_true", help="one cold bring-up as a timeline")
    args = parser.parse_args()
    if args.timeline:
        timeline()
        return
    cold, warm, peer = [], [], []
    for _ in range(args.rounds):
        state_dir = new_state_dir()
        config = make_config(state_dir)
        try:
            cold.append(timed_up(config))
            stop_stack(config)
            warm.append(timed_up(config))
        finally:
            stop_stack(config)
            remove_state_dir(state_dir)
        peer.append(langgraph_dev_alone())

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    print(f"bring-up, median of {args.rounds} rounds (seconds, exec -> healthy)")
    print(f"{'what':<34}{'cold':>8}{'warm':>8}")
    for key in ("postgres", "redis", "langgraph"):
        print(f"{'  ' + key:<34}{med(cold, key):>8.2f}{med(warm, key):>8.2f}")
    print(f"{'lgconsole up (whole stack)':<34}{med(cold, 'stack'):>8.2f}{med(warm, 'stack'):>8.2f}")
    print(f"{'langgraph dev alone (in-memory)':<34}{statistics.median(peer):>8.2f}")
    print(f"ratio whole stack (warm) / langgraph dev alone: {med(warm, 'stack') / statistics.median(peer):.2f}")


if __name__ == "__main__":
    main()
