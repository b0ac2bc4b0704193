"""The NVML reader through the real pynvml code path against a fake libnvidia-ml.so.1 compiled from C.

pynvml loads the library once per process, so every case runs the reader in a subprocess with LD_LIBRARY_PATH
pointing at the fake (or at an empty directory: no library at all).
"""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fake_nvml.build import build_fake_nvml
from lgconsole.console.model.masking import mask_argv
from lgconsole.console.sources.gpu import masked_commands
from lgconsole.stack.metrics.nvml import (DRIVER_NOT_LOADED, NO_LIBRARY, GpuSnapshot, ProcessTable, attribute,
                                          looks_like_vllm)

GIB = 1024 ** 3

READER = """
import json, sys
import pynvml
from lgconsole.stack.metrics.nvml import NvmlReader
from lgconsole.console.rows.gpu import process_rows
pids = [int(p) for p in sys.argv[1:]]
reader = NvmlReader()
snaps = [reader.read(pids) for _ in range(3)]
snap = snaps[-1]
print(json.dumps({"snapshot": snap.to_json(), "memory_cells": [r.memory for r in process_rows(snap)],
                  "nvml_inits": getattr(pynvml, "_nvmlLib_refcount", None)}))
"""


@pytest.fixture(scope="session")
def fake_nvml_dir(tmp_path_factory) -> Path:
    return build_fake_nvml(tmp_path_factory.mktemp("fake-nvml"))


def run_reader(lib_dir: Path, vllm_pids=(), **fake_env) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_NVML_")}
    env["LD_LIBRARY_PATH"] = str(lib_dir)
    env.update({f"FAKE_NVML_{k.upper()}": str(v) for k, v in fake_env.items()})
    proc = subprocess.run([sys.executable, "-c", READER, *map(str, vllm_pids)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def spawn():
    """Start real child processes (killed by pid at the end)."""
    children: list[subprocess.Popen] = []

    def start(argv: list[str]) -> subprocess.Popen:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(child)
        return child

    yield start
    for child in children:
        grandchildren = children_of(child.pid, timeout=0)
        child.kill()
        child.wait(timeout=10)
        for pid in grandchildren:  # the `sleep` of "sleep 30 & wait" would outlive its bash
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


def children_of(pid: int, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            found = []
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.02)


def wait_for_cmdline(pid: int, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            return
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} never showed {text!r}")


# --- through the fake library ----------------------------------------------------------------------------------

def test_healthy_h100(fake_nvml_dir):
    out = run_reader(fake_nvml_dir, pids=f"{os.getpid()}:{8 * GIB}")
    snap = out["snapshot"]
    assert snap["available"] and snap["reason"] is None
    assert (snap["driver_version"], snap["cuda_version"]) == ("580.95.05", "13.0")
    (gpu,) = snap["devices"]
    assert gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["uuid"].startswith("GPU-")
    assert gpu["memory_total"] == 80 * GIB
    assert gpu["memory_used"] == 8 * GIB + 531 * 1024 ** 2
    assert gpu["memory_used"] + gpu["memory_free"] == gpu["memory_total"]
    assert gpu["memory_reserved"] == 531 * 1024 ** 2
    assert (gpu["utilization_gpu"], gpu["utilization_memory"], gpu["temperature_c"]) == (37, 12, 41)
    assert (gpu["power_w"], gpu["power_limit_w"]) == (123.456, 700.0)
    assert gpu["fan_percent"] is None  # NotSupported on an H100: that field only
    assert gpu["mig_enabled"] is False
    assert gpu["errors"] == {}
    (proc,) = gpu["processes"]
    assert proc["pid"] == os.getpid() and proc["used_bytes"] == 8 * GIB and proc["service"] is None
    assert proc["name"]  # this pytest process is visible in /proc
    assert out["nvml_inits"] == 1  # three reads, one nvmlInit


def test_several_gpus_get_their_own_processes(fake_nvml_dir):
    out = run_reader(fake_nvml_dir, gpus=2, pids=f"{os.getpid()}:{GIB}:1")
    first, second = out["snapshot"]["devices"]
    assert (first["index"], second["index"]) == (0, 1)
    assert first["processes"] == [] and [p["gpu_index"] for p in second["processes"]] == [1]
    assert first["uuid"] != second["uuid"]


def test_vllm_processes_are_named_by_title_and_by_descent(fake_nvml_dir, spawn):
    engine = spawn(["bash", "-c", 'exec -a "VLLM::EngineCore" sleep 30'])
    server = spawn(["bash", "-c", "sleep 30 & wait"])  # stands for `vllm serve`: its child holds the GPU
    other = spawn([sys.executable, "-c", "import time; time.sleep(30)", "--api-key", "sk-live-abcdef123456"])
    wait_for_cmdline(engine.pid, "VLLM::EngineCore")
    wait_for_cmdline(other.pid, "--api-key")
    (worker,) = children_of(server.pid)
    pids = f"{engine.pid}:{60 * GIB},{worker}:{4 * GIB},{other.pid}:{GIB}"
    out = run_reader(fake_nvml_dir, [server.pid], pids=pids)
    procs = {p["pid"]: p for p in out["snapshot"]["devices"][0]["processes"]}
    assert procs[engine.pid]["service"] == "vllm"
    assert procs[engine.pid]["argv"][0].startswith("VLLM::EngineCore")
    assert procs[worker]["service"] == "vllm"  # a descendant of the vLLM server's pid
    assert procs[other.pid]["service"] is None and "python" in procs[other.pid]["name"]
    # stack reads the argv as it is; the console's GPU source masks it before anything shows it
    assert mask_argv(tuple(procs[other.pid]["argv"])).endswith("import time; time.sleep(30) --api-key ***")


def test_driver_not_loaded(fake_nvml_dir):
    snap = run_reader(fake_nvml_dir, mode="driver_not_loaded")["snapshot"]
    assert snap == {**snap, "available": False, "reason": DRIVER_NOT_LOADED, "devices": []}


def test_no_permission_is_a_state_too(fake_nvml_dir):
    snap = run_reader(fake_nvml_dir, mode="no_permission")["snapshot"]
    assert not snap["available"] and "permission" in snap["reason"]


@pytest.mark.skipif(ctypes.util.find_library("nvidia-ml") is not None, reason="this machine has a real NVML")
def test_no_library_at_all(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    snap = run_reader(empty)["snapshot"]
    assert snap["available"] is False
    assert snap["reason"] == NO_LIBRARY == "no NVIDIA driver (libnvidia-ml.so.1 not found)"


def test_mig_reports_no_per_process_memory(fake_nvml_dir):
    out = run_reader(fake_nvml_dir, mode="mig", pids=f"{os.getpid()}:{8 * GIB}")
    gpu = out["snapshot"]["devices"][0]
    assert gpu["mig_enabled"] is True
    (proc,) = gpu["processes"]
    assert proc["used_bytes"] is None  # pynvml turns NVML's "not available" into None
    assert proc["gpu_instance_id"] == 1 and proc["compute_instance_id"] == 0
    assert out["memory_cells"] == ["n/a"]


def test_not_supported_fields_are_none_and_the_rest_reads(fake_nvml_dir):
    gpu = run_reader(fake_nvml_dir, not_supported="power,temperature,utilization,processes,memory_v2",
                     pids=f"{os.getpid()}:{GIB}")["snapshot"]["devices"][0]
    assert gpu["power_w"] is None and gpu["temperature_c"] is None and gpu["utilization_gpu"] is None
    assert gpu["processes"] == [] and gpu["processes_error"] == "not supported"
    # memory info v2 unsupported: the v1 call answers (used then includes the driver reserve)
    assert gpu["memory_total"] == 80 * GIB and gpu["memory_reserved"] is None
    assert gpu["power_limit_w"] == 700.0 and gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["errors"] == {}


def test_failed_start_is_remembered_not_retried_every_read(tmp_path):
    script = """
import pynvml
from lgconsole.stack.metrics.nvml import NvmlReader
calls = []
real = pynvml.nvmlInitWithFlags
pynvml.nvmlInitWithFlags = lambda flags: (calls.append(flags), real(flags))[1]
now = [0.0]
reader = NvmlReader(retry_interval=30.0, clock=lambda: now[0])
reasons = [reader.read().reason for _ in range(5)]
now[0] = 31.0
reader.read()
print(len(calls), reasons[0])
"""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "LD_LIBRARY_PATH": str(empty)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    calls, reason = out.stdout.split(" ", 1)
    if ctypes.util.find_library("nvidia-ml") is None:
        assert reason.strip() == NO_LIBRARY
        assert calls == "2"  # once at first, once after the retry interval


# --- attribution and masking, without NVML -------------------------------------------------------------------

def test_process_table_reads_parent_through_odd_names(tmp_path):
    proc = tmp_path / "proc"
    for pid, ppid, name in ((10, 1, "init"), (20, 10, "vllm) (serve"), (30, 20, "VLLM::Worker")):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "stat").write_text(f"{pid} ({name}) S {ppid} {pid} {pid} 0 -1\n")
        (proc / str(pid) / "comm").write_text(name + "\n")
    (proc / "30" / "cmdline").write_bytes(b"python\0-m\0worker\0")
    table = ProcessTable(proc)
    assert table.parent(20) == 10
    assert table.ancestors(30) == [20, 10, 1]
    assert attribute(30, [20], table)[0] == "vllm"
    assert attribute(30, [99], table) == (None, "VLLM::Worker", ("python", "-m", "worker"))
    assert attribute(404, [], table) == (None, None, ())  # gone between NVML and /proc


def test_vllm_markers():
    assert looks_like_vllm(["/venv/bin/vllm", "serve", "meta-llama/Llama-3.1-8B"])
    assert looks_like_vllm(["python", "-m", "vllm.entrypoints.openai.api_server", "--model", "x"])
    assert looks_like_vllm(["VLLM::Worker_TP1"])
    assert not looks_like_vllm(["python", "train.py"]) and not looks_like_vllm(None)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=12, max_size=40))
def test_secrets_in_command_lines_are_masked(secret):
    argv = ["vllm", "serve", "model", "--api-key", secret, f"--hf-token={secret}", f"HF_TOKEN={secret}",
            f"postgresql://user:{secret}@db/x"]
    masked = mask_argv(tuple(argv), max_chars=10_000)
    assert secret not in masked
    assert masked.startswith("vllm serve model --api-key ***")


def test_ordinary_flags_stay_readable():
    argv = ["vllm", "serve", "m", "--max-num-batched-tokens", "8192", "--tokenizer", "/srv/tok", "--port", "8000",
            "OPENAI_API_KEY=sk-1", "AWS_SECRET_ACCESS_KEY=x", "--ssl-keyfile", "/etc/k.pem"]
    assert mask_argv(tuple(argv)) == ("vllm serve m --max-num-batched-tokens 8192 --tokenizer /srv/tok --port 8000 "
                                  "OPENAI_API_KEY=*** AWS_SECRET_ACCESS_KEY=*** --ssl-keyfile /etc/k.pem")
    assert mask_argv(("x",) * 100, max_chars=20).endswith("…") and len(mask_argv(("x",) * 100, max_chars=20)) == 20


def test_the_gpu_source_masks_what_nvml_read_and_drops_the_raw_argv():
    from lgconsole.stack.metrics.nvml import GpuDevice, GpuProcess

    raw = GpuSnapshot(available=True, devices=(GpuDevice(0, processes=(GpuProcess(
        7, 0, 1, name="python", argv=("python", "serve.py", "--hf-token", "hf_abcdefghijklmnopqrstuvwx")),)),))
    process = masked_commands(raw).devices[0].processes[0]
    assert process.command == "python serve.py --hf-token ***" and process.argv == ()
    assert "hf_abc" not in json.dumps(masked_commands(raw).to_json())
