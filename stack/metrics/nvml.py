"""GPU telemetry through NVML (`nvidia-ml-py`, import `pynvml`): typed records per GPU and per GPU process.

Like nvitop's `api/`, driver problems become values, not exceptions: no library, a driver that is not loaded or a
field the GPU does not support give `GpuSnapshot(available=False, reason=...)` or a `None` field, never a crash.
GPU processes that belong to a vLLM server (by process title or by descent from a known vLLM pid) are named "vllm".
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

NO_LIBRARY = "no NVIDIA driver (libnvidia-ml.so.1 not found)"
DRIVER_NOT_LOADED = "NVIDIA driver not loaded"
NO_PERMISSION = "no permission to read the GPU through NVML"
NO_PYNVML = "nvidia-ml-py is not installed (pip install nvidia-ml-py)"
NO_GPUS = "NVML found no GPU"

# Titles that vLLM's processes give themselves (setproctitle) and command lines that start a vLLM API server.
VLLM_MARKERS = ("VLLM::EngineCore", "VLLM::Worker", "vllm.entrypoints", "vllm serve")
VLLM_SERVICE = "vllm"



@dataclass(frozen=True)
class GpuProcess:
    """One compute process on a GPU. used_bytes is None where NVML cannot tell (MIG, some containers)."""

    pid: int
    gpu_index: int
    used_bytes: int | None
    name: str | None = None  # the executable's short name (comm), None when the pid is not visible here
    # the command line as /proc has it, secrets included: console/sources/gpu.py masks it into `command` (by the
    # console's one masking policy) and drops it before anything shows the record
    argv: tuple[str, ...] = ()
    command: str | None = None  # the command line, secrets masked, shortened; set by the console
    service: str | None = None  # "vllm" when the process belongs to a vLLM server
    gpu_instance_id: int | None = None  # MIG instance, None without MIG
    compute_instance_id: int | None = None

    @property
    def label(self) -> str:
        """What the console calls the process: the stack service it belongs to, else its name."""
        return self.service or self.name or "?"


@dataclass(frozen=True)
class GpuDevice:
    """One GPU as NVML reports it; every reading that failed or is not supported is None."""

    index: int
    name: str | None = None
    uuid: str | None = None
    memory_total: int | None = None  # bytes
    memory_used: int | None = None  # bytes, total - free (includes the driver reserve)
    memory_free: int | None = None
    memory_reserved: int | None = None  # the driver's reserve where NVML reports it (memory info v2)
    utilization_gpu: int | None = None  # percent
    utilization_memory: int | None = None  # percent
    temperature_c: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    fan_percent: int | None = None  # None on fanless data-centre GPUs (H100 SXM)
    mig_enabled: bool | None = None
    processes: tuple[GpuProcess, ...] = ()
    processes_error: str | None = None  # why the process list could not be read
    errors: dict[str, str] = field(default_factory=dict)  # field -> NVML error other than NotSupported

    @property
    def memory_fraction(self) -> float | None:
        if not self.memory_total or self.memory_used is None:
            return None
        return self.memory_used / self.memory_total


@dataclass(frozen=True)
class GpuSnapshot:
    """All GPUs at one instant, or why there are none to read."""

    available: bool
    reason: str | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    devices: tuple[GpuDevice, ...] = ()
    taken_at: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def unavailable(cls, reason: str, taken_at: float | None = None) -> GpuSnapshot:
        return cls(available=False, reason=reason, taken_at=time.time() if taken_at is None else taken_at)


# --- process attribution -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessInfo:
    name: str | None
    argv: tuple[str, ...]  # raw: the console masks it
    vllm_title: bool  # the title or command line says vLLM
    ancestors: tuple[int, ...]


class ProcessTable:
    """Reads /proc for the pids NVML reports: name, command line, parent chain.

    `describe()` caches per (pid, start time) for `ttl` seconds: GPU processes live long, and a refresh at 10 Hz
    should not re-read every command line. A reused pid has another start time, so it misses the cache.
    """

    def __init__(self, proc_root: str | Path = "/proc", ttl: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.root = Path(proc_root)
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[int, tuple[str, float, ProcessInfo]] = {}

    def argv(self, pid: int) -> list[str] | None:
        try:
            raw = (self.root / str(pid) / "cmdline").read_bytes()
        except OSError:
            return None
        parts = raw.rstrip(b"\0").split(b"\0")
        if len(parts) == 1 and b" " in parts[0]:
            # setproctitle may write the whole title into argv[0] with spaces
            parts = parts[0].split(b" ")
        return [p.decode(errors="replace") for p in parts if p]

    def comm(self, pid: int) -> str | None:
        try:
            return (self.root / str(pid) / "comm").read_text().strip() or None
        except OSError:
            return None

    def _stat(self, pid: int) -> tuple[int, str] | None:
        """(parent pid, start time) from /proc/PID/stat; None when the process is gone."""
        try:
            stat = (self.root / str(pid) / "stat").read_text()
        except OSError:
            return None
        # the name field may contain spaces and parentheses: fields resume after the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        try:
            return int(fields[1]), fields[19] if len(fields) > 19 else ""
        except (ValueError, IndexError):
            return None

    def parent(self, pid: int) -> int | None:
        stat = self._stat(pid)
        return stat[0] if stat else None

    def ancestors(self, pid: int, limit: int = 64) -> list[int]:
        chain: list[int] = []
        current = pid
        for _ in range(limit):
            ppid = self.parent(current)
            if not ppid or ppid in chain:
                break
            chain.append(ppid)
            if ppid == 1:
                break
            current = ppid
        return chain

    def describe(self, pid: int) -> ProcessInfo | None:
        stat = self._stat(pid)
        if stat is None:
            return None
        now = self._clock()
        cached = self._cache.get(pid)
        if cached is not None and cached[0] == stat[1] and now - cached[1] < self.ttl:
            return cached[2]
        argv = self.argv(pid)
        info = ProcessInfo(name=self.comm(pid), argv=tuple(argv or ()),
                           vllm_title=looks_like_vllm(argv), ancestors=tuple(self.ancestors(pid)))
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[pid] = (stat[1], now, info)
        return info


def looks_like_vllm(argv: Iterable[str] | None) -> bool:
    if not argv:
        return False
    line = " ".join(argv)
    return any(marker in line for marker in VLLM_MARKERS)


def attribute(pid: int, vllm_pids: Iterable[int] = (),
              procs: ProcessTable | None = None) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(service, name, argv) of a GPU process; service is "vllm" for a vLLM server's processes."""
    info = (procs or ProcessTable()).describe(pid)
    if info is None:
        return None, None, ()
    known = set(vllm_pids)
    vllm = info.vllm_title or pid in known or bool(known.intersection(info.ancestors))
    return (VLLM_SERVICE if vllm else None), info.name, info.argv


# --- the reader ----------------------------------------------------------------------------------------------

class NvmlReader:
    """Initialises NVML once and keeps the device handles; `read()` is cheap to call every second.

    When NVML cannot start (no library, driver not loaded) the failure is kept and retried at most every
    `retry_interval` seconds, so a console left open notices a driver that gets loaded later.
    """

    def __init__(self, retry_interval: float = 30.0, procs: ProcessTable | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.retry_interval = retry_interval
        self.procs = procs or ProcessTable()
        self._clock = clock
        self._lock = threading.Lock()
        self._nvml: Any = None
        self._handles: list[Any] = []
        self._driver: str | None = None
        self._cuda: str | None = None
        self._failure: str | None = None
        self._failed_at: float | None = None

    # -- lifecycle --
    def _start(self) -> str | None:
        """Initialise NVML; returns a reason when it cannot."""
        try:
            import pynvml
        except ImportError:
            return NO_PYNVML
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            return _init_reason(pynvml, exc)
        except OSError as exc:  # a broken library file
            return f"NVML could not be loaded: {exc}"
        try:
            count = pynvml.nvmlDeviceGetCount()
            handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except pynvml.NVMLError as exc:
            _quiet(pynvml.nvmlShutdown)
            return f"NVML error while listing GPUs: {exc}"
        self._nvml = pynvml
        self._handles = handles
        self._driver = _text(_quiet(pynvml.nvmlSystemGetDriverVersion))
        cuda = _quiet(pynvml.nvmlSystemGetCudaDriverVersion)
        self._cuda = f"{cuda // 1000}.{cuda % 1000 // 10}" if isinstance(cuda, int) and cuda > 0 else None
        return None

    def close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                _quiet(self._nvml.nvmlShutdown)
            self._nvml = None
            self._handles = []

    # -- reading --
    def read(self, vllm_pids: Iterable[int] = ()) -> GpuSnapshot:
        """Every GPU now. Never raises for driver or library problems."""
        now = time.time()
        with self._lock:
            if self._nvml is None:
                if self._failure and self._failed_at is not None \
                        and self._clock() - self._failed_at < self.retry_interval:
                    return GpuSnapshot.unavailable(self._failure, now)
                reason = self._start()
                if reason:
                    self._failure, self._failed_at = reason, self._clock()
                    return GpuSnapshot.unavailable(reason, now)
                self._failure = self._failed_at = None
            if not self._handles:
                return GpuSnapshot(available=False, reason=NO_GPUS, driver_version=self._driver,
                                   cuda_version=self._cuda, taken_at=now)
            pids = tuple(vllm_pids)
            devices = tuple(self._device(i, h, pids) for i, h in enumerate(self._handles))
            return GpuSnapshot(available=True, driver_version=self._driver, cuda_version=self._cuda,
                               devices=devices, taken_at=now)

    def _device(self, index: int, handle: Any, vllm_pids: tuple[int, ...]) -> GpuDevice:
        nv = self._nvml
        errors: dict[str, str] = {}

        def get(field_name: str, call: Callable[[], Any]) -> Any:
            try:
                return call()
            except nv.NVMLError_NotSupported:
                return None
            except nv.NVMLError as exc:
                errors[field_name] = str(exc)
                return None

        total = used = free = reserved = None
        mem2 = get("memory", lambda: nv.nvmlDeviceGetMemoryInfo(handle, nv.nvmlMemory_v2))
        if mem2 is not None:
            total, free, reserved = mem2.total, mem2.free, mem2.reserved
        else:
            errors.pop("memory", None)  # an older driver without v2: the v1 call below decides
            mem = get("memory", lambda: nv.nvmlDeviceGetMemoryInfo(handle))
            if mem is not None:
                total, free = mem.total, mem.free
        if total is not None and free is not None:
            used = total - free
        util = get("utilization", lambda: nv.nvmlDeviceGetUtilizationRates(handle))
        power = get("power", lambda: nv.nvmlDeviceGetPowerUsage(handle))
        limit = get("power_limit", lambda: nv.nvmlDeviceGetEnforcedPowerLimit(handle))
        mig = get("mig", lambda: nv.nvmlDeviceGetMigMode(handle))
        processes: tuple[GpuProcess, ...] = ()
        processes_error = None
        try:
            raw = nv.nvmlDeviceGetComputeRunningProcesses(handle)
        except nv.NVMLError_NotSupported:
            processes_error = "not supported"
        except nv.NVMLError as exc:
            processes_error = str(exc)
        else:
            processes = tuple(self._process(index, p, vllm_pids) for p in raw)
        return GpuDevice(
            index=index,
            name=_text(get("name", lambda: nv.nvmlDeviceGetName(handle))),
            uuid=_text(get("uuid", lambda: nv.nvmlDeviceGetUUID(handle))),
            memory_total=total, memory_used=used, memory_free=free, memory_reserved=reserved,
            utilization_gpu=util.gpu if util is not None else None,
            utilization_memory=util.memory if util is not None else None,
            temperature_c=get("temperature", lambda: nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU)),
            power_w=power / 1000 if power is not None else None,
            power_limit_w=limit / 1000 if limit is not None else None,
            fan_percent=get("fan", lambda: nv.nvmlDeviceGetFanSpeed(handle)),
            mig_enabled=bool(mig[0]) if mig is not None else None,
            processes=processes, processes_error=processes_error, errors=errors,
        )

    def _process(self, index: int, raw: Any, vllm_pids: tuple[int, ...]) -> GpuProcess:
        service, name, argv = attribute(raw.pid, vllm_pids, self.procs)
        used = getattr(raw, "usedGpuMemory", None)
        return GpuProcess(pid=raw.pid, gpu_index=index, used_bytes=used, name=name, argv=argv,
                          service=service, gpu_instance_id=_instance(getattr(raw, "gpuInstanceId", None)),
                          compute_instance_id=_instance(getattr(raw, "computeInstanceId", None)))


def _init_reason(pynvml: Any, exc: Exception) -> str:
    code = getattr(exc, "value", None)
    if code == pynvml.NVML_ERROR_LIBRARY_NOT_FOUND:
        return NO_LIBRARY
    if code == pynvml.NVML_ERROR_DRIVER_NOT_LOADED:
        return DRIVER_NOT_LOADED
    if code == pynvml.NVML_ERROR_NO_PERMISSION:
        return NO_PERMISSION
    return f"NVML could not start: {exc}"


def _instance(value: Any) -> int | None:
    """MIG instance ids; NVML answers 0xFFFFFFFF when there is none."""
    if not isinstance(value, int) or value >= 0xFFFFFFFF:
        return None
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def _quiet(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception:
        return None


_default_reader: NvmlReader | None = None
_default_lock = threading.Lock()


def default_reader() -> NvmlReader:
    """The process-wide reader: NVML is a per-process library, so one reader serves every caller."""
    global _default_reader
    with _default_lock:
        if _default_reader is None:
            _default_reader = NvmlReader()
        return _default_reader


def read_gpus(vllm_pids: Iterable[int] = ()) -> GpuSnapshot:
    return default_reader().read(vllm_pids)


if __name__ == "__main__":  # `python -m lgconsole.stack.metrics.nvml`: what this machine's NVML says, as JSON
    import json
    import sys

    pids = [int(a) for a in sys.argv[1:]]
    print(json.dumps(read_gpus(pids).to_json(), indent=2))
