"""The decoder pool's bookkeeping, and its processes' priority."""

import contextlib
import os
import socket
import time
from collections.abc import Callable

import pytest

from compositor.core.clock import ManualClock, MonotonicClock
from compositor.core.geometry import Fit
from compositor.layout.models import CameraConfig
from compositor.sources.pool import DecoderPool
from compositor.sources.worker import DECODER_NICENESS

pytestmark = pytest.mark.e2e  # real decoder processes


def test_one_decoder_per_camera_and_one_slot_per_size() -> None:
    cameras = {
        "a": CameraConfig(url="rtsp://127.0.0.1/a"),
        "b": CameraConfig(url="rtsp://127.0.0.1/b"),
    }
    keys = [
        ("a", 480, 270, Fit.LETTERBOX),
        ("a", 480, 270, Fit.LETTERBOX),  # a second tile of the same size: same slot
        ("a", 1920, 1080, Fit.LETTERBOX),
        ("b", 480, 270, Fit.CROP),
    ]
    pool = DecoderPool(cameras, keys, ManualClock(), workers=2)
    try:
        assert pool.camera_ids == ["a", "b"]
        assert pool.slot(keys[0]) is pool.slot(keys[1])
        assert pool.slot(keys[0]) is not pool.slot(keys[2])
        jobs = [job for worker in pool._workers for job in worker.spec.jobs]
        assert sorted(job.camera_id for job in jobs) == ["a", "b"]  # one decoder each
        (job_a,) = [job for job in jobs if job.camera_id == "a"]
        assert [(r.box_w, r.box_h) for r in job_a.renditions] == [(480, 270), (1920, 1080)]
    finally:
        pool.stop()


def _thread_niceness(pid: int) -> set[int]:
    found = set()
    for name in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # a thread that has just ended
            found.add(os.getpriority(os.PRIO_PROCESS, int(name)))
    return found


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_decoders_run_at_the_loops_priority_until_told_to_yield() -> None:
    # Real decoder processes; the cameras point at a closed port and keep retrying.
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    url = f"rtsp://127.0.0.1:{free.getsockname()[1]}/cam"
    free.close()
    cameras = {name: CameraConfig(url=f"{url}{name}") for name in ("a", "b", "c")}
    keys = [("a", 480, 270, Fit.LETTERBOX), ("b", 480, 270, Fit.LETTERBOX)]
    pool = DecoderPool(cameras, keys, MonotonicClock(), workers=1)
    try:
        pool.start()
        (pid,) = pool.worker_pids()
        assert _wait_for(lambda: len(os.listdir(f"/proc/{pid}/task")) >= 3)  # main + cameras
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert _thread_niceness(pid) == {ours}

        assert pool.lower_priority()
        assert not pool.lower_priority()  # once is enough
        assert _wait_for(lambda: _thread_niceness(pid) == {min(19, ours + DECODER_NICENESS)})
        # A camera added later starts below the loop too.
        threads = len(os.listdir(f"/proc/{pid}/task"))
        pool.apply(cameras, [*keys, ("c", 480, 270, Fit.LETTERBOX)])
        assert _wait_for(lambda: len(os.listdir(f"/proc/{pid}/task")) > threads)
        assert _thread_niceness(pid) == {min(19, ours + DECODER_NICENESS)}
    finally:
        pool.stop()
