"""The machine a benchmark ran on, described in its report: CPU, cores, memory, OS, Python."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("model name", "Processor", "cpu model"):
            return value.strip()
    return platform.processor() or platform.machine()


def _os_name() -> str:
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return f"{platform.system()} {platform.release()}"
    return release.get("PRETTY_NAME", release.get("NAME", platform.system()))


def describe_machine() -> dict[str, Any]:
    """CPU model, logical and physical cores, memory, OS, kernel, Python, load average."""
    try:
        version = metadata.version("consortia")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_physical_cores": psutil.cpu_count(logical=False),
        "memory_bytes": psutil.virtual_memory().total,
        "os": _os_name(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "architecture": platform.machine(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "consortia_version": version,
        "load_average_at_start": list(os.getloadavg()),
    }


__all__ = ["describe_machine"]
