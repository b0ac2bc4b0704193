"""Compile the fake `libnvidia-ml.so.1` (fake_nvml.c) for tests and benchmarks on machines without an NVIDIA driver."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("fake_nvml.c")
LIBRARY_NAME = "libnvidia-ml.so.1"


def build_fake_nvml(out_dir: Path) -> Path:
    """Build the library into out_dir and return the directory (to put first on LD_LIBRARY_PATH)."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("gcc is needed to build the fake NVML library")
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", str(out_dir / LIBRARY_NAME),
                    str(SOURCE)], check=True, capture_output=True, text=True)
    return out_dir
