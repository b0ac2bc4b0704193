"""Bring-up time of each service and of the whole stack, next to `langgraph dev` alone on the same graph.

Run: .venv/bin/python tests/bench/bench_bringup.py [--rounds N]. Prints a table; asserts nothing.
- cold: a new state dir (initdb included); warm: `up` again on the same state dir after `down`.
- peer: `langgraph dev --no-browser --no-reload` on the bundled demo graph, in-memory persistence, exec -> GET /ok.
"""

from __future__ import annotations

import argparse
import os
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
    t0 = time.time()
    # the demo's langgraph.json uses relative paths: run from the project dir, as a user would
    child = subprocess.Popen(argv, cwd=DEMO_PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ok", timeout=0.5).status_code == 200:
                    return time.time() - t0
            except httpx.HTTPError:
                pass
            if child.poll() is not None or time.time() - t0 > 120:
                raise RuntimeError("langgraph dev did not start")
            time.sleep(0.05)
    finally:
        process.stop(process.ref_for(child.pid), child=child)
        subprocess.run(["rm", "-rf", str(workdir), str(DEMO_PROJECT / ".langgraph_api")])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
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
