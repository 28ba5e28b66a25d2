"""Hardware decoding, the parts that need no camera: pictures a hardware decoder hands
back (NV12, P010, made by FFmpeg's own converter) reach the slots as the software path's;
the probe of a host without a usable device; the layout key and --decode; a decode
change on reload. The fallback against real cameras and decoder processes, and the
reports (status.json, ``videowall status``, /api/cameras, the metrics, the doctor), are
in test_hwdecode_e2e.py.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from compositor.cli import main
from compositor.core.clock import MonotonicClock
from compositor.core.geometry import Fit
from compositor.layout.models import CameraConfig
from compositor.slots import FrameSlot
from compositor.sources.camera import Rendition, RenditionSpec
from compositor.sources.hwdecode import HardwareProbe, describe_device_error
from compositor.sources.pool import DecoderPool
from tests.helpers.devices import without_cuda

Plane = npt.NDArray[np.uint8]


# -- the pictures a hardware decoder hands back ---------------------------------------


def _textured_frame(width: int, height: int) -> av.VideoFrame:
    """A limited-range YUV 4:2:0 picture with detail in every plane (edges, gradients)."""
    rng = np.random.default_rng(7)
    y = np.clip(
        16
        + (np.add.outer(np.arange(height), np.arange(width)) % 219)
        + rng.integers(-8, 8, (height, width)),
        16,
        235,
    ).astype(np.uint8)
    u = np.clip(128 + rng.integers(-60, 60, (height // 2, width // 2)), 16, 240).astype(np.uint8)
    v = np.clip(128 + np.arange(width // 2)[None, :] % 100 - 50, 16, 240).astype(np.uint8)
    v = np.repeat(v, height // 2, axis=0)
    frame = av.VideoFrame(width, height, "yuv420p")
    for index, plane in enumerate((y, u, v)):
        rows, columns = plane.shape
        target = np.frombuffer(memoryview(frame.planes[index]), np.uint8)
        target = target.reshape(rows, frame.planes[index].line_size)
        target[:, :columns] = plane
    return frame


def _published(frame: av.VideoFrame, folder: Path, box: tuple[int, int]) -> list[Plane]:
    """``frame`` published to a slot of ``box`` the way a camera's decoder publishes it."""
    path = folder / f"slot-{frame.format.name}-{box[0]}"
    FrameSlot(path, *box, create=True).close()
    rendition = Rendition(RenditionSpec(str(path), *box, Fit.LETTERBOX))
    try:
        rendition.publish(frame, Fraction(1), 1.0)
        view = rendition.slot.view()
        assert view is not None
        return [view.y.copy(), view.u.copy(), view.v.copy()]
    finally:
        rendition.close()


@pytest.mark.parametrize("box", [(640, 360), (320, 180), (480, 270)], ids=str)
@pytest.mark.parametrize("hardware_format", ["nv12", "p010le"])
def test_pictures_from_a_hardware_decoder_reach_the_tiles_as_software_ones_do(
    tmp_path: Path, hardware_format: str, box: tuple[int, int]
) -> None:
    # A GPU's decoder hands back NV12 (8-bit: Y, then U and V interleaved) or P010
    # (10-bit in 16-bit words); the slots hold I420. The same picture at full size (no
    # scaling), halved (the software path averages it with OpenCV), and scaled freely.
    software = _textured_frame(640, 360)
    hardware = software.reformat(format=hardware_format)
    assert hardware.format.name == hardware_format
    expected = _published(software, tmp_path, box)
    got = _published(hardware, tmp_path, box)
    freely = box == (480, 270)
    for name, want, have in zip("yuv", expected, got, strict=True):
        assert want.shape == have.shape, name
        difference = np.abs(want.astype(np.int16) - have.astype(np.int16))
        if freely:
            # Software I420 is scaled by OpenCV's bilinear filter straight into the slot,
            # NV12 and P010 by swscale's area filter on their way to I420: two filters on
            # a picture of saw teeth and noise. Placed alike: the differences are where
            # a filter meets a tooth's edge (Y, under 1 %) or the noise of U, not a shift.
            assert np.percentile(difference, 99) <= (12 if name == "u" else 2), name
            assert difference.mean() < (4 if name == "u" else 0.6), name
            continue
        # Rounding apart (P010's two extra bits; averaging by OpenCV against swscale's
        # area filter on halves), the same picture.
        assert difference.mean() < 0.6 and difference.max() <= 3, (name, difference.max())


@without_cuda
def test_a_device_node_without_a_working_driver_counts_as_no_device(tmp_path: Path) -> None:
    # A host that has NVIDIA's device node but no usable driver (a driver half installed,
    # a container given the node only): auto looks once, with FFmpeg's real set-up, and
    # settles on the CPU.
    node = tmp_path / "nvidiactl"
    node.touch()
    device, why = HardwareProbe(nvidia_node=node, drm_class=tmp_path).best()
    assert device is None
    assert why.startswith("cuda: Operation not permitted; qsv: no Intel GPU"), why


def test_a_device_error_never_shows_a_url() -> None:
    error = av.error.PermissionError(1, "Operation not permitted", "rtsp://u:secret@cam/x")
    assert describe_device_error(error) == "Operation not permitted"
    assert "secret" not in describe_device_error(RuntimeError("rtsp://u:secret@cam/x failed"))


# -- the wall: layout key, command line, reloads, reports -----------------------------


def test_a_camera_whose_decode_setting_changes_is_reconnected_the_others_are_not() -> None:
    keys = [("a", 160, 90, Fit.LETTERBOX), ("b", 160, 90, Fit.LETTERBOX)]
    cameras = {
        "a": CameraConfig(url="rtsp://127.0.0.1:1/a"),
        "b": CameraConfig(url="rtsp://127.0.0.1:1/b", decode="cuda"),
    }
    pool = DecoderPool(cameras, keys, MonotonicClock(), workers=1, decode="auto")
    try:
        assert (pool.decode_of("a"), pool.decode_of("b")) == ("auto", "cuda")
        jobs = {job.camera_id: job for job in pool._workers[0].spec.jobs}
        assert (jobs["a"].decode, jobs["b"].decode) == ("auto", "cuda")
        change = pool.apply({**cameras, "b": CameraConfig(url="rtsp://127.0.0.1:1/b")}, keys)
        assert change.restarted == ("b",) and not change.added and not change.removed
        assert pool.decode_of("b") == "auto"
        assert pool.apply(cameras | {"b": CameraConfig(url=cameras["b"].url)}, keys).restarted == ()
    finally:
        pool.stop()


def test_a_decode_setting_the_wall_does_not_know_is_refused_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = tmp_path / "wall.yaml"
    layout.write_text(
        "cameras:\n"
        "  a: {url: 'rtsp://127.0.0.1:1/a', decode: cuda}\n"
        "  b:\n"
        "    url: 'rtsp://127.0.0.1:1/b'\n"
        "    decode: gpu\n"
        "outputs:\n"
        "  - {id: O1, size: [320, 180], grid: 1x2, tiles: [a, b]}\n"
    )
    assert main(["validate", str(layout)]) == 1
    out = capsys.readouterr().out
    assert f"{layout}:5:13: Input should be 'auto', 'cpu' or 'cuda'" in out
    with pytest.raises(SystemExit) as exit_info:  # argparse's own usage error: no traceback
        main(["run", str(layout), "--decode", "gpu"])
    assert exit_info.value.code == 2
    assert "argument --decode: invalid choice: 'gpu'" in capsys.readouterr().err
