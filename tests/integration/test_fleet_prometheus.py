"""A real Prometheus (Debian's package, loopback, temp dir, stopped by PID) scraping recorded DCGM, lg_api and vLLM
expositions served over HTTP: the client's queries and its one-line errors, the fleet's rows per host, the
imbalance, `lgconsole gpu --json` / text pointed at it with PROMETHEUS_URL, and `doctor`'s fleet findings."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import ExitStack

import pytest

from lgconsole.console.model.fleet_health import HEALTH_QUERIES, job_kinds
from lgconsole.console.sources.gpu import FleetReader
from lgconsole.stack.metrics.prometheus import PrometheusClient, PrometheusError
from lgconsole.stack.services.ports import free_port
from prometheusutil import FIXTURES, metrics_file_server, running_prometheus, targets_up
from stackutil import lgconsole, new_state_dir, remove_state_dir, wait_for, write_config

pytestmark = pytest.mark.integration

# file, job, the host label attached by relabelling (DCGM names its host itself)
SCRAPED = (
    ("prometheus/dcgm_gpu-node-1.prom", "dcgm", None),
    ("prometheus/dcgm_gpu-node-2.prom", "dcgm", None),
    ("vllm/vllm_metrics_idle.txt", "vllm", "gpu-node-1"),
    ("vllm/vllm_metrics_busy.txt", "vllm", "gpu-node-2"),
    ("prometheus/lg_api_dev_runtime.prom", "langgraph", "gpu-node-1"),
    ("prometheus/lg_api_postgres_runtime.prom", "langgraph", "gpu-node-2"),
)


@pytest.fixture(scope="module")
def prometheus():
    with ExitStack() as stack:
        jobs: dict[str, list] = {}
        for path, job, host in SCRAPED:
            target = stack.enter_context(metrics_file_server(FIXTURES / path))
            jobs.setdefault(job, []).append((target, {"hostname": host} if host else {}))
        url, ready_s = stack.enter_context(running_prometheus(jobs))
        started = time.monotonic()
        wait_for(lambda: (lambda t: len(t) == len(SCRAPED) and all(h == "up" for h in t.values()))(targets_up(url)),
                 timeout=30, what="every target scraped")
        # rates need two scrapes inside the rate window
        client = PrometheusClient(url)
        wait_for(lambda: client.query('count_over_time(up{job="vllm"}[1m]) >= 3'), timeout=30,
                 what="three scrapes of the vLLM targets")
        client.close()
        print(f"\nprometheus ready in {ready_s:.2f}s, all {len(SCRAPED)} targets up and 3 scrapes in "
              f"{time.monotonic() - started:.1f}s")
        yield url


def test_instant_and_range_queries_parse(prometheus):
    client = PrometheusClient(prometheus)
    try:
        up = client.query("up")
        assert len(up) == len(SCRAPED) and {s.value for s in up} == {1.0}
        assert {s.labels["job"] for s in up} == {"dcgm", "vllm", "langgraph"}
        [scalar] = client.query("scalar(sum(up))")
        assert scalar.value == len(SCRAPED) and scalar.labels == {}
        # a quantile over an empty window is NaN in Prometheus: no number, not a crash
        [nan] = client.query("vector(0) / vector(0)")
        assert nan.value is None
        now = time.time()
        series = client.query_range('DCGM_FI_DEV_GPU_TEMP{Hostname="gpu-node-2",gpu="0"}', now - 30, now, 1)
        assert len(series) == 1 and series[0].labels["modelName"] == "NVIDIA H100 80GB HBM3"
        assert len(series[0].points) >= 2 and set(series[0].values) == {71.0}
    finally:
        client.close()


def test_errors_are_one_line(prometheus):
    client = PrometheusClient(prometheus)
    with pytest.raises(PrometheusError) as bad:
        client.query("sum(rate(vllm:num_requests_waiting[1m]")
    message = str(bad.value)
    assert message.startswith(f"Prometheus at {prometheus}: HTTP 400 bad_data: ") and "parse error" in message
    client.close()
    refused = PrometheusClient(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PrometheusError, match=r"^Prometheus at http://127\.0\.0\.1:\d+: connection refused$"):
        refused.query("up")
    with metrics_file_server(FIXTURES / "prometheus" / "dcgm_gpu-node-1.prom") as target:
        not_prometheus = PrometheusClient(f"http://{target}", timeout=2)
        with pytest.raises(PrometheusError) as wrong:
            not_prometheus.query("up")
        assert "answer is not JSON" in str(wrong.value) and "\n" not in str(wrong.value)
    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        slow = PrometheusClient(f"http://user:secret@127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        with pytest.raises(PrometheusError) as timed_out:
            slow.query("up")
        assert str(timed_out.value) == (f"Prometheus at http://user:***@127.0.0.1:{silent.getsockname()[1]}: "
                                        "no answer in 0.5 s")


def test_fleet_rows_per_host_and_imbalance(prometheus):
    reader = FleetReader(prometheus)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        fleet = reader.read(context_len=1024, fan_out=3)
        timings.append(time.perf_counter() - started)
    reader.close()
    print(f"\nfleet read: {timings[0] * 1000:.0f} ms with the history (6 instant + 3 range queries), then "
          f"{min(timings[1:]) * 1000:.0f}-{max(timings[1:]) * 1000:.0f} ms (6 instant; the history is asked once a step)")
    assert fleet.ok, fleet.error
    hosts = {h.host: h for h in fleet.hosts}
    assert set(hosts) == {"gpu-node-1", "gpu-node-2"}
    busy, light = hosts["gpu-node-2"], hosts["gpu-node-1"]
    assert (busy.gpus, busy.util, busy.temperature, busy.power) == (2, 96.0, 71.0, pytest.approx(1261.279))
    assert busy.memory_used == (75031 + 75029) * 2**20 and busy.memory_total == 2 * 80999 * 2**20  # MiB in DCGM
    assert (busy.replicas, busy.kv_usage, busy.running, busy.waiting) == (1, pytest.approx(0.9333, abs=1e-3), 7, 9)
    assert (busy.pending_runs, busy.running_runs, busy.workers_active, busy.workers_max) == (11, 4, 4, 4)
    # the dev runtime exports workers only: no run counts rather than zeros
    assert (light.pending_runs, light.running_runs, light.workers_active, light.workers_max) == (None, None, 0, 4)
    assert (light.replicas, light.kv_usage, light.waiting) == (1, 0.0, 0)
    replicas = {r.host: r for r in fleet.replicas}
    assert replicas["gpu-node-2"].model == "tiny-llama" and replicas["gpu-node-2"].num_gpu_blocks == 16
    assert replicas["gpu-node-2"].generation_tps == 0.0  # a recording: counters do not move
    assert fleet.imbalance.verdict.level == "bad" and fleet.imbalance.kv_spread == pytest.approx(0.9333, abs=1e-3)
    assert fleet.imbalance.fullest.startswith(replicas["gpu-node-2"].instance)
    assert (fleet.imbalance.waiting_max, fleet.imbalance.waiting_min) == (9, 0)
    # 1,024-token sequences in blocks of 128: 8,192 blocks hold 1,024 of them, 16 blocks 2
    assert fleet.capacity.sequences_fit == 1026 and fleet.capacity.largest_replica_fit == 1024
    assert fleet.capacity.workers == 8
    assert fleet.history["kv_max"] and all(abs(v - 0.9333) < 1e-3 for v in fleet.history["kv_max"])


def test_gpu_json_and_text_show_the_fleet(prometheus):
    state_dir = new_state_dir()
    try:
        config = write_config(state_dir)
        result = lgconsole("gpu", "--json", "--window", "0", "--fan-out", "3", config=config,
                           env={"PROMETHEUS_URL": prometheus})
        assert result.returncode == 0, result.stderr
        fleet = json.loads(result.stdout)["fleet"]
        assert fleet["prometheus"] == prometheus and fleet["error"] is None
        assert [h["host"] for h in fleet["hosts"]] == ["gpu-node-1", "gpu-node-2"]
        assert {g["host"] for g in fleet["gpus"]} == {"gpu-node-1", "gpu-node-2"} and len(fleet["gpus"]) == 4
        assert fleet["gpus"][0]["memory_total"] == 80999 * 2**20
        assert {s["host"]: s["pending_runs"] for s in fleet["servers"]} == {"gpu-node-1": None, "gpu-node-2": 11}
        assert fleet["imbalance"]["level"] == "bad" and fleet["imbalance"]["waiting_max"] == 9
        assert fleet["capacity"]["fan_out"] == 3 and fleet["capacity"]["verdicts"]
        assert set(fleet["history"]) == {"kv_max", "waiting", "generation_tps"}
        text = lgconsole("gpu", "--window", "0", config=config, env={"PROMETHEUS_URL": prometheus})
        assert text.returncode == 0, text.stderr
        assert f"Fleet from Prometheus {prometheus}: 2 hosts · 2 vLLM replicas · 4 GPUs · 2 LangGraph servers" \
            in text.stdout
        assert "✖ unbalanced: KV 93% on gpu-node-2" in text.stdout
        down = lgconsole("gpu", "--json", "--window", "0", config=config,
                         env={"PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}"})
        assert down.returncode == 0, down.stderr
        assert json.loads(down.stdout)["fleet"]["error"].endswith(": connection refused")
    finally:
        remove_state_dir(state_dir)


def test_scrape_of_a_changing_target_reaches_the_fleet(prometheus, tmp_path):
    """Prometheus follows the target: the sparkline's history is what it scraped, second by second."""
    exposition = tmp_path / "vllm.prom"
    exposition.write_text("vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"m\"} 0.1\n")
    with metrics_file_server(exposition) as target, running_prometheus({"vllm": [(target, {})]}) as (url, _):
        wait_for(lambda: set(targets_up(url).values()) == {"up"}, timeout=30, what="the first scrape")
        stop = threading.Event()

        def climb():
            for usage in (0.2, 0.4, 0.6, 0.8, 1.0):
                if stop.wait(1.5):
                    return
                exposition.write_text(f"vllm:kv_cache_usage_perc{{engine=\"0\",model_name=\"m\"}} {usage}\n")

        thread = threading.Thread(target=climb)
        thread.start()
        try:
            reader = FleetReader(url, history=30, points=30)
            # the history is asked once per step (1 s here): wait until it too holds the last value
            fleet = wait_for(lambda: (lambda f: f if f.replicas and f.replicas[0].kv_usage == 1.0
                                      and f.history["kv_max"][-1:] == (1.0,) else None)(reader.read()),
                             timeout=30, what="the last value scraped")
            reader.close()
        finally:
            stop.set()
            thread.join()
        kv = fleet.history["kv_max"]
        assert kv[-1] == 1.0 and min(kv) <= 0.2 and list(kv) == sorted(kv)


def test_doctor_names_a_replica_that_went_down_a_starving_one_and_the_imbalance():
    """A third vLLM replica is scraped, then its server stops (a replica that died): `doctor` names its instance
    among the fleet's findings, with the busy replica starving and the imbalance between the other two; a
    Prometheus that does not answer is one warning."""
    fixtures = (("vllm/vllm_metrics_idle.txt", "gpu-node-1"), ("vllm/vllm_metrics_busy.txt", "gpu-node-2"),
                ("vllm/vllm_metrics_idle.txt", "gpu-node-3"))
    state_dir = new_state_dir()
    config = write_config(state_dir)
    try:
        with ExitStack() as stack:
            servers = [stack.enter_context(ExitStack()) for _ in fixtures]
            targets = [servers[n].enter_context(metrics_file_server(FIXTURES / path))
                       for n, (path, _) in enumerate(fixtures)]
            dcgm = stack.enter_context(metrics_file_server(FIXTURES / "prometheus" / "dcgm_gpu-node-1.prom"))
            jobs = {"vllm": [(target, {"hostname": host}) for target, (_, host) in zip(targets, fixtures)],
                    "dcgm": [(dcgm, {})]}
            url, _ = stack.enter_context(running_prometheus(jobs))
            wait_for(lambda: (lambda t: len(t) == 4 and set(t.values()) == {"up"})(targets_up(url)), timeout=30,
                     what="every target scraped")
            servers[2].close()  # the third replica's server stops
            wait_for(lambda: "down" in targets_up(url).values(), timeout=30, what="the stopped target seen down")
            client = PrometheusClient(url)
            # each job's kind from what its targets exported, whatever the job is called
            assert job_kinds(client.query(HEALTH_QUERIES["kinds"])) == {"vllm": "vllm", "dcgm": "dcgm"}
            started = time.perf_counter()
            for promql in HEALTH_QUERIES.values():
                client.query(promql)
            print(f"\ntriage's fleet check: {len(HEALTH_QUERIES)} instant queries in "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms")
            client.close()
            result = lgconsole("doctor", "--json", config=config, env={"PROMETHEUS_URL": url})
            assert result.returncode == 6, result.stderr
            findings = {f["code"]: f for f in json.loads(result.stdout)["findings"]}
            assert "stack-never-up" not in findings  # this state dir only watches a fleet: no fault of its own
            down = findings["fleet-target-down"]
            assert down["severity"] == "critical"
            assert down["title"] == f"vLLM down in Prometheus (job vllm): {targets[2]}"
            assert down["evidence"] == [f"{targets[2]} on gpu-node-3: up == 0"]
            starving = findings["fleet-kv-starvation"]
            assert starving["title"] == f"vLLM replica {targets[1]} (tiny-llama) on gpu-node-2 is starving"
            assert starving["evidence"][0].startswith("KV usage 93%, running 7, waiting 9")
            assert findings["fleet-imbalance"]["title"] == (f"tiny-llama: replica {targets[1]} queues while "
                                                            f"{targets[0]} has room")
            assert all(findings[code]["jump"] == {"screen": "gpu", "target": None}
                       for code in ("fleet-target-down", "fleet-kv-starvation", "fleet-imbalance"))
            text = lgconsole("doctor", config=config, env={"PROMETHEUS_URL": url})
            assert f"CRIT  vLLM down in Prometheus (job vllm): {targets[2]}" in text.stdout
        refused = f"http://127.0.0.1:{free_port()}"
        blind = lgconsole("doctor", "--json", config=config, env={"PROMETHEUS_URL": refused})
        [finding] = [f for f in json.loads(blind.stdout)["findings"] if f["code"] == "prometheus-down"]
        assert finding["severity"] == "warning"
        assert finding["title"] == f"fleet unseen: Prometheus at {refused}: connection refused"
    finally:
        remove_state_dir(state_dir)


def test_a_prometheus_behind_basic_auth_is_read_with_the_credentials_and_never_shows_them():
    """A Prometheus whose web config asks for a user and password: with them in PROMETHEUS_URL the fleet is read and
    the password appears nowhere in the output; without them the fleet's error says what to configure."""
    password = "prom-pass-7bd2c1"
    state_dir = new_state_dir()
    config = write_config(state_dir)
    try:
        with ExitStack() as stack:
            target = stack.enter_context(metrics_file_server(FIXTURES / "vllm/vllm_metrics_busy.txt"))
            url, _ = stack.enter_context(running_prometheus({"vllm": [(target, {"hostname": "gpu-node-2"})]},
                                                            basic_auth=("oncall", password)))
            with_auth = url.replace("http://", f"http://oncall:{password}@")
            wait_for(lambda: PrometheusClient(with_auth).query("up"), timeout=30, what="a scrape behind auth")
            result = lgconsole("gpu", "--json", "--window", "0", config=config, env={"PROMETHEUS_URL": with_auth})
            assert result.returncode == 0, result.stderr
            fleet = json.loads(result.stdout)["fleet"]
            assert fleet["error"] is None and [h["host"] for h in fleet["hosts"]] == ["gpu-node-2"]
            text = lgconsole("gpu", "--window", "0", config=config, env={"PROMETHEUS_URL": with_auth})
            doctor = lgconsole("doctor", "--json", config=config, env={"PROMETHEUS_URL": with_auth})
            for out in (result, text, doctor):
                assert password not in out.stdout + out.stderr
            refused = lgconsole("gpu", "--json", "--window", "0", config=config, env={"PROMETHEUS_URL": url})
            error = json.loads(refused.stdout)["fleet"]["error"]
            assert error == (f"Prometheus at {url}: HTTP 401, it asks for credentials: set [prometheus] bearer_token "
                             "or headers, or user:password in the URL")
    finally:
        remove_state_dir(state_dir)
