"""Costs of the GPU screen's data path: one /metrics parse, one HTTP scrape, one NVML read (through the fake
libnvidia-ml.so.1), and the console's CPU while the GPU screen refreshes at 1 Hz and 10 Hz.

    .venv/bin/python tests/bench/gpu_telemetry.py [--seconds 30]

Prints numbers; not a test. The vLLM stand-in is `python -m http.server` in its own process serving a real scrape
(rewritten every 0.25 s for the "changing" runs), so its CPU is not counted against the console.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from fake_nvml.build import build_fake_nvml  # noqa: E402
from gpu_fixtures import fixture_text  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime of every thread


def per_call(fn, n: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def bench_parse() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from lgconsole.stack.metrics.vllm import parse_metrics

    print("parse one /metrics scrape (in-process, per call):")
    for name in ("idle", "busy", "after_load"):
        text = fixture_text(name)
        ours = per_call(lambda: parse_metrics(text, "x", 0.0), 300)
        full = per_call(lambda: list(text_string_to_metric_families(text)), 50)
        print(f"  {name:<10} {len(text.splitlines()):>4} lines  parse_metrics {ours * 1e3:6.2f} ms   "
              f"(prometheus_client on the whole scrape: {full * 1e3:6.2f} ms)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_metrics_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    (workdir / "metrics").write_text(fixture_text("busy"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("metrics server did not start")


def bench_scrape(url: str) -> None:
    from lgconsole.stack.metrics.vllm import VllmScraper

    scraper = VllmScraper([url])

    def changed():
        scraper._last.clear()  # as if the vllm: lines had changed since the last scrape
        scraper.scrape(url)

    try:
        parsed = statistics.median(per_call(changed, 20) for _ in range(5))
        unchanged = statistics.median(per_call(lambda: scraper.scrape(url), 20) for _ in range(5))
    finally:
        scraper.close()
    print(f"scrape over HTTP (loopback, kept-alive, busy scrape): {parsed * 1e3:.2f} ms with parse, "
          f"{unchanged * 1e3:.2f} ms when the vllm: lines are unchanged (parse skipped)")


NVML_CHILD = """
import json, os, sys, time
from lgconsole.stack.metrics.nvml import NvmlReader
t0 = time.perf_counter(); reader = NvmlReader(); snap = reader.read(); first = time.perf_counter() - t0
pids = [os.getpid()]
n = 2000
t0 = time.perf_counter()
for _ in range(n):
    reader.read(pids)
each = (time.perf_counter() - t0) / n
print(json.dumps({"first": first, "each": each, "available": snap.available, "gpus": len(snap.devices)}))
"""


def bench_nvml(lib_dir: Path) -> None:
    print("one NVML read through the real pynvml path and the fake libnvidia-ml.so.1:")
    for label, extra in (("1 GPU, 2 processes", {"FAKE_NVML_GPUS": "1"}),
                         ("8 GPUs, 2 processes each", {"FAKE_NVML_GPUS": "8"})):
        gpus = int(extra["FAKE_NVML_GPUS"])
        pids = ",".join(f"{os.getpid()}:{2**30}:{g},1:{2**20}:{g}" for g in range(gpus))
        env = {**os.environ, "LD_LIBRARY_PATH": str(lib_dir), "FAKE_NVML_PIDS": pids, **extra}
        out = subprocess.run([sys.executable, "-c", NVML_CHILD], env=env, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        print(f"  {label:<26} first read (init) {r['first'] * 1e3:6.2f} ms   then {r['each'] * 1e6:7.1f} µs per read")


CPU_CHILD = """
import asyncio, json, sys, time
sys.path.insert(0, {tests!r})
from bench.gpu_telemetry import cpu_seconds
from fakes import FixedStack, gpu_box_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.sources.gpu import GpuSource
from lgconsole.console.screens.gpu import GpuScreen

async def main(mode, refresh, seconds, url):
    config = Config(state_dir="/tmp/lgc-bench-none")
    config.ui.refresh_seconds = refresh
    app = LgConsoleApp(config, source=FixedStack(gpu_box_snapshot()), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = None
        if mode == "gpu":
            screen = GpuScreen(source=GpuSource(config, urls=[url]))
            await app.push_screen(screen)
        await pilot.pause(2.0)  # warm-up: first paint, imports, NVML init
        c0, t0 = cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        used, wall = cpu_seconds() - c0, time.monotonic() - t0
        reads = len(screen.telemetry.tracks[next(iter(screen.telemetry.tracks))].usage.points) if screen else 0
        print(json.dumps({{"cpu": used, "wall": wall, "reads_in_history": reads,
                          "gpus": screen.telemetry.reading.gpus.available if screen else None}}))
        app.exit()

asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]))
"""


class Churn:
    """Rewrites the served scrape every `every` seconds (busy <-> starved) so every refresh has new numbers."""

    def __init__(self, workdir: Path, every: float = 0.25):
        self.path = workdir / "metrics"
        self.texts = [fixture_text("busy"), fixture_text("starved")]
        self.every = every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self.stop.wait(self.every):
            i += 1
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(self.texts[i % 2])
            os.replace(tmp, self.path)

    def __enter__(self) -> Churn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.path.write_text(self.texts[0])


def bench_idle_cpu(lib_dir: Path, url: str, workdir: Path, seconds: float) -> None:
    print(f"console CPU, headless run_test at 120x40, {seconds:.0f} s each (utime+stime of the console process):")
    env = {**os.environ, "LD_LIBRARY_PATH": str(lib_dir), "FAKE_NVML_PIDS": f"{os.getpid()}:{70 * 2**30}"}
    child = CPU_CHILD.format(tests=str(TESTS))
    runs = (("stack", 1.0, False, "Stack screen only (baseline)"),
            ("gpu", 1.0, False, "GPU screen 1 Hz, steady"),
            ("gpu", 1.0, True, "GPU screen 1 Hz, changing"),
            ("gpu", 0.1, False, "GPU screen 10 Hz, steady"),
            ("gpu", 0.1, True, "GPU screen 10 Hz, changing"))
    for mode, refresh, churn, label in runs:
        with Churn(workdir) if churn else contextlib.nullcontext():
            out = subprocess.run([sys.executable, "-c", child, mode, str(refresh), str(seconds), url], env=env,
                                 capture_output=True, text=True)
        if out.returncode != 0:
            print(f"  {label}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        pct = 100 * r["cpu"] / r["wall"]
        extra = f"  ({r['reads_in_history']} scrapes kept, NVML {'fake H100' if r['gpus'] else 'off'})" \
            if mode == "gpu" else ""
        print(f"  {label:<30} {pct:5.2f}% of one core  ({r['cpu']:.2f} s CPU in {r['wall']:.1f} s){extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each idle-CPU run (default 30)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    bench_parse()
    work = Path(tempfile.mkdtemp(prefix="lgc-bench-gpu-"))
    server = None
    try:
        lib_dir = build_fake_nvml(work / "nvml")
        server, url = start_metrics_server(work)
        bench_scrape(url)
        bench_nvml(lib_dir)
        bench_idle_cpu(lib_dir, url, work, args.seconds)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
