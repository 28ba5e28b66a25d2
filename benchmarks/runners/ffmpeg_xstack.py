"""Runner (d): FFmpeg's command line composites the same tiles, one canvas per output.

Each camera is an RTSP input (TCP); each tile is ``scale`` (bilinear, to the
tile's size); each output is an ``xstack`` of its tiles (``pad``\\ ded to
1920x1080 where the grid is not full), discarded by ``-f null``. FFmpeg's
own threading defaults.

The plain command a user would write: no timestamp tricks. (Putting inputs
on a common clock with ``-use_wallclock_as_timestamps 1`` and ``fps=25`` looks
tidier but FFmpeg then under-reads early inputs and the server drops their
frames: 49 of 325 frames decoded for one camera, measured. The ``fps``
filter hides it by duplicating.)

The bench runs the command itself (no Python in between) and reads FFmpeg's
``-progress`` output: frames composed on the first output, and its speed.
"""

from __future__ import annotations

__all__ = ["ProgressReader", "build_command", "decoded_frames"]

import re
import shutil
import threading
import time
from typing import IO

from benchmarks.workload import Workload

FFMPEG = "ffmpeg"


def ffmpeg_path() -> str | None:
    return shutil.which(FFMPEG)


def build_command(workload: Workload, binary: str = FFMPEG, align: bool = False) -> list[str]:
    inputs = {camera.id: index for index, camera in enumerate(workload.cameras)}
    # verbose: the exit summary counts each input's decoded frames (see decoded_frames)
    command = [binary, "-hide_banner", "-nostdin", "-loglevel", "verbose", "-nostats"]
    command += ["-progress", "pipe:1", "-stats_period", "0.5"]
    for camera in workload.cameras:
        if align:
            command += ["-use_wallclock_as_timestamps", "1"]
        command += ["-rtsp_transport", "tcp", "-i", camera.url]
    graph = []
    for output in workload.outputs:
        labels = []
        for number, tile in enumerate(output.tiles):
            label = f"{output.id}t{number}"
            sync = f"fps={workload.fps}," if align else ""
            graph.append(
                f"[{inputs[tile.camera]}:v]{sync}scale={tile.w}:{tile.h}:flags=bilinear[{label}]"
            )
            labels.append(label)
        right = max(t.x + t.w for t in output.tiles)
        bottom = max(t.y + t.h for t in output.tiles)
        pad = (
            f",pad={output.width}:{output.height}:0:0:black"
            if (right, bottom) != (output.width, output.height)
            else ""
        )
        if len(labels) == 1:
            # One tile: nothing to stack.
            stack = f"[{labels[0]}]null{pad}[{output.id}]" if pad else ""
            if not stack:
                graph[-1] = graph[-1].replace(f"[{labels[0]}]", f"[{output.id}]")
        else:
            layout = "|".join(f"{t.x}_{t.y}" for t in output.tiles)
            stack = (
                "".join(f"[{label}]" for label in labels)
                + f"xstack=inputs={len(labels)}:layout={layout}:fill=black{pad}[{output.id}]"
            )
        if stack:
            graph.append(stack)
    command += ["-filter_complex", ";".join(graph)]
    for output in workload.outputs:
        command += ["-map", f"[{output.id}]", "-f", "null", "-"]
    return command


_INPUT_SUMMARY = re.compile(
    r"Input stream #(?P<input>\d+):\d+ \(video\): (?P<packets>\d+) packets read.*?"
    r"(?P<frames>\d+) frames decoded"
)


def decoded_frames(log_text: str) -> dict[int, int]:
    """Frames decoded per input, from the summary FFmpeg logs (verbose) when it exits."""
    return {
        int(m.group("input")): int(m.group("frames")) for m in _INPUT_SUMMARY.finditer(log_text)
    }


class ProgressReader:
    """Follows ``-progress pipe:1``: the latest frame count and speed, with when they came."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.frame = 0
        self.first_at = 0.0  # when the first canvas was reported: every input is open
        self.speed = ""
        self.updated_at = 0.0
        self.blocks = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        block: dict[str, str] = {}
        for raw in stream:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            block[key] = value
            if key == "progress":
                with self._lock:
                    if block.get("frame", "").isdigit():
                        self.frame = int(block["frame"])
                        if self.frame and not self.first_at:
                            self.first_at = time.monotonic()
                    self.speed = block.get("speed", "")
                    self.updated_at = time.monotonic()
                    self.blocks += 1
                block = {}

    def snapshot(self) -> tuple[int, float]:
        with self._lock:
            return self.frame, self.updated_at
