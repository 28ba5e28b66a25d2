"""The machine a benchmark ran on, as written into its results.

Standard library only (PyAV, OpenCV and FFmpeg looked for, not needed), so a
script meant to run where this project's venv is not (benchmarks/hwdecode.py on
a lent GPU machine) can record it too.
"""

from __future__ import annotations

__all__ = ["machine_info"]

import contextlib
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    with contextlib.suppress(OSError, ValueError):
        info["os"] = next(
            line.split("=", 1)[1].strip('"')
            for line in Path("/etc/os-release").read_text().splitlines()
            if line.startswith("PRETTY_NAME=")
        )
    info["load_average_at_start"] = list(os.getloadavg())
    with contextlib.suppress(Exception):
        import av

        info["pyav"] = av.__version__
        info["pyav_ffmpeg"] = ".".join(map(str, av.library_versions["libavcodec"]))
    with contextlib.suppress(Exception):
        import cv2

        info["opencv"] = cv2.__version__
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        with contextlib.suppress(Exception):
            out = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=False)
            info["ffmpeg"] = out.stdout.splitlines()[0]
    return info
