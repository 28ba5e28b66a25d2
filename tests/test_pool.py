"""The decoder pool's bookkeeping, without starting any process."""

from compositor.clock import ManualClock
from compositor.geometry import Fit
from compositor.layout import CameraConfig
from compositor.sources.pool import DecoderPool


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
